//! gatehouse: keeps access rules published in Sanity in sync with the identity provider and serves
//! gated content after checking the caller's session on the server.
//!
//! Function crates are thin adapters: they call [`app`] to initialise once per container and then
//! hand every request to one function here. All decisions live in the modules below.

pub mod app;
pub mod authz;
pub mod cms;
pub mod config;
pub mod error;
pub mod exchange;
pub mod gate;
pub mod http;
pub mod gated_route;
pub mod identity;
pub mod ids;
pub mod jwks;
pub mod jwt;
pub mod log;
pub mod providers;
pub mod ratelimit;
pub mod reconcile;
pub mod secret_fields;
pub mod secrets;
pub mod session;
pub mod sync;
