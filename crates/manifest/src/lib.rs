//! Typed deps manifests (vmconfig, components, templates, seeds) and the rules
//! for reading them: digests, selection filters, image references and the path
//! checks every manifest value passes before it becomes part of a path.
//!
//! Pure data and parsing: no I/O, no async.

mod digest;
mod error;
pub mod pathsafe;

pub use digest::{Digest, DigestAlgo};
pub use error::Error;
