//! The redirect policy of every client: each hop must pass [`check_scheme`]
//! (https, or plain http only to loopback or a host allowed as insecure), so
//! a redirect can never downgrade a request to a scheme or host that the
//! same URL written in a manifest would be refused for. A refused hop stops
//! the request before anything is sent to its target; the error names the
//! target (redacted) and says the redirect was refused. Never more than
//! `MAX_HOPS` hops, as reqwest's default.

use crate::{Error, check_scheme, redact};

/// Most redirects followed for one request.
const MAX_HOPS: usize = 10;

/// A redirect hop the policy refused, carried inside reqwest's error.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The hop's target (redacted).
    pub(crate) target: String,
    /// Why it was refused.
    pub(crate) reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused the redirect to {}: {}", self.target, self.reason)
    }
}

impl std::error::Error for Refusal {}

/// The policy: follow a hop only when `check_scheme` accepts its target under `insecure_hosts`.
pub(crate) fn policy(insecure_hosts: Vec<String>) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_HOPS {
            let target = redact(attempt.url().as_str());
            let reason = format!("more than {MAX_HOPS} redirects");
            return attempt.error(Refusal { target, reason });
        }
        match refusal(attempt.url().as_str(), &insecure_hosts) {
            None => attempt.follow(),
            Some(refusal) => attempt.error(refusal),
        }
    })
}

/// Why `target` may not be followed, or `None` when it may.
fn refusal(target: &str, insecure_hosts: &[String]) -> Option<Refusal> {
    let reason = match check_scheme(target, insecure_hosts) {
        Ok(()) => return None,
        Err(Error::InsecureUrl { .. }) => {
            "plain http to a host that is neither loopback nor allowed as insecure".to_owned()
        }
        Err(Error::InvalidUrl { reason, .. }) => reason,
        Err(other) => other.to_string(),
    };
    Some(Refusal { target: redact(target), reason })
}

/// The refused hop behind a reqwest error, if that is what stopped it.
pub(crate) fn refused(err: &reqwest::Error) -> Option<&Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hops_follow_the_url_policy() {
        assert!(refusal("https://cdn.example/x", &[]).is_none());
        assert!(refusal("http://127.0.0.1:9/x", &[]).is_none());
        assert!(refusal("http://cdn.example/x", &["cdn.example".into()]).is_none());
        let plain = refusal("http://user:pw@cdn.example/x", &[]).unwrap();
        assert_eq!(plain.target, "http://cdn.example/x", "redacted");
        assert!(plain.reason.contains("plain http"), "{plain}");
        let ftp = refusal("ftp://127.0.0.1/x", &["*".into()]).unwrap();
        assert!(ftp.to_string().contains("refused the redirect to ftp://127.0.0.1/x"), "{ftp}");
    }
}
