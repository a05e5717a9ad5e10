//! The fake mirror: a real HTTP/1.1 server on loopback serving a fixture
//! directory (GET and HEAD, ranges, validators) and, under `/v2/`, the OCI
//! distribution API over its `registry/` layouts (anonymous bearer tokens,
//! optional blob redirects to a second host), under `/git/` smart HTTP Git
//! through `git http-backend`, with faults that tests arm per
//! URL path and a log of every request and the body bytes it was sent.

mod body;
mod conn;
mod distribution;
mod fault;
mod githttp;
mod handler;
mod log;
mod outcome;
mod query;
mod range;
mod repo;
mod reqpath;
mod resource;
mod server;
mod storage;
mod token;

pub use fault::Fault;
pub use log::RequestRecord;
pub use server::Mirror;
