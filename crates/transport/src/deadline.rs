//! The deadlines of one attempt, so a black-hole server (accepts, never
//! answers) or a slow drip fails in seconds as "timed out" instead of
//! holding a run for minutes:
//!
//! - the connect timeout (set on the reqwest client);
//! - a low-speed limit, as curl's `--speed-limit/--speed-time`: fewer than
//!   `limit × time` bytes in any window of `time` fails the attempt (waiting
//!   for the answer counts as a window that received nothing);
//! - an optional overall deadline from the first byte sent to the last received.
//!
//! A timed-out attempt is a transient failure: the retry policy decides
//! whether another follows.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use reqwest::{RequestBuilder, Response};
use tokio::time::Instant;

use crate::retry::{Failure, send_failure};
use crate::{ClientConfig, Error, redact};

/// The clocks of one attempt.
#[derive(Debug)]
pub(crate) struct Deadlines {
    url: String,
    /// Bytes per second the transfer must average over each window (0: no limit).
    limit: u64,
    /// The window.
    window: Duration,
    window_start: Instant,
    window_bytes: u64,
    /// The overall deadline and its length.
    overall: Option<(Instant, Duration)>,
}

impl Deadlines {
    /// Starts the clocks of an attempt on `url` now.
    pub(crate) fn new(url: &str, config: &ClientConfig, overall: Option<Duration>) -> Self {
        let now = Instant::now();
        Self {
            url: url.to_owned(),
            limit: config.low_speed_limit,
            window: config.low_speed_time,
            window_start: now,
            window_bytes: 0,
            overall: overall.map(|d| (now + d, d)),
        }
    }

    /// Sends `request` and waits for the answer's head, within the deadlines.
    pub(crate) async fn send(&mut self, request: RequestBuilder) -> Result<Response, Failure> {
        let sent = request.send();
        tokio::pin!(sent);
        loop {
            let outcome = match self.wake() {
                Some(at) => tokio::time::timeout_at(at, &mut sent).await.ok(),
                None => Some(sent.as_mut().await),
            };
            match outcome {
                Some(Ok(response)) => {
                    // An answer is progress: the next window starts now.
                    self.window_start = Instant::now();
                    self.window_bytes = 0;
                    return Ok(response);
                }
                Some(Err(err)) => return Err(send_failure(&self.url, err)),
                None => self.check("waiting for an answer")?,
            }
        }
    }

    /// The next chunk of `body` (`None` at its end), within the deadlines.
    pub(crate) async fn next<S>(&mut self, body: &mut S) -> Option<Result<Bytes, Failure>>
    where
        S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
    {
        loop {
            let outcome = match self.wake() {
                Some(at) => tokio::time::timeout_at(at, body.next()).await.ok(),
                None => Some(body.next().await),
            };
            match outcome {
                Some(Some(Ok(chunk))) => {
                    self.window_bytes += chunk.len() as u64;
                    if let Err(failure) = self.check("receiving the body") {
                        return Some(Err(failure));
                    }
                    return Some(Ok(chunk));
                }
                Some(Some(Err(err))) => return Some(Err(send_failure(&self.url, err))),
                Some(None) => return None,
                None => {
                    if let Err(failure) = self.check("receiving the body") {
                        return Some(Err(failure));
                    }
                }
            }
        }
    }

    /// When a clock next needs looking at (`None`: no clock runs).
    fn wake(&self) -> Option<Instant> {
        let window = (self.limit > 0 && !self.window.is_zero()).then(|| self.window_start + self.window);
        let overall = self.overall.map(|(at, _)| at);
        match (window, overall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fails the attempt when a deadline passed while `doing`; else starts a new
    /// speed window once the current one is over.
    fn check(&mut self, doing: &str) -> Result<(), Failure> {
        let now = Instant::now();
        let timed_out = |what: String| {
            Failure::Transient(
                Error::TimedOut { url: redact(&self.url), what: format!("{doing}: {what}") },
                None,
            )
        };
        if let Some((at, length)) = self.overall
            && now >= at
        {
            return Err(timed_out(format!("the {}s deadline of one attempt passed", secs(length))));
        }
        if self.limit > 0 && !self.window.is_zero() && now >= self.window_start + self.window {
            let needed = needed_bytes(self.limit, self.window);
            if self.window_bytes < needed {
                return Err(timed_out(format!(
                    "{} bytes in {}s, below the low-speed limit of {needed}",
                    self.window_bytes,
                    secs(self.window)
                )));
            }
            self.window_start = now;
            self.window_bytes = 0;
        }
        Ok(())
    }
}

/// Bytes a window of `window` needs at `limit` bytes per second (at least one).
fn needed_bytes(limit: u64, window: Duration) -> u64 {
    ((limit as f64 * window.as_secs_f64()).ceil() as u64).max(1)
}

/// A duration in seconds, as short as it reads well.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s:.1}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_needs_limit_times_time_bytes() {
        assert_eq!(needed_bytes(1, Duration::from_secs(30)), 30);
        assert_eq!(needed_bytes(100, Duration::from_millis(250)), 25);
        assert_eq!(needed_bytes(1, Duration::from_millis(10)), 1);
        assert_eq!(secs(Duration::from_secs(30)), "30");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5");
    }

    #[test]
    fn no_limit_and_no_deadline_means_no_clock() {
        let config = ClientConfig { low_speed_limit: 0, ..ClientConfig::default() };
        assert!(Deadlines::new("http://h/x", &config, None).wake().is_none());
        let limited = Deadlines::new("http://h/x", &ClientConfig::default(), Some(Duration::from_secs(5)));
        assert!(limited.wake().is_some());
    }
}
