//! Writing the cached copies of manifests.
//!
//! Cached copies are the upstream manifest with local `cached` markers added,
//! written the way Go's `json.MarshalIndent(v, "", "  ")` writes them: fields
//! in declaration order, map keys sorted, two-space indentation, `<`, `>`, `&`,
//! U+2028 and U+2029 escaped (by `go_json`), plus a trailing newline. Writing
//! never fails: the manifest types only have string map keys and derived
//! `Serialize` impls.

use serde::Serialize;
use serde_json::ser::PrettyFormatter;

use crate::go_json::write_go_json;

/// Serialises `value` as a cached manifest copy: Go's indented JSON plus a newline.
pub fn to_cached_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    write_go_json(&mut out, value, PrettyFormatter::new());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn writes_go_indentation_sorted_keys_and_trailing_newline() {
        let value: BTreeMap<&str, Vec<i32>> = [("b", vec![1, 2]), ("a", vec![])].into_iter().collect();
        let text = String::from_utf8(to_cached_json(&value)).unwrap();
        assert_eq!(text, "{\n  \"a\": [],\n  \"b\": [\n    1,\n    2\n  ]\n}\n");
    }

    #[test]
    fn escapes_html_characters_like_go() {
        let value = BTreeMap::from([("u<r>l", "https://x/?a=1&b=<2>\u{2028}é")]);
        let text = String::from_utf8(to_cached_json(&value)).unwrap();
        assert_eq!(
            text,
            "{\n  \"u\\u003cr\\u003el\": \"https://x/?a=1\\u0026b=\\u003c2\\u003e\\u2028é\"\n}\n"
        );
        let back: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back["u<r>l"], "https://x/?a=1&b=<2>\u{2028}é");
    }
}
