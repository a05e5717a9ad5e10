//! Bare Git mirrors through the `git` command line, as uv does for its Git
//! sources: the user's credential helpers and proxies come for free.
//!
//! The first sync clones with `git clone --mirror` into a temporary directory
//! beside the destination (`.<name>.partial-XXXXXX`) and renames it into place
//! only once complete, so an interrupted clone never leaves a half repository
//! at the final path; temporaries a killed run left behind are removed before
//! the next clone. Later syncs fetch every ref (`+refs/*:refs/*`, pruned) into
//! the mirror; git updates refs only after their objects are written, so an
//! interrupted fetch leaves the old, whole mirror. Callers hold the cache lock.
//!
//! URLs follow the HTTP policy ([`check_scheme`]): https, or plain http to
//! loopback or allowed insecure hosts, nothing else (no `file://`, no local
//! paths, no `ext::`), and git is told the same (`protocol.allow`), so a
//! redirect cannot leave it; a plain http URL follows no redirect at all. Git never prompts (`GIT_TERMINAL_PROMPT=0`, no
//! stdin), runs without `GIT_*` variables from our environment besides
//! TLS and trace settings, and is killed when the future running it is dropped.
//! The stored remote URL and every message have credentials removed.
//! Transfers slower than the low-speed limit fail (a server that never
//! answers cannot park a run). Transient failures (connects, timeouts, slow
//! transfers, 5xx, broken transfers) are retried
//! with the same [`RetryPolicy`] as HTTP.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use deps_manifest::ComponentsSourceRef;
use tokio::process::Command;

use crate::retry::{Failure, retrying};
use crate::{Error, RetryPolicy, check_scheme, redact};

/// Inherited `GIT_*` variables git may keep (certificates, tracing).
const KEPT_GIT_VARS: [&str; 4] = ["GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_TRACE", "GIT_CURL_VERBOSE"];

/// Stderr fragments (lower case) of failures worth another try.
const TRANSIENT: [&str; 17] = [
    "operation too slow",
    "could not resolve host",
    "failed to connect",
    "connection refused",
    "connection reset",
    "connection timed out",
    "operation timed out",
    "timed out",
    "the requested url returned error: 5",
    "the requested url returned error: 429",
    "the requested url returned error: 408",
    "rpc failed",
    "early eof",
    "the remote end hung up unexpectedly",
    "unexpected disconnect",
    "transfer closed",
    "gnutls recv error",
];

/// One Git ref of a source: what the mirror must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitRef {
    /// A branch name.
    Branch(String),
    /// A tag name.
    Tag(String),
    /// An exact version `X.Y[.Z]`, found as the tag `X.Y[.Z]` or `vX.Y[.Z]`.
    Semver(String),
    /// A commit hash (7 to 40 hex digits).
    Commit(String),
}

impl GitRef {
    /// The ref a manifest's `components.source.ref` selects (exactly one field must be set).
    pub fn from_source(source: &ComponentsSourceRef) -> Result<GitRef, Error> {
        let set: Vec<GitRef> = [
            (&source.branch, GitRef::Branch as fn(String) -> GitRef),
            (&source.tag, GitRef::Tag),
            (&source.semver, GitRef::Semver),
            (&source.commit, GitRef::Commit),
        ]
        .into_iter()
        .filter(|(value, _)| !value.is_empty())
        .map(|(value, make)| make(value.clone()))
        .collect();
        match <[GitRef; 1]>::try_from(set) {
            Ok([one]) => {
                one.check()?;
                Ok(one)
            }
            Err(_) => Err(Error::GitRefInvalid {
                reference: "ref".to_owned(),
                reason: "set exactly one of branch, tag, semver or commit".to_owned(),
            }),
        }
    }

    /// Refuses names git could read as options or paths, malformed commits and semver constraints.
    fn check(&self) -> Result<(), Error> {
        let invalid =
            |reason: &str| Err(Error::GitRefInvalid { reference: self.to_string(), reason: reason.into() });
        match self {
            GitRef::Branch(name) | GitRef::Tag(name) => {
                let bad = name.starts_with(['-', '/'])
                    || name.ends_with(['/', '.'])
                    || name.contains("..")
                    || name.contains("@{")
                    || name.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c));
                if bad { invalid("not a valid ref name") } else { Ok(()) }
            }
            GitRef::Semver(version) => {
                let parts: Vec<&str> = version.strip_prefix('v').unwrap_or(version).split('.').collect();
                let numeric = parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
                if (2..=3).contains(&parts.len()) && numeric {
                    Ok(())
                } else {
                    invalid("only an exact version X.Y[.Z] is supported, not a constraint")
                }
            }
            GitRef::Commit(hash) => {
                if (7..=40).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit()) {
                    Ok(())
                } else {
                    invalid("a commit is 7 to 40 hexadecimal digits")
                }
            }
        }
    }

    /// The revisions that may name it, in order of preference.
    fn candidates(&self) -> Vec<String> {
        match self {
            GitRef::Branch(name) => vec![format!("refs/heads/{name}")],
            GitRef::Tag(name) => vec![format!("refs/tags/{name}")],
            GitRef::Semver(version) => {
                let bare = version.strip_prefix('v').unwrap_or(version);
                vec![format!("refs/tags/{bare}"), format!("refs/tags/v{bare}")]
            }
            GitRef::Commit(hash) => vec![hash.to_ascii_lowercase()],
        }
    }
}

