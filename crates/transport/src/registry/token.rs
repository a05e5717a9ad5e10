//! Bearer tokens from a registry's token endpoint: the answer's JSON
//! (`token` or `access_token`, `expires_in` defaulting to 60 s, `issued_at`),
//! and how long a token may be sent. A token is retired a little before it
//! expires (a tenth of its life, at most 10 s) so that it never expires in
//! flight. Its value never shows in `Debug` output.

use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

/// Lifetime assumed when the endpoint names none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// Longest safety margin before expiry.
const MAX_MARGIN: Duration = Duration::from_secs(10);

/// A bearer token and the instant it stops being sent.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token {
    value: String,
    retire_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("value", &"<redacted>").field("retire_at", &self.retire_at).finish()
    }
}

/// The token endpoint's answer (fields we use).
#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
    issued_at: Option<String>,
}

impl Token {
    /// Parses a token endpoint's answer received at `received` (wall clock `now`).
    pub(crate) fn parse(body: &[u8], received: Instant, now: SystemTime) -> Result<Token, String> {
        let reply: TokenResponse =
            serde_json::from_slice(body).map_err(|e| format!("the answer is not token JSON: {e}"))?;
        let value = [reply.token, reply.access_token]
            .into_iter()
            .flatten()
            .find(|t| !t.is_empty())
            .ok_or("the answer holds no token")?;
        if value.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
            return Err("the token has characters a header cannot carry".to_owned());
        }
        let lifetime = match reply.expires_in {
            Some(secs) if secs > 0 => Duration::from_secs(secs),
            _ => DEFAULT_LIFETIME,
        };
        let age = reply.issued_at.as_deref().and_then(|at| age(at, now)).filter(|age| *age < lifetime);
        let remaining = lifetime - age.unwrap_or_default();
        let margin = (lifetime / 10).min(MAX_MARGIN);
        Ok(Token { value, retire_at: received + remaining.saturating_sub(margin) })
    }

    /// Whether the token may still be sent at `now`.
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.retire_at
    }

    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> String {
        format!("Bearer {}", self.value)
    }
}

/// How long before `now` the RFC 3339 instant `issued_at` was (`None` if later or unparsable).
fn age(issued_at: &str, now: SystemTime) -> Option<Duration> {
    let issued =
        time::OffsetDateTime::parse(issued_at, &time::format_description::well_known::Rfc3339).ok()?;
    let now = time::OffsetDateTime::from(now);
    Duration::try_from(now - issued).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str, now: SystemTime) -> Token {
        Token::parse(json.as_bytes(), Instant::now(), now).unwrap()
    }

    fn lifetime(token: &Token, received: Instant) -> Duration {
        token.retire_at - received
    }

    #[test]
    fn token_or_access_token_and_a_default_lifetime() {
        let now = SystemTime::now();
        let received = Instant::now();
        let t = Token::parse(br#"{"token":"abc"}"#, received, now).unwrap();
        assert_eq!(t.header(), "Bearer abc");
        assert_eq!(lifetime(&t, received), Duration::from_secs(54));
        let t =
            Token::parse(br#"{"token":"","access_token":"xyz","expires_in":300}"#, received, now).unwrap();
        assert_eq!(t.header(), "Bearer xyz");
        assert_eq!(lifetime(&t, received), Duration::from_secs(290));
    }

    #[test]
    fn fresh_until_the_margin_before_expiry() {
        let received = Instant::now();
        let t = Token::parse(br#"{"token":"a","expires_in":100}"#, received, SystemTime::now()).unwrap();
        assert!(t.is_fresh(received + Duration::from_secs(89)));
        assert!(!t.is_fresh(received + Duration::from_secs(90)));
        let short = Token::parse(br#"{"token":"a","expires_in":1}"#, received, SystemTime::now()).unwrap();
        assert!(short.is_fresh(received + Duration::from_millis(850)));
        assert!(!short.is_fresh(received + Duration::from_millis(900)));
    }

    #[test]
    fn issued_at_in_the_past_shortens_the_life_and_in_the_future_is_ignored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600); // 2025-01-01T00:00:00Z
        let received = Instant::now();
        let aged = r#"{"token":"a","expires_in":300,"issued_at":"2024-12-31T23:58:00Z"}"#;
        assert_eq!(
            lifetime(&Token::parse(aged.as_bytes(), received, now).unwrap(), received),
            Duration::from_secs(170)
        );
        let future = r#"{"token":"a","expires_in":300,"issued_at":"2025-01-01T00:10:00+00:00"}"#;
        assert_eq!(
            lifetime(&Token::parse(future.as_bytes(), received, now).unwrap(), received),
            Duration::from_secs(290)
        );
        let ancient = r#"{"token":"a","expires_in":60,"issued_at":"2020-01-01T00:00:00.123Z"}"#;
        assert_eq!(lifetime(&parse(ancient, now), received).as_secs(), 54);
    }

    #[test]
    fn answers_without_a_usable_token_are_refused() {
        let now = SystemTime::now();
        for body in [&b"not json"[..], br#"{}"#, br#"{"token":""}"#, b"{\"token\":\"a b\"}"] {
            assert!(Token::parse(body, Instant::now(), now).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = parse(r#"{"token":"s3cret"}"#, SystemTime::now());
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
