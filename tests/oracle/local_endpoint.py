"""amplify-local as the AWS SDKs see it: botocore's own client, paginator and modelled
exceptions against the endpoint, plus raw HTTP for what no SDK sends (oversized and chunked
bodies). Usage: local_endpoint.py ENDPOINT_URL [CA_BUNDLE]: with an https URL, the CA that
signed the endpoint's certificate. Prints 'N passed, M failed'; exits 1 on a failure.
"""

import json
import socket
import ssl
import sys
from urllib.parse import urlparse

import common
from common import check, request_id
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENDPOINT = sys.argv[1]
CA = sys.argv[2] if len(sys.argv) > 2 else None
APP = "d1a2b3c4d5e6f7"
CREDS = Credentials(common.ACCESS_KEY, common.SECRET_KEY)


def client():
    return common.client("amplify", ENDPOINT, CA, {"max_attempts": 1})


def expect_error(name, shape, call):
    return common.expect_error(name, client(), shape, call)


def connect(u):
    """A socket to the endpoint, over TLS (verified against CA) for an https URL."""
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    if u.scheme != "https":
        return sock
    return ssl.create_default_context(cafile=CA).wrap_socket(sock, server_hostname=u.hostname)


def raw(head, body_parts):
    """Sends a request as raw bytes; returns (status, headers, body)."""
    u = urlparse(ENDPOINT)
    with connect(u) as s:
        s.sendall(head.encode())
        for part in body_parts:
            s.sendall(part)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, body


