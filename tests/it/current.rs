//! Today's podplane manifests (BEHAVIOR.md §10) end to end: two archs whose
//! kube binaries share file names never overwrite each other, the image
//! selection follows podplane's rule, runtime images are pulled, and cached
//! copies keep every upstream field.

use std::collections::BTreeSet;

use deps_manager::DownloadOptions;
use deps_manager::manifest::{RECOMMENDED_ADDONS, secrets_providers};
use serde_json::Value;

use crate::support::{Env, assert_zot_serves, read_json};

const KIND: &str = "knc";
const ARCHS: [&str; 2] = ["amd64", "arm64"];

/// Both archs, as the CLI runs them: the first does the shared work for both.
async fn download_both(env: &Env, manager: &deps_manager::Manager, opts: &DownloadOptions) {
    for (i, arch) in ARCHS.iter().enumerate() {
        let opts = opts
            .clone()
            .archs(ARCHS.iter().map(|a| (*a).to_owned()).collect())
            .skip_cross_arch_dependencies(i > 0);
        manager.download(KIND, arch, opts).await.unwrap_or_else(|e| panic!("{arch}: {e}"));
    }
    let _ = env;
}

fn primary_amd64(env: &Env) -> deps_manager::Manager {
    env.manager().with_primary_arch("amd64")
}

#[tokio::test]
async fn two_archs_with_same_named_kube_binaries_keep_both_and_a_rerun_fetches_nothing() {
    let env = Env::current().await;
    let manager = primary_amd64(&env);
    download_both(&env, &manager, &DownloadOptions::default()).await;
    for arch in ARCHS {
        manager.verify(KIND, arch).unwrap_or_else(|e| panic!("verify {arch}: {e}"));
    }

    // The same file name, two files with each arch's bytes.
    let vm = |arch: &str| env.mirror_manifest(&format!("vmconfig_knc_debian-13_{arch}.json"));
    let kubelet = |arch: &str| vm(arch)["vmconfig"]["dependencies"]["kubelet"].clone();
    let (amd, arm) = (kubelet("amd64"), kubelet("arm64"));
    assert_ne!(amd["digest"], arm["digest"], "the fixtures make the archs differ");
    let version = amd["version"].as_str().unwrap();
    let dir = env.cache_dir().join("vmconfig/artifacts/kubelet").join(version);
    let (primary, other) =
        (std::fs::read(dir.join("kubelet")).unwrap(), std::fs::read(dir.join("arm64/kubelet")).unwrap());
    assert_ne!(primary, other);
    let dep: deps_manager::manifest::Dependency = serde_json::from_value(arm).unwrap();
    assert_eq!(
        manager.vmconfig_arch_artifact_cache_path("kubelet", &dep, "arm64").unwrap(),
        dir.join("arm64/kubelet")
    );

    // The VM's own image and the template images are in the image store and marked cached.
    for arch in ARCHS {
        let cached = read_json(&manager.vmconfig_manifest_cache_path(KIND, arch).unwrap());
        let images = cached["vmconfig"]["images"].as_array().unwrap();
        assert!(!images.is_empty() && images.iter().all(|i| i["cached"] == true), "{arch}: {images:?}");
    }
    let templates = read_json(&manager.templates_manifest_cache_path());
    assert!(templates["templates"]["images"].as_array().unwrap().iter().all(|i| i["cached"] == true));
    assert!(env.cache_dir().join("registry/mirror/registry.k8s.io/pause/index.json").is_file());
    let components = read_json(&manager.components_manifest_cache_path());
    assert_eq!(components["components"]["source"]["cached"], true, "the Git mirror holds the ref");
    assert_zot_serves(&env);

    env.mirror.clear_requests();
    download_both(&env, &manager, &DownloadOptions::default()).await;
    let fetched: Vec<String> = env
        .mirror
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/manifests/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // Only the Git mirror talks to the server again: a fetch of all refs runs every time
    // (the ref advertisement and, with protocol v2, one request listing the refs).
    assert!(
        fetched.len() <= 2 && fetched.iter().all(|r| r.contains(" /git/components.git/")),
        "a second run fetched {fetched:?}"
    );
}

