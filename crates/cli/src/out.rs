//! Every line the CLI prints goes through here, for two reasons.
//!
//! - Text from outside (manifest names and versions, server messages, paths)
//!   may hold control characters: an ESC can set the terminal's title or move
//!   the cursor, a newline can forge a line. [`escape`] shows each control
//!   character (C0, DEL, C1) as a visible `\u{..}` escape, so one printed line
//!   is one line and nothing reaches the terminal as a command.
//! - stdout or stderr may be a pipe whose reader went away (`deps status |
//!   head -c10`). A failed write is dropped quietly: `println!` would panic,
//!   and a download must not stop because nobody reads its progress.
//!
//! After [`close`] (an interrupted run) nothing more is printed but the line
//! that says so, so late events of the stopped run cannot follow it.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the run is interrupted: nothing prints after the closing line.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether `c` is a control character: C0, DEL or C1.
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `text` with every control character shown as `\u{XX}` (a newline too:
/// the result is one line). Text without any is returned as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `line`, escaped, and a newline to `out`; a failed write (a closed
/// pipe) is ignored.
fn write_line(mut out: impl Write, line: &str) {
    if CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let mut bytes = escape(line).into_owned();
    bytes.push('\n');
    let _ = out.write_all(bytes.as_bytes()).and_then(|()| out.flush());
}

/// Prints one line on stdout, control characters escaped.
pub fn print_line(line: &str) {
    write_line(std::io::stdout().lock(), line);
}

/// Prints one line on stderr, control characters escaped.
pub fn eprint_line(line: &str) {
    write_line(std::io::stderr().lock(), line);
}

/// Prints each line of `text` (our own line breaks) on stdout, each escaped.
pub fn print_lines(text: &str) {
    for line in text.lines() {
        print_line(line);
    }
}

/// Prints each line of `text` (our own line breaks) on stderr, each escaped.
pub fn eprint_lines(text: &str) {
    for line in text.lines() {
        eprint_line(line);
    }
}

/// Prints one JSON value as one line on stdout (see [`json_text`]).
pub fn print_json(value: &serde_json::Value) {
    print_line(&json_text(value));
}

/// One JSON value as one line. serde escapes C0 in strings; DEL and C1, which
/// it leaves raw, become `\u00XX` escapes (valid JSON, the same string once
/// parsed), so the line holds no control character at all.
fn json_text(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if is_control(c) {
            let _ = write!(line, "\\u{:04x}", u32::from(c));
        } else {
            line.push(c);
        }
    }
    line
}

/// Prints `line` on stderr as the very last output: every later print is dropped.
pub fn close_with(line: &str) {
    let mut err = std::io::stderr().lock();
    if CLOSED.swap(true, Ordering::SeqCst) {
        return;
    }
    let _ = writeln!(err, "{}", escape(line)).and_then(|()| err.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape("v1.2.3"), "v1.2.3");
        assert_eq!(escape("ünïcode ✓"), "ünïcode ✓");
        assert_eq!(escape("a\u{1b}]0;title\u{7}b"), "a\\u{1b}]0;title\\u{7}b");
        assert_eq!(escape("one\ntwo\rthree\t"), "one\\u{a}two\\u{d}three\\u{9}");
        assert_eq!(escape("\u{7f}\u{9b}\u{80}\u{a0}"), "\\u{7f}\\u{9b}\\u{80}\u{a0}");
    }

    #[test]
    fn a_write_to_a_closed_reader_is_dropped() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
        }
        write_line(Closed, "nobody reads this");
    }

    #[test]
    fn json_strings_keep_del_and_c1_escaped() {
        let value = serde_json::json!({"name": "a\u{7f}\u{9b}\u{1b}b"});
        let line = json_text(&value);
        assert_eq!(line, r#"{"name":"a\u007f\u009b\u001bb"}"#);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&line).unwrap(), value);
    }
}
