//! Each CI's context from a recorded set of its variables (names from its documentation),
//! precedence of explicit settings, and the `git` fallback outside any CI.

mod common;

use std::collections::BTreeMap;

use common::*;

/// One run with `vars` on top of the minimum settings (no branch, no commit given).
fn run_in(server: &Server, vars: &[(&str, &str)]) -> Run {
    let mut env: BTreeMap<String, String> = base_env(server);
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    run_with(&env, None)
}

/// A CI's variables as one of its runs sets them.
type Vars = &'static [(&'static str, &'static str)];

/// (CI, its variables, the branch, commit and job reason it must yield)
const RECORDED: &[(&str, Vars, &str, &str, &str)] = &[
    (
        "GitLab CI",
        &[
            ("GITLAB_CI", "true"),
            ("CI", "true"),
            ("CI_COMMIT_BRANCH", "feature/login"),
            ("CI_COMMIT_SHA", "a1b2c3"),
            ("CI_COMMIT_MESSAGE", "Add login\n\nWith a body"),
            ("CI_COMMIT_TIMESTAMP", "2024-05-01T12:00:00+02:00"),
            (
                "CI_PIPELINE_URL",
                "https://gitlab.example.com/g/p/-/pipelines/77",
            ),
            ("CI_PROJECT_DIR", "/builds/g/p"),
        ],
        "feature/login",
        "a1b2c3",
        "GitLab CI: https://gitlab.example.com/g/p/-/pipelines/77",
    ),
    (
        "GitLab CI",
        &[
            ("GITLAB_CI", "true"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "fix/typo"),
            ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "headsha"),
            ("CI_COMMIT_SHA", "mergedsha"),
            ("CI_PIPELINE_ID", "78"),
        ],
        "fix/typo",
        "headsha",
        "GitLab CI: 78",
    ),
    (
        // A trigger or API pipeline: no CI_COMMIT_BRANCH, but CI_COMMIT_REF_NAME is the branch.
        "GitLab CI",
        &[
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "trigger"),
            ("CI_COMMIT_REF_NAME", "release/2024"),
            ("CI_COMMIT_SHA", "trig9"),
            ("CI_PIPELINE_ID", "79"),
        ],
        "release/2024",
        "trig9",
        "GitLab CI: 79",
    ),
    (
        "Bitbucket Pipelines",
        &[
            ("CI", "true"),
            ("BITBUCKET_BUILD_NUMBER", "12"),
            ("BITBUCKET_BRANCH", "release/2"),
            ("BITBUCKET_COMMIT", "bb0011"),
            (
                "BITBUCKET_CLONE_DIR",
                "/opt/atlassian/pipelines/agent/build",
            ),
        ],
        "release/2",
        "bb0011",
        "Bitbucket Pipelines: 12",
    ),
    (
        "CircleCI",
        &[
            ("CI", "true"),
            ("CIRCLECI", "true"),
            ("CIRCLE_BRANCH", "main"),
            ("CIRCLE_SHA1", "c1c1c1"),
            ("CIRCLE_BUILD_URL", "https://circleci.com/gh/o/r/9"),
            ("CIRCLE_WORKING_DIRECTORY", "~/project"),
        ],
        "main",
        "c1c1c1",
        "CircleCI: https://circleci.com/gh/o/r/9",
    ),
    (
        "Buildkite",
        &[
            ("BUILDKITE", "true"),
            ("BUILDKITE_BRANCH", "feat/x"),
            ("BUILDKITE_COMMIT", "bk1234"),
            ("BUILDKITE_MESSAGE", "Build it"),
            ("BUILDKITE_PULL_REQUEST", "false"),
            ("BUILDKITE_BUILD_URL", "https://buildkite.com/o/p/builds/5"),
        ],
        "feat/x",
        "bk1234",
        "Buildkite: https://buildkite.com/o/p/builds/5",
    ),
    (
        "Jenkins",
        &[
            ("JENKINS_URL", "https://jenkins.example.com/"),
            ("GIT_BRANCH", "origin/feature/a"),
            ("GIT_COMMIT", "j3nk1n5"),
            ("BUILD_URL", "https://jenkins.example.com/job/site/41/"),
            ("WORKSPACE", "/var/lib/jenkins/workspace/site"),
        ],
        "feature/a",
        "j3nk1n5",
        "Jenkins: https://jenkins.example.com/job/site/41/",
    ),
    (
        "Jenkins",
        &[
            ("JENKINS_URL", "https://jenkins.example.com/"),
            ("CHANGE_BRANCH", "pr-branch"),
            ("BRANCH_NAME", "PR-7"),
            ("GIT_COMMIT", "prhead"),
            ("BUILD_TAG", "jenkins-site-PR-7-3"),
        ],
        "pr-branch",
        "prhead",
        "Jenkins: jenkins-site-PR-7-3",
    ),
    (
        "Azure Pipelines",
        &[
            ("TF_BUILD", "True"),
            ("BUILD_SOURCEBRANCH", "refs/heads/feature/az"),
            ("BUILD_SOURCEBRANCHNAME", "az"),
            ("BUILD_SOURCEVERSION", "a2a2a2"),
            ("BUILD_SOURCEVERSIONMESSAGE", "Azure commit"),
            ("BUILD_BUILDID", "321"),
        ],
        "feature/az",
        "a2a2a2",
        "Azure Pipelines: 321",
    ),
    (
        "Azure Pipelines",
        &[
            ("TF_BUILD", "True"),
            ("BUILD_SOURCEBRANCH", "refs/pull/4/merge"),
            ("SYSTEM_PULLREQUEST_SOURCEBRANCH", "refs/heads/topic"),
            ("SYSTEM_PULLREQUEST_SOURCECOMMITID", "prsha"),
            ("BUILD_SOURCEVERSION", "mergesha"),
            ("BUILD_BUILDID", "322"),
        ],
        "topic",
        "prsha",
        "Azure Pipelines: 322",
    ),
    (
        "AWS CodeBuild",
        &[
            ("CODEBUILD_BUILD_ID", "site:b1e6661e"),
            ("CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/main"),
            ("CODEBUILD_RESOLVED_SOURCE_VERSION", "cb5555"),
            ("CODEBUILD_SRC_DIR", "/codebuild/output/src1/src"),
        ],
        "main",
        "cb5555",
        "AWS CodeBuild: site:b1e6661e",
    ),
    (
        "Travis CI",
        &[
            ("TRAVIS", "true"),
            ("TRAVIS_BRANCH", "main"),
            ("TRAVIS_PULL_REQUEST_BRANCH", "topic"),
            ("TRAVIS_PULL_REQUEST_SHA", "trpr"),
            ("TRAVIS_COMMIT", "trmerge"),
            (
                "TRAVIS_BUILD_WEB_URL",
                "https://app.travis-ci.com/o/r/builds/1",
            ),
        ],
        "topic",
        "trpr",
        "Travis CI: https://app.travis-ci.com/o/r/builds/1",
    ),
    (
        "Woodpecker CI",
        &[
            ("CI", "woodpecker"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_COMMIT_SHA", "w00d"),
            ("CI_COMMIT_MESSAGE", "Woody"),
            (
                "CI_PIPELINE_URL",
                "https://ci.example.com/repos/1/pipeline/2",
            ),
        ],
        "main",
        "w00d",
        "Woodpecker CI: https://ci.example.com/repos/1/pipeline/2",
    ),
    (
        "Drone",
        &[
            ("CI", "true"),
            ("DRONE", "true"),
            ("DRONE_BRANCH", "main"),
            ("DRONE_SOURCE_BRANCH", "feature/d"),
            ("DRONE_COMMIT_SHA", "dr0ne"),
            ("DRONE_COMMIT_MESSAGE", "Drone commit"),
            ("DRONE_BUILD_LINK", "https://drone.example.com/o/r/3"),
        ],
        "feature/d",
        "dr0ne",
        "Drone: https://drone.example.com/o/r/3",
    ),
];