/// Whether podplane would select a components image (BEHAVIOR.md §10), written
/// here from the spec, independently of the manifest crate.
fn selected(image: &Value, archs: &[&str], providers: &BTreeSet<String>, addons: &BTreeSet<String>) -> bool {
    let platform = image["platform"].as_str().unwrap_or_default();
    let arch = platform.split('/').nth(1).unwrap_or_default();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str()).map(str::to_owned).collect()
    };
    let for_provider = strings(&image["providers"]);
    let mut names = strings(&image["components"]);
    names.extend(image["component"].as_str().filter(|c| !c.is_empty()).map(str::to_owned));
    (platform.is_empty() || archs.contains(&arch))
        && (for_provider.is_empty() || for_provider.iter().any(|p| providers.contains(p)))
        && (image["addon"] != true
            || names.is_empty()
            || names.iter().any(|n| addons.contains(n))
            || addons.contains("all"))
}

/// Our markers removed, recursively: every `cached`, and the chart layer digest a cached chart records.
fn without_markers(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("cached");
            map.remove("chartLayerDigest");
            for v in map.values_mut() {
                *v = without_markers(v.take());
            }
        }
        Value::Array(items) => {
            for v in items {
                *v = without_markers(v.take());
            }
        }
        _ => {}
    }
    value
}

#[tokio::test]
async fn images_are_selected_by_podplanes_rule_and_cached_copies_keep_every_field() {
    let env = Env::current().await;
    let manager = primary_amd64(&env);
    let user_addons = ["metrics-server".to_owned()];
    let user_providers = ["proxmox".to_owned()];
    let mut addons: Vec<String> = RECOMMENDED_ADDONS.iter().map(|a| (*a).to_owned()).collect();
    addons.extend(user_addons.iter().cloned());
    let opts = DownloadOptions::default().addons(addons.clone()).providers(user_providers.to_vec());
    download_both(&env, &manager, &opts).await;

    let published = env.served_manifest("components.json");
    let mut providers: BTreeSet<String> = user_providers.iter().cloned().collect();
    providers.extend(secrets_providers(&user_providers));
    assert!(providers.contains("openbao"), "proxmox brings its secrets provider");
    let addons: BTreeSet<String> = addons.into_iter().collect();
    let cached = read_json(&manager.components_manifest_cache_path());
    let images = |m: &Value| m["components"]["images"].as_array().unwrap().clone();
    let expected: Vec<bool> =
        images(&published).iter().map(|i| selected(i, &ARCHS, &providers, &addons)).collect();
    let marked: Vec<bool> = images(&cached).iter().map(|i| i["cached"] == true).collect();
    assert_eq!(marked, expected);
    // The rule's corners are in the fixture and go the way the rule says.
    let pick = |name: &str| {
        images(&published)
            .iter()
            .zip(&marked)
            .filter(|(i, _)| i["image"].as_str().unwrap().contains(name))
            .map(|(_, m)| *m)
            .collect::<Vec<_>>()
    };
    assert!(pick("podplane/hello").iter().all(|m| *m), "an addon with an empty list is always selected");
    assert!(pick("caddy").iter().all(|m| !*m), "an addon whose components are not asked for is not");
    assert!(pick("metrics-server").iter().all(|m| *m), "--addons adds to the recommended ones");
    assert!(pick("trust-manager").iter().all(|m| *m), "a recommended addon is selected");
    assert!(pick("openbao-csi-provider").iter().all(|m| *m), "proxmox selects its secrets provider");
    assert!(pick("aws-secrets-manager").iter().all(|m| !*m), "another provider's image is not selected");

    // Cached copies are the upstream manifests plus our markers, nothing lost.
    let copies = [
        ("components.json", manager.components_manifest_cache_path()),
        ("templates.json", manager.templates_manifest_cache_path()),
        ("seeds.json", manager.seeds_manifest_cache_path()),
        ("vmconfig_knc_debian-13_amd64.json", manager.vmconfig_manifest_cache_path(KIND, "amd64").unwrap()),
        ("vmconfig_knc_debian-13_arm64.json", manager.vmconfig_manifest_cache_path(KIND, "arm64").unwrap()),
    ];
    for (file, copy) in copies {
        assert_eq!(without_markers(read_json(&copy)), env.served_manifest(file), "{file}");
    }
}

