//! Plain files (vmconfig artifacts, seed snapshots): checked against the
//! cache by fingerprint or hash, then fetched through the scheduler, streamed
//! through their digest into a partial file and renamed into place.

use std::sync::Arc;

use deps_store::Fingerprints;
use deps_transport::{DownloadRequest, HttpClient, RetryPolicy};

use crate::Error;
use crate::events::{DownloadEvent, DownloadEventType as Ev, Events, ItemProgress};
use crate::job::{Job, Target, blocking, record_fingerprint};
use crate::scheduler::{Finished, Lane, Unit};

/// Checks every job against the cache, emitting `checking` then `cached` or
/// `queued`; returns the missing jobs and the targets already present.
pub(crate) async fn check_files(
    jobs: Vec<Job>,
    fingerprints: &Arc<Fingerprints>,
    events: &Events,
) -> Result<(Vec<Job>, Vec<Target>), Error> {
    let fingerprints = Arc::clone(fingerprints);
    let checked = blocking(move || {
        jobs.into_iter()
            .map(|job| Ok((fingerprints.check(&job.dest, &job.digest)?, job)))
            .collect::<Result<Vec<_>, Error>>()
    })
    .await?;
    let (mut missing, mut present) = (Vec::new(), Vec::new());
    for (cached, job) in checked {
        let path = Some(job.dest.clone());
        events.emit(DownloadEvent::item(Ev::Checking, &job.name, path.clone(), job.size));
        if cached {
            events.emit(DownloadEvent::item(Ev::Cached, &job.name, path, job.size).with_current(job.size));
            present.push(job.target);
        } else {
            events.emit(DownloadEvent::item(Ev::Queued, &job.name, path, job.size));
            missing.push(job);
        }
    }
    Ok((missing, present))
}

/// One lane per file: files do not wait for each other.
pub(crate) fn file_lanes(
    jobs: Vec<Job>,
    http: &HttpClient,
    policy: &RetryPolicy,
    fingerprints: &Arc<Fingerprints>,
    events: &Events,
) -> Vec<Lane> {
    jobs.into_iter()
        .map(|job| {
            let (http, policy, fingerprints, events) =
                (http.clone(), policy.clone(), Arc::clone(fingerprints), events.clone());
            let (name, path, size) = (job.name.clone(), Some(job.dest.clone()), job.size);
            vec![Unit::new(&name, path, size, fetch_file(job, http, policy, fingerprints, events))]
        })
        .collect()
}

/// Downloads one file; emits its byte progress.
async fn fetch_file(
    job: Job,
    http: HttpClient,
    policy: RetryPolicy,
    fingerprints: Arc<Fingerprints>,
    events: Events,
) -> Result<Finished, Error> {
    let Job { target, name, url, dest, digest, size } = job;
    let progress = ItemProgress::new(events, &name, Some(dest.clone()), size);
    let request = DownloadRequest {
        url,
        dest: dest.clone(),
        digest: digest.clone(),
        size: Some(size),
        policy,
        authorization: None,
    };
    let label = match &target {
        Target::Seed(n) => format!("seed snapshot {n}"),
        _ => format!("vmconfig artifact {name}"),
    };
    let done = http
        .download(request, &|current, _| progress.report(current))
        .await
        .map_err(|e| Error::download(label, e))?;
    let recorded = Arc::clone(&fingerprints);
    blocking(move || {
        record_fingerprint(&recorded, &dest, &digest);
        Ok(())
    })
    .await?;
    Ok(Finished { target, bytes: done.size })
}
