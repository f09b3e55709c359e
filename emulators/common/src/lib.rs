//! Shared by the Stytch and Descope emulators: RS256 signing keys and compact JWTs (keys.rs),
//! local HTTPS (tls.rs), clock and random helpers (util.rs), injected faults (faults.rs) and the
//! per-route call counter (calls.rs).
//! Nothing here knows either provider's API.

pub mod calls;
pub mod faults;
pub mod keys;
pub mod tls;
pub mod util;
