//! End-to-end tests: real function binaries (through `cargo lambda watch`), real webhook
//! deliveries from the Sanity emulator, real Stytch emulator, real moto.

mod answers;
mod authz;
mod cold_start;
mod common;
mod delete;
mod gate;
mod policies;
mod providers;
mod publish;
mod reconcile;
mod security;
mod staff;
mod token;
