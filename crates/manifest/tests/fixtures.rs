//! The real-shaped manifests in `tests/fixtures/` (copied from `shared/fixtures/real`):
//! they parse, select and validate as the manager needs, and their cached copies
//! (with some entries marked cached) are snapshotted byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deps_manifest::{
    ComponentImageFilter, ComponentsManifest, IMAGE_DEP_NAME, ImageRef, ItemFilter, Manifest,
    RECOMMENDED_ADDONS, SeedsManifest, TemplatesManifest, pathsafe,
};

const VMCONFIG: &[u8] = include_bytes!("fixtures/vmconfig_knc_debian-13_arm64.json");
const COMPONENTS: &[u8] = include_bytes!("fixtures/components.json");
const TEMPLATES: &[u8] = include_bytes!("fixtures/templates.json");
const SEEDS: &[u8] = include_bytes!("fixtures/seeds.json");

/// Parses manifest bytes as the manager does.
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    serde_json::from_slice(bytes)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn vmconfig_cached_copy() {
    let mut m = parse::<Manifest>(VMCONFIG).unwrap();
    assert!(m.mark_cached(IMAGE_DEP_NAME));
    assert!(m.mark_cached("kubectl"));
    insta::assert_snapshot!("vmconfig_cached", text(&m.to_cached_json()));
}

#[test]
fn components_cached_copy() {
    let mut m = parse::<ComponentsManifest>(COMPONENTS).unwrap();
    assert!(m.mark_cached(0));
    assert!(m.mark_cached(9));
    insta::assert_snapshot!("components_cached", text(&m.to_cached_json()));
}

#[test]
fn templates_cached_copy() {
    let mut m = parse::<TemplatesManifest>(TEMPLATES).unwrap();
    assert!(m.mark_cached(0, format!("sha256:{}", "1".repeat(64))));
    insta::assert_snapshot!("templates_cached", text(&m.to_cached_json()));
}

#[test]
fn seeds_cached_copy() {
    let mut m = parse::<SeedsManifest>(SEEDS).unwrap();
    assert!(m.mark_cached("minimal"));
    insta::assert_snapshot!("seeds_cached", text(&m.to_cached_json()));
}

/// Without its `images` (newer than the Go API we started from) the vmconfig
/// fixture is what that Go API writes, so our cached copy of it must be byte-identical.
#[test]
fn vmconfig_without_unknown_fields_round_trips_byte_for_byte() {
    let original = text(VMCONFIG);
    let cut = original.find(",\n    \"images\"").unwrap();
    let go_written = format!("{}\n  }}\n}}\n", &original[..cut]);
    let m = parse::<Manifest>(go_written.as_bytes()).unwrap();
    assert_eq!(text(&m.to_cached_json()), go_written);
    assert_eq!(parse::<Manifest>(&m.to_cached_json()).unwrap(), m);
}

#[test]
fn cached_copies_parse_back_to_the_same_manifests() {
    let mut vm = parse::<Manifest>(VMCONFIG).unwrap();
    vm.mark_cached("runc");
    assert_eq!(parse::<Manifest>(&vm.to_cached_json()).unwrap(), vm);
    let mut comp = parse::<ComponentsManifest>(COMPONENTS).unwrap();
    comp.mark_cached(3);
    assert_eq!(parse::<ComponentsManifest>(&comp.to_cached_json()).unwrap(), comp);
    let mut tpl = parse::<TemplatesManifest>(TEMPLATES).unwrap();
    tpl.mark_cached(0, "sha256:00");
    assert_eq!(parse::<TemplatesManifest>(&tpl.to_cached_json()).unwrap(), tpl);
    let mut seeds = parse::<SeedsManifest>(SEEDS).unwrap();
    seeds.mark_cached("recommended");
    assert_eq!(parse::<SeedsManifest>(&seeds.to_cached_json()).unwrap(), seeds);
}

#[test]
fn vmconfig_fixture_selects_and_validates() {
    let m = parse::<Manifest>(VMCONFIG).unwrap();
    assert!(m.has_unreleased_stub());
    assert!(!m.has_vmconfig_dep(&[]));
    let items = m.download_items(&[]);
    assert_eq!(items.len(), m.items().len() - 1);
    assert_eq!(items[0].name, IMAGE_DEP_NAME);
    m.validate(&items).unwrap();
    let install = m.install_items(&[ItemFilter::default()]);
    assert!(install.iter().all(|i| i.name != IMAGE_DEP_NAME && i.name != "vmconfig"));
    assert!(install.windows(2).all(|w| w[0].name < w[1].name));
    assert!(m.vmconfig.os.boot.is_complete());
    let image = &items[0];
    assert_eq!(image.local_filename(), "os-image.qcow2");
    assert_eq!(image.dep.filename().unwrap(), "debian-13-genericcloud-arm64-20260512-2476.qcow2");
}

