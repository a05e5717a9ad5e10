//! Cached copies lose nothing: every manifest in `tests/fixtures/` (the real
//! shapes from `shared/fixtures/real`) and every unknown field, wherever it
//! sits, comes back from `to_cached_json` with only `cached` markers added.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use deps_manifest::{ComponentsManifest, Manifest, SeedsManifest, TemplatesManifest, to_cached_json};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The fixtures, by file name.
const FIXTURES: [(&str, &[u8]); 4] = [
    ("vmconfig_knc_debian-13_arm64.json", include_bytes!("fixtures/vmconfig_knc_debian-13_arm64.json")),
    ("components.json", include_bytes!("fixtures/components.json")),
    ("templates.json", include_bytes!("fixtures/templates.json")),
    ("seeds.json", include_bytes!("fixtures/seeds.json")),
];

/// A components manifest in the current upstream shape: `components` lists, a
/// shared image, an addon naming no component, a source, and fields newer than us.
const CURRENT_COMPONENTS: &str = r#"{
  "components": {
    "version": "v0.9.0",
    "source": {"url": "https://github.com/podplane/components", "ref": {"semver": "0.9"}, "depth": 1},
    "images": [
      {"components": ["cert-manager", "trust-manager"], "image": "quay.io/jetstack/ctl:v1",
       "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
       "size": 10, "platform": "linux/amd64", "addon": true, "sbom": {"format": "spdx"}},
      {"image": "docker.io/library/caddy:2",
       "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
       "size": 20, "addon": true, "licence": null},
      {"component": "cilium", "image": "quay.io/cilium/cilium:v1.16.3",
       "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
       "size": 30, "providers": ["aws"], "signed": true}
    ],
    "generated": "2026-07-24T00:00:00Z"
  },
  "schema": 2
}"#;

/// Parses as `T`, writes the cached copy, and returns (original, ours without `cached` markers).
fn round_trip<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> (Value, Value) {
    let parsed: T = serde_json::from_slice(bytes).unwrap();
    let mut ours: Value = serde_json::from_slice(&to_cached_json(&parsed)).unwrap();
    strip_cached(&mut ours);
    (serde_json::from_slice(bytes).unwrap(), ours)
}

/// The round trip for whichever manifest kind the top-level key names.
fn round_trip_any(bytes: &[u8]) -> (Value, Value) {
    let value: Value = serde_json::from_slice(bytes).unwrap();
    let kind = ["vmconfig", "components", "templates", "seeds"].into_iter().find(|k| value.get(k).is_some());
    match kind {
        Some("vmconfig") => round_trip::<Manifest>(bytes),
        Some("components") => round_trip::<ComponentsManifest>(bytes),
        Some("templates") => round_trip::<TemplatesManifest>(bytes),
        Some("seeds") => round_trip::<SeedsManifest>(bytes),
        _ => panic!("not a manifest: {value}"),
    }
}

/// Removes every `cached` key, at any depth.
fn strip_cached(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("cached");
            map.values_mut().for_each(strip_cached);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_cached),
        _ => {}
    }
}

#[test]
fn every_real_fixture_round_trips_with_markers_removed() {
    for (name, bytes) in FIXTURES {
        let (original, ours) = round_trip_any(bytes);
        assert_eq!(ours, original, "{name}");
    }
}

/// The fixtures Go wrote are written back byte for byte. (`seeds.json` is
/// not one: its snapshots are not in Go's sorted map order, so only its
/// content round-trips.)
#[test]
fn go_written_fixtures_are_written_back_byte_for_byte() {
    let check = |name: &str, bytes: &[u8], ours: Vec<u8>| {
        assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(bytes.to_vec()).unwrap(), "{name}");
    };
    let [(vm_name, vm), (comp_name, comp), (tpl_name, tpl), _] = FIXTURES;
    check(vm_name, vm, serde_json::from_slice::<Manifest>(vm).unwrap().to_cached_json());
    check(comp_name, comp, serde_json::from_slice::<ComponentsManifest>(comp).unwrap().to_cached_json());
    check(tpl_name, tpl, serde_json::from_slice::<TemplatesManifest>(tpl).unwrap().to_cached_json());
}

#[test]
fn the_current_components_shape_round_trips() {
    let (original, ours) = round_trip::<ComponentsManifest>(CURRENT_COMPONENTS.as_bytes());
    assert_eq!(ours, original);
    let m: ComponentsManifest = serde_json::from_str(CURRENT_COMPONENTS).unwrap();
    assert_eq!(m.extra["schema"], 2);
    assert_eq!(m.components.extra["generated"], "2026-07-24T00:00:00Z");
    let source = m.components.source.as_ref().unwrap();
    assert_eq!((source.reference.semver.as_str(), &source.extra["depth"]), ("0.9", &Value::from(1)));
    assert_eq!(m.components.images[0].component_names(), ["cert-manager", "trust-manager"]);
    assert_eq!(m.components.images[0].extra["sbom"]["format"], "spdx");
    assert_eq!(m.components.images[1].extra["licence"], Value::Null);
    assert_eq!(m.components.images[2].component_names(), ["cilium"]);
}

/// Where unknown fields are planted in each fixture: every struct the manifest has.
const PLACES: [(&str, &[&str]); 5] = [
    (
        "vmconfig_knc_debian-13_arm64.json",
        &[
            "",
            "/vmconfig",
            "/vmconfig/os",
            "/vmconfig/os/image",
            "/vmconfig/os/boot",
            "/vmconfig/os/boot/kernel",
            "/vmconfig/os/boot/initrd",
            "/vmconfig/dependencies/kubectl",
            "/vmconfig/images/0",
        ],
    ),
    ("components.json", &["", "/components", "/components/images/0", "/components/images/9"]),
    (
        "templates.json",
        &["", "/templates", "/templates/charts/0", "/templates/charts/0/dependencies", "/templates/images/3"],
    ),
    ("seeds.json", &["", "/seeds", "/seeds/snapshots/minimal"]),
    ("current components", &["/components/source", "/components/source/ref", "/components/images/1"]),
];

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        "[ -~<>&\u{e9}\u{2028}]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z<&]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown fields: names no manifest type declares (all start with `x`) and any values.
fn unknown_fields() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("x[a-zA-Z0-9_<>&-]{0,10}", json_value(), 1..4)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unknown_fields_anywhere_round_trip(fields in unknown_fields()) {
        let current = [("current components", CURRENT_COMPONENTS.as_bytes())];
        for (name, bytes) in FIXTURES.into_iter().chain(current) {
            let places = PLACES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).unwrap();
            let mut value: Value = serde_json::from_slice(bytes).unwrap();
            for place in places {
                let object = value.pointer_mut(place).and_then(Value::as_object_mut);
                let object = object.unwrap_or_else(|| panic!("{name}: no object at {place:?}"));
                object.extend(fields.clone());
            }
            let bytes = serde_json::to_vec(&value).unwrap();
            let (original, ours) = round_trip_any(&bytes);
            prop_assert_eq!(ours, original, "{}", name);
        }
    }
}
