//! Chart metadata: `Chart.yaml` as Helm reads it and the config JSON as Helm writes it.
//!
//! The fields and their order are Go's `chart.Metadata` (Helm 3), all
//! `omitempty` as there, so [`ChartMetadata::config_json`] gives the bytes
//! `helm push` puts in the chart's config blob. YAML values are read as Helm's
//! YAML-to-JSON step does: `null` is the empty value, unknown keys are
//! ignored, and a plain scalar given for a string field (`version: 1.10`) keeps
//! its text.

use std::collections::BTreeMap;

use deps_manifest::go_json::{is_false, nullable, to_go_json};
use serde::{Deserialize, Deserializer, Serialize};

/// A chart's `Chart.yaml`, in the field order of Helm's `chart.Metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChartMetadata {
    /// The chart's name.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub name: String,
    /// The project's home page URL.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub home: String,
    /// Source code URLs.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "texts")]
    pub sources: Vec<String>,
    /// The chart's SemVer version.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub version: String,
    /// One-sentence description.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub description: String,
    /// Search keywords.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "texts")]
    pub keywords: Vec<String>,
    /// The maintainers.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub icon: String,
    /// Chart API version (`v1` or `v2`).
    #[serde(rename = "apiVersion", skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub api_version: String,
    /// Condition path (Helm 2 charts).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub condition: String,
    /// Tags (Helm 2 charts).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub tags: String,
    /// Version of the packaged application.
    #[serde(rename = "appVersion", skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub app_version: String,
    /// Whether the chart is deprecated.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub deprecated: bool,
    /// Free-form annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "text_map")]
    pub annotations: BTreeMap<String, String>,
    /// SemVer range of supported Kubernetes versions.
    #[serde(rename = "kubeVersion", skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub kube_version: String,
    /// Chart dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub dependencies: Vec<ChartDependency>,
    /// `application` or `library`.
    #[serde(rename = "type", skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub kind: String,
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Maintainer {
    /// Name.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub name: String,
    /// Email address.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub email: String,
    /// URL.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub url: String,
}

/// A chart dependency, in the field order of Helm's `chart.Dependency`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChartDependency {
    /// The dependency's chart name (always written).
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// SemVer range.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub version: String,
    /// Repository URL (always written).
    #[serde(deserialize_with = "text")]
    pub repository: String,
    /// Values path that enables it.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub condition: String,
    /// Tags that enable it.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "texts")]
    pub tags: Vec<String>,
    /// Whether it is enabled (set by Helm at install time).
    #[serde(skip_serializing_if = "is_false", deserialize_with = "nullable")]
    pub enabled: bool,
    /// Values imported from the dependency.
    #[serde(rename = "import-values", skip_serializing_if = "Vec::is_empty", deserialize_with = "nullable")]
    pub import_values: Vec<serde_json::Value>,
    /// Alias for the dependency.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "text")]
    pub alias: String,
}

impl ChartMetadata {
    /// Parses `Chart.yaml` bytes.
    pub fn from_yaml(bytes: &[u8]) -> Result<Self, yaml_serde::Error> {
        yaml_serde::from_slice(bytes)
    }

    /// The config blob: this metadata as Go's `json.Marshal` writes it.
    pub fn config_json(&self) -> Vec<u8> {
        to_go_json(self)
    }
}

/// A string field: any scalar's text (yaml_serde reads plain scalars as written); `null` is empty.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

/// A list-of-strings field.
fn texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let items = Option::<Vec<Option<String>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(items.into_iter().map(Option::unwrap_or_default).collect())
}

/// A string-to-string map field.
fn text_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    let items = Option::<BTreeMap<String, Option<String>>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(items.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_keep_their_text() {
        let m = ChartMetadata::from_yaml(b"apiVersion: v2\nname: web\nversion: 1.10\nappVersion: 2\nkeywords: [a, 1]\nannotations:\n  n: 3\n  e: ~\nhome: ~\n").unwrap();
        assert_eq!(m.version, "1.10");
        assert_eq!(m.app_version, "2");
        assert_eq!(m.keywords, ["a", "1"]);
        assert_eq!(m.annotations["n"], "3");
        assert_eq!(m.annotations["e"], "");
        assert_eq!(m.home, "");
    }
}