impl std::fmt::Display for GitRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitRef::Branch(v) => write!(f, "branch {v:?}"),
            GitRef::Tag(v) => write!(f, "tag {v:?}"),
            GitRef::Semver(v) => write!(f, "semver {v:?}"),
            GitRef::Commit(v) => write!(f, "commit {v:?}"),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSynced {
    /// The full hash of the commit the ref names.
    pub commit: String,
    /// True when the mirror was cloned afresh, false when an existing one was fetched.
    pub cloned: bool,
}

/// What a mirror on disk holds, for verify and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitMirrorState {
    /// No mirror at the path.
    Absent,
    /// A mirror without the ref.
    RefMissing,
    /// A mirror where the ref names this commit.
    At {
        /// The full commit hash.
        commit: String,
    },
}

/// Keeps bare mirrors of Git repositories with the `git` program.
#[derive(Debug, Clone)]
pub struct GitMirror {
    program: OsString,
    insecure_hosts: Vec<String>,
    retry: RetryPolicy,
    low_speed_limit: u64,
    low_speed_time: Duration,
}

impl GitMirror {
    /// Mirrors with `git` from `PATH`, plain http allowed to `insecure_hosts` (and loopback), retrying per `retry`.
    pub fn new(insecure_hosts: Vec<String>, retry: RetryPolicy) -> Self {
        Self {
            program: "git".into(),
            insecure_hosts,
            retry,
            low_speed_limit: 1,
            low_speed_time: Duration::from_secs(30),
        }
    }

    /// The low-speed limit of every transfer, as [`ClientConfig`](crate::ClientConfig)'s
    /// (default 1 byte/s over 30 s; a `limit` of 0 sets none): a slower attempt fails and is retried.
    pub fn with_low_speed(mut self, limit: u64, time: Duration) -> Self {
        self.low_speed_limit = limit;
        self.low_speed_time = time;
        self
    }

    /// The same, running `program` instead of `git`.
    pub fn with_program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// Where the mirror of `url` lives under `git_root` (`<git_root>/<host[:port]>/<path>`); refuses URLs the policy refuses.
    pub fn cache_path(&self, git_root: &Path, url: &str) -> Result<PathBuf, Error> {
        check_scheme(url, &self.insecure_hosts)?;
        let invalid = |reason: &str| Error::InvalidUrl { url: redact(url), reason: reason.to_owned() };
        let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        let host = parsed.host_str().ok_or_else(|| invalid("no host"))?;
        let host = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut path = git_root.join(host);
        let segments: Vec<&str> = parsed.path().split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() {
            return Err(invalid("no repository path"));
        }
        for segment in segments {
            if segment == "." || segment == ".." || segment.starts_with('.') || segment.contains(['\\', '\0'])
            {
                return Err(invalid("a path segment git mirrors cannot be stored under"));
            }
            path.push(segment);
        }
        Ok(path)
    }

    /// True when `dest` holds a mirror (a sync would fetch; otherwise it would clone).
    pub fn exists(dest: &Path) -> bool {
        dest.join("HEAD").is_file() && dest.join("objects").is_dir() && dest.join("refs").is_dir()
    }

    /// Clones `url` into `dest` (first run) or fetches every ref into it, then resolves `reference`.
    pub async fn sync(&self, url: &str, dest: &Path, reference: &GitRef) -> Result<GitSynced, Error> {
        check_scheme(url, &self.insecure_hosts)?;
        reference.check()?;
        let cloned = if Self::exists(dest) {
            retrying(url, &self.retry, || self.fetch(url, dest)).await?;
            false
        } else {
            self.prepare_clone(dest).await?;
            retrying(url, &self.retry, || self.clone_into(url, dest)).await?;
            true
        };
        match self.resolve(dest, reference).await? {
            Some(commit) => Ok(GitSynced { commit, cloned }),
            None => Err(Error::GitRefNotFound { reference: reference.to_string(), url: redact(url) }),
        }
    }

