//! The templates manifest: Helm charts fetched from an OCI registry or packaged from a local directory.
//!
//! A chart is `oci` (pulled from `url`, `oci://repo[:tag|@digest]`) or `chart`
//! (a local directory at `path`). The cached copy records `chartLayerDigest`,
//! the blob holding the chart archive. `dependencies` is always written, as
//! Go writes a struct even when tagged `omitempty`. The container images the
//! charts run (`images`) are selected by architecture, by index.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::cached_json::to_cached_json;
use crate::go_json::{is_false, is_none_or_empty, nullable};
use crate::runtime_image::{image_indexes, mark_image_cached, validate_images};
use crate::{Digest, DigestAlgo, Error, Extra, ImageRef, RuntimeImage, pathsafe};

/// Chart type pulled from an OCI registry.
pub const TEMPLATE_CHART_TYPE_OCI: &str = "oci";
/// Chart type packaged from a local chart directory.
pub const TEMPLATE_CHART_TYPE_CHART: &str = "chart";

/// A templates manifest file: `{"templates": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplatesManifest {
    /// The payload.
    pub templates: Templates,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The template charts of one templates release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Templates {
    /// Templates release version.
    pub version: String,
    /// The charts.
    #[serde(deserialize_with = "nullable")]
    pub charts: Vec<TemplateChart>,
    /// Container images the charts run, each with the charts (and values keys) using it.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub images: Vec<RuntimeImage>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One template chart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateChart {
    /// Chart name; the cache is keyed by it.
    pub name: String,
    /// Chart version; also its OCI tag (`+` written as `_`).
    pub version: String,
    /// `oci` or `chart` (JSON `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// For `oci` charts: `oci://repo[:tag|@digest]`.
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub url: Option<String>,
    /// For `chart` charts: the local chart directory, relative to the manifest file.
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub path: Option<String>,
    /// Expected OCI manifest digest (sha256), when pinned.
    #[serde(skip_serializing_if = "is_none_or_empty")]
    pub digest: Option<String>,
    /// Components the chart needs.
    pub dependencies: TemplateDependencies,
    /// Local marker: the chart is in the cache.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Local marker: digest of the cached chart archive blob.
    #[serde(rename = "chartLayerDigest", skip_serializing_if = "is_none_or_empty")]
    pub chart_layer_digest: Option<String>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a template chart depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateDependencies {
    /// Names of the components the chart needs.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub components: Vec<String>,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TemplatesManifest {
    /// The cached copy's bytes: Go-style indented JSON with `cached` markers and a trailing newline.
    pub fn to_cached_json(&self) -> Vec<u8> {
        to_cached_json(self)
    }

    /// Marks the chart at `index` cached with its chart layer digest; false when there is no such index.
    pub fn mark_cached(&mut self, index: usize, chart_layer_digest: impl Into<String>) -> bool {
        match self.templates.charts.get_mut(index) {
            Some(chart) => {
                chart.cached = true;
                chart.chart_layer_digest = Some(chart_layer_digest.into());
                true
            }
            None => false,
        }
    }

    /// Clears every chart's `cached` marker and chart layer digest, and every image's `cached` marker.
    pub fn reset_cached(&mut self) {
        for chart in &mut self.templates.charts {
            chart.cached = false;
            chart.chart_layer_digest = None;
        }
        for image in &mut self.templates.images {
            image.cached = false;
        }
    }

    /// Indexes of the `images` for `archs` (comma lists allowed); an image without a platform always matches.
    pub fn image_indexes(&self, archs: &[String]) -> Vec<usize> {
        image_indexes(&self.templates.images, archs)
    }

    /// Marks the image at `index` cached; false when there is no such index.
    pub fn mark_image_cached(&mut self, index: usize) -> bool {
        mark_image_cached(&mut self.templates.images, index)
    }

    /// Validates the images at `indexes` (the selected ones); an unknown index is skipped.
    pub fn validate_images(&self, indexes: &[usize]) -> Result<(), Error> {
        validate_images(&self.templates.images, indexes)
    }

    /// Validates every chart and that no name is listed twice.
    pub fn validate(&self) -> Result<(), Error> {
        let mut seen = BTreeSet::new();
        for chart in &self.templates.charts {
            chart.validate()?;
            if !seen.insert(chart.name.as_str()) {
                return Err(chart.invalid("listed more than once".to_owned()));
            }
        }
        Ok(())
    }
}

impl TemplateChart {
    /// The OCI tag for the chart version, as Helm writes it: `+` becomes `_`.
    pub fn oci_tag(&self) -> String {
        self.version.replace('+', "_")
    }

    /// The registry reference of an `oci` chart: its `url` without `oci://`.
    pub fn oci_ref(&self) -> Result<ImageRef, Error> {
        let url = self.url.as_deref().unwrap_or_default();
        if url.is_empty() {
            return Err(self.invalid("missing url".to_owned()));
        }
        let reference = url
            .strip_prefix("oci://")
            .ok_or_else(|| self.invalid(format!("url {url:?} must start with oci://")))?;
        ImageRef::parse(reference).map_err(|err| self.invalid(err.to_string()))
    }

    /// Checks name and version (safe path components), type and its source, and digests (sha256).
    pub fn validate(&self) -> Result<(), Error> {
        pathsafe::component("name", &self.name).map_err(|err| self.invalid(err.to_string()))?;
        pathsafe::component("version", &self.version).map_err(|err| self.invalid(err.to_string()))?;
        match self.kind.as_str() {
            TEMPLATE_CHART_TYPE_OCI => {
                self.oci_ref()?;
            }
            TEMPLATE_CHART_TYPE_CHART => {
                if self.path.as_deref().is_none_or(str::is_empty) {
                    return Err(self.invalid("missing path".to_owned()));
                }
            }
            other => return Err(self.invalid(format!("unsupported type {other:?} (expected oci or chart)"))),
        }
        for (field, value) in [("digest", &self.digest), ("chartLayerDigest", &self.chart_layer_digest)] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                let digest: Digest =
                    value.parse().map_err(|err: Error| self.invalid(format!("{field}: {err}")))?;
                if digest.algo() != DigestAlgo::Sha256 {
                    return Err(self.invalid(format!("{field} {value:?} must be sha256")));
                }
            }
        }
        Ok(())
    }

    /// An error about this chart.
    fn invalid(&self, reason: String) -> Error {
        Error::TemplateChart { name: self.name.clone(), reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oci() -> TemplateChart {
        TemplateChart {
            name: "web".to_owned(),
            version: "1.2.0+build.1".to_owned(),
            kind: TEMPLATE_CHART_TYPE_OCI.to_owned(),
            url: Some("oci://ghcr.io/podplane/charts/web:1.2.0".to_owned()),
            digest: Some(format!("sha256:{}", "d".repeat(64))),
            ..TemplateChart::default()
        }
    }

    fn local() -> TemplateChart {
        TemplateChart {
            name: "local".to_owned(),
            version: "dev".to_owned(),
            kind: TEMPLATE_CHART_TYPE_CHART.to_owned(),
            path: Some("../web".to_owned()),
            ..TemplateChart::default()
        }
    }

    fn manifest(charts: Vec<TemplateChart>) -> TemplatesManifest {
        let templates = Templates { version: "dev".to_owned(), charts, ..Templates::default() };
        TemplatesManifest { templates, ..TemplatesManifest::default() }
    }

    #[test]
    fn valid_charts_pass() {
        oci().validate().unwrap();
        local().validate().unwrap();
        let m = manifest(vec![oci(), local()]);
        m.validate().unwrap();
    }

    #[test]
    fn oci_ref_and_tag() {
        let r = oci().oci_ref().unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag()),
            ("ghcr.io", "podplane/charts/web", Some("1.2.0"))
        );
        assert_eq!(oci().oci_tag(), "1.2.0_build.1");
    }

    #[test]
    fn validate_rejects_each_broken_field() {
        let cases: [(&str, TemplateChart); 10] = [
            ("unsafe name", TemplateChart { name: "../x".to_owned(), ..oci() }),
            ("unsafe version", TemplateChart { version: "a/b".to_owned(), ..oci() }),
            ("unsupported type \"git\"", TemplateChart { kind: "git".to_owned(), ..oci() }),
            ("missing url", TemplateChart { url: None, ..oci() }),
            ("must start with oci://", TemplateChart { url: Some("https://x/y".to_owned()), ..oci() }),
            ("invalid image reference", TemplateChart { url: Some("oci://X/../y".to_owned()), ..oci() }),
            ("missing path", TemplateChart { path: Some(String::new()), ..local() }),
            ("digest: invalid digest", TemplateChart { digest: Some("sha256:1".to_owned()), ..oci() }),
            (
                "must be sha256",
                TemplateChart { digest: Some(format!("sha512:{}", "e".repeat(128))), ..oci() },
            ),
            ("chartLayerDigest", TemplateChart { chart_layer_digest: Some("x".to_owned()), ..local() }),
        ];
        for (want, chart) in cases {
            let msg = chart.validate().unwrap_err().to_string();
            assert!(msg.starts_with(&format!("template chart {}: ", chart.name)), "{msg}");
            assert!(msg.contains(want), "{want:?} not in {msg:?}");
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let m = manifest(vec![oci(), oci()]);
        assert_eq!(m.validate().unwrap_err().to_string(), "template chart web: listed more than once");
    }

    #[test]
    fn mark_and_reset_cached_with_layer_digest() {
        let mut m = manifest(vec![oci(), local()]);
        assert!(m.mark_cached(1, "sha256:abc"));
        assert!(!m.mark_cached(2, "sha256:abc"));
        assert!(!m.templates.charts[0].cached);
        assert!(m.templates.charts[1].cached);
        assert_eq!(m.templates.charts[1].chart_layer_digest.as_deref(), Some("sha256:abc"));
        m.reset_cached();
        assert!(m.templates.charts.iter().all(|c| !c.cached && c.chart_layer_digest.is_none()));
    }

    #[test]
    fn images_select_by_arch_and_mark_and_reset() {
        let mut m = manifest(vec![local()]);
        let image = |platform: &str| RuntimeImage {
            image: "docker.io/library/caddy:2".to_owned(),
            digest: format!("sha256:{}", "a".repeat(64)),
            size: 1,
            platform: platform.to_owned(),
            templates: [("local".to_owned(), "caddy".to_owned())].into(),
            ..RuntimeImage::default()
        };
        m.templates.images = vec![image("linux/arm64/v8"), image("linux/amd64")];
        assert_eq!(m.image_indexes(&["amd64".to_owned()]), [1]);
        assert_eq!(m.image_indexes(&["arm64".to_owned(), "amd64".to_owned()]), [0, 1]);
        assert!(m.image_indexes(&[]).is_empty());
        m.validate_images(&[0, 1]).unwrap();
        assert!(m.mark_image_cached(0) && !m.mark_image_cached(2));
        assert!(m.mark_cached(0, "sha256:00"));
        assert!(m.templates.images[0].cached && !m.templates.images[1].cached);
        m.reset_cached();
        assert!(m.templates.images.iter().all(|i| !i.cached));
    }

    #[test]
    fn writes_dependencies_always_and_omits_empty_options() {
        let chart = TemplateChart { path: Some(String::new()), ..local() };
        let json = serde_json::to_string(&chart).unwrap();
        assert_eq!(json, r#"{"name":"local","version":"dev","type":"chart","dependencies":{}}"#);
        let mut chart = local();
        chart.cached = true;
        chart.chart_layer_digest = Some("sha256:00".to_owned());
        let json = serde_json::to_string(&chart).unwrap();
        assert!(
            json.ends_with(r#""dependencies":{},"cached":true,"chartLayerDigest":"sha256:00"}"#),
            "{json}"
        );
    }
}
