#!/usr/bin/env bash
# Instruction profile of one job start (valgrind's callgrind counts instructions, not seconds,
# so the figures repeat on a busy machine). Builds the release binary with symbols into
# target/profile, starts the local endpoint, runs one start under callgrind and prints the
# total and the functions with the most inclusive instructions.
#
# Usage: benches/profile.sh [N_FUNCTIONS]   Needs: valgrind (Debian package), cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
top=${1:-25}
CARGO_PROFILE_RELEASE_STRIP=none CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  cargo build --release --locked --workspace --target-dir target/profile >/dev/null 2>&1
bin=target/profile/release
out=$(mktemp -d)
trap 'kill "$local_pid" 2>/dev/null || true; rm -rf "$out"' EXIT
"$bin/amplify-local" >"$out/local" 2>/dev/null &
local_pid=$!
until grep -q AWS_ENDPOINT_URL= "$out/local" 2>/dev/null; do sleep 0.01; done  # readiness line
endpoint=$(sed -n 's/^AWS_ENDPOINT_URL=//p' "$out/local")
env -i PATH="$PATH" HOME="$out" AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIDLOCALAMPLIFY AWS_SECRET_ACCESS_KEY=local-secret-not-for-aws \
  AMPLIFY_APP_ID=d1a2b3c4d5e6f7 AMPLIFY_BRANCH_NAME=main AMPLIFY_COMMIT_ID=abc RUST_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin/amplify-start-job" >/dev/null 2>"$out/vg"
grep -E "Collected" "$out/vg" || true
callgrind_annotate --inclusive=yes --threshold=100 "$out/cg" 2>/dev/null \
  | grep -E '^ *[0-9,]+ \(' | head -n "$top"
