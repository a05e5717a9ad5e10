//! `GitMirror` against a real smart HTTP Git server: the fake mirror on
//! 127.0.0.1 running `git http-backend` over the fixtures' components
//! repository (three commits, branches `main` and `release-1.2`, the
//! annotated tag `v1.2.3` and the lightweight tag `1.0`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deps_transport::{Error, GitMirror, GitMirrorState, GitRef, RetryPolicy};
use tempfile::TempDir;
use xtask::fixtures::{FixtureGit, commit_file, write_components_repo};
use xtask::mirror::{Fault, Mirror};

/// The pack request of a clone or fetch.
const UPLOAD_PACK: &str = "/git/components.git/git-upload-pack";

/// A mirror serving the components repository, and an empty cache.
struct Env {
    root: TempDir,
    cache: TempDir,
    mirror: Mirror,
    repo: FixtureGit,
}

/// Retries after milliseconds, at most `retries` of them.
fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy::download().with_base(Duration::from_millis(5)).with_max_retries(retries)
}

impl Env {
    async fn new() -> Env {
        let root = tempfile::tempdir().unwrap();
        let repo = write_components_repo(root.path()).unwrap();
        let mirror = Mirror::start(root.path().to_owned()).await.unwrap();
        Env { root, cache: tempfile::tempdir().unwrap(), mirror, repo }
    }

    fn url(&self) -> String {
        format!("{}/git/components.git", self.mirror.base_url())
    }

    fn dest(&self) -> PathBuf {
        self.cache.path().join("git/127.0.0.1/components.git")
    }

    fn git(&self) -> GitMirror {
        GitMirror::new(Vec::new(), fast(2))
    }

    fn upstream(&self) -> PathBuf {
        self.root.path().join(&self.repo.path)
    }
}

