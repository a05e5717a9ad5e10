//! Selection filters: which artifacts and component images a run wants.
//!
//! The provider rule (BEHAVIOR §3): an entry without `providers` always
//! matches; otherwise the selection must name one of its providers (values may
//! be comma lists, trimmed, compared case-insensitively) or contain `all`. An
//! empty selection therefore means "provider-neutral only". Addons follow the
//! same rule with the image's component names (an addon image naming no
//! component is always selected).
//!
//! Infrastructure providers imply secrets providers ([`secrets_providers`]):
//! a cluster on `proxmox` stores its secrets in `openbao`, so its images come
//! along.

use std::collections::BTreeSet;

/// Selects vmconfig items by provider and cache state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Selected providers (comma lists allowed; `all` selects every provider).
    pub providers: Vec<String>,
    /// Keep only items marked `cached`.
    pub cached_only: bool,
}

/// Selects component images by architecture, provider and addon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentImageFilter {
    /// Wanted architectures (`amd64`, `arm64`); images without a platform always match.
    pub archs: Vec<String>,
    /// Selected providers (comma lists allowed; `all` selects every provider); their secrets providers are added.
    pub providers: Vec<String>,
    /// Selected addon components (comma lists allowed; `all` selects every addon).
    pub addons: Vec<String>,
}

/// Splits a comma-separated list, trimming each value and dropping empty ones.
pub fn parse_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// The secrets providers the given infrastructure providers imply: `aws` -> `aws`,
/// `gcp` or `google` -> `gcp`, `proxmox` -> `openbao`.
///
/// Values may be comma lists (trimmed, compared case-insensitively); the result
/// is de-duplicated in first-seen order and names nothing for other values,
/// `all` included, as podplane's `inferredSecretsProviders` does.
pub fn secrets_providers(providers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for provider in providers.iter().flat_map(|v| parse_list(v)) {
        let secrets = match provider.to_lowercase().as_str() {
            "aws" => "aws",
            "gcp" | "google" => "gcp",
            "proxmox" => "openbao",
            _ => continue,
        };
        if !out.iter().any(|s| s == secrets) {
            out.push(secrets.to_owned());
        }
    }
    out
}

/// A parsed selection of names: lower-cased, trimmed, with `all` as a wildcard.
#[derive(Debug, Default)]
pub(crate) struct NameSelector {
    all: bool,
    names: BTreeSet<String>,
}

impl NameSelector {
    /// Builds a selector from values that may each be a comma list.
    pub(crate) fn new(values: &[String]) -> Self {
        let mut selector = Self::default();
        for name in values.iter().flat_map(|v| parse_list(v)) {
            let name = name.to_lowercase();
            if name == "all" {
                selector.all = true;
            } else {
                selector.names.insert(name);
            }
        }
        selector
    }

    /// Whether `name` is selected (by name or by `all`).
    pub(crate) fn includes(&self, name: &str) -> bool {
        self.all || self.names.contains(&name.trim().to_lowercase())
    }

    /// The provider rule: no names always matches, else any selected one does.
    pub(crate) fn includes_any<S: AsRef<str>>(&self, names: &[S]) -> bool {
        names.is_empty() || names.iter().any(|n| self.includes(n.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parse_list_trims_and_drops_empties() {
        assert_eq!(parse_list(" aws, ,google ,,"), strings(&["aws", "google"]));
        assert!(parse_list("").is_empty());
        assert!(parse_list(" , ").is_empty());
    }

    #[test]
    fn selector_splits_lowercases_and_honours_all() {
        let sel = NameSelector::new(&strings(&["AWS, google", " Azure "]));
        assert!(sel.includes("aws") && sel.includes(" Google") && sel.includes("azure"));
        assert!(!sel.includes("hetzner"));
        assert!(NameSelector::new(&strings(&["x,ALL"])).includes("anything"));
    }

    #[test]
    fn empty_selection_matches_only_neutral_entries() {
        let sel = NameSelector::new(&[]);
        assert!(sel.includes_any::<String>(&[]));
        assert!(!sel.includes_any(&strings(&["aws"])));
        let aws = NameSelector::new(&strings(&["aws"]));
        assert!(aws.includes_any(&strings(&["google", "AWS"])));
        assert!(!aws.includes_any(&strings(&["google"])));
    }

    #[test]
    fn secrets_providers_follow_each_infrastructure_provider() {
        let infer = |values: &[&str]| secrets_providers(&strings(values));
        assert_eq!(infer(&["aws"]), ["aws"]);
        assert_eq!(infer(&["gcp"]), ["gcp"]);
        assert_eq!(infer(&["Google"]), ["gcp"]);
        assert_eq!(infer(&["proxmox"]), ["openbao"]);
        // podplane's own test case: comma lists, first-seen order.
        assert_eq!(infer(&["aws", "gcp,proxmox"]), ["aws", "gcp", "openbao"]);
        assert_eq!(infer(&[" proxmox , google", "gcp", "AWS"]), ["openbao", "gcp", "aws"]);
    }

    #[test]
    fn secrets_providers_of_other_values_are_none() {
        assert!(secrets_providers(&strings(&["azure", "hetzner", "all", ""])).is_empty());
        assert!(secrets_providers(&[]).is_empty());
    }
}
