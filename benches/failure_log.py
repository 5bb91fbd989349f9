#!/usr/bin/env python3
"""Benchmark: the peak memory of a run that reads a 200 MB failing build log. Starts
amplify-local with --outcome FAILED and a log of about 200 MB for the failing step, runs the
static release binary with wait (it reads the log's last 60 lines, streamed), and reads the
binary's own peak RSS with GNU time (`/usr/bin/time -f %M`: a small parent, so no fork of
Python's memory is counted; the endpoint is not counted). Also runs it with a 40-line log,
for the baseline. Budget: the 200 MB log raises peak RSS to no more than 16 MiB. Exits 1 on a
miss.

Usage: benches/failure_log.py [--bin PATH] [--lines N]   (default 3,000,000 lines: ~207 MB)
Needs: the static release binary (scripts/test builds it), cargo build --release -p amplify-local,
and GNU time (Debian: time).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release", "amplify-start-job")
LOCAL = os.path.join(ROOT, "target", "release", "amplify-local")
BUDGET_KIB = 16 * 1024


def run(binary, lines):
    local = subprocess.Popen([LOCAL, "--outcome", "FAILED", "--log-lines", str(lines)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        endpoint = local.stdout.readline().strip().split("=", 1)[1]  # printed once listening
        env = {"PATH": os.environ.get("PATH", ""), "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "AKIDLOCALAMPLIFY", "AWS_SECRET_ACCESS_KEY": "local-secret-not-for-aws",
               "AWS_EC2_METADATA_DISABLED": "true", "AMPLIFY_APP_ID": "d1a2b3c4d5e6f7",
               "AMPLIFY_BRANCH_NAME": "main", "AMPLIFY_COMMIT_ID": "abc", "AMPLIFY_WAIT": "true",
               "AMPLIFY_POLL_INTERVAL": "10ms", "AMPLIFY_REQUEST_TIMEOUT": "5m"}
        start = time.perf_counter()
        with tempfile.NamedTemporaryFile(mode="r") as rss:
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name, binary], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            elapsed = time.perf_counter() - start
            peak_kib = int(rss.read().strip().splitlines()[-1])
        if proc.returncode != 5 or "lines of the BUILD log" not in proc.stderr:
            print(proc.stderr)
            raise SystemExit(f"the run did not show the failing log (exit {proc.returncode})")
        return peak_kib, elapsed
    finally:
        local.terminate()
        local.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--lines", type=int, default=3_000_000)
    args = ap.parse_args()
    for path in (args.bin, LOCAL):
        if not os.path.exists(path):
            raise SystemExit(f"missing {path}: build it first (see the docstring)")
    small, t_small = run(args.bin, 40)
    big, t_big = run(args.bin, args.lines)
    size = args.lines * 68 / 1e6
    print("| failing log | peak RSS | wall time |\n|---|---|---|")
    print(f"| 40 lines | {small / 1024:.1f} MiB | {t_small:.2f} s |")
    print(f"| {args.lines:,} lines (~{size:.0f} MB) | {big / 1024:.1f} MiB | {t_big:.2f} s |")
    ok = big <= BUDGET_KIB
    print(f"budget: peak RSS <= 16 MiB with the big log: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


sys.exit(main())
