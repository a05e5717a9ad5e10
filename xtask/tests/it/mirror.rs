//! The mirror's HTTP behaviour without faults: full and ranged GETs, HEAD,
//! validators, 404/400/405/416, manifest rewriting, the request log.

use std::time::Duration;

use xtask::mirror::{Mirror, RequestRecord};

use crate::client::{DATA_LEN, get, pattern, request, served_dir, write_manifest};

#[tokio::test]
async fn get_serves_the_whole_file_with_validators() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let reply = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, pattern(DATA_LEN));
    assert_eq!(reply.content_length(), Some(DATA_LEN as u64));
    assert_eq!(reply.header("accept-ranges"), Some("bytes"));
    let etag = reply.header("etag").unwrap();
    assert!(etag.starts_with(&format!("\"{DATA_LEN}-")) && etag.ends_with('"'), "{etag}");
    assert!(reply.header("last-modified").unwrap().ends_with(" GMT"));
    assert_eq!(
        mirror.requests(),
        [RequestRecord {
            method: "GET".into(),
            path: "/data.bin".into(),
            range: None,
            if_range: None,
            status: 200,
            bytes_sent: DATA_LEN as u64,
            authorization: false,
            host: mirror.registry_host(),
        }]
    );
}

#[tokio::test]
async fn base_url_is_loopback_without_a_trailing_slash() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'), "{base}");
    assert!(Mirror::start(dir.path().join("missing")).await.is_err());
}

#[tokio::test]
async fn head_sends_headers_only() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let reply = request(&mirror.base_url(), "HEAD", "/data.bin", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_length(), Some(DATA_LEN as u64));
    assert!(reply.body.is_empty());
    assert_eq!(mirror.bytes_served("/data.bin"), 0);
}

#[tokio::test]
async fn ranges_get_206_with_the_right_bytes() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    let data = pattern(DATA_LEN);
    for (range, start, end) in [
        ("bytes=100-199", 100, 199),
        ("bytes=299990-", 299_990, DATA_LEN - 1),
        ("bytes=-10", DATA_LEN - 10, DATA_LEN - 1),
    ] {
        let reply = request(&base, "GET", "/data.bin", &[("Range", range)]).await;
        assert_eq!(reply.status, 206, "{range}");
        assert_eq!(reply.body, data[start..=end], "{range}");
        assert_eq!(reply.header("content-range").unwrap(), format!("bytes {start}-{end}/{DATA_LEN}"));
        assert_eq!(reply.content_length(), Some((end - start + 1) as u64));
    }
    let log = mirror.requests();
    assert_eq!(log[0].range.as_deref(), Some("bytes=100-199"));
    assert_eq!(log[0].bytes_sent, 100);
    assert_eq!(mirror.bytes_served("/data.bin"), 100 + 10 + 10);
}

#[tokio::test]
async fn if_range_is_honoured_only_when_it_matches() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    let first = get(&base, "/data.bin").await;
    let etag = first.header("etag").unwrap();
    let date = first.header("last-modified").unwrap();

    let matching = request(&base, "GET", "/data.bin", &[("Range", "bytes=10-"), ("If-Range", etag)]).await;
    assert_eq!(matching.status, 206);
    assert_eq!(matching.body.len(), DATA_LEN - 10);
    let by_date = request(&base, "GET", "/data.bin", &[("Range", "bytes=10-"), ("If-Range", date)]).await;
    assert_eq!(by_date.status, 206);

    let stale = request(&base, "GET", "/data.bin", &[("Range", "bytes=10-"), ("If-Range", "\"1-0\"")]).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, pattern(DATA_LEN));
    assert!(stale.header("content-range").is_none());
    assert_eq!(mirror.requests()[3].if_range.as_deref(), Some("\"1-0\""));
}

#[tokio::test]
async fn a_changed_file_gets_a_new_etag() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let before = get(&mirror.base_url(), "/data.bin").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    std::fs::write(dir.path().join("data.bin"), b"new").unwrap();
    let after = get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(after.body, b"new");
    assert_ne!(before.header("etag"), after.header("etag"));
}

