//! Fixture generation: reproducible to the byte, manifests consistent with
//! the files they name, and the shapes the manager's tests rely on.

use std::path::Path;

use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha512};
use xtask::fixtures::{self, FixtureOptions, FixtureSummary, PLACEHOLDER_BASE_URL, Shape};

const SCALE: u64 = 1000;

fn generate(dir: &Path) -> FixtureSummary {
    let mut opts = FixtureOptions::new(dir);
    opts.scale = Some(SCALE);
    fixtures::generate(&opts).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `algo:hex` of a file, with the algorithm of `like`.
fn digest_like(path: &Path, like: &str) -> String {
    let bytes = std::fs::read(path).unwrap();
    match like.split(':').next().unwrap() {
        "sha256" => format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
        "sha512" => format!("sha512:{}", hex::encode(Sha512::digest(&bytes))),
        other => panic!("unexpected algorithm {other}"),
    }
}

/// Checks an entry's URL, size and digest against the file it names; returns its path.
fn check_entry(root: &Path, name: &str, entry: &Value) -> String {
    let url = entry["url"].as_str().unwrap();
    let rel =
        url.strip_prefix(&format!("{PLACEHOLDER_BASE_URL}/")).unwrap_or_else(|| panic!("{name}: {url}"));
    assert!(rel.starts_with(&format!("vmconfig/artifacts/{name}/{}/", entry["version"].as_str().unwrap())));
    let file = root.join(rel);
    let size = entry["size"].as_u64().unwrap();
    assert!(size >= 1);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size, "{name}");
    let digest = entry["digest"].as_str().unwrap();
    assert_eq!(digest_like(&file, digest), digest, "{name}");
    rel.to_owned()
}

#[test]
fn generation_is_reproducible() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (generate(a.path()), generate(b.path()));
    assert_eq!(sa, sb);
    for file in [
        "FIXTURES.json",
        "manifests/components.json",
        "manifests/templates.json",
        "manifests/vmconfig_knc_debian-13_arm64.json",
        "manifests/vmconfig_knc_debian-13_amd64.json",
        "manifests/seeds.json",
        "local/vmconfig.json",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
            "{file}"
        );
    }
    // Generating again over an existing directory gives the same result.
    assert_eq!(generate(a.path()), sa);
}

#[test]
fn vmconfig_manifests_match_their_files() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let real = json(
        &fixtures::default_source_dir()
            .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real"), |d| d.to_path_buf())
            .join("vmconfig_knc_debian-13_arm64.json"),
    );
    for arch in fixtures::ARCHS {
        let m = json(&dir.path().join("manifests").join(fixtures::vmconfig_manifest_file(arch)));
        let vm = &m["vmconfig"];
        assert_eq!(vm["version"], "fixture-1");
        assert_eq!(vm["os"]["arch"], arch);
        assert!(vm["os"]["boot"]["kernel"]["path"].as_str().unwrap().ends_with(arch));
        let image = check_entry(dir.path(), "os-image", &vm["os"]["image"]);
        assert!(image.contains(arch), "{image}");
        assert!(vm["os"]["image"]["digest"].as_str().unwrap().starts_with("sha512:"));
        let deps = vm["dependencies"].as_object().unwrap();
        assert_eq!(deps.len(), real["vmconfig"]["dependencies"].as_object().unwrap().len());
        for (name, dep) in deps {
            check_entry(dir.path(), name, dep);
            let real_dep = &real["vmconfig"]["dependencies"][name];
            if name != "vmconfig" {
                let algo = |d: &Value| d["digest"].as_str().unwrap().split(':').next().unwrap().to_owned();
                assert_eq!(algo(dep), algo(real_dep), "{name} keeps its digest algorithm");
                assert_eq!(
                    dep["size"].as_u64().unwrap(),
                    (real_dep["size"].as_u64().unwrap() / SCALE).max(1)
                );
                assert_eq!(dep["type"], real_dep["type"]);
            }
        }
        // The published manifest carries a released vmconfig entry, not the stub.
        assert_eq!(deps["vmconfig"]["version"], "fixture-1");
        assert!(deps["vmconfig"]["url"].as_str().unwrap().ends_with(&format!("{arch}.tar.gz")));
    }
}

