//! Everything about the CMS (Sanity): webhook signature verification, the webhook body, and the
//! Content Lake query client.

pub mod client;
pub mod sanity_secret;
pub mod signature;
pub mod slug;
pub mod webhook;

pub use client::{CmsError, SanityClient};
pub use signature::{SignatureError, verify};
pub use webhook::{Before, WebhookEvent};
