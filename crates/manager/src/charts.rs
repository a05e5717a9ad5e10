//! Template charts (BEHAVIOR.md §7): `oci` charts pulled through the shared
//! OCI pull path with their manifest digest checked, `chart` directories
//! packaged natively and reproducibly; both stored as OCI layouts under
//! `templates/charts/<repo>` and tagged with their version (`+` as `_`). The
//! templates manifest records each chart's layer digest so
//! `cached_template_chart` can find the archive.

use std::collections::BTreeMap;
use std::path::PathBuf;

use deps_manifest::{Digest, TEMPLATE_CHART_TYPE_OCI, TemplateChart, TemplatesManifest};
use deps_oci::{RepoLayout, cached_chart, find_chart_layer, package_chart, store_chart};
use deps_transport::RegistryClient;

use crate::events::{DownloadEvent, DownloadEventType as Ev, Events, ItemProgress};
use crate::job::{Target, blocking};
use crate::pull::{Source, Store, descriptor_of};
use crate::scheduler::{Finished, Lane, Unit};
use crate::source::Loaded;
use crate::{Error, Manager};

/// The repository a chart is stored under.
fn chart_repo(chart: &TemplateChart) -> Result<String, Error> {
    if chart.kind == TEMPLATE_CHART_TYPE_OCI {
        Ok(chart.oci_ref()?.zot_repository())
    } else {
        Ok(format!("podplane.local/templates/{}", chart.name))
    }
}

/// A chart's event name.
fn event_name(chart: &TemplateChart) -> String {
    format!("chart/{}", chart.name)
}

/// What to do for one chart.
enum ChartWork {
    /// Pull an `oci` chart whose tag does not point at the wanted manifest yet.
    Pull { reference: deps_manifest::ImageRef, tag: String, expected: Option<Digest> },
    /// Package a local chart directory (reproducible, so always redone).
    Package(PathBuf),
}

impl Manager {
    /// The layout of a chart's repository.
    fn chart_layout(&self, chart: &TemplateChart) -> Result<RepoLayout, Error> {
        let repo = chart_repo(chart)?;
        RepoLayout::open(&self.templates_charts_cache_dir(), &repo)
            .map_err(|e| Error::layout(format!("template chart {}", chart.name), e))
    }

    /// Checks every chart of the templates manifest against the store: returns
    /// the charts already cached and one lane per repository for the rest.
    pub(crate) async fn plan_charts(
        &self,
        templates: &Loaded<TemplatesManifest>,
        store: &Store,
        events: &Events,
    ) -> Result<(Vec<Target>, Vec<Lane>), Error> {
        let mut present = Vec::new();
        let mut lanes: BTreeMap<String, Lane> = BTreeMap::new();
        for (index, chart) in templates.manifest.templates.charts.iter().enumerate() {
            let name = event_name(chart);
            events.emit(DownloadEvent::item(Ev::Checking, &name, None, 0));
            let work = if chart.kind == TEMPLATE_CHART_TYPE_OCI {
                let label = format!("template chart {}", chart.name);
                let reference = chart.oci_ref()?;
                let expected: Option<Digest> = match chart.digest.as_deref().filter(|d| !d.is_empty()) {
                    Some(d) => Some(d.parse().map_err(|e| Error::invalid(&label, e))?),
                    None => reference.digest().cloned(),
                };
                let tag = chart.oci_tag();
                let layout = self.chart_layout(chart)?;
                let (wanted, lookup) = (expected.clone(), tag.clone());
                let stored = blocking(move || {
                    let stored = cached_chart(&layout, &lookup).map_err(|e| Error::layout(&label, e))?;
                    Ok(stored.filter(|s| {
                        wanted.as_ref().is_none_or(|d| *d == s.manifest_digest)
                            && layout.has_blob(&s.chart_layer.digest, Some(s.chart_layer.size))
                    }))
                })
                .await?;
                if let Some(stored) = stored {
                    let size = stored.chart_layer.size;
                    events.emit(DownloadEvent::item(Ev::Cached, &name, None, size).with_current(size));
                    present.push(Target::Chart(index, stored.chart_layer.digest));
                    continue;
                }
                ChartWork::Pull { reference, tag, expected }
            } else {
                let label = format!("template chart {}", chart.name);
                let dir =
                    templates.source.resolve_local(&label, chart.path.as_deref().unwrap_or_default())?;
                ChartWork::Package(dir)
            };
            events.emit(DownloadEvent::item(Ev::Queued, &name, None, 0));
            let layout = self.chart_layout(chart)?;
            let unit = chart_unit(index, name, layout, work, store.clone(), events.clone());
            lanes.entry(chart_repo(chart)?).or_default().push(unit);
        }
        Ok((present, lanes.into_values().collect()))
    }

