#!/usr/bin/env python3
"""Benchmark: many pipelines of one AWS account starting jobs at once, against one StartJob
quota. Starts amplify-local with a token-bucket throttle on StartJob (429
LimitExceededException beyond it, as AWS answers), launches N processes of the static release
binary at the same moment (each its own commit, one branch), and records: jobs created (must be
N, one per commit), processes that exit non-zero, the makespan (launch to the last exit), the
StartJob attempts, and the spread of the jobs' start times. Checks the budgets with the default
retry settings: all N started exactly once, makespan at most 1.5x the ideal N/rate, attempts at
most 3N. Exits 1 on a miss.

Usage: benches/fleet.py [--bin PATH]   (runs N=50 at 2/s burst 5, and N=200 at 5/s burst 5)
Needs: the static release binary (scripts/test builds it), cargo build --release -p amplify-local,
and botocore (the test venv).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release", "amplify-start-job")
LOCAL = os.path.join(ROOT, "target", "release", "amplify-local")
APP = "d1a2b3c4d5e6f7"


def fleet(n, rate, burst, binary):
    # Many pipelines on one branch: AWS would refuse all but one as busy, so the quota is
    # measured with amplify-local's --concurrent-jobs.
    local = subprocess.Popen([LOCAL, "--concurrent-jobs", "--start-job-rate", str(rate), "--start-job-burst", str(burst)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    endpoint = local.stdout.readline().strip().split("=", 1)[1]
    base = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDLOCALAMPLIFY", "AWS_SECRET_ACCESS_KEY": "local-secret-not-for-aws",
            "AWS_EC2_METADATA_DISABLED": "true", "AMPLIFY_APP_ID": APP, "AMPLIFY_BRANCH_NAME": "main"}
    start = time.perf_counter()
    procs = [subprocess.Popen([binary], env=dict(base, AMPLIFY_COMMIT_ID=f"c{i:04d}"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for i in range(n)]
    codes = []
    for p in procs:
        p.wait()
        codes.append(p.returncode)
    makespan = time.perf_counter() - start
    client = botocore.session.get_session().create_client(
        "amplify", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="AKIDLOCALAMPLIFY", aws_secret_access_key="local-secret-not-for-aws")
    jobs = [j for page in client.get_paginator("list_jobs").paginate(appId=APP, branchName="main")
            for j in page["jobSummaries"]]
    time.sleep(0.3)  # amplify-local logs what it recorded every 100 ms
    local.terminate()
    log = local.communicate()[1]
    attempts = sum(1 for line in log.splitlines() if line.startswith("POST /apps/") and line.split()[1].endswith("/jobs"))
    commits = [j["commitId"] for j in jobs]
    starts = sorted(j["startTime"].timestamp() for j in jobs)
    return {
        "jobs": len(jobs), "distinct": len(set(commits)), "failed": sum(c != 0 for c in codes),
        "makespan": makespan, "attempts": attempts,
        "spread": (starts[-1] - starts[0]) if starts else 0.0,
        "p50": statistics.median(s - starts[0] for s in starts) if starts else 0.0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=BIN)
    args = ap.parse_args()
    failed = []
    print("| N | rate, burst | jobs (distinct) | non-zero exits | makespan (ideal N/rate) | StartJob attempts | start spread (median) |")
    print("|---|---|---|---|---|---|---|")
    for n, rate, burst in [(50, 2, 5), (200, 5, 5)]:
        r = fleet(n, rate, burst, args.bin)
        ideal = n / rate
        print(f"| {n} | {rate}/s, {burst} | {r['jobs']} ({r['distinct']}) | {r['failed']} | "
              f"{r['makespan']:.1f} s ({ideal:.0f} s) | {r['attempts']} ({r['attempts'] / n:.2f} per job) | "
              f"{r['spread']:.1f} s ({r['p50']:.1f} s) |")
        if r["jobs"] != n or r["distinct"] != n or r["failed"]:
            failed.append(f"N={n}: {r['jobs']} jobs, {r['distinct']} distinct, {r['failed']} failed")
        if r["makespan"] > 1.5 * ideal:
            failed.append(f"N={n}: makespan {r['makespan']:.1f} s > {1.5 * ideal:.1f} s")
        if r["attempts"] > 3 * n:
            failed.append(f"N={n}: {r['attempts']} attempts > {3 * n}")
    if failed:
        sys.exit("budget missed: " + "; ".join(failed))


main()
