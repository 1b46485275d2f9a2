//! Run with: cargo run --example grpc --features tonic
//!
//! A tonic gRPC server behind `BearerGuardLayer`, and a tonic client calling it over
//! loopback: without a token (`UNAUTHENTICATED`), without the scope (`PERMISSION_DENIED`),
//! then with it. With the `tonic` feature the guard's default answer is gRPC's: HTTP 200
//! with `grpc-status` and `grpc-message`, the `WWW-Authenticate` challenge kept as metadata.

use bearer_guard::issuer::TokenIssuer;
use bearer_guard::{BearerGuardLayer, ResourceServer};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};

#[path = "support/grpc.rs"]
mod grpc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let api = ResourceServer::new("https://my-api-urn", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
        .with_scope("read:identity", "Read who you are");
    let guard = BearerGuardLayer::builder(api.clone())
        .issuer("https://tenant.example/")
        .build()?;
    // Scopes for the whole service; per method, route inside the service instead.
    let read_identity = guard.require_all(["read:identity"])?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(
        Server::builder()
            .layer(guard)
            .layer(read_identity)
            .serve_with_incoming(
                tower::service_fn(grpc::identity),
                TcpIncoming::from(listener),
            ),
    );

    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .connect()
        .await?;
    let tokens = TokenIssuer::new(&api, "https://tenant.example/")?;
    let unscoped = tokens.client_token("grpc-client").sign()?;
    let scoped = tokens
        .client_token("grpc-client")
        .scope("read:identity")
        .sign()?;
    for (case, authorization) in [
        ("no token", None),
        ("no scope", Some(format!("Bearer {unscoped}"))),
        ("scoped token", Some(format!("Bearer {scoped}"))),
    ] {
        match grpc::call_who_am_i(channel.clone(), authorization.as_deref()).await {
            Ok(subject) => println!("{case}: OK, you are {subject}"),
            Err(status) => println!(
                "{case}: {:?} {:?}, www-authenticate: {:?}",
                status.code(),
                status.message(),
                status.metadata().get("www-authenticate"),
            ),
        }
    }
    Ok(())
}