#[tokio::test]
async fn unsatisfiable_range_is_416() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let reply = request(&mirror.base_url(), "GET", "/data.bin", &[("Range", "bytes=300000-")]).await;
    assert_eq!(reply.status, 416);
    assert_eq!(reply.header("content-range"), Some("bytes */300000"));
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn missing_files_and_directories_are_404() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    assert_eq!(get(&mirror.base_url(), "/nope.bin").await.status, 404);
    assert_eq!(get(&mirror.base_url(), "/sub").await.status, 404);
    assert_eq!(get(&mirror.base_url(), "/").await.status, 404);
    assert_eq!(mirror.requests()[0].status, 404);
}

#[tokio::test]
async fn traversal_is_rejected() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("secret"), b"secret").unwrap();
    let root = parent.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let mirror = Mirror::start(root).await.unwrap();
    for path in ["/../secret", "/a/../../secret", "/%2e%2e/secret", "/..%2fsecret"] {
        let reply = get(&mirror.base_url(), path).await;
        assert_eq!(reply.status, 400, "{path}");
        assert!(reply.body.is_empty());
    }
}

#[tokio::test]
async fn other_methods_are_405() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let reply = request(&mirror.base_url(), "POST", "/data.bin", &[("Content-Length", "0")]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn manifests_name_the_mirror_and_describe_the_rewritten_bytes() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let base = mirror.base_url();
    let reply = get(&base, "/manifests/m.json").await;
    let want = format!(r#"{{"url":"{base}/data.bin","again":"{base}"}}"#);
    assert_eq!(String::from_utf8(reply.body.clone()).unwrap(), want);
    assert_eq!(reply.content_length(), Some(want.len() as u64));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let etag = reply.header("etag").unwrap();
    assert!(etag.starts_with(&format!("\"{}-", want.len())), "{etag}");

    let head = request(&base, "HEAD", "/manifests/m.json", &[]).await;
    assert_eq!(head.content_length(), Some(want.len() as u64));
    assert_eq!(head.header("etag"), Some(etag));
    let tail = request(&base, "GET", "/manifests/m.json", &[("Range", "bytes=-5"), ("If-Range", etag)]).await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, want.as_bytes()[want.len() - 5..]);

    // Edits on disk are served at once.
    write_manifest(dir.path(), r#"{"v":2}"#);
    let edited = get(&base, "/manifests/m.json").await;
    assert_eq!(edited.body, br#"{"v":2}"#);
    assert_ne!(edited.header("etag"), Some(etag));

    // Outside manifests/ nothing is rewritten.
    std::fs::write(dir.path().join("plain.json"), "http://mirror.invalid").unwrap();
    assert_eq!(get(&base, "/plain.json").await.body, b"http://mirror.invalid");
}

#[tokio::test]
async fn the_log_can_be_cleared() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    get(&mirror.base_url(), "/data.bin").await;
    get(&mirror.base_url(), "/data.bin").await;
    assert_eq!(mirror.requests().len(), 2);
    assert_eq!(mirror.bytes_served("/data.bin"), 2 * DATA_LEN as u64);
    assert_eq!(mirror.bytes_served("data.bin"), 2 * DATA_LEN as u64, "leading slash optional");
    mirror.clear_requests();
    assert!(mirror.requests().is_empty());
    assert_eq!(mirror.bytes_served("/data.bin"), 0);
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let dir = served_dir();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let addr = mirror.base_url().trim_start_matches("http://").to_owned();
    mirror.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn keep_alive_connections_serve_several_requests() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = served_dir();
    std::fs::write(dir.path().join("small"), b"abc").unwrap();
    let mirror = Mirror::start(dir.path().to_path_buf()).await.unwrap();
    let addr = mirror.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!(
        "GET /small HTTP/1.1\r\nHost: {addr}\r\n\r\nGET /small HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
    assert_eq!(mirror.requests().len(), 2);
}
