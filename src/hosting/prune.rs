//! `mode: prune`: previews pile up (50 branches per app is a hard limit, and a closed pull
//! request whose clean-up step never ran keeps its branch for ever), so a scheduled run lists
//! the branches of every app and deletes those this tool made for this repository whose pull
//! request is closed, or that are older than `prune-older-than`. It is a dry run unless
//! `prune-delete: true`, and it never deletes a branch without our tags, the app's production
//! branch, or the repository's default branch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::env::{Env, Name, SettingsError, boolean};
use crate::hosting::api::branches::Branch;

pub const PRUNE_OLDER_THAN: Name = Name {
    var: "AMPLIFY_PRUNE_OLDER_THAN",
    input: "prune-older-than",
};
pub const PRUNE_DELETE: Name = Name {
    var: "AMPLIFY_PRUNE_DELETE",
    input: "prune-delete",
};

/// The tags every branch this tool creates carries: the repository it is for, when it was
/// made, and for a pull request's preview its number.
pub const TAG_REPOSITORY: &str = "amplify-start-job:repository";
pub const TAG_CREATED: &str = "amplify-start-job:created";
pub const TAG_PULL_REQUEST: &str = "amplify-start-job:pull-request";

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PruneSettings {
    /// A branch older than this goes; `None`: age never prunes.
    pub older_than: Option<Duration>,
    /// Delete, not only say what would go.
    pub delete: bool,
}

impl PruneSettings {
    /// Both settings belong to `mode: prune`; with another mode either is refused.
    pub fn from_env(env: &Env, pruning: bool) -> Result<PruneSettings, SettingsError> {
        let older = env.get(PRUNE_OLDER_THAN.var);
        let delete = boolean(env.get(PRUNE_DELETE.var), PRUNE_DELETE)?;
        if !pruning {
            for (n, set) in [(PRUNE_OLDER_THAN, older.is_some()), (PRUNE_DELETE, delete)] {
                if set {
                    return Err(SettingsError::of(
                        n,
                        env.get(n.var),
                        "it is a setting of mode: prune, and this run is not one",
                        "leave it empty, or set mode: prune",
                    ));
                }
            }
        }
        let older_than = match older {
            None => None,
            Some(v) => Some(age(v).ok_or_else(|| {
                SettingsError::of(
                    PRUNE_OLDER_THAN,
                    Some(v),
                    "not a whole number of days or hours",
                    "use days or hours such as 14d or 36h",
                )
            })?),
        };
        Ok(PruneSettings { older_than, delete })
    }
}

/// `14d`, `36h`: a positive whole number of days or hours.
fn age(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "d" | "D" => Some(Duration::from_secs(n * 86_400)),
        "h" | "H" => Some(Duration::from_secs(n * 3_600)),
        _ => None,
    }
}

/// The tags of a branch made now for `repository`, and for pull request `pr` when it is one.
pub fn tags(repository: Option<&str>, pr: Option<u64>, now: i64) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    if let Some(r) = repository {
        tags.push((TAG_REPOSITORY.to_string(), r.to_string()));
        tags.push((TAG_CREATED.to_string(), rfc3339(now)));
        if let Some(n) = pr {
            tags.push((TAG_PULL_REQUEST.to_string(), n.to_string()));
        }
    }
    tags
}

pub use crate::env::rfc3339;

/// What becomes of one branch, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Keep(String),
    Delete(String),
}

/// What is known of the repository and the app while judging their branches.
pub struct Known<'a> {
    pub repository: &'a str,
    /// The app's production branch (`GetApp`), when it has one.
    pub production: Option<&'a str>,
    /// The repository's default branch; `None` when GitHub could not say.
    pub default_branch: Option<&'a str>,
    pub older_than: Option<Duration>,
    pub now: i64,
}

/// What GitHub says of a branch's pull request.
#[derive(Debug, Clone, PartialEq)]
pub enum PullRequest {
    Open,
    Closed,
    /// 404: deleted, or never there.
    NotFound,
    /// GitHub could not be asked (an error, after retries).
    Unknown(String),
}

/// The pull request a branch of ours was made for, when its tag names one.
pub fn pull_request(branch: &Branch) -> Option<u64> {
    branch.tags.get(TAG_PULL_REQUEST)?.parse().ok()
}