#[test]
fn components_fixture_selects_and_validates() {
    let m = parse::<ComponentsManifest>(COMPONENTS).unwrap();
    let all: Vec<usize> = (0..m.components.images.len()).collect();
    m.validate(&all).unwrap();
    for image in &m.components.images {
        let zot = image.image_ref().unwrap().zot_repository();
        pathsafe::relative_path("repo", &zot).unwrap();
    }
    let filter = |archs: &[&str], providers: &[&str]| ComponentImageFilter {
        archs: archs.iter().map(|s| (*s).to_owned()).collect(),
        providers: providers.iter().map(|s| (*s).to_owned()).collect(),
        addons: RECOMMENDED_ADDONS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let arm = m.download_image_indexes(&filter(&["arm64"], &[]));
    assert!(arm.iter().all(|&i| m.components.images[i].arch() == "arm64"));
    assert!(arm.iter().all(|&i| m.components.images[i].providers.is_empty()));
    let both = m.download_image_indexes(&filter(&["amd64", "arm64"], &["aws"]));
    assert_eq!(both, all, "every fixture image is recommended, neutral or aws");
}

#[test]
fn cilium_reference_pins_the_index() {
    let m = parse::<ComponentsManifest>(COMPONENTS).unwrap();
    let cilium = m.components.images.iter().find(|i| i.component == "cilium").unwrap();
    let r = ImageRef::parse(&cilium.image).unwrap();
    assert_eq!(r.zot_repository(), "quay.io/cilium/cilium");
    assert_eq!(r.digest().map(ToString::to_string).as_deref(), Some(cilium.index.as_str()));
}

#[test]
fn templates_and_seeds_fixtures_validate() {
    let tpl = parse::<TemplatesManifest>(TEMPLATES).unwrap();
    tpl.validate().unwrap();
    assert_eq!(tpl.templates.charts[0].dependencies.components.len(), 5);
    let seeds = parse::<SeedsManifest>(SEEDS).unwrap();
    seeds.validate().unwrap();
    let minimal = &seeds.seeds.snapshots["minimal"];
    assert_eq!(minimal.filename("minimal").unwrap(), "minimal.netsy");
}

#[test]
fn runtime_images_of_the_fixtures_select_by_arch_and_validate() {
    let archs = |a: &str| vec![a.to_owned()];
    let vm = parse::<Manifest>(VMCONFIG).unwrap();
    assert_eq!(vm.image_indexes(&archs("arm64")), [0]);
    assert!(vm.image_indexes(&archs("amd64")).is_empty());
    vm.validate_images(&[0]).unwrap();
    assert_eq!(vm.vmconfig.images[0].image_ref().unwrap().zot_repository(), "registry.k8s.io/pause");
    let tpl = parse::<TemplatesManifest>(TEMPLATES).unwrap();
    assert_eq!(tpl.image_indexes(&archs("amd64")), [0, 2]);
    assert_eq!(tpl.image_indexes(&archs("arm64,amd64")), [0, 1, 2, 3]);
    tpl.validate_images(&[0, 1, 2, 3]).unwrap();
    assert_eq!(tpl.templates.images[2].templates["web"], "app");
}

#[test]
fn marked_runtime_images_are_cached_in_the_copy_and_reset_clears_them() {
    let mut vm = parse::<Manifest>(VMCONFIG).unwrap();
    assert!(vm.mark_image_cached(0));
    let text = text(&vm.to_cached_json());
    assert!(text.contains("\"index\": \"sha256:f548e0e8e3dc1896ca956272154dde3314e8cc4fde0a57577ee9fa1c63f5baf4\",\n        \"cached\": true"), "{text}");
    let mut back = parse::<Manifest>(text.as_bytes()).unwrap();
    assert!(back.vmconfig.images[0].cached);
    back.reset_cached();
    assert_eq!(back.to_cached_json(), VMCONFIG);
    let mut tpl = parse::<TemplatesManifest>(TEMPLATES).unwrap();
    assert!(tpl.mark_image_cached(3));
    tpl.reset_cached();
    assert_eq!(tpl.to_cached_json(), TEMPLATES);
}

#[test]
fn a_manifest_of_another_kind_is_rejected() {
    assert!(parse::<Manifest>(COMPONENTS).is_err());
    assert!(parse::<ComponentsManifest>(SEEDS).is_err());
    assert!(parse::<TemplatesManifest>(VMCONFIG).is_err());
    assert!(parse::<SeedsManifest>(TEMPLATES).is_err());
}
