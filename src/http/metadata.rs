//! RFC 9728: the protected resource's metadata document, served at its well-known path, so
//! that a client (an MCP client, say) can find the authorization server from the API alone.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value, json};
use tower_service::Service;

use crate::config::ConfigError;

/// The well-known path segment of RFC 9728 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The protected resource's metadata (RFC 9728), from
/// [`BearerGuardLayer::resource_metadata`](crate::BearerGuardLayer::resource_metadata): a
/// `tower` service answering `GET` with the JSON document, and the path to route it at.
///
/// Every member comes from the guard's configuration, never typed twice: `resource` (the
/// resource server's identifier), `authorization_servers` (the issuer, or every one of
/// [`issuers`](crate::BearerGuardBuilder::issuers)), `scopes_supported`
/// (the registration's scopes), `bearer_methods_supported`, `resource_name`, and with DPoP
/// `dpop_signing_alg_values_supported` and `dpop_bound_access_tokens_required`, and with
/// certificate-bound tokens ([`mtls`](crate::mtls)) `tls_client_certificate_bound_access_tokens`.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use bearer_guard::{BearerGuardLayer, ResourceServer};
///
/// let api = ResourceServer::new("https://api.example.com/mcp", "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5")
///     .with_scope("tools:call", "Call tools");
/// let guard = BearerGuardLayer::builder(api)
///     .issuer("https://my-tenant.example.com/")
///     .resource_metadata()
///     .build()?;
/// let metadata = guard.resource_metadata().expect("enabled above");
/// assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(metadata.url(), "https://api.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(metadata.document()["authorization_servers"][0], "https://my-tenant.example.com/");
///
/// let path = metadata.path().to_owned();
/// let app: Router = Router::new()
///     .route("/mcp", get(|| async { "tools" }).route_layer(guard))
///     .route_service(&path, metadata);
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ResourceMetadata {
    path: Box<str>,
    url: Box<str>,
    document: Value,
    body: Bytes,
}

/// What the document says, as the guard's configuration gives it.
pub(crate) struct MetadataFields<'a> {
    pub(crate) resource: &'a str,
    pub(crate) issuer: Option<&'a str>,
    /// The issuers after the first, for an API with several: `authorization_servers` lists
    /// them all.
    pub(crate) more_issuers: Vec<&'a str>,
    pub(crate) scopes: &'a [Box<str>],
    pub(crate) name: Option<&'a str>,
    pub(crate) query_tokens: bool,
    pub(crate) dpop_algs: Option<Vec<&'a str>>,
    pub(crate) dpop_required: bool,
    /// Whether certificate-bound tokens (RFC 8705) are taken.
    pub(crate) certificate_bound: bool,
}

impl ResourceMetadata {
    /// Whether metadata can be published for `resource` with `issuer`: checked first, so
    /// that a wrong identifier is the one error reported.
    pub(crate) fn check(resource: &str, issuer: Option<&str>) -> Result<(), ConfigError> {
        Self::parts(resource, issuer).map(|_| ())
    }

    /// The issuer, and the origin and path of the resource.
    fn parts<'a>(
        resource: &'a str,
        issuer: Option<&'a str>,
    ) -> Result<(&'a str, &'a str, &'a str), ConfigError> {
        let problem = |problem: &str| ConfigError::ResourceMetadata {
            problem: problem.to_owned(),
        };
        let (origin, path) = split_url(resource).ok_or_else(|| {
            problem(
                "the resource server's identifier must be the API's https URL (http only to a loopback host): clients fetch the metadata from there",
            )
        })?;
        let issuer = issuer.ok_or_else(|| {
            problem("it names the authorization server, so the builder needs `issuer(…)`")
        })?;
        Ok((issuer, origin, path))
    }

    /// The document for `fields`, at the URL RFC 9728 §3.1 derives from the resource.
    pub(crate) fn new(fields: &MetadataFields<'_>) -> Result<Self, ConfigError> {
        let (issuer, origin, path) = Self::parts(fields.resource, fields.issuer)?;
        let path = match path.trim_end_matches('/') {
            "" => WELL_KNOWN.to_owned(),
            path => format!("{WELL_KNOWN}{path}"),
        };
        let mut document = Map::new();
        document.insert("resource".into(), fields.resource.into());
        let servers: Vec<&str> = std::iter::once(issuer)
            .chain(fields.more_issuers.iter().copied())
            .collect();
        document.insert("authorization_servers".into(), json!(servers));
        document.insert("scopes_supported".into(), json!(fields.scopes));
        let mut methods = vec!["header"];
        if fields.query_tokens {
            methods.push("query");
        }
        document.insert("bearer_methods_supported".into(), json!(methods));
        if let Some(name) = fields.name {
            document.insert("resource_name".into(), name.into());
        }
        if let Some(algs) = &fields.dpop_algs {
            document.insert("dpop_signing_alg_values_supported".into(), json!(algs));
            document.insert(
                "dpop_bound_access_tokens_required".into(),
                fields.dpop_required.into(),
            );
        }
        // RFC 9728 §2: false when omitted, so only a guard that takes them says so.
        if fields.certificate_bound {
            document.insert(
                "tls_client_certificate_bound_access_tokens".into(),
                true.into(),
            );
        }
        let document = Value::Object(document);
        Ok(Self {
            url: format!("{origin}{path}").into(),
            path: path.into(),
            body: Bytes::from(document.to_string()),
            document,
        })
    }

    /// The path to serve it at: `/.well-known/oauth-protected-resource`, then the
    /// identifier's path (RFC 9728 §3.1).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Its full URL, as 401 challenges name it in `resource_metadata` (RFC 9728 §5.1).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The JSON document.
    #[must_use]
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The answer to `method`: the document for `GET` (and `HEAD`), 405 otherwise.
    fn answer(&self, method: &Method) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::new()));
        let headers = response.headers_mut();
        if method != Method::GET && method != Method::HEAD {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            return response;
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        if method == Method::GET {
            *response.body_mut() = Full::new(self.body.clone());
        }
        response
    }
}