    /// What the mirror at `dest` holds of `reference`, without touching the network.
    pub async fn inspect(&self, dest: &Path, reference: &GitRef) -> Result<GitMirrorState, Error> {
        reference.check()?;
        if !Self::exists(dest) {
            return Ok(GitMirrorState::Absent);
        }
        Ok(match self.resolve(dest, reference).await? {
            Some(commit) => GitMirrorState::At { commit },
            None => GitMirrorState::RefMissing,
        })
    }

    /// Removes what is at `dest` when it is no mirror, and the temporaries of killed clones beside it.
    async fn prepare_clone(&self, dest: &Path) -> Result<(), Error> {
        let dest = dest.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let io = |path: &Path| {
                let path = path.to_path_buf();
                move |source| Error::GitIo { path, source }
            };
            let parent = dest.parent().ok_or_else(|| Error::GitIo {
                path: dest.clone(),
                source: std::io::Error::other("a mirror path needs a parent directory"),
            })?;
            fs_err::create_dir_all(parent).map_err(io(parent))?;
            match fs_err::symlink_metadata(&dest) {
                Ok(meta) if meta.is_dir() => fs_err::remove_dir_all(&dest).map_err(io(&dest))?,
                Ok(_) => fs_err::remove_file(&dest).map_err(io(&dest))?,
                Err(_) => {}
            }
            let prefix = partial_prefix(&dest);
            for entry in fs_err::read_dir(parent).map_err(io(parent))?.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    // Best effort: a git a killed run left may still be writing there.
                    let _ = fs_err::remove_dir_all(entry.path());
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    /// One clone attempt: `git clone --mirror` into a fresh temporary, renamed to `dest` when whole.
    async fn clone_into(&self, url: &str, dest: &Path) -> Result<(), Failure> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        let partial = tempfile::Builder::new()
            .prefix(&partial_prefix(dest))
            .tempdir_in(parent)
            .map_err(|source| Failure::Fatal(Error::GitIo { path: parent.to_path_buf(), source }))?;
        let target = partial.path().join("mirror.git");
        let mut command = self.command(url);
        command.args(["clone", "--mirror", "--quiet", "--no-local", "--"]).arg(url).arg(&target);
        self.run(command, "clone --mirror", url).await?;
        let mut command = self.command(url);
        command.arg("--git-dir").arg(&target).args(["config", "remote.origin.url", &redact(url)]);
        self.run(command, "config", url).await?;
        let renamed = fs_err::rename(&target, dest);
        renamed.map_err(|source| Failure::Fatal(Error::GitIo { path: dest.to_path_buf(), source }))
    }

    /// One fetch attempt: every ref of `url` into the mirror at `dest`, pruned.
    async fn fetch(&self, url: &str, dest: &Path) -> Result<(), Failure> {
        let mut command = self.command(url);
        command.arg("--git-dir").arg(dest).args([
            "fetch",
            "--quiet",
            "--prune",
            "--force",
            "--no-write-fetch-head",
            "--",
        ]);
        command.arg(url).arg("+refs/*:refs/*");
        self.run(command, "fetch", url).await
    }

    /// The full hash of the commit `reference` names in the mirror at `dest`, if any.
    async fn resolve(&self, dest: &Path, reference: &GitRef) -> Result<Option<String>, Error> {
        for candidate in reference.candidates() {
            let mut command = self.command("");
            command
                .arg("--git-dir")
                .arg(dest)
                .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
                .arg(format!("{candidate}^{{commit}}"));
            let out = spawn_output(&self.program, command).await?;
            if out.status.success() {
                let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                let matches = match reference {
                    GitRef::Commit(hash) => commit.starts_with(&hash.to_ascii_lowercase()),
                    _ => true,
                };
                if matches && commit.len() >= 40 {
                    return Ok(Some(commit));
                }
            }
        }
        Ok(None)
    }

