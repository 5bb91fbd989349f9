#!/usr/bin/env bash
# Instruction profile of one job start (valgrind's callgrind counts instructions, not seconds,
# so the figures repeat on a busy machine). Builds the release binary with symbols into
# target/profile, starts the local endpoint, runs one start under callgrind and prints the
# total and the functions with the most inclusive instructions. With --https the start goes
# over TLS (the local endpoint serves HTTPS with a certificate from a test CA made by openssl
# and given in AWS_CA_BUNDLE), handshake and root loading included.
#
# Usage: benches/profile.sh [--https] [N_FUNCTIONS]   Needs: valgrind, openssl, cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
https=""
if [ "${1:-}" = "--https" ]; then https=1; shift; fi
top=${1:-25}
CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release --locked --workspace --target-dir target/profile >/dev/null 2>&1
bin=target/profile/release
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT
tls=()
extra=()
if [ -n "$https" ]; then
  (cd "$out"
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=profile-CA
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1
   echo "subjectAltName=IP:127.0.0.1" > san.ext
   openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext) >/dev/null 2>&1
  tls=(--tls-cert "$out/server.pem" --tls-key "$out/server.key")
  extra=(AWS_CA_BUNDLE="$out/ca.pem")
fi
"$bin/amplify-local" "${tls[@]}" >"$out/local" 2>/dev/null &
pids+=($!)
until grep -q AWS_ENDPOINT_URL= "$out/local" 2>/dev/null; do sleep 0.01; done  # readiness line
endpoint=$(sed -n 's/^AWS_ENDPOINT_URL=//p' "$out/local")
env -i PATH="$PATH" HOME="$out" AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDLOCALAMPLIFY AWS_SECRET_ACCESS_KEY=local-secret-not-for-aws \
  AMPLIFY_APP_ID=d1a2b3c4d5e6f7 AMPLIFY_BRANCH_NAME=main AMPLIFY_COMMIT_ID=abc RUST_LOG=warn \
  "${extra[@]}" \
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin/amplify-start-job" >/dev/null 2>"$out/vg"
grep -E "Collected" "$out/vg" || true
callgrind_annotate --inclusive=yes --threshold=100 "$out/cg" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \(' | head -n "$top"
