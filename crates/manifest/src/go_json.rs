//! Go `encoding/json` conventions the manifest types follow, as serde helpers.
//!
//! The manifests are written by Go programs: `omitempty` leaves out zero
//! values, and nil slices and maps are written as `null`, which Go reads back
//! as empty. These helpers let the serde attributes say the same thing; the
//! OCI layout types and Helm's chart metadata (deps-oci) use them too.
//!
//! Writing: serde_json and Go agree on everything we serialise (field order
//! comes from the struct, maps are sorted) except that Go escapes `<`, `>`,
//! `&` and the separators U+2028 and U+2029 inside strings. `GoEscape` is
//! the one place that does it, for compact output ([`to_go_json`], Go's
//! `json.Marshal`) and indented output (`to_cached_json`, Go's `json.MarshalIndent`).

use std::io;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};

/// `omitempty` for booleans: skip `false`.
pub fn is_false(value: &bool) -> bool {
    !*value
}

/// `omitempty` for an optional string: skip when absent or empty.
pub(crate) fn is_none_or_empty(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(str::is_empty)
}

/// Reads `null` as the type's empty value, as Go does for slices and maps.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Serialises `value` compactly, escaping as Go's `json.Marshal` does.
///
/// Never fails for types with string map keys and derived `Serialize` impls,
/// which is every type deps writes.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    write_go_json(&mut out, value, CompactFormatter);
    out
}

/// Appends `value` to `out` through `formatter`, with Go's string escaping.
pub(crate) fn write_go_json<T: Serialize + ?Sized, F: Formatter>(out: &mut Vec<u8>, value: &T, formatter: F) {
    let mut serializer = serde_json::Serializer::with_formatter(out, GoEscape(formatter));
    if let Err(err) = value.serialize(&mut serializer) {
        // Only non-string map keys or a failing custom `Serialize` impl can get
        // here (writing to a Vec cannot fail); the types deps writes have neither.
        unreachable!("deps' JSON types always serialise: {err}");
    }
}

/// A serde_json formatter with Go's HTML-safe string escaping on top of `F`'s layout.
///
/// Delegates the structural methods, the only ones serde_json's compact and
/// pretty formatters override.
struct GoEscape<F>(F);

impl<F: Formatter> Formatter for GoEscape<F> {
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
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_key(writer)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn compact_output_escapes_like_go() {
        let value = BTreeMap::from([("b", "a<b>&c\u{2028}\u{2029}\n\""), ("a<", "1")]);
        assert_eq!(
            String::from_utf8(to_go_json(&value)).unwrap(),
            r#"{"a\u003c":"1","b":"a\u003cb\u003e\u0026c\u2028\u2029\n\""}"#
        );
    }
}
