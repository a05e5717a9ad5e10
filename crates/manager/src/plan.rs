//! The plan of a download run (BEHAVIOR.md §5 step 3) as data: where the
//! manifest came from, the cache directory, each missing artifact relative to
//! the cache root, and the counts of the shared domains. Making it reads the
//! cache but writes nothing, not even fingerprints learnt on the way.

use crate::job::Job;
use crate::report::{DownloadPlan, PlannedFile, SharedCounts};
use crate::source::Source;
use crate::{Error, Manager};

impl Manager {
    /// What a run of `jobs` would fetch: the jobs whose file is not cached with its digest.
    pub(crate) async fn plan_of(
        &self,
        target: String,
        source: &Source,
        jobs: Vec<Job>,
        shared: Option<SharedCounts>,
    ) -> Result<DownloadPlan, Error> {
        let manifest_source = source.to_string();
        self.off_thread(move |manager| {
            let fingerprints = manager.load_fingerprints();
            let mut missing = Vec::new();
            for job in jobs {
                if !fingerprints.check(&job.dest, &job.digest)? {
                    missing.push(manager.planned(&job));
                }
            }
            Ok(manager.plan(target, manifest_source, missing, shared))
        })
        .await
    }

    /// A plan from its parts.
    pub(crate) fn plan(
        &self,
        target: String,
        manifest_source: String,
        missing: Vec<PlannedFile>,
        shared: Option<SharedCounts>,
    ) -> DownloadPlan {
        let cache_dir = self.cache_dir().to_owned();
        DownloadPlan { target, manifest_source, cache_dir, missing, vmconfig_images: 0, shared, git: None }
    }

    /// One job as a planned file, its path relative to the cache root.
    pub(crate) fn planned(&self, job: &Job) -> PlannedFile {
        let path = job.dest.strip_prefix(self.cache_dir()).unwrap_or(&job.dest).to_owned();
        PlannedFile { name: job.name.clone(), path, size: job.size }
    }
}
