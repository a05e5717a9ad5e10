//! Reading manifest bytes and writing the cached copies of manifests.
//!
//! Cached copies are the upstream manifest with local `cached` markers added,
//! written the way Go's `json.MarshalIndent(v, "", "  ")` writes them: fields
//! in declaration order, map keys sorted, two-space indentation, `<`, `>`, `&`,
//! U+2028 and U+2029 escaped, plus a trailing newline. Writing never fails:
//! the manifest types only have string map keys and derived `Serialize` impls.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::Error;

/// Parses manifest bytes; `manifest` names the manifest kind in the error.
pub(crate) fn from_json<T: DeserializeOwned>(manifest: &'static str, bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json { manifest, source })
}

/// Serialises `value` as a cached manifest copy: Go's indented JSON plus a newline.
pub fn to_cached_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter::default());
    if let Err(err) = value.serialize(&mut serializer) {
        // Only non-string map keys or a failing custom `Serialize` impl can get here;
        // the manifest types have neither.
        unreachable!("manifest types always serialise: {err}");
    }
    out.push(b'\n');
    out
}

/// serde_json's two-space pretty printer with Go's HTML-safe string escaping.
#[derive(Default)]
struct GoFormatter {
    pretty: PrettyFormatter<'static>,
}

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(writer)
    }
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

    #[test]
    fn json_error_names_the_manifest() {
        let err = from_json::<BTreeMap<String, String>>("seeds", b"{").unwrap_err();
        assert!(err.to_string().starts_with("invalid seeds manifest JSON:"), "{err}");
    }
}