def main():
    c = client()
    branch = "feature/paging"
    # AWS runs one job per branch: each job but the last is stopped and seen to end first.
    started = []
    for i in range(57):
        started.append(c.start_job(appId=APP, branchName=branch, jobType="RELEASE", commitId="c%d" % i))
        if i < 56:
            done = started[-1]["jobSummary"]["jobId"]
            c.stop_job(appId=APP, branchName=branch, jobId=done)
            c.get_job(appId=APP, branchName=branch, jobId=done)
    check("StartJob has a request id", all(request_id(r) for r in started))
    job_id = started[-1]["jobSummary"]["jobId"]
    check("StartJob records a RELEASE job as HEAD", started[0]["jobSummary"]["commitId"] == "HEAD", started[0]["jobSummary"])
    busy = expect_error("StartJob on a busy branch", "LimitExceededException",
                        lambda c: c.start_job(appId=APP, branchName=branch, jobType="RELEASE"))
    check("the busy answer is AWS's text", busy is not None and
          "already have pending or running jobs" in busy.response["Error"]["Message"])

    arts = c.list_artifacts(appId=APP, branchName=branch, jobId="1")
    check("ListArtifacts names the job's artifacts", [a["artifactFileName"] for a in arts["artifacts"]] == ["reports/junit.xml"], arts)
    art = c.get_artifact_url(artifactId=arts["artifacts"][0]["artifactId"])
    check("GetArtifactUrl has a request id", bool(request_id(art)))
    u = urlparse(art["artifactUrl"])
    status, _, body = raw("GET %s?%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (u.path, u.query, u.netloc), [])
    check("the artifact URL serves its bytes", status == 200 and body == b"<testsuite/>", (status, body[:200]))
    expect_error("GetArtifactUrl of an unknown artifact", "NotFoundException", lambda c: c.get_artifact_url(artifactId="nope"))

    got = c.get_job(appId=APP, branchName=branch, jobId=job_id)
    check("GetJob has a request id", bool(request_id(got)), got.get("ResponseMetadata"))
    check("GetJob answers the job", got["job"]["summary"]["jobId"] == job_id)

    listed = c.list_jobs(appId=APP, branchName=branch, maxResults=5)
    check("ListJobs has a request id", bool(request_id(listed)))

    pages = list(c.get_paginator("list_jobs").paginate(appId=APP, branchName=branch, PaginationConfig={"PageSize": 20}))
    ids = [j["jobId"] for p in pages for j in p["jobSummaries"]]
    check("the paginator reads every job once, newest first", ids == [str(i) for i in range(57, 0, -1)], ids)
    check("pages of at most 20", [len(p["jobSummaries"]) for p in pages] == [20, 20, 17])

    zero = c.list_jobs(appId=APP, branchName=branch, maxResults=0)
    token = zero.get("nextToken")
    if token:
        again = c.list_jobs(appId=APP, branchName=branch, maxResults=0, nextToken=token)
        first = {j["jobId"] for j in zero["jobSummaries"]}
        second = {j["jobId"] for j in again["jobSummaries"]}
        check("maxResults=0: a token advances", again.get("nextToken") != token and not (first & second))
    else:
        check("maxResults=0: no token, or one that advances", True)
    all_zero = list(c.get_paginator("list_jobs").paginate(appId=APP, branchName=branch, PaginationConfig={"PageSize": 0}))
    check("the paginator ends with maxResults=0", sum(len(p["jobSummaries"]) for p in all_zero) == 57)

    expect_error("maxResults=51", "BadRequestException", lambda c: c.list_jobs(appId=APP, branchName=branch, maxResults=51))
    expect_error("a nextToken never issued", "BadRequestException", lambda c: c.list_jobs(appId=APP, branchName=branch, nextToken="bm90LWlzc3VlZA"))
    expect_error("GetJob of an unknown job", "NotFoundException", lambda c: c.get_job(appId=APP, branchName=branch, jobId="999"))
    expect_error("StartJob RETRY without jobId", "BadRequestException", lambda c: c.start_job(appId=APP, branchName=branch, jobType="RETRY"))

    stopped = c.stop_job(appId=APP, branchName=branch, jobId=job_id)
    check("StopJob has a request id", bool(request_id(stopped)))
    check("StopJob answers CANCELLING", stopped["jobSummary"]["status"] == "CANCELLING", stopped["jobSummary"])

    # Branches: CreateBranch's preview members read back, ListBranches paged.
    made = c.create_branch(appId="d9ab", branchName="pr-1", enableBasicAuth=True,
                           basicAuthCredentials="dTpw", environmentVariables={"A": "1"},
                           enableSkewProtection=True, framework="React")
    read = c.get_branch(appId="d9ab", branchName="pr-1")["branch"]
    check("CreateBranch's members are read back",
          read["enableBasicAuth"] and read["environmentVariables"] == {"A": "1"}
          and read["enableSkewProtection"] and read["framework"] == "React", read)
    check("CreateBranch has a request id", bool(request_id(made)))
    for i in range(2, 8):
        c.create_branch(appId="d9ab", branchName="pr-%d" % i)
    pages = list(c.get_paginator("list_branches").paginate(appId="d9ab", PaginationConfig={"PageSize": 3}))
    names = [b["branchName"] for p in pages for b in p["branches"]]
    check("the ListBranches paginator reads every branch once", sorted(names) == ["pr-%d" % i for i in range(1, 8)], names)
    check("ListBranches pages of at most 3", [len(p["branches"]) for p in pages] == [3, 3, 1], pages)

    # A body over the limit: 413 with a JSON error and a request id, not a reset.
    u = urlparse(ENDPOINT)
    status, headers, body = raw(
        "POST /apps/%s/branches/main/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        "Content-Length: 2000000\r\n\r\n" % (APP, u.netloc),
        [],
    )
    check("an oversized body gets 413", status == 413, status)
    check("413 carries a request id", bool(headers.get("x-amzn-requestid")), headers)
    try:
        check("413 has a JSON message", "message" in json.loads(body), body)
    except ValueError:
        check("413 has a JSON message", False, body)

    # A chunked body, signed by botocore: read, not taken as empty.
    payload = json.dumps({"jobType": "RELEASE", "commitId": "chunked"}).encode()
    url = "%s/apps/%s/branches/main/jobs" % (ENDPOINT, APP)
    req = AWSRequest(method="POST", url=url, data=payload, headers={"Content-Type": "application/json"})
    SigV4Auth(CREDS, "amplify", "us-east-1").add_auth(req)
    head = "POST /apps/%s/branches/main/jobs HTTP/1.1\r\nHost: %s\r\n" % (APP, u.netloc)
    for k, v in req.headers.items():
        if k.lower() not in ("content-length", "host"):
            head += "%s: %s\r\n" % (k, v)
    head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    half = len(payload) // 2
    parts = [b"%x\r\n%s\r\n" % (half, payload[:half]), b"%x\r\n%s\r\n" % (len(payload) - half, payload[half:]), b"0\r\n\r\n"]
    status, headers, body = raw(head, parts)
    check("a chunked body is read", status == 200 and json.loads(body)["jobSummary"]["jobId"] == "1", (status, body))

    common.finish()


main()
