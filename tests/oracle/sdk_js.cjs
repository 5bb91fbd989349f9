// amplify-local as the AWS SDK for JavaScript v3 sees it: its client, paginator and modelled
// exceptions against every operation the endpoint serves, and a zip uploaded with fetch to the
// URL CreateDeployment answers.
// Usage: node sdk_js.cjs ENDPOINT_URL THROTTLED_URL: the second, an endpoint whose StartJob
// token bucket holds one token (for https, NODE_EXTRA_CA_CERTS names the test CA).
// NODE_PATH names the node_modules scripts/test installs (tests/sdk-js).
// Prints 'N passed, M failed'; exits 1 on a failure.
"use strict";

const zlib = require("node:zlib");
const amplify = require("@aws-sdk/client-amplify");

const ENDPOINT = process.argv[2];
const THROTTLED = process.argv[3];
const APP = "d1a2b3c4d5e6f7";
const results = [];

function check(name, ok, detail) {
  results.push(Boolean(ok));
  console.log((ok ? "ok   " : "FAIL ") + name + (ok ? "" : ": " + JSON.stringify(detail)));
}

const clientOf = (endpoint, maxAttempts) => new amplify.AmplifyClient({
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId: "AKIDLOCALAMPLIFY", secretAccessKey: "local-secret-not-for-aws" },
  maxAttempts,
});
const client = clientOf(ENDPOINT, 1);

const send = (command, input) => client.send(new amplify[command + "Command"](input));

/** `call` must fail with the modelled exception `shape` and HTTP `status`, with a request id. */
async function expectError(name, shape, status, call) {
  try {
    await call();
    check(name + ": " + shape, false, "no error");
  } catch (e) {
    check(name + ": " + shape, e instanceof amplify[shape] && e.name === shape, { name: e.name, message: e.message });
    check(name + ": status " + status, e.$metadata && e.$metadata.httpStatusCode === status, e.$metadata);
    check(name + ": a request id and a message", e.$metadata && e.$metadata.requestId && e.message, e.$metadata);
    return e;
  }
  return null;
}

