//! JSON as Go's `encoding/json` writes it, for documents Helm would write.
//!
//! serde_json and Go agree on everything we serialise (field order comes from
//! the struct, maps are sorted) except that Go escapes `<`, `>` and `&` and
//! the line and paragraph separators U+2028 and U+2029 inside strings. Those
//! characters can only occur inside strings in JSON text, so replacing them
//! after serialisation is exact.

use serde::Serialize;

/// Serialises `value` compactly, escaping as Go's `json.Marshal` does.
pub(crate) fn to_go_json<T: Serialize>(value: &T) -> Vec<u8> {
    let plain = serde_json::to_string(value)
        .unwrap_or_else(|err| unreachable!("strings, numbers and string maps always serialise: {err}"));
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let value = std::collections::BTreeMap::from([("b", "a<b>&c\u{2028}\n\""), ("a", "1")]);
        assert_eq!(
            String::from_utf8(to_go_json(&value)).unwrap(),
            r#"{"a":"1","b":"a\u003cb\u003e\u0026c\u2028\n\""}"#
        );
    }
}