#[test]
fn each_ci_gives_branch_commit_and_reason_from_its_own_variables() {
    for (ci, vars, branch, commit, reason) in RECORDED {
        let server = Server::start(Config::default());
        let run = run_in(&server, vars);
        assert_eq!(run.code, 0, "{ci}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("CI: {ci}")),
            "{ci}: {}",
            run.stderr
        );
        let req = &first(&server, Op::StartJob).request;
        assert_eq!(
            req.target,
            format!(
                "/apps/d1a2b3c4d5e6f7/branches/{}/jobs",
                branch.replace('/', "%2F")
            ),
            "{ci}"
        );
        let body = body(&server, 0);
        assert_eq!(body["commitId"], *commit, "{ci}");
        assert_eq!(body["jobReason"], *reason, "{ci}");
    }
}

#[test]
fn a_ci_commit_message_and_time_go_with_its_commit_only() {
    let server = Server::start(Config::default());
    let gitlab = RECORDED[0].1;
    let run = run_in(&server, gitlab);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b = body(&server, 0);
    assert_eq!(b["commitMessage"], "Add login\n\nWith a body");
    assert_eq!(b["commitTime"], 1_714_557_600);
    assert!(run.stderr.contains("commit a1b2c3 (from CI_COMMIT_SHA)"));

    // An explicit other commit does not borrow the CI's message.
    let mut vars = gitlab.to_vec();
    vars.push(("AMPLIFY_COMMIT_ID", "other"));
    vars.push(("AMPLIFY_BRANCH_NAME", "explicit"));
    let run = run_in(&server, &vars);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let b = body(&server, 1);
    assert_eq!(b["commitId"], "other");
    assert!(b.get("commitMessage").is_none(), "{b}");
    assert!(
        api_requests(&server)[1]
            .request
            .target
            .contains("/branches/explicit/")
    );
}

