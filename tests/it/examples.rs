//! The examples that tests drive in-process, each included once, by path.

#[cfg(feature = "axum")]
#[allow(dead_code)] // `main` is the example's, not the tests'.
#[path = "../../examples/authorization_server/main.rs"]
pub(crate) mod authorization_server;

#[cfg(feature = "axum")]
#[allow(dead_code)] // `main` is the example's, not the tests'.
#[path = "../../examples/sample_api.rs"]
pub(crate) mod sample_api;

#[cfg(feature = "tonic")]
#[path = "../../examples/support/grpc.rs"]
pub(crate) mod grpc;

#[cfg(feature = "axum")]
#[allow(dead_code)] // `main` is the example's, not the tests'.
#[path = "../../examples/mcp_server.rs"]
pub(crate) mod mcp_server;

#[cfg(feature = "axum")]
#[allow(dead_code)] // `main` is the example's, not the tests'.
#[path = "../../examples/mtls.rs"]
pub(crate) mod mtls;
