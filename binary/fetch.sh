#!/usr/bin/env bash
# The binary action's first step: picks the release binary for this runner (RUNNER_OS,
# RUNNER_ARCH), downloads it from the release of the pinned tag, checks its SHA-256 against the
# checksum binary/action.yml pins, keeps it in RUNNER_TOOL_CACHE, and writes its path as the
# step output `bin`. A refused file is never run and never kept. Needs bash, curl, and
# sha256sum or shasum: every GitHub runner has them (Git Bash on Windows).
set -euo pipefail
fail() {
  echo "::error title=amplify-start-job::$*" >&2
  exit 2
}
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) file=amplify-start-job-x86_64-unknown-linux-musl sum=${AMPLIFY_SHA256_LINUX_X64:-} ;;
  Linux/ARM64) file=amplify-start-job-aarch64-unknown-linux-musl sum=${AMPLIFY_SHA256_LINUX_ARM64:-} ;;
  macOS/X64) file=amplify-start-job-x86_64-apple-darwin sum=${AMPLIFY_SHA256_MACOS_X64:-} ;;
  macOS/ARM64) file=amplify-start-job-aarch64-apple-darwin sum=${AMPLIFY_SHA256_MACOS_ARM64:-} ;;
  Windows/X64) file=amplify-start-job-x86_64-pc-windows-gnu.exe sum=${AMPLIFY_SHA256_WINDOWS_X64:-} ;;
  *) fail "no amplify-start-job binary is built for a ${RUNNER_OS:-unknown} ${RUNNER_ARCH:-unknown} runner: Linux (X64, ARM64), macOS (X64, ARM64) and Windows X64 are" ;;
esac
if [ -z "${AMPLIFY_RELEASE:-}" ] || [ -z "$sum" ]; then
  fail "this commit of the action pins no release binary (checksums are written by the release): use a release tag, e.g. uses: org/amplify-start-job/binary@v1"
fi
base=${AMPLIFY_DOWNLOAD_URL:-${GITHUB_SERVER_URL:-https://github.com}/${AMPLIFY_ACTION_REPOSITORY:?}/releases/download}
url="${base%/}/$AMPLIFY_RELEASE/$file"
cache="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/amplify-start-job/$AMPLIFY_RELEASE/$sum"
bin="$cache/$file"
sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}
if [ -f "$bin" ] && [ "$(sha256 "$bin")" = "$sum" ]; then
  echo "amplify-start-job $AMPLIFY_RELEASE from the tool cache: $bin"
else
  tmp=$(mktemp "${RUNNER_TEMP:-/tmp}/amplify-start-job.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  curl --fail --silent --show-error --location --retry 3 --connect-timeout 10 --max-time 300 \
    --output "$tmp" "$url" || fail "could not download $url"
  got=$(sha256 "$tmp")
  [ "$got" = "$sum" ] || fail "$url has SHA-256 $got, not the $sum this action pins: it was not run and not kept"
  chmod +x "$tmp"
  mkdir -p "$cache"
  mv "$tmp" "$bin"
  trap - EXIT
  echo "amplify-start-job $AMPLIFY_RELEASE downloaded from $url and checked"
fi
echo "bin=$bin" >> "$GITHUB_OUTPUT"