#[test]
fn architectures_get_distinct_content_where_file_names_differ() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let m = |arch| json(&dir.path().join("manifests").join(fixtures::vmconfig_manifest_file(arch)));
    let (arm, amd) = (m("arm64"), m("amd64"));
    let dep = |m: &Value, n: &str| m["vmconfig"]["dependencies"][n].clone();
    assert_ne!(dep(&arm, "runc")["digest"], dep(&amd, "runc")["digest"]);
    assert!(dep(&amd, "runc")["url"].as_str().unwrap().ends_with("runc.amd64"));
    assert_ne!(arm["vmconfig"]["os"]["image"]["digest"], amd["vmconfig"]["os"]["image"]["digest"]);
    // Upstream names some binaries without the arch: one mirror path, one content.
    assert_eq!(dep(&arm, "kubectl"), dep(&amd, "kubectl"));
}

#[test]
fn local_vmconfig_keeps_the_unreleased_stub() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let local = json(&dir.path().join("local/vmconfig.json"));
    let mut published = json(&dir.path().join("manifests/vmconfig_knc_debian-13_arm64.json"));
    let stub = &local["vmconfig"]["dependencies"]["vmconfig"];
    assert_eq!(
        (stub["url"].as_str(), stub["digest"].as_str(), stub["size"].as_u64()),
        (Some(""), Some(""), Some(0))
    );
    published["vmconfig"]["dependencies"]["vmconfig"] = stub.clone();
    assert_eq!(local, published, "otherwise the same as the published arm64 manifest");
}

#[test]
fn seeds_components_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    let seeds = json(&dir.path().join("manifests/seeds.json"));
    assert_eq!(seeds["seeds"]["version"], "fixture-1");
    assert_eq!(seeds["seeds"]["components"], "fixture-1");
    for name in ["minimal", "recommended"] {
        let snap = &seeds["seeds"]["snapshots"][name];
        let url = snap["url"].as_str().unwrap();
        assert_eq!(url, format!("{PLACEHOLDER_BASE_URL}/seeds/snapshots/{name}.netsy"));
        let file = dir.path().join(format!("seeds/snapshots/{name}.netsy"));
        let size = snap["size"].as_u64().unwrap();
        assert!((100 << 10..1 << 20).contains(&size), "a few hundred KiB: {size}");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), size);
        let digest = snap["digest"].as_str().unwrap();
        assert!(digest.starts_with("sha512:"));
        assert_eq!(digest_like(&file, digest), digest);

        let local = json(&dir.path().join("local/seeds.json"));
        let path = local["seeds"]["snapshots"][name]["path"].as_str().unwrap();
        let local_file = dir.path().join("local").join(path);
        assert!(local_file.is_file(), "{path} next to local/seeds.json");
        assert!(local["seeds"]["snapshots"][name].get("url").is_none());
        assert_ne!(std::fs::read(local_file).unwrap(), std::fs::read(&file).unwrap());
    }

    let components = json(&dir.path().join("manifests/components.json"));
    assert_eq!(components["components"]["version"], "fixture-1");
    assert!(components["components"]["images"].as_array().unwrap().len() > 10);
    let templates = json(&dir.path().join("manifests/templates.json"));
    assert_eq!(
        templates,
        serde_json::json!({"templates": {"version": "fixture-1", "charts": [{
            "name": "web",
            "version": "1.2.0+fixture",
            "type": "oci",
            "url": "oci://ghcr.io/podplane/charts/web",
            "digest": summary.charts[0].manifest.digest,
            "dependencies": {"components": ["traefik"]},
        }]}})
    );

    assert_eq!(FixtureSummary::read(dir.path()).unwrap(), summary);
    let netsy: Vec<_> = summary.items_of("manifests/seeds.json").map(|i| i.name.as_str()).collect();
    assert_eq!(netsy, ["minimal", "recommended"]);
}

