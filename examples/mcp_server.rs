//! Run with: cargo run --example mcp_server
//!
//! An MCP server on rmcp's streamable HTTP transport, protected by bearer-guard, on 127.0.0.1
//! (port from `PORT`, default 3001). It prints demo tokens to paste into an MCP client.
//!
//! - `/mcp`: the MCP endpoint. Every request needs a valid token: without one the answer is 401
//!   with `resource_metadata` and `scope` in its challenge, from which an MCP client finds the
//!   authorization server and the scopes to ask for. Its tools:
//!   - `whoami`: the token's subject and scopes, read from the [`VerifiedToken`];
//!   - `delete_notes`: needs the scope `notes:delete` too. A call with a token without it is
//!     answered 403 `insufficient_scope`, naming the scope and the metadata URL, as the MCP
//!     authorization spec (2025-11-25, "Scope Challenge Handling") asks.
//! - `/.well-known/oauth-protected-resource/mcp` (RFC 9728 §3.1) and
//!   `/.well-known/oauth-protected-resource` (where some MCP clients look first): the metadata.
//!
//! **How a tool reads the token.** rmcp's service puts the HTTP request's
//! `http::request::Parts` in each MCP request's extensions, and the guard left the
//! `VerifiedToken` in theirs: a tool takes `Extension(parts): Extension<http::request::Parts>`
//! (or reads `RequestContext::extensions`) and calls `parts.extensions.get::<VerifiedToken>()`.
//!
//! **Why tool scopes are checked before rmcp.** rmcp answers a tool call in band (HTTP 200, a
//! JSON-RPC result or error): a tool cannot choose the HTTP status. So `tool_scopes`, a small
//! axum middleware between the guard and rmcp, reads the name of each `tools/call` in the body
//! and answers with [`RequireScopesLayer::check`] of the scope layer made for that tool at
//! startup (a typo in a scope fails there).

use std::collections::HashMap;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bearer_guard::issuer::TokenIssuer;
use bearer_guard::service::RequireScopesLayer;
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use http::StatusCode;
use http::request::Parts;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::Value;
use tower::ServiceBuilder;

#[path = "support/serve.rs"]
mod serve;

/// The demo's signing secret: public, so its tokens prove nothing outside this demo.
const DEMO_SECRET: &str = "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5";

/// The issuer of the demo tokens, which the metadata names as the authorization server.
pub(crate) const DEMO_ISSUER: &str = "https://demo.bearer-guard.invalid/";

/// The largest MCP message `tool_scopes` reads: 1 MiB.
const MAX_MESSAGE: usize = 1 << 20;

/// The MCP server's registration: its identifier is the URL of its `/mcp` endpoint at
/// `origin` (`http://127.0.0.1:<port>`), as RFC 9728 and the MCP spec want.
fn resource_server(origin: &str) -> ResourceServer {
    ResourceServer::new(format!("{origin}/mcp"), DEMO_SECRET)
        .with_scope("notes:read", "Use the notes tools")
        .with_scope("notes:delete", "Delete notes")
}

