"""amplify-local's new AWS Amplify as botocore 1.44.18's `amplifygen3` client sees it: every
operation it serves, the paginators, the modelled errors (with their members: quotaCode,
retryAfterSeconds), request ids, and a refused signature. Usage: gen3_endpoint.py ENDPOINT_URL
[CA_BUNDLE]. The endpoint declares apps shop (with staging:manual) and blog (no-repo), and
answers ListDeploymentsForApp first with a 402, a 429 (Retry-After: 1), a 500 (Retry-After:
2) and a 409 role refusal. Prints 'N
passed, M failed'; exits 1 on a failure.
"""

import base64
import hashlib
import io
import ssl
import sys
import urllib.error
import urllib.request
import zipfile

import botocore.session
from botocore.config import Config

ENDPOINT = sys.argv[1]
CA = sys.argv[2] if len(sys.argv) > 2 else None
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)))


def client(secret="local-secret-not-for-aws"):
    return botocore.session.get_session().create_client(
        "amplifygen3",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDLOCALAMPLIFY",
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
        verify=CA,
    )


def rid(meta):
    return meta.get("ResponseMetadata", {}).get("RequestId", "")


def expect_error(name, shape, call):
    c = client()
    try:
        call(c)
    except getattr(c.exceptions, shape) as e:
        check(name + ": " + shape, True)
        check(name + ": a request id", bool(rid(e.response)), e.response)
        return e.response
    except Exception as e:  # noqa: BLE001 - any other outcome is the failure checked
        check(name + ": " + shape, False, repr(e))
    else:
        check(name + ": " + shape, False, "no error")
    return {}


def put(url, body, checksum):
    req = urllib.request.Request(url, data=body, method="PUT", headers={"x-amz-checksum-sha256": checksum})
    ctx = ssl.create_default_context(cafile=CA) if url.startswith("https") else None
    with urllib.request.urlopen(req, context=ctx) as r:
        return r.status


