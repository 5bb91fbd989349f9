#!/usr/bin/env python3
"""Benchmark: a manual deployment of a 100 MB folder of typical site files (HTML, JS, images)
to the local endpoint, next to what users script by hand on the same data: `zip -r` then
`curl -T` to the presigned URL (the CreateDeployment and StartDeployment calls around it are
not timed for the baseline; ours includes them). Interleaved runs; also the peak RSS of our
binary deploying a 200 MB folder. Checks the budgets and exits 1 on a miss.

Usage: benches/deploy.py [--runs N] [--bin PATH]
Needs: the static release binary (scripts/test builds it) and amplify-local (cargo build
--release -p amplify-local); zip, curl and GNU time (/usr/bin/time); botocore (the test venv).
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import botocore.session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release", "amplify-start-job")
LOCAL = os.path.join(ROOT, "target", "release", "amplify-local")
APP = "d1a2b3c4d5e6f7"
RSS_BUDGET_KIB = 16 * 1024


def make_site(root, megabytes, seed):
    """Text that compresses like pages and bundles, and images that do not."""
    rng = random.Random(seed)
    words = [w * rng.randint(1, 3) for w in
             "amplify deploy static site const function return class div span header footer".split()]
    total, i = 0, 0
    for d in ("docs", "assets/js", "assets/img"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    while total < megabytes * 1024 * 1024:
        kind = i % 10
        if kind < 5:
            path, data = f"docs/page{i}.html", ("<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(800, 9000))) + "</p>").encode()
        elif kind < 8:
            path, data = f"assets/js/chunk{i}.js", ("function f%d(a,b){return a+b*%d}\n" % (i, i) * rng.randint(500, 5000)).encode()
        else:
            path, data = f"assets/img/img{i}.png", rng.randbytes(rng.randint(50_000, 400_000))
        with open(os.path.join(root, path), "wb") as f:
            f.write(data)
        total, i = total + len(data), i + 1
    return i, total


def env_for(endpoint, branch, source):
    return {
        "PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDLOCALAMPLIFY", "AWS_SECRET_ACCESS_KEY": "local-secret-not-for-aws",
        "AWS_EC2_METADATA_DISABLED": "true", "AMPLIFY_APP_ID": APP, "AMPLIFY_BRANCH_NAME": branch,
        "AMPLIFY_SOURCE": source,
    }


def ours(endpoint, branch, site):
    start = time.perf_counter()
    p = subprocess.run([BIN], env=env_for(endpoint, branch, site), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("amplify-start-job failed:\n" + p.stderr.decode(errors="replace"))
    return time.perf_counter() - start


def by_hand(client, branch, site, tmp):
    url = client.create_deployment(appId=APP, branchName=branch)["zipUploadUrl"]
    zip_path = os.path.join(tmp, branch + ".zip")
    start = time.perf_counter()
    subprocess.run(["zip", "-qr", zip_path, "."], cwd=site, check=True)
    subprocess.run(["curl", "-sSf", "-T", zip_path, url, "-o", "/dev/null"], check=True)
    took = time.perf_counter() - start
    os.remove(zip_path)
    return took


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", default=BIN)
    args = ap.parse_args()
    BIN = args.bin
    local = subprocess.Popen([LOCAL], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    endpoint = local.stdout.readline().strip().split("=", 1)[1]
    client = botocore.session.get_session().create_client(
        "amplify", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="AKIDLOCALAMPLIFY", aws_secret_access_key="local-secret-not-for-aws")
    failed = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            site = os.path.join(tmp, "site")
            files, size = make_site(site, 100, seed=1)
            print(f"site: {files} files, {size / 1e6:.1f} MB")
            times = {"amplify-start-job": [], "zip -r + curl -T": []}
            for n in range(args.runs):
                times["amplify-start-job"].append(ours(endpoint, f"ours{n}", site))
                times["zip -r + curl -T"].append(by_hand(client, f"hand{n}", site, tmp))
            print("| command | min | median | max |\n|---|---|---|---|")
            for name, t in times.items():
                print(f"| {name} | {min(t):.2f} s | {statistics.median(t):.2f} s | {max(t):.2f} s |")
            ratio = statistics.median(times["zip -r + curl -T"]) / statistics.median(times["amplify-start-job"])
            print(f"zip -r + curl -T takes {ratio:.2f}x our median")
            if ratio < 1.0:
                failed.append("slower than zip -r + curl -T")

            big = os.path.join(tmp, "big")
            make_site(big, 200, seed=2)
            p = subprocess.run(["/usr/bin/time", "-f", "%M", BIN], env=env_for(endpoint, "big", big),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            rss = int(p.stderr.strip().splitlines()[-1])
            print(f"peak RSS deploying 200 MB: {rss / 1024:.1f} MiB (budget {RSS_BUDGET_KIB // 1024} MiB)")
            if p.returncode != 0 or rss > RSS_BUDGET_KIB:
                failed.append(f"peak RSS {rss} KiB")
    finally:
        local.kill()
    if failed:
        sys.exit("budget missed: " + "; ".join(failed))


main()
