//! The fake mirror: a real HTTP/1.1 server on loopback serving a fixture
//! directory (GET and HEAD, ranges, validators), with faults that tests arm
//! per URL path and a log of every request and the body bytes it was sent.

mod body;
mod conn;
mod fault;
mod handler;
mod log;
mod range;
mod reqpath;
mod resource;
mod server;

pub use fault::Fault;
pub use log::RequestRecord;
pub use server::Mirror;