/// The entries of `dir` whose names start with `prefix`.
fn partials(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[tokio::test]
async fn first_sync_clones_a_bare_mirror_and_resolves_the_tag() {
    let env = Env::new().await;
    let tag = GitRef::Tag("v1.2.3".into());
    assert_eq!(env.git().inspect(&env.dest(), &tag).await.unwrap(), GitMirrorState::Absent);
    let synced = env.git().sync(&env.url(), &env.dest(), &tag).await.unwrap();
    assert!(synced.cloned);
    assert_eq!(synced.commit, env.repo.tag_commit, "the annotated tag is peeled to its commit");
    assert!(GitMirror::exists(&env.dest()));
    assert!(!env.dest().join(".git").exists() && env.dest().join("refs").is_dir(), "a bare repository");
    let parent = env.dest().parent().unwrap().to_owned();
    assert!(partials(&parent, ".components.git.partial-").is_empty(), "no temporary left");
    let state = env.git().inspect(&env.dest(), &tag).await.unwrap();
    assert_eq!(state, GitMirrorState::At { commit: env.repo.tag_commit.clone() });
    let missing = GitRef::Tag("v0.0.1".into());
    assert_eq!(env.git().inspect(&env.dest(), &missing).await.unwrap(), GitMirrorState::RefMissing);
}

#[tokio::test]
async fn a_new_upstream_commit_is_fetched_on_the_next_sync() {
    let env = Env::new().await;
    let main = GitRef::Branch("main".into());
    let first = env.git().sync(&env.url(), &env.dest(), &main).await.unwrap();
    assert_eq!((first.commit.as_str(), first.cloned), (env.repo.branch_commit.as_str(), true));
    let pushed = commit_file(&env.upstream(), "main", "cilium/values.yaml", "version: 1.17.0\n").unwrap();
    // Before the sync the mirror still has the old commit.
    let state = env.git().inspect(&env.dest(), &main).await.unwrap();
    assert_eq!(state, GitMirrorState::At { commit: env.repo.branch_commit.clone() });
    // A branch deleted upstream is pruned from the mirror.
    let deleted = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(env.upstream())
        .args(["update-ref", "-d", "refs/heads/release-1.2"])
        .status()
        .unwrap();
    assert!(deleted.success());
    let second = env.git().sync(&env.url(), &env.dest(), &main).await.unwrap();
    assert_eq!((second.commit.as_str(), second.cloned), (pushed.as_str(), false));
    let release = GitRef::Branch("release-1.2".into());
    assert_eq!(env.git().inspect(&env.dest(), &release).await.unwrap(), GitMirrorState::RefMissing);
}

#[tokio::test]
async fn every_ref_kind_resolves() {
    let env = Env::new().await;
    let r = &env.repo;
    let cases = [
        (GitRef::Tag("v1.2.3".into()), &r.tag_commit),
        (GitRef::Branch("main".into()), &r.branch_commit),
        (GitRef::Branch("release-1.2".into()), &r.release_commit),
        (GitRef::Semver("1.2.3".into()), &r.tag_commit),
        (GitRef::Semver("v1.2.3".into()), &r.tag_commit),
        (GitRef::Semver("1.0".into()), &r.plain_tag_commit),
        (GitRef::Commit(r.plain_tag_commit.clone()), &r.plain_tag_commit),
        (GitRef::Commit(r.release_commit[..10].to_uppercase()), &r.release_commit),
    ];
    for (reference, commit) in cases {
        let synced = env.git().sync(&env.url(), &env.dest(), &reference).await.unwrap();
        assert_eq!(&synced.commit, commit, "{reference}");
    }
}

#[tokio::test]
async fn a_missing_ref_names_the_ref_and_the_repository_without_credentials() {
    let env = Env::new().await;
    let url = env.url().replace("http://", "http://bob:hunter2@");
    for reference in [
        GitRef::Tag("v9.9.9".into()),
        GitRef::Branch("nope".into()),
        GitRef::Semver("1.2".into()),
        GitRef::Commit("0123456789abcdef".into()),
    ] {
        let err = env.git().sync(&url, &env.dest(), &reference).await.unwrap_err();
        assert!(matches!(err, Error::GitRefNotFound { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&reference.to_string()) && text.contains(&env.url()), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("bob"), "{text}");
    }
    // The stored remote URL keeps no credentials either.
    let config = std::fs::read_to_string(env.dest().join("config")).unwrap();
    assert!(!config.contains("hunter2"), "{config}");
}

#[tokio::test]
async fn a_missing_repository_fails_at_once() {
    let env = Env::new().await;
    let url = format!("{}/git/nope.git", env.mirror.base_url());
    let err = env.git().sync(&url, &env.dest(), &GitRef::Tag("v1".into())).await.unwrap_err();
    assert!(matches!(err, Error::Git { .. }), "{err:?}");
    assert!(err.to_string().contains("/git/nope.git"), "{err}");
    assert_eq!(env.mirror.requests().len(), 1, "a 404 is not retried");
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_reported() {
    let env = Env::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/git/components.git");
    let err = env.git().sync(&url, &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap_err();
    let Error::RetriesExhausted { retries, last, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*retries, 2);
    assert!(matches!(**last, Error::Git { .. }), "{last:?}");
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn a_server_error_is_retried() {
    let env = Env::new().await;
    env.mirror.set_fault("/git/components.git/info/refs", Fault::Status(503), Some(1));
    let synced = env.git().sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap();
    assert_eq!(synced.commit, env.repo.tag_commit);
    let statuses: Vec<u16> = env.mirror.requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..2], [503, 200], "{statuses:?}");
}

#[tokio::test]
async fn a_plain_http_mirror_follows_no_redirect() {
    let env = Env::new().await;
    // `0.0.0.0:PORT` reaches the same mirror but is not loopback to the URL policy.
    let port = env.mirror.base_url().rsplit(':').next().unwrap().to_owned();
    let elsewhere = format!("http://0.0.0.0:{port}/git/components.git/info/refs?service=git-upload-pack");
    env.mirror.set_fault("/git/components.git/info/refs", Fault::RedirectTo(elsewhere), Some(1));
    let err = env.git().sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap_err();
    assert!(matches!(err, Error::Git { .. }), "{err:?}");
    assert!(env.mirror.requests().iter().all(|r| r.path == "/git/components.git/info/refs"), "not followed");
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_low_speed_limit() {
    let env = Env::new().await;
    env.mirror.set_fault("/git/components.git/info/refs", Fault::BlackHole, None);
    let git = GitMirror::new(Vec::new(), fast(1)).with_low_speed(1, Duration::from_secs(1));
    let err = git.sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap_err();
    let Error::RetriesExhausted { retries: 1, last, .. } = &err else { panic!("{err:?}") };
    assert!(last.to_string().contains("too slow"), "{last}");
    assert_eq!(env.mirror.requests().len(), 2, "one retry");
    assert!(!env.dest().exists());
}

#[tokio::test]
async fn a_clone_killed_midway_leaves_no_mirror_and_the_next_run_clones_cleanly() {
    let env = Env::new().await;
    env.mirror.set_fault(UPLOAD_PACK, Fault::Slow { bytes_per_sec: 20 }, None);
    let (url, dest) = (env.url(), env.dest());
    let task = tokio::spawn(async move {
        GitMirror::new(Vec::new(), fast(0)).sync(&url, &dest, &GitRef::Tag("v1.2.3".into())).await
    });
    // Wait until the pack is streaming, then kill the clone (the git child gets SIGKILL).
    while env.mirror.bytes_served(UPLOAD_PACK) == 0 {
        assert!(!task.is_finished(), "the clone ended early: {:?}", task.await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let parent = env.dest().parent().unwrap().to_owned();
    assert!(!env.dest().exists(), "nothing at the final path while cloning");
    assert_eq!(partials(&parent, ".components.git.partial-").len(), 1, "the clone writes beside it");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!env.dest().exists(), "a killed clone leaves no half repository");
    // A run killed harder (the whole process) leaves its temporary behind.
    let stale = parent.join(".components.git.partial-stale/mirror.git");
    std::fs::create_dir_all(stale.join("objects")).unwrap();
    std::fs::write(stale.join("HEAD"), "ref: refs/heads/main\n").unwrap();

    env.mirror.clear_faults();
    let synced = env.git().sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap();
    assert_eq!((synced.commit.as_str(), synced.cloned), (env.repo.tag_commit.as_str(), true));
    assert!(partials(&parent, ".components.git.partial-").is_empty(), "stale temporaries swept");
}

/// The pids of the `git clone --mirror` processes fetching `url`, read from `/proc`.
fn clones_of(url: &str) -> Vec<String> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> =
            cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "clone")
            && args.iter().any(|a| a == "--mirror")
            && args.iter().any(|a| a == url)
        {
            pids.push(name);
        }
    }
    pids
}

#[tokio::test]
async fn git_killed_with_sigkill_mid_clone_fails_the_sync_without_a_half_mirror() {
    let env = Env::new().await;
    env.mirror.set_fault(UPLOAD_PACK, Fault::Slow { bytes_per_sec: 20 }, None);
    let (url, dest) = (env.url(), env.dest());
    let task = tokio::spawn(async move {
        GitMirror::new(Vec::new(), fast(0)).sync(&url, &dest, &GitRef::Tag("v1.2.3".into())).await
    });
    while env.mirror.bytes_served(UPLOAD_PACK) == 0 {
        assert!(!task.is_finished(), "the clone ended early: {:?}", task.await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pids = clones_of(&env.url());
    assert_eq!(pids.len(), 1, "{pids:?}");
    let killed = std::process::Command::new("kill").args(["-9", &pids[0]]).status().unwrap();
    assert!(killed.success());
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Git { .. }), "{err:?}");
    assert!(err.to_string().contains("SIGKILL"), "{err}");
    assert!(!env.dest().exists(), "no half repository at the final path");

    env.mirror.clear_faults();
    let synced = env.git().sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap();
    assert_eq!((synced.commit.as_str(), synced.cloned), (env.repo.tag_commit.as_str(), true));
    let parent = env.dest().parent().unwrap().to_owned();
    assert!(partials(&parent, ".components.git.partial-").is_empty());
}

#[tokio::test]
async fn urls_outside_the_policy_are_refused_before_git_runs() {
    let cache = tempfile::tempdir().unwrap();
    let dest = cache.path().join("m.git");
    let git = GitMirror::new(Vec::new(), fast(0)).with_program("/nonexistent/git");
    let tag = GitRef::Tag("v1".into());
    for url in ["file:///srv/repo.git", "/srv/repo.git", "ext::sh -c id", "http://example.com/r.git"] {
        let err = git.sync(url, &dest, &tag).await.unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. } | Error::InsecureUrl { .. }), "{url}: {err:?}");
    }
    let allowed = GitMirror::new(vec!["example.com".into()], fast(0)).with_program("/nonexistent/git");
    let err = allowed.sync("http://example.com/r.git", &dest, &tag).await.unwrap_err();
    assert!(matches!(err, Error::GitMissing { .. }), "an allowed insecure host gets as far as git: {err:?}");
}

#[tokio::test]
async fn a_missing_git_is_a_typed_error_naming_the_skip_flag() {
    let env = Env::new().await;
    let git = GitMirror::new(Vec::new(), fast(2)).with_program("/nonexistent/git");
    let err = git.sync(&env.url(), &env.dest(), &GitRef::Tag("v1.2.3".into())).await.unwrap_err();
    assert!(matches!(err, Error::GitMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("--skip-components-git"), "{err}");
    assert!(env.mirror.requests().is_empty());
}