#[test]
fn tag_builds_need_an_explicit_branch() {
    let server = Server::start(Config::default());
    for (ci, vars) in [
        (
            "GitLab CI",
            &[
                ("GITLAB_CI", "true"),
                ("CI_COMMIT_TAG", "v1.2.0"),
                ("CI_COMMIT_REF_NAME", "v1.2.0"),
                ("CI_COMMIT_SHA", "t1"),
            ][..],
        ),
        (
            "Jenkins",
            &[
                ("JENKINS_URL", "https://j/"),
                ("TAG_NAME", "v2"),
                ("BRANCH_NAME", "v2"),
                ("GIT_COMMIT", "t2"),
            ][..],
        ),
        (
            "Azure Pipelines",
            &[
                ("TF_BUILD", "True"),
                ("BUILD_SOURCEBRANCH", "refs/tags/v3"),
                ("BUILD_SOURCEVERSION", "t3"),
            ][..],
        ),
    ] {
        let run = run_in(&server, vars);
        assert_eq!(run.code, 2, "{ci}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("this {ci} run is for tag"))
                && run
                    .stderr
                    .contains("AMPLIFY_BRANCH_NAME (input branch-name) is not set"),
            "{ci}: {}",
            run.stderr
        );
    }
    assert!(server.requests().is_empty());
}

#[test]
fn outside_ci_the_checkout_gives_branch_commit_message_and_time() {
    let server = Server::start(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let sha = git_repo(dir.path(), "From git\n\nbody", 1_700_000_000);
    let checkout = std::process::Command::new("git")
        .args(["checkout", "-q", "-b", "feature/from-git"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(checkout.success());
    let run = run_with(&base_env(&server), Some(dir.path()));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        first(&server, Op::StartJob)
            .request
            .target
            .contains("/branches/feature%2Ffrom-git/"),
        "{}",
        run.stderr
    );
    let b = body(&server, 0);
    assert_eq!(b["commitId"], sha);
    assert_eq!(b["commitMessage"], "From git\n\nbody");
    assert_eq!(b["commitTime"], 1_700_000_000);
    assert!(
        run.stderr.contains("(from git symbolic-ref HEAD)"),
        "{}",
        run.stderr
    );

    // A detached checkout has no branch: it must be given.
    let detach = std::process::Command::new("git")
        .args(["checkout", "-q", "--detach"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(detach.success());
    let run = run_with(&base_env(&server), Some(dir.path()));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("no CI was detected and git finds no branch checked out here"),
        "{}",
        run.stderr
    );
}
