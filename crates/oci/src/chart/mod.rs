//! Helm charts: packaging a chart directory (BEHAVIOR §7) and storing charts in OCI layouts.
//!
//! `helmignore` reads `.helmignore` as Helm does, `metadata` reads
//! `Chart.yaml` and writes the config JSON, `package` builds the reproducible
//! archive, and `store` writes and finds charts in a [`crate::RepoLayout`].

mod helmignore;
mod metadata;
mod package;
mod store;

pub use helmignore::HelmIgnore;
pub use metadata::{ChartDependency, ChartMetadata, Maintainer};
pub use package::{PackagedChart, package_chart};
pub use store::{StoredChart, cached_chart, chart_tag, find_chart_layer, store_chart};
