//! Each fault, observed from a plain client: what is sent, how the
//! connection ends, how long it takes at least, and how the log counts it.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use xtask::mirror::{Fault, Mirror};

use crate::client::{DATA_LEN, get, pattern, request, served_dir};

async fn mirror() -> (tempfile::TempDir, Mirror) {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    (dir, mirror)
}

#[tokio::test]
async fn status_applies_for_the_armed_number_of_requests() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::Status(503), Some(2));
    let base = mirror.base_url();
    let statuses = [get(&base, "/data.bin").await.status, get(&base, "/data.bin").await.status];
    assert_eq!(statuses, [503, 503]);
    let ok = get(&base, "/data.bin").await;
    assert_eq!((ok.status, ok.body.len()), (200, DATA_LEN));
    let log: Vec<(u16, u64)> = mirror.requests().iter().map(|r| (r.status, r.bytes_sent)).collect();
    assert_eq!(log, [(503, 0), (503, 0), (200, DATA_LEN as u64)]);
}

#[tokio::test]
async fn status_faults_apply_to_missing_paths_and_only_the_exact_path() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/nope", Fault::Status(500), None);
    assert_eq!(get(&mirror.base_url(), "/nope").await.status, 500);
    assert_eq!(get(&mirror.base_url(), "/nope").await.status, 500);
    assert_eq!(get(&mirror.base_url(), "/nope/").await.status, 500, "same normalised path");
    assert_eq!(get(&mirror.base_url(), "/data.bin").await.status, 200);
    mirror.clear_faults();
    assert_eq!(get(&mirror.base_url(), "/nope").await.status, 404);
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::TooManyRequests { retry_after_secs: 3 }, Some(1));
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(get(&mirror.base_url(), "/data.bin").await.status, 200);
}

#[tokio::test]
async fn truncate_announces_the_full_length_and_closes_early() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::Truncate { after: 100_000 }, Some(1));
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_length(), Some(DATA_LEN as u64));
    assert_eq!(reply.body, pattern(DATA_LEN)[..100_000]);
    assert_eq!(mirror.bytes_served("/data.bin"), 100_000);
    // Armed once: the next request is whole.
    assert_eq!(get(&mirror.base_url(), "/data.bin").await.body.len(), DATA_LEN);
}

#[tokio::test]
async fn truncate_counts_from_the_start_of_a_ranged_body() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::Truncate { after: 10 }, None);
    let reply = request(&mirror.base_url(), "GET", "/data.bin", &[("Range", "bytes=1000-")]).await;
    assert_eq!(reply.status, 206);
    assert_eq!(reply.body, pattern(DATA_LEN)[1000..1010]);
}

#[tokio::test]
async fn wrong_bytes_keep_the_length_and_flip_every_byte() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::WrongBytes, None);
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.status, 200);
    let want: Vec<u8> = pattern(DATA_LEN).iter().map(|b| !b).collect();
    assert_eq!(reply.body, want);
}

#[tokio::test]
async fn reset_after_aborts_the_connection_with_a_reset() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::ResetAfter { after: 70_000 }, Some(1));
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.error, Some(ErrorKind::ConnectionReset));
    assert!(reply.body.len() <= 70_000);
    assert_eq!(reply.body, pattern(DATA_LEN)[..reply.body.len()]);
    assert_eq!(mirror.requests()[0].bytes_sent, 70_000);
    assert_eq!(get(&mirror.base_url(), "/data.bin").await.error, None);
}

#[tokio::test]
async fn stall_pauses_then_completes() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault(
        "/data.bin",
        Fault::Stall { after: 1000, duration: Duration::from_millis(400) },
        Some(1),
    );
    let started = Instant::now();
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(reply.body, pattern(DATA_LEN));
}

#[tokio::test]
async fn ignore_range_answers_200_with_everything() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::IgnoreRange, None);
    let reply = request(&mirror.base_url(), "GET", "/data.bin", &[("Range", "bytes=10-")]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, pattern(DATA_LEN));
    assert!(reply.header("content-range").is_none());
}

#[tokio::test]
async fn faults_of_different_kinds_stack() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::Truncate { after: 500 }, Some(1));
    mirror.set_fault("/data.bin", Fault::IgnoreRange, None);
    let first = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(first.body.len(), 500);
    let resumed = request(&mirror.base_url(), "GET", "/data.bin", &[("Range", "bytes=500-")]).await;
    assert_eq!((resumed.status, resumed.body.len()), (200, DATA_LEN));
}