/// The MCP server's routes for clients reaching it at `origin`. (The tests' entry point.)
pub(crate) fn app(origin: &str) -> Result<Router, Box<dyn Error>> {
    let guard = BearerGuardLayer::builder(resource_server(origin))
        .issuer(DEMO_ISSUER)
        .resource_metadata()
        .advertise_scopes(["notes:read"])
        .build()?;
    let tool_scopes = ToolScopes(Arc::new(HashMap::from([(
        "delete_notes",
        guard.require_all(["notes:delete"])?,
    )])));
    let metadata = guard
        .resource_metadata()
        .ok_or("resource_metadata() is set")?;
    let mcp = StreamableHttpService::new(
        || Ok(Notes::new()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let protected = ServiceBuilder::new()
        .layer(guard)
        .layer(middleware::from_fn_with_state(
            tool_scopes,
            tool_scopes_check,
        ))
        .service(mcp);
    Ok(Router::new()
        .nest_service("/mcp", protected)
        .route_service(metadata.path(), metadata.clone())
        .route_service("/.well-known/oauth-protected-resource", metadata))
}

/// A demo token for the MCP server at `origin` with `scope`, valid for an hour.
pub(crate) fn demo_token(origin: &str, scope: &str) -> Result<String, Box<dyn Error>> {
    Ok(TokenIssuer::new(&resource_server(origin), DEMO_ISSUER)?
        .client_token("demo-mcp-client")
        .scope(scope)
        .expires_in(Duration::from_secs(3600))
        .sign()?)
}

/// The tools that need scopes beyond a valid token: a scope layer of the guard for each,
/// whose `check` answers as the layer would.
#[derive(Clone)]
struct ToolScopes(Arc<HashMap<&'static str, RequireScopesLayer>>);

/// Answers a `tools/call` whose tool needs a scope the token lacks with the guard's 403; lets
/// every other request through to rmcp, body unchanged.
async fn tool_scopes_check(
    State(tools): State<ToolScopes>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_MESSAGE).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    // The guard runs first, so every request here has its token.
    if let Some(token) = parts.extensions.get::<VerifiedToken>() {
        for name in called_tools(&body) {
            if let Some(Err(rejection)) = tools.0.get(name.as_str()).map(|needs| needs.check(token))
            {
                return rejection.into_response();
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The names of the tools a JSON-RPC message (or batch) calls; none for a body that is not
/// JSON, which rmcp answers.
fn called_tools(body: &[u8]) -> Vec<String> {
    let messages = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(batch)) => batch,
        Ok(message) => vec![message],
        Err(_) => Vec::new(),
    };
    messages
        .iter()
        .filter(|message| message["method"] == "tools/call")
        .filter_map(|message| message["params"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// The MCP server: two tools about notes.
#[derive(Clone)]
struct Notes {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Notes {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    /// Reads the token the guard verified, from the HTTP request's parts.
    #[tool(description = "Who the access token is for: its subject and scopes")]
    async fn whoami(&self, Extension(parts): Extension<Parts>) -> String {
        match parts.extensions.get::<VerifiedToken>() {
            Some(token) => format!(
                "subject: {}; scopes: {}",
                token.subject().unwrap_or("none"),
                token.scopes().iter().collect::<Vec<_>>().join(" ")
            ),
            None => "no token: is the guard in front of the MCP service?".to_owned(),
        }
    }

    /// Reached only with `notes:delete`: `tool_scopes_check` answers the others with a 403.
    #[tool(description = "Deletes every note (needs the scope notes:delete)")]
    async fn delete_notes(&self) -> String {
        "every note deleted".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

#[tokio::main]
async fn main() {
    const PROGRAM: &str = "mcp_server";
    let (listener, base) = serve::listen(PROGRAM, 3001).await;
    let router = app(&base).unwrap_or_else(|err| serve::fail(PROGRAM, err));
    let token = |scope| demo_token(&base, scope).unwrap_or_else(|err| serve::fail(PROGRAM, err));
    println!(
        "mcp_server: MCP endpoint {base}/mcp (demo secret: its tokens prove nothing elsewhere)"
    );
    println!("export TOKEN={}", token("notes:read"));
    println!("export DELETER_TOKEN={}", token("notes:read notes:delete"));
    println!(
        "curl -i -X POST {base}/mcp                                  # 401, resource_metadata and scope"
    );
    println!("curl -i {base}/.well-known/oauth-protected-resource/mcp     # the RFC 9728 metadata");
    println!(
        "Point an MCP client (npx @modelcontextprotocol/inspector) at {base}/mcp with the header \
         'Authorization: Bearer $TOKEN': whoami answers, delete_notes is 403 insufficient_scope; \
         with $DELETER_TOKEN both answer."
    );
    serve::serve(PROGRAM, listener, router).await;
}
