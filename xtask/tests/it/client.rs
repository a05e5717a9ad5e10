//! A raw HTTP/1.1 client over a tokio `TcpStream`: one request per
//! connection (`Connection: close`), the reply read until the server closes
//! or fails, so truncated bodies and resets stay visible.

use std::io;
use std::path::Path;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What came back on one connection.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The error that ended reading, if the connection did not close cleanly.
    pub error: Option<io::ErrorKind>,
}

impl Reply {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The Content-Length header, parsed.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").map(|v| v.parse().unwrap())
    }
}

/// Sends `method path` with `headers` to the mirror at `base` and reads the reply.
pub async fn request(base: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();

    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let error = loop {
        match stream.read(&mut buf).await {
            Ok(0) => break None,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e.kind()),
        }
    };
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Reply { status, headers, body: raw[split + 4..].to_vec(), error }
}

/// `GET path` with no extra headers.
pub async fn get(base: &str, path: &str) -> Reply {
    request(base, "GET", path, &[]).await
}

/// Deterministic test content of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// A served directory: `data.bin` (300,000 bytes), a manifest naming the
/// placeholder host, and an empty subdirectory.
pub fn served_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), pattern(DATA_LEN)).unwrap();
    std::fs::create_dir_all(dir.path().join("manifests")).unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    write_manifest(dir.path(), r#"{"url":"http://mirror.invalid/data.bin","again":"http://mirror.invalid"}"#);
    dir
}

/// Size of `data.bin` in [`served_dir`].
pub const DATA_LEN: usize = 300_000;

/// Writes `manifests/m.json`.
pub fn write_manifest(dir: &Path, text: &str) {
    std::fs::write(dir.join("manifests/m.json"), text).unwrap();
}
