//! `examples/mcp_server.rs` on loopback, driven by rmcp's own client over its streamable HTTP
//! transport: what the MCP authorization spec (2025-11-25) asks of a protected MCP server.

use std::error::Error as _;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    InsufficientScopeError, StreamableHttpClientTransportConfig,
};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::examples::mcp_server::{app, demo_token};

/// The example, serving on an ephemeral loopback port; returns its origin.
async fn start() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let router = app(&origin).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    origin
}

/// A plain HTTP request, for what an MCP client reads before it speaks MCP.
async fn send(method: Method, url: &str) -> (u16, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// rmcp's client transport to the example's MCP endpoint, with `token` if any.
fn transport(
    origin: &str,
    token: Option<&str>,
) -> impl rmcp::transport::Transport<rmcp::RoleClient> + use<> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{origin}/mcp"));
    StreamableHttpClientTransport::from_config(match token {
        Some(token) => config.auth_header(token),
        None => config,
    })
}

#[tokio::test]
async fn without_a_token_the_401_names_the_metadata_and_the_scopes_to_ask_for() {
    let origin = start().await;
    let metadata_url = format!("{origin}/.well-known/oauth-protected-resource/mcp");
    let (status, headers, _) = send(Method::POST, &format!("{origin}/mcp")).await;
    assert_eq!(status, 401);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!(
            r#"Bearer realm="{origin}/mcp", scope="notes:read", resource_metadata="{metadata_url}""#
        )
        .as_str()
    );

    // rmcp's client stops at the same challenge, and hands it over.
    let refused = ().serve(transport(&origin, None)).await.unwrap_err();
    let challenge = refused.auth_challenge().unwrap();
    assert!(
        challenge.contains(&format!(r#"resource_metadata="{metadata_url}""#)),
        "{challenge}"
    );

    // The document is at both well-known forms, and names the authorization server.
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let (status, _, body) = send(Method::GET, &format!("{origin}{path}")).await;
        assert_eq!(status, 200, "{path}");
        let document: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(document["resource"], format!("{origin}/mcp"), "{path}");
        assert_eq!(
            document["authorization_servers"][0],
            crate::examples::mcp_server::DEMO_ISSUER
        );
    }
}

#[tokio::test]
async fn with_a_token_the_client_lists_the_tools_and_a_tool_reads_the_token() {
    let origin = start().await;
    let token = demo_token(&origin, "notes:read").unwrap();
    let client = ().serve(transport(&origin, Some(&token))).await.unwrap();
    let mut tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect();
    tools.sort();
    assert_eq!(tools, ["delete_notes", "whoami"]);

    let whoami = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    let text = whoami.content[0].as_text().unwrap().text.clone();
    assert_eq!(text, "subject: demo-mcp-client@clients; scopes: notes:read");
}

#[tokio::test]
async fn a_tool_needing_a_scope_the_token_lacks_is_403_insufficient_scope() {
    let origin = start().await;
    let reader = demo_token(&origin, "notes:read").unwrap();
    let client = ().serve(transport(&origin, Some(&reader))).await.unwrap();
    let error = client
        .call_tool(CallToolRequestParams::new("delete_notes"))
        .await
        .unwrap_err();
    assert_eq!(
        error.auth_challenge(),
        Some(
            format!(
                r#"Bearer realm="{origin}/mcp", error="insufficient_scope", error_description="The access token lacks a required scope", scope="notes:delete", resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp""#
            )
            .as_str()
        )
    );
    // rmcp reports a 403 with `insufficient_scope` as its own error, with the scope to ask for.
    let mut source = error.source();
    let mut forbidden = None;
    while let Some(error) = source {
        if let Some(error) = error.downcast_ref::<InsufficientScopeError>() {
            forbidden = Some(error);
        }
        source = error.source();
    }
    assert_eq!(
        forbidden.unwrap().required_scope.as_deref(),
        Some("notes:delete")
    );

    // With the scope, the same call goes through.
    let deleter = demo_token(&origin, "notes:read notes:delete").unwrap();
    let client = ().serve(transport(&origin, Some(&deleter))).await.unwrap();
    let deleted = client
        .call_tool(CallToolRequestParams::new("delete_notes"))
        .await
        .unwrap();
    assert_eq!(
        deleted.content[0].as_text().unwrap().text,
        "every note deleted"
    );
}