#[test]
fn summary_lists_every_item_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(dir.path());
    assert_eq!(summary.scale, SCALE);
    let arm = summary.items_of("manifests/vmconfig_knc_debian-13_arm64.json").count();
    let m = json(&dir.path().join("manifests/vmconfig_knc_debian-13_arm64.json"));
    assert_eq!(arm, m["vmconfig"]["dependencies"].as_object().unwrap().len() + 1);
    for item in &summary.items {
        let file = dir.path().join(&item.path);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), item.size, "{}", item.path);
        assert_eq!(digest_like(&file, &item.digest), item.digest, "{}", item.path);
    }
    let mut paths: Vec<&str> = summary.items.iter().map(|i| i.path.as_str()).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), summary.files);
    assert_eq!(
        summary.total_bytes,
        paths.iter().map(|p| std::fs::metadata(dir.path().join(p)).unwrap().len()).sum::<u64>()
    );
}

#[test]
fn embedded_manifests_give_the_same_fixtures() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let with_default = generate(a.path());
    let opts = FixtureOptions {
        out: b.path().to_path_buf(),
        scale: Some(SCALE),
        source: None,
        shape: Shape::Legacy,
    };
    assert_eq!(fixtures::generate(&opts).unwrap(), with_default);
}

#[test]
fn a_missing_source_manifest_is_named() {
    let (src, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = FixtureOptions {
        out: out.path().to_path_buf(),
        scale: Some(SCALE),
        source: Some(src.path().into()),
        shape: Shape::Legacy,
    };
    let err = format!("{:#}", fixtures::generate(&opts).unwrap_err());
    assert!(err.contains("vmconfig_knc_debian-13_arm64.json"), "{err}");
}

#[test]
fn generated_manifests_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    for (name, file) in [
        ("vmconfig_arm64", "manifests/vmconfig_knc_debian-13_arm64.json"),
        ("seeds", "manifests/seeds.json"),
        ("local_seeds", "local/seeds.json"),
    ] {
        insta::assert_snapshot!(name, std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
}

#[tokio::test]
async fn the_mirror_serves_generated_fixtures_at_its_own_address() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let mirror = xtask::mirror::Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    let reply = crate::client::get(&base, "/manifests/vmconfig_knc_debian-13_arm64.json").await;
    let m: Value = serde_json::from_slice(&reply.body).unwrap();
    let runc = &m["vmconfig"]["dependencies"]["runc"];
    let url = runc["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{base}/vmconfig/artifacts/runc/")), "{url}");
    let artifact = crate::client::get(&base, url.strip_prefix(&base).unwrap()).await;
    assert_eq!(artifact.body.len() as u64, runc["size"].as_u64().unwrap());
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&artifact.body))),
        runc["digest"].as_str().unwrap()
    );
}

/// The current shape (BEHAVIOR.md section 10) at the tests' scale.
pub fn generate_current(dir: &Path) -> FixtureSummary {
    let opts = FixtureOptions { scale: Some(SCALE), shape: Shape::Current, ..FixtureOptions::new(dir) };
    fixtures::generate(&opts).unwrap()
}

/// The manifests a fixture mirror publishes.
const PUBLISHED: [&str; 5] = [
    "manifests/components.json",
    "manifests/templates.json",
    "manifests/vmconfig_knc_debian-13_arm64.json",
    "manifests/vmconfig_knc_debian-13_amd64.json",
    "manifests/seeds.json",
];

