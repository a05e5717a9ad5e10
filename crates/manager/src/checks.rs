//! Checks made when a run's plan is known, before anything is downloaded:
//! two items must not share a cache path, a file name must leave room for
//! the partial-file suffixes, and what is still to fetch must fit on the
//! cache's file system. Each fails at once naming what is wrong, instead of
//! after the other items.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::job::Job;

/// The longest file name most file systems accept, in bytes.
const NAME_MAX: usize = 255;
/// The longest suffix the store adds to a file name (`<file>.partial.meta`).
const LONGEST_SUFFIX: &str = ".partial.meta";

/// Refuses two jobs that would write one file, naming both items.
pub(crate) fn distinct_destinations<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Result<(), Error> {
    let mut seen: HashMap<&Path, &str> = HashMap::new();
    for job in jobs {
        if let Some(first) = seen.insert(&job.dest, &job.name) {
            return Err(Error::rejected(
                format!("{} and {first}", job.name),
                format!("both resolve to the cache path {}; rename one in the manifest", job.dest.display()),
            ));
        }
    }
    Ok(())
}

/// Refuses a file name too long for the file system once the store's suffixes are added.
pub(crate) fn name_fits(job: &Job) -> Result<(), Error> {
    let len = job.dest.file_name().map_or(0, |name| name.len());
    if len + LONGEST_SUFFIX.len() > NAME_MAX {
        return Err(Error::rejected(
            &job.name,
            format!(
                "its file name is {len} bytes; with the partial-file suffix it would pass the {NAME_MAX}-byte limit of file names"
            ),
        ));
    }
    Ok(())
}

/// Refuses a run whose bytes still to fetch exceed the free space where they go.
pub(crate) fn space_for(needed: u64, dir: &Path) -> Result<(), Error> {
    let Some(available) = free_space(dir) else { return Ok(()) };
    if needed > available {
        return Err(Error::NoSpace { path: dir.to_owned(), needed, available });
    }
    Ok(())
}

/// Bytes available to an unprivileged user on the file system of `dir` (or
/// its nearest existing ancestor); `None` when it cannot be told.
fn free_space(dir: &Path) -> Option<u64> {
    let existing: PathBuf = dir.ancestors().find(|p| p.exists())?.to_owned();
    available_bytes(&existing)
}

#[cfg(unix)]
fn available_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(unix))]
fn available_bytes(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Target;

    fn job(name: &str, dest: &str) -> Job {
        Job {
            target: Target::Artifact(name.to_owned()),
            name: name.to_owned(),
            url: String::new(),
            fallback: None,
            dest: dest.into(),
            digest: format!("sha256:{}", "0".repeat(64)).parse().unwrap(),
            size: 1,
        }
    }

    #[test]
    fn two_items_on_one_path_are_refused_naming_both() {
        let jobs =
            [job("os-image", "/c/a/os-image/1/x"), job("runc", "/c/b"), job("dup", "/c/a/os-image/1/x")];
        let err = distinct_destinations(&jobs).unwrap_err().to_string();
        assert!(err.contains("dup and os-image") && err.contains("/c/a/os-image/1/x"), "{err}");
        distinct_destinations(&jobs[..2]).unwrap();
    }

    #[test]
    fn a_name_that_leaves_no_room_for_the_suffix_is_refused() {
        name_fits(&job("a", &format!("/c/{}", "n".repeat(NAME_MAX - LONGEST_SUFFIX.len())))).unwrap();
        let err = name_fits(&job("a", &format!("/c/{}", "n".repeat(NAME_MAX - LONGEST_SUFFIX.len() + 1))));
        assert!(err.unwrap_err().to_string().contains("255-byte limit"));
    }

    #[test]
    fn a_terabyte_does_not_fit_here() {
        let dir = tempfile::tempdir().unwrap();
        let err = space_for(1 << 50, &dir.path().join("not/yet/made")).unwrap_err();
        assert!(matches!(err, Error::NoSpace { needed, .. } if needed == 1 << 50), "{err}");
        space_for(1, dir.path()).unwrap();
    }
}
