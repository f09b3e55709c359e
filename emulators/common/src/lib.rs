//! Shared by the Stytch and Descope emulators: RS256 signing keys and compact JWTs (keys.rs),
//! local HTTPS (tls.rs), clock and random helpers (util.rs), and injected faults (faults.rs).
//! Nothing here knows either provider's API.

pub mod faults;
pub mod keys;
pub mod tls;
pub mod util;