#[test]
fn current_generation_is_reproducible_and_legacy_stays_the_default() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sa, sb) = (generate_current(a.path()), generate_current(b.path()));
    assert_eq!(sa, sb);
    assert_eq!((sa.shape, FixtureOptions::new(a.path()).shape), (Shape::Current, Shape::Legacy));
    for file in PUBLISHED.iter().chain(&["FIXTURES.json", "local/vmconfig.json"]) {
        assert_eq!(
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(FixtureSummary::read(a.path()).unwrap(), sa);
    // A legacy summary has none of the current-only fields.
    let legacy = generate(b.path());
    assert_eq!(legacy.shape, Shape::Legacy);
    assert!(legacy.vmconfig_images.is_empty() && legacy.template_images.is_empty());
    let text = std::fs::read_to_string(b.path().join("FIXTURES.json")).unwrap();
    for key in ["\"shape\"", "\"vmconfig_images\"", "\"template_images\"", "\"components\"", "\"git\""] {
        assert!(!text.contains(key), "{key} in a legacy summary");
    }
}

#[test]
fn current_kube_binaries_share_file_names_with_different_bytes_per_arch() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_current(dir.path());
    let m = |arch| json(&dir.path().join("manifests").join(fixtures::vmconfig_manifest_file(arch)));
    let (arm, amd) = (m("arm64"), m("amd64"));
    for name in fixtures::KUBE_BINARIES {
        let (a, b) = (&arm["vmconfig"]["dependencies"][name], &amd["vmconfig"]["dependencies"][name]);
        let basename = |d: &Value| d["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        assert_eq!(basename(a), name, "{name}: upstream file name");
        assert_eq!(basename(a), basename(b), "{name}: one file name for both archs");
        assert_eq!(a["version"], b["version"]);
        assert_ne!(a["digest"], b["digest"], "{name}: different bytes per arch");
        let (pa, pb) = (check_entry(dir.path(), name, a), check_entry(dir.path(), name, b));
        let version = a["version"].as_str().unwrap();
        assert_eq!(
            pb,
            format!("vmconfig/artifacts/{name}/{version}/{name}"),
            "the primary arch keeps the path"
        );
        assert_eq!(pa, format!("vmconfig/artifacts/{name}/{version}/arm64/{name}"));
        assert_eq!(fixtures::PRIMARY_ARCH, "amd64");
        for (arch, entry, path) in [("arm64", a, &pa), ("amd64", b, &pb)] {
            let item = summary.vmconfig_item(arch, name).unwrap();
            assert_eq!((&item.digest, &item.path), (&entry["digest"].as_str().unwrap().to_owned(), path));
        }
    }
    // Files whose names already differ keep the legacy layout.
    let runc = &arm["vmconfig"]["dependencies"]["runc"];
    assert!(check_entry(dir.path(), "runc", runc).ends_with("/1.4.2/runc.arm64"));
}

#[test]
fn current_components_list_components_addons_and_secrets_providers() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_current(dir.path());
    let doc = json(&dir.path().join("manifests/components.json"));
    let images = doc["components"]["images"].as_array().unwrap();
    assert_eq!(summary.images.len(), images.len());
    assert_eq!(
        doc["components"]["source"],
        serde_json::json!({"url": format!("{PLACEHOLDER_BASE_URL}/git/components.git"), "ref": {"tag": "v1.2.3"}})
    );
    let names = |e: &Value| -> Option<Vec<String>> {
        e.get("components")
            .map(|l| l.as_array().unwrap().iter().map(|n| n.as_str().unwrap().into()).collect())
    };
    let with = |image: &str| images.iter().filter(|e| e["image"] == image).collect::<Vec<_>>();

    let older: Vec<&Value> = images.iter().filter(|e| e.get("component").is_some()).collect();
    assert_eq!(older.len(), 2, "one image (two platforms) keeps the older field");
    assert!(older.iter().all(|e| e["component"] == "coredns" && e.get("components").is_none()));
    assert!(images.iter().all(|e| e.get("component").is_some() != e.get("components").is_some()));

    for e in with("docker.io/library/caddy:2") {
        assert_eq!(names(e).unwrap(), ["docs-site", "static-site"], "one image, two components");
        assert_eq!(e["addon"], true);
    }
    for e in with("ghcr.io/podplane/hello:latest") {
        assert_eq!((names(e).unwrap().len(), &e["addon"]), (0, &Value::Bool(true)), "addon, empty list");
    }
    let recommended = [
        "agent-sandbox",
        "cert-manager",
        "platform-certs",
        "podplane-operator",
        "secrets-store-csi-driver",
        "traefik",
        "trust-manager",
    ];
    let addons: Vec<String> =
        images.iter().filter(|e| e["addon"] == true).flat_map(|e| names(e).unwrap_or_default()).collect();
    for name in recommended.iter().chain(&["metrics-server"]) {
        let of = images.iter().filter(|e| names(e).unwrap_or_default().iter().any(|n| n == name));
        let platforms: Vec<&str> = of.map(|e| e["platform"].as_str().unwrap()).collect();
        assert_eq!(platforms.len(), 2, "{name}: one image, two platforms");
        assert!(addons.iter().any(|a| a == name), "{name} is an addon");
    }
    for provider in ["aws", "gcp", "openbao"] {
        let of: Vec<&Value> = images
            .iter()
            .filter(|e| e["providers"] == serde_json::json!([provider]) && e.get("addon").is_none())
            .collect();
        assert!(of.len() >= 2, "{provider}: provider images for both archs");
    }
    // The summary tells the component names whichever field the entry uses.
    for (image, entry) in summary.images.iter().zip(images) {
        let want = names(entry).unwrap_or_else(|| vec![entry["component"].as_str().unwrap().to_owned()]);
        assert_eq!(image.component_names(), want, "{}", image.reference);
    }
}

