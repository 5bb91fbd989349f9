"""amplify-local's new AWS Amplify as botocore 1.44.18's `amplifygen3` client sees it: every
operation it serves, the paginators, the modelled errors (with their members: quotaCode,
retryAfterSeconds), request ids, and a refused signature. Usage: gen3_endpoint.py ENDPOINT_URL
[CA_BUNDLE]. The endpoint declares apps shop (with staging:manual and
live:LINEAR_10_PERCENT_EVERY_1_MINUTE, a rollout stage per read) and blog (no-repo), holds a
fork pull request's push (#7, commit FORK_SHA) to shop, and
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

import common
from common import check, request_id

ENDPOINT = sys.argv[1]
CA = sys.argv[2] if len(sys.argv) > 2 else None


def client(secret=common.SECRET_KEY):
    return common.client("amplifygen3", ENDPOINT, CA, {"total_max_attempts": 1}, secret)


def expect_error(name, shape, call):
    """The modelled error's response, or {} when it did not come."""
    e = common.expect_error(name, client(), shape, call)
    return e.response if e else {}


def put(url, body, checksum):
    req = urllib.request.Request(url, data=body, method="PUT", headers={"x-amz-checksum-sha256": checksum})
    ctx = ssl.create_default_context(cafile=CA) if url.startswith("https") else None
    with urllib.request.urlopen(req, context=ctx) as r:
        return r.status


FORK_SHA = "f0" * 20


def succeed(c, env, ref):
    """A Git deployment of `ref` to `env`, read until it succeeded."""
    did = c.create_deployment(AppName="shop", EnvironmentName=env, SourceConfig={"GitSource": {"GitRef": ref}})["DeploymentId"]
    for _ in range(3):
        if c.get_deployment(AppName="shop", EnvironmentName=env, DeploymentId=did)["Status"] == "SUCCEEDED":
            break
    return did


def release(c, staging):
    """UpdateAliasRouting and CancelGradualRollout: promote, roll out, conflict, cancel."""
    alias = lambda env: c.list_aliases(AppName="shop", EnvironmentName=env)["Aliases"][0]["AliasName"]  # noqa: E731
    for did in staging:
        c.get_deployment(AppName="shop", EnvironmentName="staging", DeploymentId=did)
    promoted = c.update_alias_routing(AppName="shop", EnvironmentName="staging", AliasName=alias("staging"), RoutingConfig=[{"DeploymentId": staging[1], "Weight": 100}])
    check("UpdateAliasRouting at once: no rollout state", "GradualRolloutState" not in promoted and bool(request_id(promoted)), promoted)
    routed = c.get_alias(AppName="shop", EnvironmentName="staging", AliasName=alias("staging"))["RoutingConfig"]
    check("UpdateAliasRouting: the alias routes to the deployment promoted", routed == [{"DeploymentId": staging[1], "Weight": 100}], routed)
    first, second = succeed(c, "live", "a"), succeed(c, "live", "b")
    name = alias("live")
    conflict = expect_error("a promote during a rollout", "ConflictException", lambda c: c.update_alias_routing(AppName="shop", EnvironmentName="live", AliasName=name, RoutingConfig=[{"DeploymentId": first, "Weight": 100}]))
    check("ConflictException: 409 naming the rollout's target", conflict.get("ResponseMetadata", {}).get("HTTPStatusCode") == 409 and second in conflict.get("Error", {}).get("Message", ""), conflict)
    cancelled = c.cancel_gradual_rollout(AppName="shop", EnvironmentName="live", AliasName=name)
    check("CancelGradualRollout: an empty answer with a request id", set(cancelled) == {"ResponseMetadata"} and bool(request_id(cancelled)), cancelled)
    state = c.get_alias(AppName="shop", EnvironmentName="live", AliasName=name)
    check("GetAlias after a cancel: CANCELLED, the traffic back", state["GradualRolloutState"]["Status"] == "CANCELLED" and state["RoutingConfig"][0]["DeploymentId"] == first and hasattr(state["GradualRolloutState"]["EndedAt"], "year"), state)
    expect_error("a cancel with no rollout in progress", "ConflictException", lambda c: c.cancel_gradual_rollout(AppName="shop", EnvironmentName="live", AliasName=name))
    rolling = c.update_alias_routing(AppName="shop", EnvironmentName="live", AliasName=name, RoutingConfig=[{"DeploymentId": second, "Weight": 100}], GradualRolloutConfig={"PresetConfig": {"Preset": "CANARY_10_PERCENT_5_MINUTES"}})
    st = rolling.get("GradualRolloutState", {})
    check("UpdateAliasRouting with a canary: IN_PROGRESS, 10% then 100%", st.get("Status") == "IN_PROGRESS" and [x["Weight"] for x in st.get("Schedule", [])] == [10, 100] and st["TargetRoutingConfig"][0]["DeploymentId"] == second, rolling)
    expect_error("a rollout on preview", "ValidationException", lambda c: c.update_alias_routing(AppName="shop", EnvironmentName="preview", AliasName=alias("preview"), RoutingConfig=[{"DeploymentId": first, "Weight": 100}], GradualRolloutConfig={"PresetConfig": {"Preset": "LINEAR_10_PERCENT_EVERY_1_MINUTE"}}))
    expect_error("a route to a deployment of another environment", "ResourceNotFoundException", lambda c: c.update_alias_routing(AppName="shop", EnvironmentName="staging", AliasName=alias("staging"), RoutingConfig=[{"DeploymentId": first, "Weight": 100}]))
    expect_error("a route to no such alias", "ResourceNotFoundException", lambda c: c.update_alias_routing(AppName="shop", EnvironmentName="staging", AliasName="nope", RoutingConfig=[{"DeploymentId": staging[0], "Weight": 100}]))


