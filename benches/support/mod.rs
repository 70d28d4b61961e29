//! Helpers of the API benchmark: the reusable data set, the child server, the load-everything baseline, and
//! the sample statistics and result table, and the store the server runs on.

pub mod activity;
pub mod baseline;
pub mod dataset;
pub mod server;
pub mod stats;
pub mod store;