/// Judges one branch: kept unless it is ours (this repository's tag), not the production or the
/// default branch, and its pull request is closed or it is older than `older_than`.
pub fn judge(b: &Branch, k: &Known, pr: Option<&PullRequest>) -> Verdict {
    let keep = |why: String| Verdict::Keep(why);
    match b.tags.get(TAG_REPOSITORY) {
        None => return keep("not made by amplify-start-job (no repository tag)".into()),
        Some(r) if !r.eq_ignore_ascii_case(k.repository) => {
            return keep(format!("made for another repository ({r})"));
        }
        Some(_) => {}
    }
    if k.production == Some(b.branch_name.as_str()) || b.stage.eq_ignore_ascii_case("PRODUCTION") {
        return keep("the app's production branch".into());
    }
    let Some(default) = k.default_branch else {
        return keep("the repository's default branch is unknown, so nothing is deleted".into());
    };
    if default == b.branch_name {
        return keep("the repository's default branch".into());
    }
    let n = pull_request(b);
    match (n, pr) {
        (Some(n), Some(PullRequest::Closed)) => {
            return Verdict::Delete(format!("pull request #{n} is closed"));
        }
        (Some(n), Some(PullRequest::NotFound)) => {
            return keep(format!("GitHub has no pull request #{n} (404)"));
        }
        (Some(n), Some(PullRequest::Unknown(e))) => {
            return keep(format!("pull request #{n} could not be read: {e}"));
        }
        _ => {}
    }
    let created = b
        .tags
        .get(TAG_CREATED)
        .and_then(|t| crate::env::parse_time(t));
    match (k.older_than, created) {
        (Some(limit), Some(at)) if k.now - at > limit.as_secs() as i64 => Verdict::Delete(format!(
            "made {} days ago, older than prune-older-than",
            (k.now - at) / 86_400
        )),
        _ => keep(match n {
            Some(n) => format!("pull request #{n} is open"),
            None if k.older_than.is_none() => {
                "no pull request, and prune-older-than is unset".into()
            }
            None => "younger than prune-older-than".into(),
        }),
    }
}

/// Seconds since the epoch on this machine's clock.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branch(name: &str, tags: &[(&str, &str)]) -> Branch {
        Branch {
            branch_name: name.into(),
            stage: "PULL_REQUEST".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Branch::default()
        }
    }

    const NOW: i64 = 1_796_600_000;

    fn known() -> Known<'static> {
        Known {
            repository: "octo/site",
            production: Some("main"),
            default_branch: Some("main"),
            older_than: Some(Duration::from_secs(14 * 86_400)),
            now: NOW,
        }
    }

    #[test]
    fn only_our_closed_or_old_previews_go() {
        let ours = |pr: Option<&str>, age_days: i64| {
            let mut tags = vec![
                (TAG_REPOSITORY, "octo/site".to_string()),
                (TAG_CREATED, rfc3339(NOW - age_days * 86_400)),
            ];
            if let Some(n) = pr {
                tags.push((TAG_PULL_REQUEST, n.to_string()));
            }
            let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
            branch("pr-7", &tags)
        };
        let k = known();
        let d = |v: &Verdict| matches!(v, Verdict::Delete(_));
        assert!(d(&judge(
            &ours(Some("7"), 1),
            &k,
            Some(&PullRequest::Closed)
        )));
        assert!(!d(&judge(
            &ours(Some("7"), 1),
            &k,
            Some(&PullRequest::Open)
        )));
        assert!(d(&judge(
            &ours(Some("7"), 30),
            &k,
            Some(&PullRequest::Open)
        )));
        assert!(!d(&judge(
            &ours(Some("7"), 30),
            &k,
            Some(&PullRequest::NotFound)
        )));
        assert!(!d(&judge(&ours(None, 3), &k, None)));
        assert!(d(&judge(&ours(None, 15), &k, None)));
        assert!(!d(&judge(
            &branch("pr-7", &[]),
            &k,
            Some(&PullRequest::Closed)
        )));
        let other = branch(
            "pr-7",
            &[(TAG_REPOSITORY, "octo/other"), (TAG_PULL_REQUEST, "7")],
        );
        assert!(!d(&judge(&other, &k, Some(&PullRequest::Closed))));
        let mut main = ours(None, 99);
        main.branch_name = "main".into();
        assert!(!d(&judge(&main, &k, None)));
        let unknown = Known {
            default_branch: None,
            ..known()
        };
        assert!(!d(&judge(
            &ours(Some("7"), 1),
            &unknown,
            Some(&PullRequest::Closed)
        )));
        let no_age = Known {
            older_than: None,
            ..known()
        };
        assert!(!d(&judge(&ours(None, 999), &no_age, None)));
    }

    #[test]
    fn ages_are_days_or_hours_and_times_are_rfc3339() {
        assert_eq!(age("14d"), Some(Duration::from_secs(14 * 86_400)));
        assert_eq!(age("36h"), Some(Duration::from_secs(36 * 3_600)));
        for bad in ["", "d", "0d", "14", "2w", "-1d", "1.5d"] {
            assert_eq!(age(bad), None, "{bad}");
        }
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_601_906), "2026-12-07T00:05:06Z");
        assert_eq!(crate::env::parse_time(&rfc3339(NOW)), Some(NOW));
    }
}
