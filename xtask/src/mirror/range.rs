//! `Range` and `If-Range` for single byte ranges: `bytes=N-`, `bytes=N-M`
//! and `bytes=-N`. A header we do not understand (several ranges, bad
//! syntax) is ignored and the full body served, as RFC 9110 allows; a range
//! starting past the end is unsatisfiable (416). An `If-Range` that does not
//! match the current ETag or Last-Modified date means "send it all".

/// What part of a resource to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Selection {
    /// The whole resource, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// The current validators of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Validators {
    /// The strong ETag, quoted.
    pub(super) etag: String,
    /// The Last-Modified HTTP date.
    pub(super) last_modified: String,
}

/// The selection for a resource of `len` bytes given the request headers.
pub(super) fn select(
    range: Option<&str>,
    if_range: Option<&str>,
    current: &Validators,
    len: u64,
) -> Selection {
    let Some(range) = range else { return Selection::Full };
    if let Some(tag) = if_range.map(str::trim)
        && tag != current.etag
        && tag != current.last_modified
    {
        return Selection::Full;
    }
    parse(range, len).unwrap_or(Selection::Full)
}

/// Parses one byte range against `len`; `None` when the header is to be ignored.
fn parse(header: &str, len: u64) -> Option<Selection> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let suffix: u64 = last.parse().ok()?;
        if suffix == 0 || len == 0 {
            return Some(Selection::Unsatisfiable);
        }
        return Some(Selection::Partial { start: len - suffix.min(len), end: len - 1 });
    }
    let start: u64 = first.parse().ok()?;
    let end = if last.is_empty() { None } else { Some(last.parse::<u64>().ok()?) };
    if end.is_some_and(|end| end < start) {
        return None;
    }
    if start >= len {
        return Some(Selection::Unsatisfiable);
    }
    Some(Selection::Partial { start, end: end.map_or(len - 1, |end| end.min(len - 1)) })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn v() -> Validators {
        Validators { etag: "\"10-ab\"".into(), last_modified: "Sun, 06 Nov 1994 08:49:37 GMT".into() }
    }

    #[test]
    fn ranges() {
        let p = |start, end| Selection::Partial { start, end };
        let cases = [
            ("bytes=0-", p(0, 9)),
            ("bytes=3-", p(3, 9)),
            ("bytes=3-4", p(3, 4)),
            ("bytes=3-100", p(3, 9)),
            ("bytes=-4", p(6, 9)),
            ("bytes=-100", p(0, 9)),
            ("bytes=10-", Selection::Unsatisfiable),
            ("bytes=-0", Selection::Unsatisfiable),
            ("bytes=4-3", Selection::Full),
            ("bytes=0-1,3-4", Selection::Full),
            ("items=0-1", Selection::Full),
            ("bytes=x-", Selection::Full),
        ];
        for (header, want) in cases {
            assert_eq!(select(Some(header), None, &v(), 10), want, "{header}");
        }
        assert_eq!(select(None, None, &v(), 10), Selection::Full);
    }

    #[test]
    fn if_range_must_match_a_current_validator() {
        let part = Selection::Partial { start: 3, end: 9 };
        assert_eq!(select(Some("bytes=3-"), Some("\"10-ab\""), &v(), 10), part);
        assert_eq!(select(Some("bytes=3-"), Some("Sun, 06 Nov 1994 08:49:37 GMT"), &v(), 10), part);
        assert_eq!(select(Some("bytes=3-"), Some("\"10-cd\""), &v(), 10), Selection::Full);
        assert_eq!(select(Some("bytes=3-"), Some("W/\"10-ab\""), &v(), 10), Selection::Full);
    }

    proptest! {
        #[test]
        fn partial_ranges_lie_within_the_resource(header in "bytes=[0-9]{0,3}-[0-9]{0,3}", len in 0u64..500) {
            if let Selection::Partial { start, end } = select(Some(&header), None, &v(), len) {
                prop_assert!(start <= end && end < len);
            }
        }
    }
}
