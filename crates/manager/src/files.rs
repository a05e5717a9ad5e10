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
    let Job { target, name, url, fallback, dest, digest, size } = job;
    let progress = ItemProgress::new(events, &name, Some(dest.clone()), size);
    let label = match &target {
        Target::Seed(n) => format!("seed snapshot {n}"),
        _ => format!("vmconfig artifact {name}"),
    };
    let request = |url: String| DownloadRequest {
        url,
        dest: dest.clone(),
        digest: digest.clone(),
        size: Some(size),
        policy: policy.clone(),
        authorization: None,
    };
    let report = |current, _| progress.report(current);
    let done = match http.download(request(url), &report).await.map_err(|e| Error::download(&label, e)) {
        // Only a 404 sends us to the fallback: any other failure is this item's.
        Err(err) if matches!(err.cause(), crate::Cause::NotFound) && fallback.is_some() => {
            let url = fallback.unwrap_or_default();
            http.download(request(url), &report).await.map_err(|e| Error::download(&label, e))?
        }
        done => done?,
    };
    let recorded = Arc::clone(&fingerprints);
    blocking(move || {
        record_fingerprint(&recorded, &dest, &digest);
        Ok(())
    })
    .await?;
    Ok(Finished { target, bytes: done.size })
}