    /// A git command with the safe environment and the protocols `url` may use.
    fn command(&self, url: &str) -> Command {
        let mut command = Command::new(&self.program);
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("GIT_") && !KEPT_GIT_VARS.contains(&text.as_ref()) {
                command.env_remove(&name);
            }
        }
        // Plain http (loopback or an allowed host) follows no redirect: it could lead anywhere over http.
        let plain = url.starts_with("http:");
        let (http, follow) = if plain { ("always", "false") } else { ("never", "initial") };
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GCM_INTERACTIVE", "never")
            .args(["-c", "protocol.allow=never", "-c", "protocol.https.allow=always"])
            .arg("-c")
            .arg(format!("protocol.http.allow={http}"))
            .arg("-c")
            .arg(format!("http.followRedirects={follow}"))
            .args(["-c", "credential.interactive=never", "-c", "core.hooksPath=/dev/null"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if self.low_speed_limit > 0 {
            let time = self.low_speed_time;
            let secs = (time.as_secs() + u64::from(time.subsec_nanos() > 0)).max(1);
            command.arg("-c").arg(format!("http.lowSpeedLimit={}", self.low_speed_limit));
            command.arg("-c").arg(format!("http.lowSpeedTime={secs}"));
        }
        command
    }

    /// Runs a network command; its failure is transient or final by what git printed.
    async fn run(&self, command: Command, action: &str, url: &str) -> Result<(), Failure> {
        let out = spawn_output(&self.program, command).await.map_err(Failure::Fatal)?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = scrub(&String::from_utf8_lossy(&out.stderr), url);
        let lower = stderr.to_ascii_lowercase();
        let err = Error::Git {
            action: action.to_owned(),
            url: redact(url),
            status: out.status.to_string(),
            stderr,
        };
        if TRANSIENT.iter().any(|t| lower.contains(t)) {
            Err(Failure::Transient(err, None))
        } else {
            Err(Failure::Fatal(err))
        }
    }
}

/// Runs `command` to completion; a program that cannot start is [`Error::GitMissing`].
async fn spawn_output(program: &OsString, mut command: Command) -> Result<std::process::Output, Error> {
    command
        .output()
        .await
        .map_err(|source| Error::GitMissing { program: program.to_string_lossy().into_owned(), source })
}

/// The name prefix of the temporary directories a clone of `dest` uses.
fn partial_prefix(dest: &Path) -> String {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.partial-")
}

/// Git's stderr, trimmed, with `url`'s credentials removed.
fn scrub(stderr: &str, url: &str) -> String {
    let mut text = stderr.trim().replace(url, &redact(url));
    if let Ok(parsed) = url::Url::parse(url) {
        for secret in [parsed.password().unwrap_or_default(), parsed.username()] {
            if !secret.is_empty() {
                text = text.replace(secret, "***");
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(branch: &str, tag: &str, semver: &str, commit: &str) -> ComponentsSourceRef {
        ComponentsSourceRef {
            branch: branch.into(),
            tag: tag.into(),
            semver: semver.into(),
            commit: commit.into(),
            ..Default::default()
        }
    }

    #[test]
    fn refs_from_the_manifest() {
        assert_eq!(GitRef::from_source(&source("main", "", "", "")).unwrap(), GitRef::Branch("main".into()));
        assert_eq!(GitRef::from_source(&source("", "", "1.2", "")).unwrap(), GitRef::Semver("1.2".into()));
        assert!(GitRef::from_source(&source("main", "v1", "", "")).is_err());
        assert!(GitRef::from_source(&source("", "", "", "")).is_err());
        for bad in [
            source("-upload-pack=x", "", "", ""),
            source("", "a..b", "", ""),
            source("", "", "^1.2", ""),
            source("", "", "1", ""),
            source("", "", "", "xyz1234"),
            source("", "", "", "abc"),
        ] {
            assert!(matches!(GitRef::from_source(&bad), Err(Error::GitRefInvalid { .. })), "{bad:?}");
        }
    }

    #[test]
    fn semver_tries_the_plain_tag_then_v() {
        assert_eq!(GitRef::Semver("v1.2.3".into()).candidates(), ["refs/tags/1.2.3", "refs/tags/v1.2.3"]);
    }

    #[test]
    fn cache_paths_follow_the_url_policy() {
        let mirror = GitMirror::new(Vec::new(), RetryPolicy::download());
        let root = Path::new("/cache/git");
        let path = mirror.cache_path(root, "https://u:p@github.com/podplane/components.git").unwrap();
        assert_eq!(path, Path::new("/cache/git/github.com/podplane/components.git"));
        let path = mirror.cache_path(root, "http://127.0.0.1:8080/git/c.git").unwrap();
        assert_eq!(path, Path::new("/cache/git/127.0.0.1:8080/git/c.git"));
        for bad in
            ["file:///etc", "/etc/passwd", "http://example.com/x.git", "https://h/.git/x", "https://h/"]
        {
            assert!(mirror.cache_path(root, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stderr_loses_credentials() {
        let text =
            scrub("fatal: unable to access 'https://bob:hunter2@h/x/': 403\n", "https://bob:hunter2@h/x/");
        assert!(!text.contains("hunter2") && !text.contains("bob"), "{text}");
    }
}