/** A zip of one stored file, as small as a zip can be. */
function tinyZip(name, text) {
  const data = Buffer.from(text);
  const file = Buffer.from(name);
  const crc = zlib.crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(file.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(file.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + file.length, 12);
  end.writeUInt32LE(30 + file.length + data.length, 16);
  return Buffer.concat([local, file, data, central, file, end]);
}

async function jobs() {
  const branch = "feature/paging";
  const started = [];
  // AWS runs one job per branch: each job but the last is stopped and seen to end first.
  for (let i = 1; i <= 57; i++) {
    started.push(await send("StartJob", { appId: APP, branchName: branch, jobType: "RELEASE", commitId: "c" + i }));
    if (i < 57) {
      await send("StopJob", { appId: APP, branchName: branch, jobId: String(i) });
      await send("GetJob", { appId: APP, branchName: branch, jobId: String(i) });
    }
  }
  check("StartJob has a request id", started.every((r) => r.$metadata.requestId), started[0].$metadata);
  const last = started[56].jobSummary;
  check("StartJob answers the job, recorded as HEAD", last.jobId === "57" && last.status === "PENDING" && last.commitId === "HEAD", last);
  const busy = await expectError("StartJob on a busy branch", "LimitExceededException", 429, () =>
    send("StartJob", { appId: APP, branchName: branch, jobType: "RELEASE" }));
  check("the busy answer is AWS's text", busy && /already have pending or running jobs/.test(busy.message), busy && busy.message);

  const arts = await send("ListArtifacts", { appId: APP, branchName: branch, jobId: "1" });
  check("ListArtifacts names the job's artifacts", arts.artifacts.length === 1 && arts.artifacts[0].artifactFileName === "reports/junit.xml", arts.artifacts);
  const art = await send("GetArtifactUrl", { artifactId: arts.artifacts[0].artifactId });
  const body = await (await fetch(art.artifactUrl)).text();
  check("the artifact URL serves its bytes", body === "<testsuite/>", body);
  await expectError("GetArtifactUrl of an unknown artifact", "NotFoundException", 404, () =>
    send("GetArtifactUrl", { artifactId: "nope" }));

  const got = await send("GetJob", { appId: APP, branchName: branch, jobId: "57" });
  check("GetJob answers the job and its steps", got.job.summary.jobId === "57" && Array.isArray(got.job.steps), got.job);
  check("startTime is read as a Date", got.job.summary.startTime instanceof Date && !isNaN(got.job.summary.startTime), got.job.summary.startTime);

  const pages = [];
  for await (const page of amplify.paginateListJobs({ client, pageSize: 20 }, { appId: APP, branchName: branch })) {
    pages.push(page);
  }
  const ids = pages.flatMap((p) => p.jobSummaries.map((j) => j.jobId));
  const newestFirst = Array.from({ length: 57 }, (_, i) => String(57 - i));
  check("the paginator reads every job once, newest first", JSON.stringify(ids) === JSON.stringify(newestFirst), ids);
  check("pages of at most 20", JSON.stringify(pages.map((p) => p.jobSummaries.length)) === "[20,20,17]", pages.length);

  await expectError("maxResults=51", "BadRequestException", 400, () =>
    send("ListJobs", { appId: APP, branchName: branch, maxResults: 51 }));
  await expectError("GetJob of an unknown job", "NotFoundException", 404, () =>
    send("GetJob", { appId: APP, branchName: branch, jobId: "999" }));
  await expectError("StartJob RETRY without jobId", "BadRequestException", 400, () =>
    send("StartJob", { appId: APP, branchName: branch, jobType: "RETRY" }));

  const stopped = await send("StopJob", { appId: APP, branchName: branch, jobId: "57" });
  check("StopJob answers CANCELLING", stopped.jobSummary.status === "CANCELLING", stopped.jobSummary);
}

async function appsAndBranches() {
  const app = await send("GetApp", { appId: APP });
  check("GetApp answers the default domain", app.app.defaultDomain === APP + ".amplifyapp.com", app.app);
  check("GetApp times are Dates", app.app.createTime instanceof Date, app.app.createTime);

  const created = await send("CreateBranch", { appId: APP, branchName: "pr-7", stage: "PULL_REQUEST" });
  check("CreateBranch answers the branch", created.branch.branchName === "pr-7" && created.branch.stage === "PULL_REQUEST", created.branch);
  const read = await send("GetBranch", { appId: APP, branchName: "pr-7" });
  check("GetBranch reads it back", read.branch.branchName === "pr-7" && typeof read.branch.displayName === "string", read.branch);
  await expectError("a second CreateBranch", "BadRequestException", 400, () =>
    send("CreateBranch", { appId: APP, branchName: "pr-7" }));
  await expectError("CreateBranch with a bad stage", "BadRequestException", 400, () =>
    send("CreateBranch", { appId: APP, branchName: "pr-8", stage: "NIGHTLY" }));
  const deleted = await send("DeleteBranch", { appId: APP, branchName: "pr-7" });
  check("DeleteBranch answers the branch", deleted.branch.branchName === "pr-7", deleted.branch);
}

async function deployments() {
  const branch = "manual";
  await expectError("StartDeployment of an unknown job", "NotFoundException", 404, () =>
    send("StartDeployment", { appId: APP, branchName: branch, jobId: "404" }));
  const created = await send("CreateDeployment", { appId: APP, branchName: branch });
  check("CreateDeployment answers a job and an upload URL", created.jobId && created.zipUploadUrl, created);
  const made = await send("GetJob", { appId: APP, branchName: branch, jobId: created.jobId });
  check("a deployment made and not started is PENDING", made.job.summary.status === "PENDING", made.job.summary);
  await expectError("StartDeployment before the upload", "BadRequestException", 400, () =>
    send("StartDeployment", { appId: APP, branchName: branch, jobId: created.jobId }));
  const put = await fetch(created.zipUploadUrl, { method: "PUT", body: tinyZip("index.html", "<h1>hi</h1>") });
  check("the zip is uploaded with a PUT", put.status === 200, put.status);
  const started = await send("StartDeployment", { appId: APP, branchName: branch, jobId: created.jobId });
  check("StartDeployment starts the job", started.jobSummary.jobId === created.jobId && started.jobSummary.status === "PENDING", started.jobSummary);
  check("it answers the job's ARN", /\/branches\/manual\/jobs\/0+1$/.test(started.jobSummary.jobArn), started.jobSummary);
}

/** Beyond its token bucket StartJob is throttled, and the SDK takes it as throttling. */
async function throttled() {
  const input = { appId: APP, branchName: "main", jobType: "RELEASE" };
  const first = await clientOf(THROTTLED, 1).send(new amplify.StartJobCommand(input));
  check("the bucket's one token starts a job", first.jobSummary.jobId === "1", first.jobSummary);
  await expectError("StartJob beyond the bucket", "LimitExceededException", 429, () =>
    clientOf(THROTTLED, 1).send(new amplify.StartJobCommand(input)));
  try {
    await clientOf(THROTTLED, 2).send(new amplify.StartJobCommand(input));
    check("the SDK retries it (a throttling error)", false, "no error");
  } catch (e) {
    check("the SDK retries it (a throttling error)", e.$metadata && e.$metadata.attempts === 2, e.$metadata);
  }
}

async function main() {
  for (const part of [jobs, appsAndBranches, deployments, throttled]) {
    try {
      await part();
    } catch (e) {
      check(part.name + " ran to its end", false, { name: e.name, message: e.message, metadata: e.$metadata });
    }
  }
  const passed = results.filter(Boolean).length;
  console.log(passed + " passed, " + (results.length - passed) + " failed");
  process.exit(results.every(Boolean) ? 0 : 1);
}

main();