    /// The cached chart entry named `name` and the path of its chart archive blob.
    pub fn cached_template_chart(&self, name: &str) -> Result<(TemplateChart, PathBuf), Error> {
        let Some((manifest, _)) = self.read_cached_templates_manifest()? else {
            return Err(Error::NotCached { path: self.templates_manifest_cache_path() });
        };
        let label = format!("template chart {name}");
        let unavailable =
            |reason: &str| Error::Unavailable { item: label.clone(), reason: reason.to_owned() };
        let chart = manifest
            .templates
            .charts
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| unavailable("not in the cached templates manifest (run `deps download`)"))?;
        let layer = chart
            .chart_layer_digest
            .as_deref()
            .filter(|_| chart.cached)
            .ok_or_else(|| unavailable("not cached (run `deps download`)"))?;
        let layer: Digest = layer.parse().map_err(|e| Error::invalid(&label, e))?;
        let path = self.chart_layout(&chart)?.blob_path(&layer);
        if !path.is_file() {
            return Err(Error::Incomplete {
                problems: vec![crate::Problem {
                    domain: crate::Domain::Templates,
                    item: format!("chart/{name}"),
                    path,
                    reason: "chart archive missing (run `deps download`)".to_owned(),
                }],
            });
        }
        Ok((chart, path))
    }

    /// The path of the cached chart archive of the chart named `name`.
    pub fn cached_template_chart_path(&self, name: &str) -> Result<PathBuf, Error> {
        self.cached_template_chart(name).map(|(_, path)| path)
    }
}

/// The unit that pulls or packages one chart.
fn chart_unit(
    index: usize,
    name: String,
    layout: RepoLayout,
    work: ChartWork,
    store: Store,
    events: Events,
) -> Unit {
    let limit = match &work {
        ChartWork::Pull { reference, .. } => {
            let host = reference.registry().to_owned();
            RegistryClient::host_limit(&host).map(|limit| (host, limit))
        }
        ChartWork::Package(_) => None,
    };
    Unit::new(&name.clone(), None, 0, async move {
        let (layer, bytes) = match work {
            ChartWork::Pull { reference, tag, expected } => {
                pull_chart(&store, &name, &layout, &reference, &tag, expected.as_ref(), events).await?
            }
            ChartWork::Package(dir) => {
                let label = name.clone();
                let stored = blocking(move || {
                    let packaged = package_chart(&dir).map_err(|e| Error::layout(&label, e))?;
                    store_chart(&layout, &packaged).map_err(|e| Error::layout(&label, e))
                })
                .await?;
                let size = stored.chart_layer.size;
                (stored.chart_layer.digest, size)
            }
        };
        Ok(Finished { target: Target::Chart(index, layer), bytes })
    })
    .with_host_limit(limit)
}

/// Pulls an `oci` chart and tags it; returns its chart layer digest and the bytes stored.
async fn pull_chart(
    store: &Store,
    name: &str,
    layout: &RepoLayout,
    reference: &deps_manifest::ImageRef,
    tag: &str,
    expected: Option<&Digest>,
    events: Events,
) -> Result<(Digest, u64), Error> {
    let from = Source { registry: reference.registry(), repository: reference.repository() };
    let wanted = expected.map_or_else(|| tag.to_owned(), Digest::to_string);
    let (manifest, blobs) = store.fetch_image_manifest(name, from, &wanted, expected).await?;
    let layer = find_chart_layer(&manifest.bytes).map_err(|e| Error::layout(name, e))?;
    let total = manifest.bytes.len() as u64 + blobs.iter().map(|b| b.size).sum::<u64>();
    let progress = ItemProgress::new(events, name, None, total);
    store.fetch_blobs(name, layout, from, &blobs, manifest.bytes.len() as u64, &progress).await?;
    let (descriptor, tag) = (descriptor_of(&manifest), tag.to_owned());
    store.write(name, layout, vec![manifest], move |layout| layout.tag_manifest(&tag, &descriptor)).await?;
    Ok((layer.digest, total))
}
