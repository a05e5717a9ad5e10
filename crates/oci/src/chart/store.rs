//! Charts in an OCI layout: storing a packaged chart as `helm push` would, and finding a chart's layer.
//!
//! A chart is an OCI image manifest with the Helm config media type and one
//! layer, the chart archive. Its tag is the chart version with `+` written
//! as `_` (OCI tags cannot hold `+`). The manifest carries the annotations
//! `helm push` derives from the metadata, except `created`, which would make
//! the digest change on every run.

use std::collections::BTreeMap;

use deps_manifest::Digest;
use deps_manifest::go_json::to_go_json;
use serde::Serialize;

use super::metadata::ChartMetadata;
use super::package::PackagedChart;
use crate::descriptor::Descriptor;
use crate::layout::RepoLayout;
use crate::media::{self, HELM_CHART_CONTENT, HELM_CONFIG, OCI_IMAGE_MANIFEST};
use crate::parse::{Parsed, parse_manifest};
use crate::{Error, Result, sha256};

/// Where a chart sits in a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChart {
    /// The tag pointing at the chart's manifest.
    pub tag: String,
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The chart archive layer.
    pub chart_layer: Descriptor,
}

/// The manifest as written: OCI image manifest fields in the spec's order.
#[derive(Serialize)]
struct ChartManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    config: &'a Descriptor,
    layers: [&'a Descriptor; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// The OCI tag for a chart version: `+` becomes `_`, as Helm does.
pub fn chart_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// Writes the chart's config and archive blobs, its manifest, and tags it with its version.
pub fn store_chart(layout: &RepoLayout, chart: &PackagedChart) -> Result<StoredChart> {
    let config = Descriptor::new(HELM_CONFIG, chart.config_digest.clone(), chart.config.len() as u64);
    let layer = Descriptor::new(HELM_CHART_CONTENT, chart.archive_digest.clone(), chart.archive.len() as u64);
    let manifest = to_go_json(&ChartManifest {
        schema_version: 2,
        media_type: OCI_IMAGE_MANIFEST,
        config: &config,
        layers: [&layer],
        annotations: annotations(&chart.metadata),
    });
    let manifest_digest = sha256(&manifest);
    layout.put_blob(&config.digest, &chart.config)?;
    layout.put_blob(&layer.digest, &chart.archive)?;
    layout.put_blob(&manifest_digest, &manifest)?;
    let tag = chart_tag(&chart.version);
    let descriptor = Descriptor::new(OCI_IMAGE_MANIFEST, manifest_digest.clone(), manifest.len() as u64);
    layout.tag_manifest(&tag, &descriptor)?;
    Ok(StoredChart { tag, manifest_digest, chart_layer: layer })
}

/// The chart's entry in a layout when it is complete (manifest, config and layer blobs of the right size).
pub fn cached_chart(layout: &RepoLayout, tag: &str) -> Result<Option<StoredChart>> {
    let index = layout.read_index()?;
    let Some(tagged) = index.tagged(tag) else { return Ok(None) };
    if !media::is_image_manifest(&tagged.media_type) || !layout.has_blob(&tagged.digest, Some(tagged.size)) {
        return Ok(None);
    }
    let bytes = layout.read_blob(&tagged.digest)?;
    let Ok(parsed @ Parsed::Image { .. }) = parse_manifest(&bytes) else { return Ok(None) };
    if !parsed.blobs().iter().all(|b| layout.has_blob(&b.digest, Some(b.size))) {
        return Ok(None);
    }
    let Ok(chart_layer) = chart_layer_of(parsed) else { return Ok(None) };
    Ok(Some(StoredChart { tag: tag.to_owned(), manifest_digest: tagged.digest.clone(), chart_layer }))
}

/// The chart archive layer of a chart manifest: the one with Helm's chart media type, or the only layer.
pub fn find_chart_layer(manifest: &[u8]) -> Result<Descriptor> {
    chart_layer_of(parse_manifest(manifest)?)
}

/// [`find_chart_layer`] on a parsed manifest.
fn chart_layer_of(parsed: Parsed) -> Result<Descriptor> {
    let Parsed::Image { layers, .. } = parsed else {
        return Err(Error::NoChartLayer {
            reason: "the manifest is an index, not an image manifest".to_owned(),
        });
    };
    let count = layers.len();
    let mut layers = layers.into_iter();
    if count == 1 {
        return layers.next().ok_or_else(|| Error::NoChartLayer { reason: "no layers".to_owned() });
    }
    layers.find(|l| l.media_type == HELM_CHART_CONTENT).ok_or_else(|| Error::NoChartLayer {
        reason: format!("none of its {count} layers has media type {HELM_CHART_CONTENT}"),
    })
}

/// The annotations `helm push` sets from the metadata, without `created`.
fn annotations(meta: &ChartMetadata) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |key: &str, value: &str| {
        if !value.trim().is_empty() {
            out.insert(key.to_owned(), value.to_owned());
        }
    };
    add(media::ANNOTATION_DESCRIPTION, &meta.description);
    add(media::ANNOTATION_TITLE, &meta.name);
    add(media::ANNOTATION_VERSION, &meta.version);
    add(media::ANNOTATION_URL, &meta.home);
    if let Some(source) = meta.sources.first() {
        add(media::ANNOTATION_SOURCE, source);
    }
    let authors: Vec<String> = meta
        .maintainers
        .iter()
        .map(|m| match (m.name.is_empty(), m.email.is_empty()) {
            (_, true) => m.name.clone(),
            (true, false) => format!(" ({})", m.email),
            (false, false) => format!("{} ({})", m.name, m.email),
        })
        .collect();
    add(media::ANNOTATION_AUTHORS, &authors.join(", "));
    for (key, value) in &meta.annotations {
        if key != media::ANNOTATION_TITLE && key != media::ANNOTATION_VERSION {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}
