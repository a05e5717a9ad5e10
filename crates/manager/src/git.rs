//! The components Git source (BEHAVIOR.md §10): when the components manifest
//! names `source {url, ref}`, `download` keeps a bare mirror of that
//! repository at `<cache root>/git/<host>/<path>` (cloned once, fetched after)
//! and checks the ref exists, so podplane can serve it to an offline VM.
//! The `git` program does the work (deps-transport's `GitMirror`); here it
//! becomes a scheduler unit like every other item, a line of the plan, a
//! check of `verify` and a line of `status`.

use std::future::Future;
use std::path::PathBuf;

use deps_manifest::ComponentsSource;
use deps_transport::{GitMirror, GitMirrorState, GitRef};

use crate::events::{DownloadEvent, DownloadEventType as Ev, Events};
use crate::job::Target;
use crate::report::PlannedGit;
use crate::scheduler::{Finished, Unit};
use crate::{Error, Manager};

/// The event name and error label of the mirror.
const ITEM: &str = "components source";

/// What one run does for the components source.
#[derive(Debug, Clone)]
pub(crate) struct GitPlan {
    /// The repository URL as the manifest names it.
    url: String,
    reference: GitRef,
    /// The mirror's directory.
    dest: PathBuf,
    /// The event name: `git/<host>/<path>`.
    name: String,
}

impl Manager {
    /// The Git mirror driver, with this manager's URL policy and the download retry schedule.
    fn git_mirror(&self) -> GitMirror {
        GitMirror::new(self.insecure_hosts().to_vec(), self.download_retry.clone())
    }

    /// Validates the source and works out where its mirror lives.
    pub(crate) fn plan_git(&self, source: &ComponentsSource) -> Result<GitPlan, Error> {
        source.validate()?;
        let reference = GitRef::from_source(&source.reference).map_err(|e| Error::download(ITEM, e))?;
        let root = self.layout().git_cache_dir();
        let dest = self.git_mirror().cache_path(&root, &source.url).map_err(|e| Error::download(ITEM, e))?;
        let rel = dest.strip_prefix(self.cache_dir()).unwrap_or(&dest).display().to_string();
        Ok(GitPlan { url: source.url.clone(), reference, dest, name: rel })
    }

    /// The plan's line: what would happen to the mirror.
    pub(crate) fn planned_git(&self, plan: &GitPlan) -> PlannedGit {
        PlannedGit {
            url: deps_transport::redact(&plan.url),
            reference: plan.reference.to_string(),
            path: plan.dest.strip_prefix(self.cache_dir()).unwrap_or(&plan.dest).to_owned(),
            clone: !GitMirror::exists(&plan.dest),
        }
    }

    /// The unit that clones or fetches the mirror; emits `checking` and `queued` first.
    pub(crate) fn git_unit(&self, plan: GitPlan, events: &Events) -> Unit {
        let GitPlan { url, reference, dest, name } = plan;
        events.emit(DownloadEvent::item(Ev::Checking, &name, Some(dest.clone()), 0));
        events.emit(DownloadEvent::item(Ev::Queued, &name, Some(dest.clone()), 0));
        let mirror = self.git_mirror();
        Unit::new(&name, Some(dest.clone()), 0, async move {
            mirror.sync(&url, &dest, &reference).await.map_err(|e| Error::download(ITEM, e))?;
            Ok(Finished { target: Target::Git, bytes: 0 })
        })
    }

    /// What the cache's mirror holds of the cached components manifest's
    /// source: `None` without a source marked cached. Blocking.
    pub(crate) fn git_state(&self) -> Result<Option<(String, GitMirrorState)>, Error> {
        let Some((components, _)) = self.read_cached_components_manifest()? else { return Ok(None) };
        let Some(source) = components.components.source.filter(|s| s.cached) else { return Ok(None) };
        let plan = self.plan_git(&source)?;
        let state = block_on(self.git_mirror().inspect(&plan.dest, &plan.reference))?;
        Ok(Some((format!("{} ({})", plan.name, plan.reference), state)))
    }
}

/// Runs a Git future to its end from blocking code, on a thread and a small
/// runtime of its own, so it works whether or not the caller is inside a runtime.
fn block_on<T: Send>(
    future: impl Future<Output = Result<T, deps_transport::Error>> + Send,
) -> Result<T, Error> {
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                Ok(runtime.block_on(future))
            })
            .join()
    });
    match result {
        Ok(Ok(done)) => done.map_err(|e| Error::download(ITEM, e)),
        Ok(Err(source)) => Err(Error::Io { path: PathBuf::from("<async runtime>"), source }),
        // A panic there is a bug of ours: it goes on as the panic it is.
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