#[tokio::test]
async fn slow_throttles_the_body() {
    let (dir, mirror) = mirror().await;
    std::fs::write(dir.path().join("small"), pattern(60_000)).unwrap();
    mirror.set_fault("small", Fault::Slow { bytes_per_sec: 200_000 }, None);
    let started = Instant::now();
    let reply = get(&mirror.base_url(), "/small").await;
    let took = started.elapsed();
    assert_eq!(reply.body, pattern(60_000));
    // 60 000 bytes at 200 000 bytes/s: the last tenth is due at 300 ms.
    assert!(took >= Duration::from_millis(280), "{took:?}");
}

/// Polls `cond` until it holds, failing after a deadline far beyond any wait
/// the test needs (a deadline, not a timing assertion).
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_slow_body_counts_bytes_as_they_go_and_shutdown_ends_it() {
    let (_dir, mirror) = mirror().await;
    // 100 bytes every 100 ms: the whole body would take five minutes.
    mirror.set_fault("/data.bin", Fault::Slow { bytes_per_sec: 1_000 }, None);
    let base = mirror.base_url();
    let client = tokio::spawn(async move { get(&base, "/data.bin").await });
    let sent = || mirror.requests().first().map_or(0, |r| r.bytes_sent);
    wait_until("the first bytes are counted", || sent() > 0).await;
    let first = sent();
    wait_until("the count grows while the body streams", || sent() > first).await;
    assert!(sent() < DATA_LEN as u64, "partial count while streaming: {}", sent());
    mirror.shutdown().await;
    // Were the body not ended, the client would wait out the whole five minutes.
    let reply = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .expect("shutdown ends the slow body")
        .unwrap();
    assert!(reply.body.len() < DATA_LEN, "{}", reply.body.len());
}

#[tokio::test]
async fn redirect_to_answers_302_with_the_location_and_no_body() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::RedirectTo("http://0.0.0.0:9/data.bin".into()), Some(1));
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("http://0.0.0.0:9/data.bin"));
    assert!(reply.body.is_empty());
    assert_eq!(get(&mirror.base_url(), "/data.bin").await.status, 200, "armed once");
}

#[tokio::test]
async fn black_hole_never_answers_and_shutdown_ends_it() {
    let (_dir, mirror) = mirror().await;
    mirror.set_fault("/data.bin", Fault::BlackHole, None);
    let base = mirror.base_url();
    let client = tokio::spawn(async move { get(&base, "/data.bin").await });
    wait_until("the request is logged", || !mirror.requests().is_empty()).await;
    assert_eq!(mirror.requests()[0].status, 0, "logged as never answered");
    assert!(!client.is_finished(), "no answer while the mirror runs");
    mirror.shutdown().await;
    let reply = tokio::time::timeout(Duration::from_secs(60), client)
        .await
        .expect("shutdown ends the black hole")
        .unwrap();
    assert_eq!(reply.status, 503);
}

#[tokio::test]
async fn no_validators_leaves_out_etag_and_last_modified() {
    let (_dir, mirror) = mirror().await;
    let with = get(&mirror.base_url(), "/data.bin").await;
    assert!(with.header("etag").is_some() && with.header("last-modified").is_some());
    mirror.set_fault("/data.bin", Fault::NoValidators, None);
    let without = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(without.body, pattern(DATA_LEN));
    assert_eq!((without.header("etag"), without.header("last-modified")), (None, None));
}

#[tokio::test]
async fn a_slow_drip_sends_one_byte_at_a_time() {
    let (_dir, mirror) = mirror().await;
    // Three bytes a second: one byte every 333 ms.
    mirror.set_fault("/data.bin", Fault::Slow { bytes_per_sec: 3 }, None);
    let base = mirror.base_url();
    let _client = tokio::spawn(async move { get(&base, "/data.bin").await });
    let sent = || mirror.requests().first().map_or(0, |r| r.bytes_sent);
    wait_until("the first byte is counted", || sent() > 0).await;
    let first = sent();
    wait_until("another drop follows", || sent() > first).await;
    assert!(sent() < DATA_LEN as u64);
}