def fork(c):
    """AcceptForkPullRequestDeployment: the held push deploys once accepted; twice is idempotent."""
    accept = lambda c, env="preview", sha=FORK_SHA: c.accept_fork_pull_request_deployment(AppName="shop", EnvironmentName=env, CommitSha=sha, PullRequestNumber="7")  # noqa: E731
    first = accept(c)
    check("AcceptForkPullRequestDeployment: ACCEPTED", first["Outcome"] == "ACCEPTED", first)
    built = [d for d in c.list_deployments_for_environment(AppName="shop", EnvironmentName="preview")["Deployments"] if d.get("SourceConfig", {}).get("GitSource", {}).get("CommitId") == FORK_SHA]
    check("the held fork commit deploys to preview", len(built) == 1, built)
    again = accept(c)
    check("AcceptForkPullRequestDeployment again: ALREADY_ACCEPTED, nothing more built", again["Outcome"] == "ALREADY_ACCEPTED" and len([d for d in c.list_deployments_for_environment(AppName="shop", EnvironmentName="preview")["Deployments"] if d.get("SourceConfig", {}).get("GitSource", {}).get("CommitId") == FORK_SHA]) == 1, again)
    expect_error("a fork commit for production", "ValidationException", lambda c: accept(c, env="production"))
    expect_error("a commit that is not 40 lower-case hex", "ValidationException", lambda c: accept(c, sha="F0" * 20))
    expect_error("a fork commit for no such environment", "ResourceNotFoundException", lambda c: accept(c, env="qa"))


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
    check("GetApp: a request id", bool(request_id(app)))
    envs = [e["EnvironmentName"] for p in c.get_paginator("list_environments").paginate(AppName="shop", PaginationConfig={"PageSize": 2}) for e in p["Environments"]]
    check("ListEnvironments: staging, live, preview, production", envs == ["staging", "live", "preview", "production"], envs)
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

    release(c, listed)
    fork(c)

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
    common.finish()


main()
