//! Boot metadata for direct kernel boot of the cached OS image.
//!
//! Only the shape is checked here; the files' contents are verified when they
//! are extracted from the image.

use serde::{Deserialize, Serialize};

use crate::Extra;

/// The kernel command line and the kernel and initrd files inside the OS image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootInfo {
    /// Raw kernel command line of the image's default boot entry.
    pub cmdline: String,
    /// The kernel file.
    pub kernel: BootArtifact,
    /// The initial ramdisk file.
    pub initrd: BootArtifact,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BootInfo {
    /// Whether there is enough metadata for direct kernel boot: a command line and both files.
    pub fn is_complete(&self) -> bool {
        !self.cmdline.is_empty() && self.kernel.valid() && self.initrd.valid()
    }
}

/// A file inside the cached OS image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootArtifact {
    /// 1-based partition number.
    pub partition: i64,
    /// Absolute path of the file inside the partition.
    pub path: String,
    /// Digest of the file's contents.
    pub digest: String,
    /// Fields this type does not know, kept as read and written after the known ones.
    #[serde(flatten)]
    pub extra: Extra,
}

impl BootArtifact {
    /// Whether this points at a specific file: a partition > 0, a path and a digest.
    pub fn valid(&self) -> bool {
        self.partition > 0 && !self.path.is_empty() && !self.digest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact() -> BootArtifact {
        BootArtifact {
            partition: 1,
            path: "/boot/vmlinuz".to_owned(),
            digest: "sha256:00".to_owned(),
            extra: Extra::new(),
        }
    }

    #[test]
    fn artifact_needs_partition_path_and_digest() {
        assert!(artifact().valid());
        assert!(!BootArtifact { partition: 0, ..artifact() }.valid());
        assert!(!BootArtifact { partition: -1, ..artifact() }.valid());
        assert!(!BootArtifact { path: String::new(), ..artifact() }.valid());
        assert!(!BootArtifact { digest: String::new(), ..artifact() }.valid());
    }

    #[test]
    fn boot_info_needs_cmdline_and_both_artifacts() {
        let boot = BootInfo {
            cmdline: "ro".to_owned(),
            kernel: artifact(),
            initrd: artifact(),
            extra: Extra::new(),
        };
        assert!(boot.is_complete());
        assert!(!BootInfo { cmdline: String::new(), ..boot.clone() }.is_complete());
        assert!(!BootInfo { kernel: BootArtifact::default(), ..boot.clone() }.is_complete());
        assert!(!BootInfo { initrd: BootArtifact::default(), ..boot }.is_complete());
    }
}
