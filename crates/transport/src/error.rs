//! The transport crate's error type. URLs in messages never carry userinfo.

use std::path::PathBuf;
use std::time::Duration;

/// Everything a request or download can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Plain HTTP to a host that is neither loopback nor allowed as insecure.
    #[error("refusing plain http to {url}: use https, a loopback mirror, or pass --insecure")]
    InsecureUrl {
        /// The URL (redacted).
        url: String,
    },
    /// A URL that does not parse or uses another scheme.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL (redacted).
        url: String,
        /// Why.
        reason: String,
    },
    /// The request failed before an answer arrived, or its body broke off.
    #[error("GET {url}: {source}")]
    Request {
        /// The URL (redacted).
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A redirect led to a URL the URL policy refuses (another scheme, or plain
    /// http to a host neither loopback nor allowed as insecure); not followed.
    #[error("GET {url}: refused the redirect to {target}: {reason}")]
    RedirectRefused {
        /// The URL asked for (redacted).
        url: String,
        /// Where the redirect pointed (redacted).
        target: String,
        /// Why it was refused.
        reason: String,
    },
    /// An attempt ran past a deadline: the connect timeout, the low-speed limit or its overall deadline.
    #[error("GET {url}: timed out {what}")]
    TimedOut {
        /// The URL (redacted).
        url: String,
        /// What was being waited for, and which limit it broke.
        what: String,
    },
    /// The server answered with a status we do not retry.
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status code.
        status: u16,
    },
    /// The server answered a ranged request with an inconsistent range.
    #[error("GET {url}: {reason}")]
    Protocol {
        /// The URL (redacted).
        url: String,
        /// What was inconsistent.
        reason: String,
    },
    /// Transient failures went on past the retry budget.
    #[error("GET {url} failed after {retries} retries in {:.1}s: {last}", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// The URL (redacted).
        url: String,
        /// How many retries were made.
        retries: u32,
        /// Time from the first attempt to giving up.
        elapsed: Duration,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
    /// A body longer than the declared size or the limit.
    #[error("GET {url}: body is longer than {limit} bytes")]
    BodyTooLong {
        /// The URL (redacted).
        url: String,
        /// The most bytes accepted.
        limit: u64,
    },
    /// A CA certificate file that cannot be used.
    #[error("CA certificate {}: {reason}", path.display())]
    CaCert {
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A cache write failed, or the bytes did not match their digest.
    #[error(transparent)]
    Store(#[from] deps_store::Error),
    /// The background writer task ended unexpectedly.
    #[error("download writer task failed: {0}")]
    Task(String),
    /// The server answered 401: the request needs (other) credentials.
    #[error("GET {url}: HTTP 401 unauthorized")]
    Unauthorized {
        /// The URL (redacted).
        url: String,
        /// The `WWW-Authenticate` challenge the server sent, if any.
        www_authenticate: Option<String>,
    },
    /// A registry refused us after we authenticated (or could not authenticate at all).
    #[error(
        "unauthorized: {registry} refused access to {repository}: {reason}; \
         check credentials in ~/.docker/config.json"
    )]
    RegistryUnauthorized {
        /// The registry host as references name it (with `via <mirror>` when mirrored).
        registry: String,
        /// The repository.
        repository: String,
        /// What was refused (never a token or password).
        reason: String,
    },
    /// A token endpoint answered something we cannot use.
    #[error("token endpoint {url}: {reason}")]
    Token {
        /// The realm URL (redacted).
        url: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The registry has no such manifest (or no such repository).
    #[error("manifest {reference} not found in {registry}/{repository} (GET {url}: HTTP 404)")]
    ManifestUnknown {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The tag or digest asked for.
        reference: String,
        /// The URL (redacted).
        url: String,
    },
    /// The registry has no such blob.
    #[error("blob {digest} not found in {registry}/{repository} (GET {url}: HTTP 404)")]
    BlobUnknown {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The blob's digest.
        digest: String,
        /// The URL (redacted).
        url: String,
    },
    /// Manifest bytes whose digest is not the one asked for or expected.
    #[error("GET {url}: manifest digest mismatch: expected {expected}, got {actual}")]
    ManifestDigestMismatch {
        /// The URL (redacted).
        url: String,
        /// The digest asked for or expected.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// A manifest reference that is neither a tag nor a valid digest.
    #[error("invalid manifest reference {reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A Docker config file that cannot be read or parsed.
    #[error("Docker config {}: {reason}", path.display())]
    DockerConfig {
        /// The config file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The `git` program could not be started: Git mirrors need it.
    #[error("could not run {program}: {source}; install git, or pass --skip-components-git")]
    GitMissing {
        /// The program looked for.
        program: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed.
    #[error("git {action} {url}: {status}: {stderr}")]
    Git {
        /// What git was doing (`clone --mirror`, `fetch`, `rev-parse`).
        action: String,
        /// The repository URL (redacted).
        url: String,
        /// How git exited.
        status: String,
        /// What git printed on stderr (credentials removed).
        stderr: String,
    },
    /// The ref is not in the repository after the fetch.
    #[error("{reference} not found in Git repository {url}")]
    GitRefNotFound {
        /// The ref, as `tag "v1.2.3"`, `branch "main"`, `semver "1.2"` or `commit "abc..."`.
        reference: String,
        /// The repository URL (redacted).
        url: String,
    },
    /// A ref that cannot name anything (a semver constraint, a malformed commit or name).
    #[error("invalid Git ref {reference}: {reason}")]
    GitRefInvalid {
        /// The ref as given.
        reference: String,
        /// Why.
        reason: String,
    },
    /// A file system operation on a Git mirror failed.
    #[error("Git mirror {}: {source}", path.display())]
    GitIo {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when this failure (or the last one before the retries ran out) was a timeout.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::TimedOut { .. } => true,
            Error::RetriesExhausted { last, .. } => last.is_timeout(),
            _ => false,
        }
    }
}

/// A URL without userinfo (user names and passwords), for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_strips_userinfo_only() {
        assert_eq!(redact("https://user:secret@example.com/a?b=c"), "https://example.com/a?b=c");
        assert_eq!(redact("https://example.com/a"), "https://example.com/a");
        assert_eq!(redact("not a url"), "not a url");
    }
}