def main():
    c = client()
    # The endpoint answers the first two of these with the faults the test scripted.
    quota = expect_error("the quota answer", "ServiceQuotaExceededException", lambda c: c.list_deployments_for_app(AppName="blog"))
    check("ServiceQuotaExceededException: its quotaCode", quota.get("quotaCode") == "L-GEN3DEP" and quota["ResponseMetadata"]["HTTPStatusCode"] == 402, quota)
    throttled = expect_error("the throttle answer", "ThrottlingException", lambda c: c.list_deployments_for_app(AppName="blog"))
    check("ThrottlingException: retryAfterSeconds from Retry-After", throttled.get("retryAfterSeconds") == 1, throttled)
    internal = expect_error("the server's fault", "InternalServerException", lambda c: c.list_deployments_for_app(AppName="blog"))
    check("InternalServerException: 500 with retryAfterSeconds", internal.get("retryAfterSeconds") == 2 and internal["ResponseMetadata"]["HTTPStatusCode"] == 500, internal)
    role = expect_error("the role answer", "RoleNotAssumableException", lambda c: c.list_deployments_for_app(AppName="blog"))
    check("RoleNotAssumableException: 409", role.get("ResponseMetadata", {}).get("HTTPStatusCode") == 409, role)
    unsigned = urllib.request.Request(ENDPOINT + "/apps")
    try:
        ctx = ssl.create_default_context(cafile=CA) if ENDPOINT.startswith("https") else None
        urllib.request.urlopen(unsigned, context=ctx)
        check("an unsigned request: 403", False, "answered")
    except urllib.error.HTTPError as e:
        check("an unsigned request: 403", e.code == 403, e.code)
    apps = [a["AppName"] for p in c.get_paginator("list_apps").paginate(PaginationConfig={"PageSize": 1}) for a in p["Apps"]]
    check("ListApps pages one app at a time", apps == ["shop", "blog"], apps)
    app = c.get_app(AppName="shop")
    check("GetApp: a connected repository", "GitHubSource" in app.get("SourceConfig", {}), app)
    check("GetApp: a request id", bool(rid(app)))
    envs = [e["EnvironmentName"] for p in c.get_paginator("list_environments").paginate(AppName="shop", PaginationConfig={"PageSize": 2}) for e in p["Environments"]]
    check("ListEnvironments: staging, preview, production", envs == ["staging", "preview", "production"], envs)
    env = c.get_environment(AppName="shop", EnvironmentName="staging")
    check("GetEnvironment: CUSTOM, routed by hand", (env["Type"], env["Web"]["EnvironmentAliasConfig"]["RoutingMode"]) == ("CUSTOM", "MANUAL"), env)
    check("GetEnvironment: preview is PREVIEW", c.get_environment(AppName="shop", EnvironmentName="preview")["Type"] == "PREVIEW")

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.html", "<h1>hi</h1>")
    data = buf.getvalue()
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    up = c.create_source_upload(ZipUpload={"Digest": digest})
    check("CreateSourceUpload: a URL that signs the checksum", "x-amz-checksum-sha256" in up["ZipUpload"]["UploadUrl"], up)
    check("CreateSourceUpload: timestamps read as times", hasattr(up["UploadExpiresAt"], "year"), up)
    check("the upload's PUT", put(up["ZipUpload"]["UploadUrl"], data, digest) == 200)
    got = c.get_source_upload(SourceUploadId=up["SourceUploadId"])
    check("GetSourceUpload: its size", got["SizeInBytes"] == len(data), got)

    made = c.create_deployment(AppName="shop", EnvironmentName="preview", SourceConfig={"ManualUploadSource": {"SourceUploadId": up["SourceUploadId"], "SourceType": "PREBUILT_ARTIFACT"}}, Description="d [asj-1]", Tags={"amplify-start-job:run": "asj-1"})
    check("CreateDeployment: QUEUED", made["Status"] == "QUEUED", made)
    did = made["DeploymentId"]
    statuses = [c.get_deployment(AppName="shop", EnvironmentName="preview", DeploymentId=did)["Status"] for _ in range(2)]
    check("GetDeployment: IN_PROGRESS, then SUCCEEDED", statuses == ["IN_PROGRESS", "SUCCEEDED"], statuses)
    d = c.get_deployment(AppName="shop", EnvironmentName="preview", DeploymentId=did)
    check("GetDeployment: its domain and steps", d["DomainName"].startswith(did) and "Deploy" in d["Steps"], d)
    for i in range(3):
        c.create_deployment(AppName="shop", EnvironmentName="staging", SourceConfig={"GitSource": {"GitRef": f"v{i}"}})
    listed = [x["DeploymentId"] for p in c.get_paginator("list_deployments_for_environment").paginate(AppName="shop", EnvironmentName="staging", PaginationConfig={"PageSize": 2}) for x in p["Deployments"]]
    check("ListDeploymentsForEnvironment pages all three", len(listed) == 3 and len(set(listed)) == 3, listed)
    by_app = [x["DeploymentId"] for p in c.get_paginator("list_deployments_for_app").paginate(AppName="shop") for x in p["Deployments"]]
    check("ListDeploymentsForApp: all four, newest first", len(by_app) == 4 and by_app[-1] == did, by_app)
    aliases = c.list_aliases(AppName="shop", EnvironmentName="preview")["Aliases"]
    check("ListAliases: the environment's, routed to the success", aliases[0]["Type"] == "ENVIRONMENT" and aliases[0]["RoutingConfig"][0]["DeploymentId"] == did, aliases)
    alias = c.get_alias(AppName="shop", EnvironmentName="preview", AliasName=aliases[0]["AliasName"])
    check("GetAlias: its URL", alias["Url"].startswith("https://preview-"), alias)

    expect_error("GetApp of no such app", "ResourceNotFoundException", lambda c: c.get_app(AppName="nope"))
    expect_error("GetEnvironment of no such environment", "ResourceNotFoundException", lambda c: c.get_environment(AppName="shop", EnvironmentName="qa"))
    expect_error("GetDeployment of no such deployment", "ResourceNotFoundException", lambda c: c.get_deployment(AppName="shop", EnvironmentName="preview", DeploymentId="zzzzzzzzzz"))
    expect_error("CreateSourceUpload with a digest that is not one", "ValidationException", lambda c: c.create_source_upload(ZipUpload={"Digest": "abc"}))
    expect_error("a Git deployment of an app with no repository", "ValidationException", lambda c: c.create_deployment(AppName="blog", EnvironmentName="preview", SourceConfig={"GitSource": {"GitRef": "main"}}))
    expect_error("ListApps past the page limit", "ValidationException", lambda c: c.list_apps(MaxResults=51))
    try:
        client(secret="wrong").get_app(AppName="shop")
        check("a refused signature", False, "answered")
    except Exception as e:  # noqa: BLE001
        status = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        check("a refused signature: 403", status == 403, repr(e))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


main()
