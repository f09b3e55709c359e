//! Test and benchmark support shared by the end-to-end suite and `make bench`.

pub mod runtime_api;
