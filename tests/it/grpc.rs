//! A real tonic client and server over loopback, with the guard (and a scope layer) in the
//! server: the default answer is gRPC's (HTTP 200, `grpc-status`, `grpc-message`), with the
//! RFC 6750 challenge kept as metadata.

use crate::common::*;
use crate::examples::grpc;
use bearer_guard::{BearerGuardLayer, ResourceServer};
use serde_json::json;
use tonic::Code;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};

/// The server, listening on a loopback port; a channel to it.
async fn serve() -> Channel {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read");
    let guard = BearerGuardLayer::builder(api).build().unwrap();
    let read_messages = guard.require_all(["read:messages"]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(
        Server::builder()
            .layer(guard)
            .layer(read_messages)
            .serve_with_incoming(
                tower::service_fn(grpc::identity),
                TcpIncoming::from(listener),
            ),
    );
    Endpoint::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_grpc_client_gets_grpc_statuses_from_the_guard() {
    let channel = serve().await;
    let reader = token(&claims("read:messages", json!({})));
    let unscoped = token(&claims("openid", json!({})));
    let expired = token(&claims("read:messages", json!({ "exp": now() - 3600 })));

    let subject = grpc::call_who_am_i(channel.clone(), Some(&format!("Bearer {reader}")))
        .await
        .unwrap();
    assert_eq!(subject, "client-1@clients");

    for (case, authorization, code, message, error) in [
        (
            "no token",
            None,
            Code::Unauthenticated,
            "A bearer token is required",
            None,
        ),
        (
            "expired token",
            Some(format!("Bearer {expired}")),
            Code::Unauthenticated,
            "The access token expired",
            Some("invalid_token"),
        ),
        (
            "no scope",
            Some(format!("Bearer {unscoped}")),
            Code::PermissionDenied,
            "The access token lacks a required scope",
            Some("insufficient_scope"),
        ),
        (
            "bad grammar",
            Some("Bearer a b".to_owned()),
            Code::InvalidArgument,
            "The bearer credentials are malformed",
            Some("invalid_request"),
        ),
    ] {
        let status = grpc::call_who_am_i(channel.clone(), authorization.as_deref())
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{case}: {status:?}");
        assert_eq!(status.message(), message, "{case}");
        let challenge = status
            .metadata()
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{case}: no challenge in {status:?}"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with(&format!(r#"Bearer realm="{REALM}""#)),
            "{case}: {challenge}"
        );
        match error {
            Some(error) => assert!(
                challenge.contains(&format!(r#"error="{error}""#)),
                "{challenge}"
            ),
            None => assert!(!challenge.contains("error="), "{challenge}"),
        }
    }
}