impl<B> Service<Request<B>> for ResourceMetadata {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.answer(request.method())))
    }
}

/// `https://host[:port]` and the path of an absolute https URL (or http to a loopback host),
/// without query or fragment.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    if url.contains(['?', '#']) {
        return None;
    }
    let authority_len = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if url.starts_with("http://") {
        let host = authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host);
        if !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
            return None;
        }
    }
    let origin_len = url.len() - rest.len() + authority_len;
    Some((&url[..origin_len], &url[origin_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(resource: &str) -> MetadataFields<'_> {
        MetadataFields {
            resource,
            issuer: Some("https://tenant.example/"),
            more_issuers: Vec::new(),
            scopes: &[],
            name: None,
            query_tokens: false,
            dpop_algs: None,
            dpop_required: false,
            certificate_bound: false,
        }
    }

    #[test]
    fn certificate_bound_tokens_are_named_only_when_taken() {
        let document = |certificate_bound| {
            let fields = MetadataFields {
                certificate_bound,
                ..fields("https://api.example.com")
            };
            ResourceMetadata::new(&fields).unwrap().document
        };
        assert_eq!(
            document(true)["tls_client_certificate_bound_access_tokens"],
            true
        );
        assert!(
            document(false)
                .get("tls_client_certificate_bound_access_tokens")
                .is_none()
        );
    }

    #[test]
    fn the_path_is_the_well_known_one_then_the_resources_path() {
        for (resource, url) in [
            (
                "https://api.example.com",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com/",
                "https://api.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com:8443/v1/mcp",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp",
            ),
            (
                "http://127.0.0.1:3000/mcp",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp",
            ),
        ] {
            let metadata = ResourceMetadata::new(&fields(resource)).unwrap();
            assert_eq!(metadata.url(), url);
            assert!(url.ends_with(metadata.path()));
        }
    }

    #[test]
    fn identifiers_clients_cannot_fetch_from_are_config_errors() {
        for resource in [
            "urn:my-api",
            "http://api.example.com/",
            "https://",
            "https://api.example.com/?x=1",
            "https://user@api.example.com/",
        ] {
            assert!(
                matches!(
                    ResourceMetadata::new(&fields(resource)),
                    Err(ConfigError::ResourceMetadata { .. })
                ),
                "{resource}"
            );
        }
        let no_issuer = MetadataFields {
            issuer: None,
            ..fields("https://api.example.com")
        };
        assert!(ResourceMetadata::new(&no_issuer).is_err());
    }

    #[test]
    fn authorization_servers_lists_every_issuer_the_first_first() {
        let several = MetadataFields {
            more_issuers: vec!["https://login.brand.example/"],
            ..fields("https://api.example.com")
        };
        let metadata = ResourceMetadata::new(&several).unwrap();
        assert_eq!(
            metadata.document()["authorization_servers"],
            json!(["https://tenant.example/", "https://login.brand.example/"])
        );
        let one = ResourceMetadata::new(&fields("https://api.example.com")).unwrap();
        assert_eq!(
            one.document()["authorization_servers"],
            json!(["https://tenant.example/"])
        );
    }

    #[test]
    fn only_get_and_head_are_answered() {
        let metadata = ResourceMetadata::new(&fields("https://api.example.com")).unwrap();
        assert_eq!(metadata.answer(&Method::GET).status(), 200);
        assert_eq!(metadata.answer(&Method::HEAD).status(), 200);
        let post = metadata.answer(&Method::POST);
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    }
}
