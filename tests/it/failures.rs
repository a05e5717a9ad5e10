//! How a run fails: the other items finish when one fails, `fail_fast` stops
//! at the first failure, and every error keeps its kind up to the advice a
//! user reads (a full disk is blamed on the disk, not on the manifest).

use std::path::{Path, PathBuf};
use std::time::Duration;

use deps_manager::{Cause, DownloadEventType as Ev, DownloadOptions, Error};
use xtask::mirror::Fault;

use crate::support::{Env, recording};

const KIND: &str = "knc";
const ARCH: &str = "arm64";

/// The mirror path and size of an artifact of the arm64 manifest (`os-image` for the OS image).
fn artifact(env: &Env, name: &str) -> (String, u64) {
    let m = env.mirror_manifest("vmconfig_knc_debian-13_arm64.json");
    let entry =
        if name == "os-image" { &m["vmconfig"]["os"]["image"] } else { &m["vmconfig"]["dependencies"][name] };
    let url = entry["url"].as_str().unwrap();
    (url.trim_start_matches("http://mirror.invalid").to_owned(), entry["size"].as_u64().unwrap())
}

/// The final cache path of the OS image.
fn os_image_in_cache(env: &Env) -> PathBuf {
    let m = env.mirror_manifest("vmconfig_knc_debian-13_arm64.json");
    let image = &m["vmconfig"]["os"]["image"];
    let file = image["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let version = image["version"].as_str().unwrap();
    env.cache_dir().join("vmconfig/artifacts/os-image").join(version).join(file)
}

#[tokio::test]
async fn a_404_does_not_stop_the_large_download_and_every_failure_is_listed() {
    let env = Env::new().await;
    let (kubectl, _) = artifact(&env, "kubectl");
    env.mirror.set_fault(&kubectl, Fault::Status(404), None);
    let (image, size) = artifact(&env, "os-image");
    // Slow enough that the 404 arrives long before the image is complete.
    env.mirror.set_fault(&image, Fault::Slow { bytes_per_sec: (size / 2).max(1) }, None);

    let (opts, events) = recording();
    let err = env.manager().download(KIND, ARCH, opts).await.unwrap_err();
    let Error::Failed { failures } = &err else { panic!("expected the failures listed, got {err:?}") };
    let names: Vec<&str> = failures.iter().map(|f| f.item.as_str()).collect();
    assert_eq!(names, ["kubectl"], "{err}");
    assert!(matches!(failures[0].error.cause(), Cause::NotFound), "{:?}", failures[0].error);
    assert!(err.to_string().contains("kubectl") && err.to_string().contains("404"), "{err}");

    // The large download went on to the end and is in place, verified.
    let path = os_image_in_cache(&env);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size, "{}", path.display());
    let events = events.lock().unwrap().clone();
    assert!(events.iter().any(|e| e.kind == Ev::Done && e.name == "os-image"));
    assert!(events.iter().any(|e| e.kind == Ev::Failed && e.name == "kubectl" && e.message.contains("404")));

    // Nothing claims the incomplete vmconfig selection; the other domains completed.
    assert!(!env.manager().vmconfig_manifest_cache_path(KIND, ARCH).unwrap().exists());
    assert!(env.manager().components_manifest_cache_path().exists());

    // Once the mirror has the file, the next run fetches only it.
    env.mirror.clear_faults();
    env.mirror.clear_requests();
    env.manager().download(KIND, ARCH, DownloadOptions::default()).await.unwrap();
    let fetched: Vec<String> = env.gets_under("/vmconfig/artifacts/").into_iter().map(|r| r.path).collect();
    assert_eq!(fetched, [kubectl], "only the failed item is fetched again");
    env.manager().verify(KIND, ARCH).unwrap();
}

#[tokio::test]
async fn fail_fast_stops_at_the_first_failure() {
    let env = Env::new().await;
    let (kubectl, _) = artifact(&env, "kubectl");
    env.mirror.set_fault(&kubectl, Fault::Status(404), None);
    let (image, size) = artifact(&env, "os-image");
    // The image would take a minute: only a run that stops at once returns without it.
    env.mirror.set_fault(&image, Fault::Stall { after: size / 2, duration: Duration::from_secs(60) }, None);

    let err =
        env.manager().download(KIND, ARCH, DownloadOptions::default().fail_fast(true)).await.unwrap_err();
    let Error::Failed { failures } = &err else { panic!("expected the failure, got {err:?}") };
    assert_eq!(failures.len(), 1, "{err}");
    assert_eq!(failures[0].item, "kubectl");
    assert!(!os_image_in_cache(&env).exists(), "the stalled image was abandoned, not completed");
    assert!(!env.manager().components_manifest_cache_path().exists(), "nothing written after the failure");
}

/// A tmpfs of `size` mounted at `dir`, unmounted when dropped; `None` when this
/// process may not mount (not root), which fails instead when `DEPS_REQUIRE_TOOLS` is set.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status();
        if status.is_ok_and(|s| s.success()) {
            return Some(Tmpfs(dir.to_owned()));
        }
        assert!(
            std::env::var_os("DEPS_REQUIRE_TOOLS").is_none(),
            "mounting a tmpfs needs root (DEPS_REQUIRE_TOOLS is set)"
        );
        eprintln!("note: cannot mount a tmpfs (not root?); skipping the full-disk test");
        None
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test]
async fn a_full_disk_during_an_image_pull_is_blamed_on_the_disk() {
    let env = Env::new().await;
    let store = env.dir.path().join("store");
    // Far smaller than the fixture's images: the first large layer fills it.
    let Some(_tmpfs) = Tmpfs::mount(&store, "64k") else { return };
    let components: deps_manager::manifest::ComponentsManifest =
        serde_json::from_value(env.mirror_manifest("components.json")).unwrap();
    let registry = env.registry_client();
    let err = deps_manager::populate_components_zot_store(
        &store,
        &components,
        registry,
        DownloadOptions::default(),
    )
    .await
    .unwrap_err();
    let Error::Failed { failures } = &err else { panic!("expected item failures, got {err:?}") };
    let full: Vec<_> = failures.iter().filter(|f| matches!(f.error.cause(), Cause::Disk { .. })).collect();
    assert!(!full.is_empty(), "{err}");
    for failure in &full {
        let hint = failure.error.hint().unwrap();
        assert!(hint.contains("disk") && hint.contains("full"), "{hint}");
        assert!(!hint.contains("manifest"), "{hint}");
    }
    assert!(
        failures.iter().all(|f| !matches!(f.error.cause(), Cause::Manifest)),
        "no failure blames the manifest: {err}"
    );
}
