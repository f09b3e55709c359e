//! Stytch-shaped ids on top of the shared clock and random helpers.

pub use emulator_common::util::{now_unix, random_token, rfc3339, uuid_v4};

pub fn request_id(live: bool) -> String {
    format!("request-id-{}-{}", if live { "live" } else { "test" }, uuid_v4())
}