#[tokio::test]
async fn with_a_mirror_another_arch_tries_the_arch_path_then_the_original() {
    let env = Env::current().await;
    let manager = primary_amd64(&env);
    let opts =
        DownloadOptions::default().mirror(Some(env.mirror.base_url())).skip_cross_arch_dependencies(true);
    manager.download(KIND, "arm64", opts).await.unwrap();
    manager
        .verify_with(KIND, "arm64", deps_manager::VerifyOptions::default().skip_cross_arch_dependencies(true))
        .unwrap();

    let kubelet =
        env.mirror_manifest("vmconfig_knc_debian-13_arm64.json")["vmconfig"]["dependencies"]["kubelet"]
            .clone();
    let version = kubelet["version"].as_str().unwrap();
    let gets: Vec<String> = env.gets_under("/vmconfig/artifacts/").into_iter().map(|r| r.path).collect();
    // The kube binary is found at the arch path; the others fall back to the original path.
    assert!(gets.contains(&format!("/vmconfig/artifacts/kubelet/{version}/arm64/kubelet")), "{gets:?}");
    let runc: Vec<&String> = gets.iter().filter(|p| p.starts_with("/vmconfig/artifacts/runc/")).collect();
    assert_eq!(runc.len(), 2, "the arch path, then the original: {runc:?}");
    assert!(runc[0].contains("/arm64/") && !runc[1].contains("/arm64/"), "{runc:?}");
}

#[tokio::test]
async fn the_components_git_source_is_planned_mirrored_verified_and_reported() {
    let env = Env::current().await;
    let manager = primary_amd64(&env);
    let plan = manager.download(KIND, "amd64", DownloadOptions::default().dry_run(true)).await.unwrap();
    let git = plan.git.expect("the plan names the Git mirror");
    assert!(git.clone && git.reference.contains("v1.2.3"), "{git:?}");
    assert!(env.gets_under("/git/").is_empty(), "a dry run does not touch the repository");

    manager.download(KIND, "amd64", DownloadOptions::default()).await.unwrap();
    let mirror = env.cache_dir().join(&git.path);
    assert!(mirror.join("HEAD").is_file(), "a bare mirror at {}", mirror.display());
    let plan = manager.download(KIND, "amd64", DownloadOptions::default().dry_run(true)).await.unwrap();
    assert!(!plan.git.unwrap().clone, "an existing mirror is fetched, not cloned");

    let status = manager.cache_status(KIND, &["amd64".to_owned()]).unwrap();
    let components = status.domains.iter().find(|d| d.domain == deps_manager::Domain::Components).unwrap();
    let (_, commit) = components.git.clone().expect("status reports the mirror");
    assert_eq!(commit.map(|c| c.len()), Some(40), "the mirrored commit");

    std::fs::remove_dir_all(&mirror).unwrap();
    let err = manager.verify(KIND, "amd64").unwrap_err();
    assert!(err.to_string().contains("Git mirror missing"), "{err}");
}

#[tokio::test]
async fn skip_components_git_leaves_the_repository_alone() {
    let env = Env::current().await;
    let manager = primary_amd64(&env);
    manager.download(KIND, "amd64", DownloadOptions::default().skip_components_git(true)).await.unwrap();
    assert!(env.gets_under("/git/").is_empty());
    let components = read_json(&manager.components_manifest_cache_path());
    assert!(components["components"]["source"].get("cached").is_none(), "not marked: {components}");
    manager.verify(KIND, "amd64").unwrap();
}
