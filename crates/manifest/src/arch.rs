//! Architecture selection: the `--arch` values a run accepts.
//!
//! Only `amd64` and `arm64` exist; `x86_64` and `aarch64` are accepted as
//! aliases. The result is never empty and keeps the first-seen order, so the
//! first architecture (the one doing the cross-arch work) is the user's first.

use std::collections::BTreeSet;

use crate::{Error, parse_list};

/// The architectures a vmconfig manifest exists for.
pub const SUPPORTED_ARCHS: [&str; 2] = ["amd64", "arm64"];

/// Normalises `--arch` values: comma lists split, trimmed, lower-cased, aliases resolved, de-duplicated.
pub fn normalize_archs(input: &[String]) -> Result<Vec<String>, Error> {
    let mut archs: Vec<String> = Vec::new();
    for value in input.iter().flat_map(|v| parse_list(v)) {
        let arch = canonical(&value.to_lowercase()).ok_or(Error::UnsupportedArch { arch: value })?;
        if !archs.iter().any(|a| a == arch) {
            archs.push(arch.to_owned());
        }
    }
    if archs.is_empty() { Err(Error::NoArch) } else { Ok(archs) }
}

/// The host's architecture in manifest terms (`amd64`, `arm64`); other hosts get Rust's name.
pub fn host_arch() -> &'static str {
    canonical(std::env::consts::ARCH).unwrap_or(std::env::consts::ARCH)
}

/// The wanted architectures of an image selection: comma lists split, trimmed and lower-cased.
///
/// Unlike [`normalize_archs`] nothing is rejected or resolved: an image's
/// platform names its arch as the registry does, and an unknown arch simply
/// selects nothing.
pub(crate) fn arch_selection(archs: &[String]) -> BTreeSet<String> {
    archs.iter().flat_map(|a| parse_list(a)).map(|a| a.to_lowercase()).collect()
}

/// The architecture of an OCI platform `os/arch[/variant]`: its second field, or empty.
pub(crate) fn platform_arch(platform: &str) -> &str {
    platform.split('/').nth(1).unwrap_or_default()
}

/// The manifest name of a supported architecture or alias.
fn canonical(arch: &str) -> Option<&'static str> {
    match arch {
        "amd64" | "x86_64" => Some("amd64"),
        "arm64" | "aarch64" => Some("arm64"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(values: &[&str]) -> Result<Vec<String>, Error> {
        normalize_archs(&values.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn splits_trims_lowercases_and_deduplicates_in_order() {
        assert_eq!(norm(&[" ARM64 , amd64", "arm64"]).unwrap(), ["arm64", "amd64"]);
        assert_eq!(norm(&["x86_64,aarch64,amd64"]).unwrap(), ["amd64", "arm64"]);
        assert_eq!(norm(&["amd64,,"]).unwrap(), ["amd64"]);
    }

    #[test]
    fn rejects_unknown_and_empty_selections() {
        let err = norm(&["amd64,riscv64"]).unwrap_err();
        assert_eq!(err.to_string(), "unsupported architecture \"riscv64\" (supported: amd64, arm64)");
        assert!(matches!(norm(&[]), Err(Error::NoArch)));
        assert!(matches!(norm(&[" , "]), Err(Error::NoArch)));
    }

    #[test]
    fn host_arch_is_in_manifest_terms() {
        let host = host_arch();
        match std::env::consts::ARCH {
            "x86_64" => assert_eq!(host, "amd64"),
            "aarch64" => assert_eq!(host, "arm64"),
            other => assert_eq!(host, other),
        }
    }
}
