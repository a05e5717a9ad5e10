//! Template charts (BEHAVIOR.md §7): `oci` charts pulled from a registry with
//! their manifest digest checked, `chart` directories packaged natively and
//! reproducibly; both stored as OCI layouts under `templates/charts/<repo>`
//! and tagged with their version (`+` as `_`). The templates manifest records
//! each chart's layer digest so `cached_template_chart` can find the archive.

use std::path::PathBuf;

use deps_manifest::{Digest, TEMPLATE_CHART_TYPE_OCI, TemplateChart, TemplatesManifest};
use deps_oci::{
    Descriptor, Parsed, RepoLayout, cached_chart, find_chart_layer, package_chart, parse_manifest,
    store_chart,
};
use deps_transport::RegistryClient;

use crate::events::{DownloadEvent, DownloadEventType as Ev};
use crate::source::Loaded;
use crate::{DownloadOptions, Error, Manager};

/// The repository a chart is stored under.
fn chart_repo(chart: &TemplateChart) -> Result<String, Error> {
    if chart.kind == TEMPLATE_CHART_TYPE_OCI {
        Ok(chart.oci_ref()?.zot_repository())
    } else {
        Ok(format!("podplane.local/templates/{}", chart.name))
    }
}

impl Manager {
    /// The layout of a chart's repository.
    fn chart_layout(&self, chart: &TemplateChart) -> Result<RepoLayout, Error> {
        let repo = chart_repo(chart)?;
        RepoLayout::open(&self.templates_charts_cache_dir(), &repo)
            .map_err(|e| Error::rejected(format!("template chart {}", chart.name), e.to_string()))
    }

    /// Caches every chart of the templates manifest and marks it with its layer digest.
    pub(crate) async fn cache_templates(
        &self,
        templates: &mut Loaded<TemplatesManifest>,
        registry: &RegistryClient,
        opts: &DownloadOptions,
    ) -> Result<(), Error> {
        templates.manifest.reset_cached();
        for index in 0..templates.manifest.templates.charts.len() {
            let chart = templates.manifest.templates.charts[index].clone();
            let name = format!("chart/{}", chart.name);
            opts.emit(DownloadEvent::item(Ev::Checking, &name, None, 0));
            let layer = if chart.kind == TEMPLATE_CHART_TYPE_OCI {
                self.cache_oci_chart(&chart, registry, opts, &name).await?
            } else {
                let label = format!("template chart {}", chart.name);
                let dir =
                    templates.source.resolve_local(&label, chart.path.as_deref().unwrap_or_default())?;
                let layout = self.chart_layout(&chart)?;
                let stored = tokio::task::spawn_blocking(move || {
                    let packaged = package_chart(&dir)?;
                    store_chart(&layout, &packaged)
                })
                .await
                .map_err(|e| Error::Task(e.to_string()))?
                .map_err(|e| Error::rejected(&label, e.to_string()))?;
                opts.emit(DownloadEvent::item(Ev::Done, &name, None, stored.chart_layer.size));
                stored.chart_layer.digest
            };
            templates.manifest.mark_cached(index, layer.to_string());
        }
        Ok(())
    }

    /// Pulls an `oci` chart unless its tag already points at the wanted manifest.
    async fn cache_oci_chart(
        &self,
        chart: &TemplateChart,
        registry: &RegistryClient,
        opts: &DownloadOptions,
        name: &str,
    ) -> Result<Digest, Error> {
        let label = format!("template chart {}", chart.name);
        let oci = |e: deps_oci::Error| Error::rejected(&label, e.to_string());
        let reference = chart.oci_ref()?;
        let expected: Option<Digest> = match chart.digest.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => Some(d.parse().map_err(|e| Error::invalid(&label, e))?),
            None => reference.digest().cloned(),
        };
        let tag = chart.oci_tag();
        let layout = self.chart_layout(chart)?;
        if let Some(stored) = cached_chart(&layout, &tag).map_err(oci)?
            && expected.as_ref().is_none_or(|d| *d == stored.manifest_digest)
            && layout.has_blob(&stored.chart_layer.digest, Some(stored.chart_layer.size))
        {
            opts.emit(DownloadEvent::item(Ev::Cached, name, None, stored.chart_layer.size));
            return Ok(stored.chart_layer.digest);
        }
        let wanted = expected.as_ref().map_or_else(|| tag.clone(), Digest::to_string);
        let (registry_host, repository) = (reference.registry(), reference.repository());
        let net =
            |source: deps_transport::Error| Error::Download { item: label.clone(), source: Box::new(source) };
        let manifest = registry
            .get_manifest(registry_host, repository, &wanted, expected.as_ref())
            .await
            .map_err(net)?;
        let Parsed::Image { config, layers, .. } = parse_manifest(&manifest.bytes).map_err(oci)? else {
            return Err(Error::rejected(&label, "the chart reference names an index, not a chart manifest"));
        };
        let layer = find_chart_layer(&manifest.bytes).map_err(oci)?;
        let total = manifest.bytes.len() as u64 + config.size + layers.iter().map(|l| l.size).sum::<u64>();
        opts.emit(DownloadEvent::item(Ev::Queued, name, None, total));
        opts.emit(DownloadEvent::item(Ev::Started, name, None, total));
        for blob in std::iter::once(&config).chain(&layers) {
            if !layout.has_blob(&blob.digest, Some(blob.size)) {
                let dest = layout.blob_path(&blob.digest);
                registry
                    .download_blob(registry_host, repository, &blob.digest, blob.size, dest, &|_, _| {})
                    .await
                    .map_err(net)?;
            }
        }
        layout.ensure_layout_file().map_err(oci)?;
        layout.put_blob(&manifest.digest, &manifest.bytes).map_err(oci)?;
        let descriptor =
            Descriptor::new(&manifest.media_type, manifest.digest.clone(), manifest.bytes.len() as u64);
        layout.tag_manifest(&tag, &descriptor).map_err(oci)?;
        opts.emit(DownloadEvent::item(Ev::Done, name, None, total).with_current(total));
        Ok(layer.digest)
    }

    /// The cached chart entry named `name` and the path of its chart archive blob.
    pub fn cached_template_chart(&self, name: &str) -> Result<(TemplateChart, PathBuf), Error> {
        let Some((manifest, _)) = self.read_cached_templates_manifest()? else {
            return Err(Error::NotCached { path: self.templates_manifest_cache_path() });
        };
        let label = format!("template chart {name}");
        let chart = manifest.templates.charts.into_iter().find(|c| c.name == name).ok_or_else(|| {
            Error::rejected(&label, "not in the cached templates manifest (run `deps download`)")
        })?;
        let layer = chart
            .chart_layer_digest
            .as_deref()
            .filter(|_| chart.cached)
            .ok_or_else(|| Error::rejected(&label, "not cached (run `deps download`)"))?;
        let layer: Digest = layer.parse().map_err(|e| Error::invalid(&label, e))?;
        let path = self.chart_layout(&chart)?.blob_path(&layer);
        if !path.is_file() {
            return Err(Error::Incomplete {
                problems: vec![crate::Problem {
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
