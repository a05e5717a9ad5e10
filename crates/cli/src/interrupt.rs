//! Ctrl-C and SIGTERM. `main` races the command against [`Signals::recv`];
//! when a signal wins, the command is dropped (its reporter clears the bars),
//! one line says what happened and the process exits 130 (SIGINT) or 143
//! (SIGTERM), as shells report a process killed by that signal. Partial
//! downloads are never deleted here: the next run resumes them.

/// The signal that stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The exit code: 128 plus the signal's number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    /// The one line printed on the way out; a download says its partial files are kept.
    pub fn message(self, downloading: bool) -> String {
        let name = match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        };
        if downloading {
            format!(
                "interrupted ({name}): partial files are kept in the cache; \
                 the next `deps download` resumes them"
            )
        } else {
            format!("interrupted ({name})")
        }
    }
}

/// The signal handlers, installed when made (inside the runtime).
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    /// Installs the handlers; one that cannot be installed is never received.
    pub fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Waits for the first SIGINT or SIGTERM.
    pub async fn recv(mut self) -> Signal {
        tokio::select! {
            () = next(&mut self.interrupt) => Signal::Interrupt,
            () = next(&mut self.terminate) => Signal::Terminate,
        }
    }
}

/// The next delivery of `signal`; never, for a handler that is missing or gone.
#[cfg(unix)]
async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(signal) = signal
        && signal.recv().await.is_some()
    {
        return;
    }
    std::future::pending::<()>().await;
}

#[cfg(not(unix))]
impl Signals {
    /// Nothing to install: Ctrl-C is awaited directly.
    pub fn new() -> Self {
        Self {}
    }

    /// Waits for Ctrl-C.
    pub async fn recv(self) -> Signal {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        Signal::Interrupt
    }
}
