//! The one check every manifest value passes before it becomes part of a path.
//!
//! Names, versions, file names and repository paths come from manifests that a
//! mirror serves; a hostile or broken one must never make us write outside the
//! cache root. [`component`] accepts a single path component, [`relative_path`]
//! a `/`-separated relative path made of such components.

use crate::Error;

/// Checks that `value` is one safe path component; `field` names it in the error.
///
/// Rejects empty values, `.`, `..`, any `/` or `\`, NUL and other control
/// characters, and values longer than 255 bytes.
pub fn component<'a>(field: &str, value: &'a str) -> Result<&'a str, Error> {
    let reason = if value.is_empty() {
        Some("is empty")
    } else if value == "." || value == ".." {
        Some("is a relative directory reference")
    } else if value.contains('/') || value.contains('\\') {
        Some("contains a path separator")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if value.len() > 255 {
        Some("is longer than 255 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::UnsafePath { field: field.to_owned(), value: value.to_owned(), reason }),
        None => Ok(value),
    }
}

/// Checks that `value` is a relative `/`-separated path of safe components.
pub fn relative_path<'a>(field: &str, value: &'a str) -> Result<&'a str, Error> {
    if value.starts_with('/') {
        return Err(Error::UnsafePath {
            field: field.to_owned(),
            value: value.to_owned(),
            reason: "is an absolute path",
        });
    }
    for part in value.split('/') {
        component(field, part).map_err(|err| match err {
            Error::UnsafePath { field, reason, .. } => {
                Error::UnsafePath { field, value: value.to_owned(), reason }
            }
            other => other,
        })?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Component, Path};

    #[test]
    fn rejects_the_classic_escapes() {
        for bad in ["", ".", "..", "../x", "/etc", "a/b", "a\\b", "a\0b", "a\nb"] {
            assert!(component("name", bad).is_err(), "{bad:?} accepted");
        }
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a/./b", "a/", "..", "x\0"] {
            assert!(relative_path("repo", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(component("version", "1.2.3+deb13u1").unwrap(), "1.2.3+deb13u1");
        assert_eq!(relative_path("repo", "docker.io/library/caddy").unwrap(), "docker.io/library/caddy");
    }

    #[test]
    fn error_names_field_and_value() {
        let msg = component("version", "/etc").unwrap_err().to_string();
        assert!(msg.contains("version") && msg.contains("/etc"), "{msg}");
    }

    fn stays_inside(path: &str) -> bool {
        Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
    }

    proptest! {
        #[test]
        fn accepted_component_never_escapes(value in "\\PC{0,12}|[./\\\\a]{0,6}") {
            if let Ok(v) = component("f", &value) {
                prop_assert!(stays_inside(v));
                let joined = Path::new("root").join(v);
                prop_assert_eq!(joined.parent(), Some(Path::new("root")));
            }
        }

        #[test]
        fn accepted_relative_path_never_escapes(value in "[a./\\\\\\x00]{0,10}|\\PC{0,16}") {
            if let Ok(v) = relative_path("f", &value) {
                prop_assert!(stays_inside(v));
                prop_assert!(Path::new("root").join(v).starts_with("root"));
            }
        }
    }
}
