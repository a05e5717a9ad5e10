//! `components.source`: the Git repository the components are rendered from.
//!
//! podplane keeps a bare mirror of it for offline clusters; this module only
//! reads and checks the entry (a URL and exactly one ref). Field order and
//! `omitempty` follow upstream's Go types, so the cached copy keeps its shape;
//! `ref` is always written, as Go writes a struct even when tagged `omitempty`.

use serde::{Deserialize, Serialize};

use crate::go_json::is_false;
use crate::{Error, Extra};

/// The Git repository of the components and the ref to check out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentsSource {
    /// The repository URL.
    pub url: String,
    /// The ref: exactly one of branch, tag, semver or commit.
    #[serde(rename = "ref")]
    pub reference: ComponentsSourceRef,
    /// Local marker: the cache holds a mirror of the repository with the ref.
    #[serde(skip_serializing_if = "is_false")]
    pub cached: bool,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One Git ref of the components source; exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentsSourceRef {
    /// A branch name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub branch: String,
    /// A tag name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    /// A semver version or constraint; an exact `X.Y[.Z]` names the tag `X.Y[.Z]` or `vX.Y[.Z]`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub semver: String,
    /// A commit hash.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub commit: String,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ComponentsSource {
    /// Checks that the source has a URL and selects exactly one ref.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid =
            |reason: &str| Error::ComponentsSource { url: self.url.clone(), reason: reason.to_owned() };
        if self.url.trim().is_empty() {
            return Err(invalid("has no url"));
        }
        let r = &self.reference;
        let set = [&r.branch, &r.tag, &r.semver, &r.commit].iter().filter(|v| !v.is_empty()).count();
        if set != 1 {
            return Err(invalid("must set exactly one of ref branch, tag, semver or commit"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(json: &str) -> ComponentsSource {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn accepts_a_url_with_one_ref() {
        for r in [r#"{"branch":"main"}"#, r#"{"tag":"v1"}"#, r#"{"semver":"1.2"}"#, r#"{"commit":"abc"}"#] {
            source(&format!(r#"{{"url":"https://github.com/podplane/components","ref":{r}}}"#))
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn rejects_no_url_and_zero_or_two_refs() {
        let no_url = source(r#"{"ref":{"tag":"v1"}}"#).validate().unwrap_err();
        assert_eq!(no_url.to_string(), "components source \"\" has no url");
        for r in [r#"{}"#, r#"{"tag":"v1","branch":"main"}"#] {
            let err = source(&format!(r#"{{"url":"https://x/c","ref":{r}}}"#)).validate().unwrap_err();
            assert!(err.to_string().contains("exactly one"), "{err}");
        }
    }

    #[test]
    fn writes_ref_always_and_only_its_set_field() {
        let s = source(r#"{"url":"u"}"#);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"url":"u","ref":{}}"#);
        let s = source(r#"{"url":"u","ref":{"semver":"1.2","secretRef":{"name":"x"}}}"#);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"url":"u","ref":{"semver":"1.2","secretRef":{"name":"x"}}}"#
        );
    }
}