#[test]
fn current_manifests_carry_fields_deps_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    generate_current(dir.path());
    for (file, key, items) in [
        ("manifests/components.json", "components", &["/components/images/0"][..]),
        ("manifests/templates.json", "templates", &["/templates/charts/0", "/templates/images/0"][..]),
        (
            "manifests/vmconfig_knc_debian-13_arm64.json",
            "vmconfig",
            &["/vmconfig/dependencies/kubelet", "/vmconfig/images/0"][..],
        ),
        ("manifests/vmconfig_knc_debian-13_amd64.json", "vmconfig", &["/vmconfig/dependencies/kubelet"][..]),
        ("manifests/seeds.json", "seeds", &["/seeds/snapshots/minimal"][..]),
    ] {
        let doc = json(&dir.path().join(file));
        assert_eq!(doc["generated_by"], "fixture", "{file}");
        assert!(doc[key]["fixture_extra"].is_object(), "{file}");
        for pointer in items {
            assert!(doc.pointer(pointer).unwrap()["fixture_extra"].is_object(), "{file} {pointer}");
        }
    }
}

#[test]
fn current_manifests_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let opts =
        FixtureOptions { scale: Some(100_000), shape: Shape::Current, ..FixtureOptions::new(dir.path()) };
    fixtures::generate(&opts).unwrap();
    for (name, file) in [
        ("current_components", "manifests/components.json"),
        ("current_vmconfig_arm64", "manifests/vmconfig_knc_debian-13_arm64.json"),
        ("current_vmconfig_amd64", "manifests/vmconfig_knc_debian-13_amd64.json"),
        ("current_templates", "manifests/templates.json"),
        ("current_seeds", "manifests/seeds.json"),
    ] {
        insta::assert_snapshot!(name, std::fs::read_to_string(dir.path().join(file)).unwrap());
    }
}

#[tokio::test]
async fn current_fixtures_serve_the_components_repository_over_smart_http() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_current(dir.path());
    let git = summary.git.clone().expect("the current shape has a components repository");
    assert_eq!((git.path.as_str(), git.tag.as_str()), ("git/components.git", "v1.2.3"));
    let root = tempfile::tempdir().unwrap();
    let again = fixtures::write_components_repo(root.path()).unwrap();
    assert_eq!(again, git, "the same commit ids on every run");

    let mirror = xtask::mirror::Mirror::start(root.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    let reply = crate::client::get(&base, "/git/components.git/info/refs?service=git-upload-pack").await;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(text.contains("# service=git-upload-pack"), "{text}");
    // The generated manifest names the served repository once the mirror rewrites the placeholder.
    let gen_mirror = xtask::mirror::Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let gen_base = gen_mirror.base_url();
    let reply = crate::client::get(&gen_base, "/manifests/components.json").await;
    let doc: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(doc["components"]["source"]["url"], format!("{gen_base}/git/components.git"));
    let cloned = tokio::process::Command::new("git")
        .args(["ls-remote", "--tags", &format!("{base}/git/components.git")])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .unwrap();
    let tags = String::from_utf8_lossy(&cloned.stdout).into_owned();
    assert!(
        cloned.status.success() && tags.contains("refs/tags/v1.2.3^{}") && tags.contains(&git.tag_commit),
        "{tags}"
    );
}
