//! The cache lock: one writer per cache root at a time.
//!
//! The lock is an exclusive advisory lock (`flock` on Unix, `LockFileEx` on
//! Windows, via std's `File::lock`) on `<root>/.lock`, held for as long as the
//! [`CacheLock`] value lives and released when it is dropped or the process
//! dies (the kernel drops it with the file descriptor, so a `kill -9` never
//! leaves a stale lock). The holder writes its PID into the file so a waiter
//! can say who it is waiting for; the PID is a courtesy, never trusted for
//! correctness.
//!
//! Modes ([`LockWait`]):
//! - `Wait`: if the lock is held, call `on_wait` once with the holder (so the
//!   CLI can print "Waiting for the cache lock held by PID 1234") and block
//!   until it is released.
//! - `NoWait`: if the lock is held, fail at once with [`Error::Locked`].
//!
//! The lock file is opened without following a symbolic link: a link planted
//! at `.lock` is replaced by a fresh file, never written through (taking the
//! lock writes our PID, and releasing it empties the file). A FIFO or device
//! there is an error naming it.
//!
//! Readers (verify, status) do not take the lock: every file they read is
//! replaced atomically, so they never see a half-written one.

use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use crate::fsio::{self, io_err};
use crate::{Error, Result};

/// The lock file's name under the cache root.
const LOCK_FILE: &str = ".lock";

/// What to do when another process holds the cache lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockWait {
    /// Report the holder, then block until the lock is free.
    #[default]
    Wait,
    /// Fail at once with [`Error::Locked`].
    NoWait,
}

/// Who holds the cache lock, as far as the lock file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockHolder {
    /// The holder's process id, when it has written one.
    pub pid: Option<u32>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "PID {pid}"),
            None => f.write_str("another process"),
        }
    }
}

/// The held cache lock; dropping it releases the lock.
#[derive(Debug)]
pub struct CacheLock {
    file: File,
    path: PathBuf,
}

impl CacheLock {
    /// Takes the lock on `<root>/.lock` (creating both if needed), waiting or not per `mode`.
    pub fn acquire(root: &Path, mode: LockWait, on_wait: impl FnOnce(LockHolder)) -> Result<CacheLock> {
        fsio::create_dir_all(root)?;
        let path = root.join(LOCK_FILE);
        let mut file = fsio::open_rw(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                match mode {
                    LockWait::NoWait => return Err(Error::Locked { path, holder }),
                    LockWait::Wait => {
                        tracing::debug!(path = %path.display(), %holder, "waiting for the cache lock");
                        on_wait(holder);
                        file.lock().map_err(io_err("lock", &path))?;
                    }
                }
            }
            Err(TryLockError::Error(err)) => return Err(io_err("lock", &path)(err)),
        }
        write_pid(&mut file).map_err(io_err("write", &path))?;
        Ok(CacheLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        // Clear our PID while still holding the lock; closing the file releases it anyway.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The PID written in the lock file, if it holds one.
fn read_holder(file: &mut File) -> LockHolder {
    let mut text = String::new();
    let pid = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text))
        .ok()
        .and_then(|_| text.trim().parse().ok());
    LockHolder { pid }
}

/// Replaces the lock file's contents with our PID.
fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn acquire_creates_root_and_writes_our_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cache");
        let lock = CacheLock::acquire(&root, LockWait::NoWait, |_| panic!("nothing to wait for")).unwrap();
        assert_eq!(lock.path(), root.join(".lock"));
        let text = std::fs::read_to_string(lock.path()).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
    }

    #[test]
    fn no_wait_fails_naming_the_holder_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let _held = CacheLock::acquire(tmp.path(), LockWait::NoWait, |_| {}).unwrap();
        let err = CacheLock::acquire(tmp.path(), LockWait::NoWait, |_| panic!("must not wait")).unwrap_err();
        let pid = std::process::id();
        match &err {
            Error::Locked { path, holder } => {
                assert_eq!(path, &tmp.path().join(".lock"));
                assert_eq!(holder.pid, Some(pid));
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err.to_string().contains(&format!("held by PID {pid}")), "{err}");
    }

    #[test]
    fn released_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        drop(CacheLock::acquire(tmp.path(), LockWait::NoWait, |_| {}).unwrap());
        let again = CacheLock::acquire(tmp.path(), LockWait::NoWait, |_| {}).unwrap();
        drop(again);
        assert_eq!(std::fs::read_to_string(tmp.path().join(".lock")).unwrap(), "", "pid cleared on release");
    }

    #[test]
    fn wait_reports_the_holder_then_gets_the_lock_when_released() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let held = CacheLock::acquire(&root, LockWait::NoWait, |_| {}).unwrap();
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let lock = CacheLock::acquire(&root, LockWait::Wait, |holder| waiting_tx.send(holder).unwrap());
            done_tx.send(()).unwrap();
            lock
        });
        let holder = waiting_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(holder.pid, Some(std::process::id()));
        assert!(done_rx.recv_timeout(Duration::from_millis(200)).is_err(), "acquired while still held");
        drop(held);
        done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let lock = waiter.join().unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(lock.path()).unwrap().trim(), std::process::id().to_string());
    }

    #[test]
    fn holder_display() {
        assert_eq!(LockHolder { pid: Some(42) }.to_string(), "PID 42");
        assert_eq!(LockHolder { pid: None }.to_string(), "another process");
    }
}
