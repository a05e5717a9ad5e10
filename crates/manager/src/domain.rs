//! The four dependency domains of the cache, each with its own manifest.

use std::fmt;

/// A dependency domain: what a manifest, a cache directory and a problem belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Domain {
    /// vmconfig artifacts (one manifest per kind and arch).
    VmConfig,
    /// Component images (`manifests/components.json`).
    Components,
    /// Template charts (`manifests/templates.json`).
    Templates,
    /// Seed snapshots (`manifests/seeds.json`).
    Seeds,
}

impl Domain {
    /// Every domain, in the order reports list them.
    pub const ALL: [Domain; 4] = [Domain::VmConfig, Domain::Components, Domain::Templates, Domain::Seeds];

    /// The domain's name, as reports and the cache directory call it.
    pub fn name(self) -> &'static str {
        match self {
            Domain::VmConfig => "vmconfig",
            Domain::Components => "components",
            Domain::Templates => "templates",
            Domain::Seeds => "seeds",
        }
    }

    /// The manifest of a domain shared by every arch: what it is called in messages and its file name.
    pub(crate) fn shared_manifest(self) -> Option<(&'static str, &'static str)> {
        match self {
            Domain::VmConfig => None,
            Domain::Components => Some(("components manifest", "components.json")),
            Domain::Templates => Some(("templates manifest", "templates.json")),
            Domain::Seeds => Some(("seeds manifest", "seeds.json")),
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
