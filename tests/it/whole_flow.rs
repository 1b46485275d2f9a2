//! The README's "Run the whole flow locally", in-process: the authorization server of
//! `examples/authorization_server` and the sample API of `examples/sample_api.rs` on ephemeral
//! ports, driven by a real HTTP client, with every error the authorization server promises.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, header};
use bearer_guard::ResourceServer;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::examples::{authorization_server, sample_api};

const MY_API: &str = "https://my-api-urn";

/// The README's registration payload: Auth0's "My Sample API", plus the scope the sample API
/// requires on `/api/private-scoped`.
fn my_sample_api() -> Value {
    json!({
        "name": "My Sample API",
        "identifier": MY_API,
        "signing_alg": "HS256",
        "scopes": [
            { "value": "sample-scope", "description": "Description for Sample Scope" },
            { "value": "read:messages", "description": "Read messages" }
        ]
    })
}

/// One HTTP answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.body))
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// Asserts a Management API error: this status, and a body of the same shape as Auth0's.
    fn assert_api_error(&self, status: u16, message_part: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        assert_eq!(body["statusCode"], status, "{body}");
        assert!(body["errorCode"].is_string(), "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(message_part),
            "{message:?} lacks {message_part:?}"
        );
    }

    /// Asserts an RFC 6749 §5.2 error with this status and `error` code.
    fn assert_oauth_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json()["error"], error, "{}", self.body);
        assert!(self.json()["error_description"].is_string());
        assert_eq!(self.header(header::CACHE_CONTROL), Some("no-store"));
    }
}

/// A real HTTP/1.1 client over TCP.
#[derive(Clone)]
struct Http(Client<HttpConnector, Full<Bytes>>);

impl Http {
    fn new() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Reply {
        let response = self.0.request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    /// A request with an optional bearer token and an optional body of `content_type`.
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(url);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, body)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                body
            }
            None => String::new(),
        };
        self.send(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
    }
}

/// Serves `router` on an ephemeral loopback port; returns `http://127.0.0.1:<port>`.
async fn serve(listener: TcpListener, router: axum::Router) -> String {
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// The authorization server, running, as the README's first step leaves it.
struct AuthServer {
    http: Http,
    issuer: String,
    admin_token: String,
}

impl AuthServer {
    async fn start() -> Self {
        Self::start_with(None).await
    }

    /// The server, its token endpoint trusting the client certificate header `client_cert_header`.
    async fn start_with(client_cert_header: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = authorization_server::app_with(&base, client_cert_header).unwrap();
        let (issuer, admin_token) = (server.issuer.clone(), server.management_token.clone());
        serve(listener, server.router).await;
        Self {
            http: Http::new(),
            issuer,
            admin_token,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    fn management_audience(&self) -> String {
        self.url("api/v2/")
    }

    /// A Management API call with `token` and a JSON body.
    async fn management_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let body = body.map(|body| ("application/json", body.to_string()));
        self.http
            .call(method, &self.url(path), Some(token), body)
            .await
    }

    /// A Management API call with the startup token, which holds every scope.
    async fn management(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.management_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    /// A Management API call with a raw body.
    async fn management_raw(&self, method: Method, path: &str, body: &str) -> Reply {
        let body = Some(("application/json", body.to_owned()));
        self.http
            .call(method, &self.url(path), Some(&self.admin_token), body)
            .await
    }

    async fn register(&self, api: Value) -> Reply {
        self.management(Method::POST, "api/v2/resource-servers", Some(api))
            .await
    }

    /// A new client: `(client_id, client_secret)`.
    async fn create_client(&self, name: &str) -> (String, String) {
        let reply = self
            .management(
                Method::POST,
                "api/v2/clients",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let client = reply.json();
        assert_eq!(client["name"], name);
        (
            client["client_id"].as_str().unwrap().to_owned(),
            client["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    async fn grant(&self, client_id: &str, audience: &str, scope: &[&str]) -> Reply {
        let body = json!({ "client_id": client_id, "audience": audience, "scope": scope });
        self.management(Method::POST, "api/v2/client-grants", Some(body))
            .await
    }

    /// `POST /oauth/token` with a JSON body.
    async fn token_request(&self, params: Value) -> Reply {
        let body = Some(("application/json", params.to_string()));
        self.http
            .call(Method::POST, &self.url("oauth/token"), None, body)
            .await
    }

    /// A client-credentials token, asserting that it is granted.
    async fn token(
        &self,
        client: &(String, String),
        audience: &str,
        scope: Option<&str>,
    ) -> String {
        let mut params = json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": audience,
        });
        if let Some(scope) = scope {
            params["scope"] = json!(scope);
        }
        let reply = self.token_request(params).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }
}

/// The sample API, run as the README's walkthrough runs it: on the saved registration and
/// the printed issuer.
async fn start_sample_api(registration: &str, issuer: &str) -> String {
    let api = ResourceServer::from_json(registration).unwrap();
    let router = sample_api::app(api, Some(issuer.to_owned()), None).unwrap();
    serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), router).await
}

#[tokio::test]
async fn the_walkthrough_answers_200_and_403_as_the_grant_dictates() {
    let server = AuthServer::start().await;

    // Register the API and save the answer, as `> my-api.json` does.
    let registration = server.register(my_sample_api()).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    let client = server.create_client("My M2M App").await;
    let grant = server.grant(&client.0, MY_API, &["sample-scope"]).await;
    assert_eq!(grant.status, 201, "{}", grant.body);

    let reply = server
        .token_request(json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": MY_API,
        }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 86_400);
    assert_eq!(answer["scope"], "sample-scope");
    assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
    let token = answer["access_token"].as_str().unwrap();

    let sample = start_sample_api(&registration.body, &server.issuer).await;
    let http = &server.http;
    let private = http
        .call(
            Method::GET,
            &format!("{sample}/api/private"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(private.status, 200, "{}", private.body);
    assert_eq!(private.json()["sub"], format!("{}@clients", client.0));
    let scoped = http
        .call(
            Method::GET,
            &format!("{sample}/api/private-scoped"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(scoped.status, 403);
    assert!(
        scoped
            .header(header::WWW_AUTHENTICATE)
            .unwrap()
            .contains(r#"error="insufficient_scope""#)
    );

    // Grant read:messages instead: the new token reaches the scoped route.
    let grant_id = grant.json()["id"].as_str().unwrap().to_owned();
    let deleted = server
        .management(
            Method::DELETE,
            &format!("api/v2/client-grants/{grant_id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let regrant = server.grant(&client.0, MY_API, &["read:messages"]).await;
    assert_eq!(regrant.status, 201);
    let reader = server.token(&client, MY_API, None).await;
    let scoped = http
        .call(
            Method::GET,
            &format!("{sample}/api/private-scoped"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(scoped.status, 200, "{}", scoped.body);

    // A token for the sample API from another authorization server's tenant is refused.
    let other = AuthServer::start().await;
    other.register(my_sample_api()).await;
    let stranger = other.create_client("Stranger").await;
    other.grant(&stranger.0, MY_API, &["read:messages"]).await;
    let foreign = other.token(&stranger, MY_API, None).await;
    let refused = http
        .call(
            Method::GET,
            &format!("{sample}/api/private"),
            Some(&foreign),
            None,
        )
        .await;
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn startup_prints_the_management_token_then_the_issuer() {
    let base = "http://127.0.0.1:4000";
    let server = authorization_server::app(base).unwrap();
    let lines = server.startup_lines();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let token = lines[0].strip_prefix("MANAGEMENT_API_TOKEN=").unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(lines[1], "ISSUER=http://127.0.0.1:4000/");
}

#[tokio::test]
async fn registration_answers_like_the_management_api() {
    let server = AuthServer::start().await;
    let reply = server.register(my_sample_api()).await;
    assert_eq!(reply.status, 201);
    let api = reply.json();
    let id = api["id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let secret = api["signing_secret"].as_str().unwrap();
    assert!(secret.len() >= 32, "{secret}");
    assert_eq!(api["signing_alg"], "HS256");
    assert_eq!(api["token_lifetime"], 86_400);
    assert_eq!(api["name"], "My Sample API");
    assert_eq!(api["identifier"], MY_API);
    assert_eq!(api["is_system"], false);
    assert_eq!(api["scopes"], my_sample_api()["scopes"]);

    // Another API gets another secret; its token_lifetime is kept.
    let reply = server
        .register(json!({ "name": "Other", "identifier": "urn:other", "signing_alg": "HS256", "token_lifetime": 600 }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_ne!(reply.json()["signing_secret"], secret);
    assert_eq!(reply.json()["token_lifetime"], 600);
    assert_eq!(reply.json()["scopes"], json!([]));
}

#[tokio::test]
async fn registration_refuses_bad_payloads_with_400_and_duplicates_with_409() {
    let server = AuthServer::start().await;
    let payload = |change: Value| {
        let mut api = my_sample_api();
        for (key, value) in change.as_object().unwrap() {
            api[key] = value.clone();
        }
        api
    };
    let refused = [
        (payload(json!({ "identifier": "my-api" })), "absolute URI"),
        (payload(json!({ "identifier": "" })), "absolute URI"),
        (
            payload(json!({ "signing_alg": "ES256" })),
            "use one of HS256, RS256, RS512, PS256",
        ),
        (payload(json!({ "signing_alg": "HS384" })), "HS384"),
        (payload(json!({ "signing_alg": "none" })), "none"),
        (
            payload(json!({ "signing_alg": "RS256", "signing_secret": "x".repeat(40) })),
            "signing_secret is for HS256 only",
        ),
        (
            payload(json!({ "signing_secret": "short" })),
            "signing_secret",
        ),
        (payload(json!({ "token_lifetime": 0 })), "token_lifetime"),
        (payload(json!({ "name": "<script>" })), "name"),
        (
            payload(json!({ "scopes": [{ "value": "two words" }] })),
            "two words",
        ),
        (
            payload(json!({ "scopes": [{ "value": "a" }, { "value": "a" }] })),
            "twice",
        ),
        (
            payload(json!({ "identifier": 5 })),
            "Payload validation error",
        ),
        (payload(json!({ "color": "blue" })), "color"),
        (json!({ "name": "No identifier" }), "identifier"),
        (json!([my_sample_api()]), "Payload validation error"),
    ];
    for (body, message) in refused {
        server.register(body).await.assert_api_error(400, message);
    }
    for raw in ["", "{", "not json", "{\"identifier\": \"urn:x\",}"] {
        server
            .management_raw(Method::POST, "api/v2/resource-servers", raw)
            .await
            .assert_api_error(400, "");
    }

    assert_eq!(server.register(my_sample_api()).await.status, 201);
    server
        .register(payload(json!({ "name": "Same identifier" })))
        .await
        .assert_api_error(409, MY_API);
}

#[tokio::test]
async fn resource_servers_can_be_listed_read_changed_and_deleted() {
    let server = AuthServer::start().await;
    let created = server.register(my_sample_api()).await.json();
    let id = created["id"].as_str().unwrap();
    let path = format!("api/v2/resource-servers/{id}");

    let list = server
        .management(Method::GET, "api/v2/resource-servers", None)
        .await;
    assert_eq!(list.status, 200);
    let identifiers: Vec<Value> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|api| api["identifier"].clone())
        .collect();
    assert_eq!(
        identifiers,
        [json!(server.management_audience()), json!(MY_API)]
    );
    let read = server.management(Method::GET, &path, None).await;
    assert_eq!(read.json(), created);

    let changed = server
        .management(
            Method::PATCH,
            &path,
            Some(json!({ "name": "Renamed", "scopes": [{ "value": "read:messages" }], "token_lifetime": 3600 })),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let changed = changed.json();
    assert_eq!(changed["name"], "Renamed");
    assert_eq!(changed["scopes"], json!([{ "value": "read:messages" }]));
    assert_eq!(changed["token_lifetime"], 3600);
    assert_eq!(changed["identifier"], MY_API);
    assert_eq!(changed["signing_secret"], created["signing_secret"]);

    server
        .management(
            Method::PATCH,
            &path,
            Some(json!({ "identifier": "urn:new" })),
        )
        .await
        .assert_api_error(400, "identifier cannot be modified");
    server
        .management(
            Method::PATCH,
            &path,
            Some(json!({ "signing_alg": "RS256" })),
        )
        .await
        .assert_api_error(400, "signing_alg");
    server
        .management(Method::PATCH, &path, Some(json!({ "token_lifetime": -1 })))
        .await
        .assert_api_error(400, "Payload validation error");
    server
        .management_raw(Method::PATCH, &path, "{")
        .await
        .assert_api_error(400, "");

    let unknown = "api/v2/resource-servers/000000000000000000000000";
    for method in [Method::GET, Method::DELETE] {
        server
            .management(method, unknown, None)
            .await
            .assert_api_error(404, "000000000000000000000000");
    }
    server
        .management(Method::PATCH, unknown, Some(json!({ "name": "x" })))
        .await
        .assert_api_error(404, "000000000000000000000000");

    // The system API cannot be changed or deleted.
    let system_id = list.json()[0]["id"].as_str().unwrap().to_owned();
    let system = format!("api/v2/resource-servers/{system_id}");
    server
        .management(Method::DELETE, &system, None)
        .await
        .assert_api_error(403, "system API");

    // Deleting an API deletes its grants.
    let client = server.create_client("App").await;
    assert_eq!(
        server
            .grant(&client.0, MY_API, &["read:messages"])
            .await
            .status,
        201
    );
    let deleted = server.management(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        server.management(Method::GET, &path, None).await.status,
        404
    );
    let grants = server
        .management(Method::GET, "api/v2/client-grants", None)
        .await;
    assert_eq!(grants.json(), json!([]));
}

#[tokio::test]
async fn clients_and_client_grants_follow_the_management_api() {
    let server = AuthServer::start().await;
    server.register(my_sample_api()).await;
    let (client_id, client_secret) = server.create_client("My M2M App").await;
    assert_eq!(client_id.len(), 32);
    assert!(client_secret.len() >= 32);
    server
        .management(Method::POST, "api/v2/clients", Some(json!({})))
        .await
        .assert_api_error(400, "name");

    server
        .grant("no-such-client", MY_API, &["read:messages"])
        .await
        .assert_api_error(404, "no-such-client");
    server
        .grant(&client_id, "https://unknown-api", &["read:messages"])
        .await
        .assert_api_error(404, "https://unknown-api");
    server
        .grant(&client_id, MY_API, &["read:messages", "delete:everything"])
        .await
        .assert_api_error(400, "delete:everything");
    server
        .management(
            Method::POST,
            "api/v2/client-grants",
            Some(json!({ "client_id": client_id, "audience": MY_API })),
        )
        .await
        .assert_api_error(400, "scope");

    let grant = server.grant(&client_id, MY_API, &["read:messages"]).await;
    assert_eq!(grant.status, 201);
    let grant = grant.json();
    assert!(grant["id"].as_str().unwrap().starts_with("cgr_"));
    assert_eq!(grant["client_id"], client_id);
    assert_eq!(grant["audience"], MY_API);
    assert_eq!(grant["scope"], json!(["read:messages"]));
    server
        .grant(&client_id, MY_API, &["sample-scope"])
        .await
        .assert_api_error(409, "already exists");

    let list = server
        .management(Method::GET, "api/v2/client-grants", None)
        .await;
    assert_eq!(list.json(), json!([grant]));
    let path = format!("api/v2/client-grants/{}", grant["id"].as_str().unwrap());
    assert_eq!(
        server.management(Method::DELETE, &path, None).await.status,
        204
    );
    server
        .management(Method::DELETE, &path, None)
        .await
        .assert_api_error(404, "cgr_");
}

#[tokio::test]
async fn token_endpoint_answers_rfc_6749_errors() {
    let server = AuthServer::start().await;
    server.register(my_sample_api()).await;
    server
        .register(json!({ "name": "Ungranted", "identifier": "urn:ungranted" }))
        .await;
    let client = server.create_client("App").await;
    server.grant(&client.0, MY_API, &["sample-scope"]).await;
    let params = |change: Value| {
        let mut params = json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": MY_API,
        });
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                params.as_object_mut().unwrap().remove(key);
            } else {
                params[key] = value.clone();
            }
        }
        params
    };
    let cases = [
        (json!({ "client_secret": "wrong" }), 401, "invalid_client"),
        (json!({ "client_id": "unknown" }), 401, "invalid_client"),
        (json!({ "client_secret": null }), 401, "invalid_client"),
        (json!({ "audience": "urn:ungranted" }), 403, "access_denied"),
        (
            json!({ "audience": "https://unknown-api" }),
            403,
            "access_denied",
        ),
        (json!({ "scope": "read:messages" }), 400, "invalid_scope"),
        (
            json!({ "scope": "sample-scope delete:all" }),
            400,
            "invalid_scope",
        ),
        (
            json!({ "grant_type": "password" }),
            400,
            "unsupported_grant_type",
        ),
        (json!({ "grant_type": null }), 400, "invalid_request"),
        (json!({ "audience": null }), 400, "invalid_request"),
    ];
    for (change, status, error) in cases {
        let reply = server.token_request(params(change.clone())).await;
        reply.assert_oauth_error(status, error);
        if status == 401 {
            assert!(reply.header(header::WWW_AUTHENTICATE).is_some(), "{change}");
        }
    }

    let token_url = server.url("oauth/token");
    let http = &server.http;
    for (content_type, body) in [
        ("text/plain", "grant_type=client_credentials".to_owned()),
        ("application/json", "{".to_owned()),
        ("application/json", "[]".to_owned()),
        (
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&grant_type=password".to_owned(),
        ),
    ] {
        http.call(Method::POST, &token_url, None, Some((content_type, body)))
            .await
            .assert_oauth_error(400, "invalid_request");
    }

    // A form body, and Basic client authentication, both work.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&audience=https%3A%2F%2Fmy-api-urn",
        client.0, client.1
    );
    let reply = http
        .call(
            Method::POST,
            &token_url,
            None,
            Some(("application/x-www-form-urlencoded", form)),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["scope"], "sample-scope");

    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.0, client.1))
    };
    let with_basic = |body: Value| {
        Request::post(&token_url)
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    let reply = http
        .send(with_basic(
            json!({ "grant_type": "client_credentials", "audience": MY_API }),
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    http.send(with_basic(params(json!({}))))
        .await
        .assert_oauth_error(400, "invalid_request");
}

#[tokio::test]
async fn a_requested_scope_subset_is_what_the_token_carries() {
    let server = AuthServer::start().await;
    let registration = server.register(my_sample_api()).await;
    let client = server.create_client("App").await;
    server
        .grant(&client.0, MY_API, &["sample-scope", "read:messages"])
        .await;
    let all = server.token(&client, MY_API, None).await;
    let subset = server.token(&client, MY_API, Some("sample-scope")).await;
    let twice = server
        .token_request(json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": MY_API,
            "scope": "sample-scope  sample-scope",
        }))
        .await;
    assert_eq!(twice.json()["scope"], "sample-scope");

    let sample = start_sample_api(&registration.body, &server.issuer).await;
    let scoped = format!("{sample}/api/private-scoped");
    let http = &server.http;
    let status = |token: String| {
        let url = scoped.clone();
        async move {
            http.call(Method::GET, &url, Some(&token), None)
                .await
                .status
        }
    };
    assert_eq!(status(all).await, 200);
    assert_eq!(status(subset).await, 403);
}

#[tokio::test]
async fn management_endpoints_require_a_token_with_their_scope() {
    let server = AuthServer::start().await;
    let registration = server.register(my_sample_api()).await.json();
    let rs = format!(
        "api/v2/resource-servers/{}",
        registration["id"].as_str().unwrap()
    );
    let routes = [
        (
            Method::POST,
            "api/v2/resource-servers".to_owned(),
            "create:resource_server",
        ),
        (
            Method::GET,
            "api/v2/resource-servers".to_owned(),
            "read:resource_servers",
        ),
        (Method::GET, rs.clone(), "read:resource_servers"),
        (Method::PATCH, rs.clone(), "update:resource_server"),
        (Method::DELETE, rs, "delete:resource_server"),
        (Method::POST, "api/v2/clients".to_owned(), "create:client"),
        (
            Method::POST,
            "api/v2/client-grants".to_owned(),
            "create:client_grant",
        ),
        (
            Method::GET,
            "api/v2/client-grants".to_owned(),
            "read:client_grants",
        ),
        (
            Method::DELETE,
            "api/v2/client-grants/cgr_0".to_owned(),
            "delete:client_grant",
        ),
        (
            Method::GET,
            "api/v2/keys/signing".to_owned(),
            "read:signing_keys",
        ),
        (
            Method::GET,
            "api/v2/keys/signing/some-kid".to_owned(),
            "read:signing_keys",
        ),
        (
            Method::POST,
            "api/v2/keys/signing/rotate".to_owned(),
            "create:signing_keys",
        ),
        (
            Method::PUT,
            "api/v2/keys/signing/some-kid/revoke".to_owned(),
            "update:signing_keys",
        ),
    ];

    // No token, and a token for another API: 401.
    let client = server.create_client("Automation").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    let wrong_audience = server.token(&client, MY_API, None).await;
    for (method, path, _) in &routes {
        let url = server.url(path);
        let reply = server.http.call(method.clone(), &url, None, None).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        let reply = server
            .http
            .call(method.clone(), &url, Some(&wrong_audience), None)
            .await;
        assert_eq!(reply.status, 401, "{method} {path}");
        assert!(
            reply
                .header(header::WWW_AUTHENTICATE)
                .unwrap()
                .contains("invalid_token")
        );
    }

    // A machine-to-machine client granted every management scope but a route's own gets a
    // 403 naming that scope, as on a real tenant.
    let audience = server.management_audience();
    for (method, path, scope) in &routes {
        let others: Vec<&str> = MANAGEMENT_SCOPES
            .into_iter()
            .filter(|other| other != scope)
            .collect();
        let client = server.create_client("Almost admin").await;
        assert_eq!(
            server.grant(&client.0, &audience, &others).await.status,
            201
        );
        let token = server.token(&client, &audience, None).await;
        let reply = server
            .management_as(&token, method.clone(), path, Some(json!({})))
            .await;
        assert_eq!(reply.status, 403, "{method} {path}");
        let challenge = reply.header(header::WWW_AUTHENTICATE).unwrap();
        assert!(
            challenge.contains(&format!(r#"scope="{scope}""#)),
            "{method} {path}: {challenge}"
        );
    }

    // The same client with only the route's scope gets past the guard.
    let reader = server.create_client("Reader").await;
    server
        .grant(&reader.0, &audience, &["read:resource_servers"])
        .await;
    let token = server.token(&reader, &audience, None).await;
    let list = server
        .management_as(&token, Method::GET, "api/v2/resource-servers", None)
        .await;
    assert_eq!(list.status, 200);
}

/// The management scopes, as the issues name them.
const MANAGEMENT_SCOPES: [&str; 11] = [
    "create:resource_server",
    "read:resource_servers",
    "update:resource_server",
    "delete:resource_server",
    "create:client_grant",
    "read:client_grants",
    "delete:client_grant",
    "create:client",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
];

#[test]
fn the_startup_token_holds_every_management_scope() {
    let server = authorization_server::app("http://127.0.0.1:4000").unwrap();
    let payload = server.management_token.split('.').nth(1).unwrap();
    let claims: Value = {
        use base64::Engine as _;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    };
    let mut held: Vec<&str> = claims["scope"].as_str().unwrap().split(' ').collect();
    held.sort_unstable();
    let mut expected = MANAGEMENT_SCOPES.to_vec();
    expected.sort_unstable();
    assert_eq!(held, expected);
    assert_eq!(claims["aud"], "http://127.0.0.1:4000/api/v2/");
    assert_eq!(claims["iss"], "http://127.0.0.1:4000/");
}

// ---------------------------------------------------------------------------------------------
// RS256: the tenant's signing keys, discovery, the JWK set, rotation and revocation.

/// "My Sample API" registered for RS256, as the example README's RS256 walkthrough does.
fn my_rs256_api() -> Value {
    let mut api = my_sample_api();
    api["signing_alg"] = json!("RS256");
    api
}

/// The members of a JWK that only a private key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The decoded header of a compact JWS.
fn header_of(token: &str) -> Value {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// Polls `check` until it is true, for at most 30 s: for what a background task does, with
/// no assumption about how fast.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl AuthServer {
    /// `GET` a public document, with no token.
    async fn public(&self, path: &str) -> Reply {
        self.http
            .call(Method::GET, &self.url(path), None, None)
            .await
    }

    async fn jwks_kids(&self) -> Vec<String> {
        let jwks = self.public(".well-known/jwks.json").await.json();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn signing_keys(&self) -> Vec<Value> {
        let reply = self
            .management(Method::GET, "api/v2/keys/signing", None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json().as_array().unwrap().clone()
    }
}

/// The `kid` of the one key in `keys` with `flag` (`current`, `next`) set.
fn kid_with(keys: &[Value], flag: &str) -> String {
    let marked: Vec<&Value> = keys.iter().filter(|key| key[flag] == true).collect();
    assert_eq!(marked.len(), 1, "{flag}: {keys:?}");
    marked[0]["kid"].as_str().unwrap().to_owned()
}

/// Verifies `token` with jsonwebtoken and the key its `kid` names in `jwks`: an
/// implementation that shares no code with bearer-guard.
fn jsonwebtoken_verifies(token: &str, jwks: &Value, issuer: &str) -> bool {
    let kid = header_of(token)["kid"].as_str().unwrap().to_owned();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let Some(jwk) = set.find(&kid) else {
        return false;
    };
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[MY_API]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn discovery_and_the_jwk_set_publish_the_current_and_next_keys() {
    let server = AuthServer::start().await;
    let discovery = server.public(".well-known/openid-configuration").await;
    assert_eq!(discovery.status, 200);
    assert_eq!(
        discovery.header(header::CACHE_CONTROL),
        Some("public, max-age=60")
    );
    let document = discovery.json();
    assert_eq!(document["issuer"], server.issuer);
    assert_eq!(
        document["jwks_uri"],
        server.url(".well-known/jwks.json").as_str()
    );
    assert_eq!(
        document["token_endpoint"],
        server.url("oauth/token").as_str()
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["HS256", "RS256", "RS512", "PS256"])
    );

    let jwks = server.public(".well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert_eq!(
        jwks.header(header::CACHE_CONTROL),
        Some("public, max-age=60")
    );
    let keys = jwks.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["e"], "AQAB");
        assert_eq!(key["n"].as_str().unwrap().len(), 342, "an RSA-2048 modulus");
        for private in PRIVATE_MEMBERS {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }

    // The Management API's view: one current key (since startup) and one next key.
    let listed = server.signing_keys().await;
    assert_eq!(listed.len(), 2);
    let current = kid_with(&listed, "current");
    let next = kid_with(&listed, "next");
    assert_eq!(server.jwks_kids().await, [current.clone(), next.clone()]);
    for key in &listed {
        assert!(
            key["cert"]
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        assert_eq!(key["thumbprint"].as_str().unwrap().len(), 40);
        assert_eq!(key["fingerprint"].as_str().unwrap().len(), 59);
        assert_eq!(key["revoked"], false);
        assert_eq!(key["previous"], false);
    }
    let current_record = &listed[0];
    assert_eq!(current_record["kid"], current.as_str());
    assert!(
        current_record["current_since"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(listed[1].get("current_since").is_none());
    let one = server
        .management(Method::GET, &format!("api/v2/keys/signing/{next}"), None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), listed[1]);
    server
        .management(Method::GET, "api/v2/keys/signing/no-such-kid", None)
        .await
        .assert_api_error(404, "no-such-kid");
}

#[tokio::test]
async fn rs256_is_the_default_and_ps256_and_rs512_apis_are_signed_with_the_same_key() {
    let server = AuthServer::start().await;
    let reply = server
        .register(json!({ "name": "Default", "identifier": "urn:default" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["signing_alg"], "RS256");
    assert!(
        reply.json().get("signing_secret").is_none(),
        "{}",
        reply.body
    );

    // Auth0 offers PS256 and RS512 besides RS256: one tenant key signs all three.
    for alg in ["PS256", "RS512"] {
        let server = AuthServer::start().await;
        let mut api = my_sample_api();
        api["signing_alg"] = json!(alg);
        let registration = server.register(api).await;
        assert_eq!(registration.status, 201, "{}", registration.body);
        assert!(registration.json().get("signing_secret").is_none());
        let client = server.create_client("App").await;
        server.grant(&client.0, MY_API, &["read:messages"]).await;
        let token = server.token(&client, MY_API, None).await;
        let current = kid_with(&server.signing_keys().await, "current");
        assert_eq!(
            header_of(&token),
            json!({ "alg": alg, "typ": "JWT", "kid": current })
        );

        let sample = start_sample_api(&registration.body, &server.issuer).await;
        let url = format!("{sample}/api/private-scoped");
        let http = &server.http;
        eventually(
            &format!("the sample API loads the keys and accepts the {alg} token"),
            || async {
                http.call(Method::GET, &url, Some(&token), None)
                    .await
                    .status
                    == 200
            },
        )
        .await;
    }
}

#[tokio::test]
async fn rs256_tokens_follow_rotation_and_revocation_without_a_restart() {
    let server = AuthServer::start().await;
    let registration = server.register(my_rs256_api()).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    assert!(registration.json().get("signing_secret").is_none());
    let client = server.create_client("My M2M App").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;

    let keys = server.signing_keys().await;
    let (first, second) = (kid_with(&keys, "current"), kid_with(&keys, "next"));
    let old_token = server.token(&client, MY_API, None).await;
    assert_eq!(
        header_of(&old_token),
        json!({ "alg": "RS256", "typ": "JWT", "kid": first })
    );
    let jwks = server.public(".well-known/jwks.json").await.json();
    assert!(jsonwebtoken_verifies(&old_token, &jwks, &server.issuer));

    // The sample API, run as the walkthrough runs it: the registration and TOKEN_ISSUER only.
    let sample = start_sample_api(&registration.body, &server.issuer).await;
    let scoped = format!("{sample}/api/private-scoped");
    let http = server.http.clone();
    let status = |token: String| {
        let (http, url) = (http.clone(), scoped.clone());
        async move {
            http.call(Method::GET, &url, Some(&token), None)
                .await
                .status
        }
    };
    eventually("the sample API loads the keys", || async {
        status(old_token.clone()).await == 200
    })
    .await;

    // A guard that refreshes its keys often (the JWKS's max-age of 60 s, clamped to 100 ms).
    let api = ResourceServer::from_json(&registration.body).unwrap();
    let refreshing = bearer_guard::BearerGuardLayer::builder(api)
        .issuer(server.issuer.as_str())
        .key_cache(
            bearer_guard::jwks::KeyCacheSettings::default()
                .min_max_age(std::time::Duration::from_millis(10))
                .default_max_age(std::time::Duration::from_millis(100))
                .max_max_age(std::time::Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    refreshing
        .wait_for_keys(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let validator = refreshing.validator().clone();
    assert!(validator.validate(&old_token).is_ok());

    // Rotate: the next key becomes current, a new next key appears, the old current key is
    // previous and still published.
    let rotated = server
        .management(Method::POST, "api/v2/keys/signing/rotate", None)
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let third = rotated.json()["kid"].as_str().unwrap().to_owned();
    assert!(![&first, &second].contains(&&third));
    assert!(
        rotated.json()["cert"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    let keys = server.signing_keys().await;
    assert_eq!(kid_with(&keys, "current"), second);
    assert_eq!(kid_with(&keys, "next"), third);
    let previous = &keys[0];
    assert_eq!(previous["kid"], first.as_str());
    assert_eq!(previous["previous"], true);
    assert!(previous["current_until"].is_string());
    assert_eq!(
        server.jwks_kids().await,
        [first.clone(), second.clone(), third.clone()]
    );

    let new_token = server.token(&client, MY_API, None).await;
    assert_eq!(header_of(&new_token)["kid"], second.as_str());
    let jwks = server.public(".well-known/jwks.json").await.json();
    assert!(jsonwebtoken_verifies(&new_token, &jwks, &server.issuer));
    // The running sample API takes the new key's tokens, and still the previous key's.
    assert_eq!(status(new_token.clone()).await, 200);
    assert_eq!(status(old_token.clone()).await, 200);

    // The current and next keys cannot be revoked; an unknown kid is a 404.
    let revoke = |kid: &str| format!("api/v2/keys/signing/{kid}/revoke");
    server
        .management(Method::PUT, &revoke(&second), None)
        .await
        .assert_api_error(400, "current signing key cannot be revoked");
    server
        .management(Method::PUT, &revoke(&third), None)
        .await
        .assert_api_error(400, "next signing key cannot be revoked");
    server
        .management(Method::PUT, &revoke("no-such-kid"), None)
        .await
        .assert_api_error(404, "no-such-kid");
    assert_eq!(
        server.jwks_kids().await,
        [first.clone(), second.clone(), third.clone()]
    );

    // Revoke the previous key: it leaves the JWK set, and a guard that refreshes refuses its
    // tokens while still taking the current key's.
    let revoked = server.management(Method::PUT, &revoke(&first), None).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.json()["kid"], first.as_str());
    assert_eq!(server.jwks_kids().await, [second.clone(), third.clone()]);
    let record = server
        .management(Method::GET, &format!("api/v2/keys/signing/{first}"), None)
        .await
        .json();
    assert_eq!(record["revoked"], true);
    let revoked_at = record["revoked_at"].as_str().unwrap().to_owned();
    eventually("the refreshing guard drops the revoked key", || async {
        validator
            .validate(&old_token)
            .is_err_and(|err| err.kind() == bearer_guard::TokenErrorKind::UnknownKeyId)
    })
    .await;
    assert!(validator.validate(&new_token).is_ok());
    let jwks = server.public(".well-known/jwks.json").await.json();
    assert!(!jsonwebtoken_verifies(&old_token, &jwks, &server.issuer));

    // Revoking again changes nothing.
    let again = server.management(Method::PUT, &revoke(&first), None).await;
    assert_eq!(again.status, 200);
    let record = server
        .management(Method::GET, &format!("api/v2/keys/signing/{first}"), None)
        .await
        .json();
    assert_eq!(record["revoked_at"], revoked_at.as_str());
}

// DPoP (RFC 9449 §5): tokens bound to the key of the proof sent to the token endpoint.

/// A new `jti` for each proof.
fn new_jti() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "whole-flow-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The claims of a proof for `POST <htu>`, issued now, with `extra` merged in.
fn proof_claims(htu: &str, extra: Value) -> Value {
    let mut claims =
        json!({ "jti": new_jti(), "htm": "POST", "htu": htu, "iat": crate::common::now() });
    for (name, value) in extra.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

/// The decoded payload of a compact JWS.
fn payload_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// The RFC 7638 thumbprint of fixture key `name`'s public JWK.
fn thumbprint_of(name: &str) -> String {
    bearer_guard::dpop::jwk_thumbprint(&crate::common::keys::public_jwk(name).to_string()).unwrap()
}

impl AuthServer {
    /// `POST /oauth/token` for `client` and `audience`, with one `DPoP` header per proof.
    async fn dpop_token_request(
        &self,
        client: &(String, String),
        audience: &str,
        proofs: &[&str],
    ) -> Reply {
        let params = json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": audience,
        });
        let mut request =
            Request::post(self.url("oauth/token")).header(header::CONTENT_TYPE, "application/json");
        for proof in proofs {
            request = request.header("DPoP", *proof);
        }
        self.http
            .send(
                request
                    .body(Full::new(Bytes::from(params.to_string())))
                    .unwrap(),
            )
            .await
    }

    /// A proof of fixture key `name` (signed as `alg` by jsonwebtoken) for this server's
    /// token endpoint, with `extra` claims.
    fn token_proof(&self, alg: jsonwebtoken::Algorithm, name: &str, extra: Value) -> String {
        crate::common::keys::dpop_proof(alg, name, &proof_claims(&self.url("oauth/token"), extra))
    }
}

/// "My Sample API" with `signing_alg` and `proof_of_possession` DPoP, `required` or not.
fn dpop_api(identifier: &str, signing_alg: &str, required: bool) -> Value {
    let mut api = my_sample_api();
    api["name"] = json!(identifier);
    api["identifier"] = json!(identifier);
    api["signing_alg"] = json!(signing_alg);
    api["proof_of_possession"] = json!({ "mechanism": "dpop", "required": required });
    api
}

#[tokio::test]
async fn proof_of_possession_is_registered_read_changed_and_checked() {
    let server = AuthServer::start().await;
    let pop = json!({ "mechanism": "dpop", "required": true });
    let created = server.register(dpop_api(MY_API, "RS256", true)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["proof_of_possession"], pop);
    let path = format!(
        "api/v2/resource-servers/{}",
        created.json()["id"].as_str().unwrap()
    );
    let read = server.management(Method::GET, &path, None).await;
    assert_eq!(read.json()["proof_of_possession"], pop);
    // An API registered without it shows none, as Auth0's answer does.
    let plain = server.register(my_rs256_api_at("urn:plain")).await;
    assert!(
        plain.json().get("proof_of_possession").is_none(),
        "{}",
        plain.body
    );

    let patch = |body: Value| server.management(Method::PATCH, &path, Some(body));
    let changed =
        patch(json!({ "proof_of_possession": { "mechanism": "dpop", "required": false } })).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["proof_of_possession"]["required"], false);
    // Another change leaves it as it is; `null` removes it.
    let renamed = patch(json!({ "name": "Renamed" })).await;
    assert_eq!(renamed.json()["proof_of_possession"]["required"], false);
    let removed = patch(json!({ "proof_of_possession": null })).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(
        removed.json().get("proof_of_possession").is_none(),
        "{}",
        removed.body
    );

    let allowed = r#"{"mechanism": "dpop" | "mtls", "required": true|false}"#;
    for (bad, names) in [
        (json!({ "mechanism": "DPoP", "required": true }), allowed),
        (json!({ "mechanism": "MTLS", "required": true }), allowed),
        (json!({ "required": true }), allowed),
        (json!({ "mechanism": "dpop" }), allowed),
        (json!({ "mechanism": "dpop", "required": "yes" }), allowed),
        (
            json!({ "mechanism": "dpop", "required": true, "nonce": 1 }),
            "\"nonce\"",
        ),
        (json!("dpop"), allowed),
    ] {
        let mut api = dpop_api("urn:refused", "RS256", true);
        api["proof_of_possession"] = bad.clone();
        server.register(api).await.assert_api_error(400, names);
        patch(json!({ "proof_of_possession": bad }))
            .await
            .assert_api_error(400, names);
    }
    // Nothing refused was kept.
    let read = server.management(Method::GET, &path, None).await;
    assert!(
        read.json().get("proof_of_possession").is_none(),
        "{}",
        read.body
    );
}

/// "My Sample API" for RS256 under another identifier.
fn my_rs256_api_at(identifier: &str) -> Value {
    let mut api = my_rs256_api();
    api["name"] = json!(identifier);
    api["identifier"] = json!(identifier);
    api
}

#[tokio::test]
async fn a_proof_gets_a_dpop_bound_token_for_hs256_rs256_and_ps256_apis() {
    let server = AuthServer::start().await;
    let client = server.create_client("DPoP App").await;
    let discovery = server
        .public(".well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    for (identifier, signing_alg, required) in [
        ("urn:dpop-hs256", "HS256", true),
        ("urn:dpop-rs256", "RS256", false),
        ("urn:dpop-ps256", "PS256", true),
    ] {
        let registered = server
            .register(dpop_api(identifier, signing_alg, required))
            .await;
        assert_eq!(registered.status, 201, "{}", registered.body);
        server
            .grant(&client.0, identifier, &["read:messages"])
            .await;
        for (alg, key) in [
            (jsonwebtoken::Algorithm::ES256, "p256"),
            (jsonwebtoken::Algorithm::RS256, "rsa2048"),
            (jsonwebtoken::Algorithm::EdDSA, "ed25519"),
        ] {
            let proof = server.token_proof(alg, key, json!({}));
            let reply = server
                .dpop_token_request(&client, identifier, &[&proof])
                .await;
            assert_eq!(reply.status, 200, "{identifier} {key}: {}", reply.body);
            assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
            let answer = reply.json();
            assert_eq!(answer["token_type"], "DPoP", "{identifier} {key}");
            let token = answer["access_token"].as_str().unwrap();
            assert_eq!(header_of(token)["alg"], signing_alg);
            let claims = payload_of(token);
            assert_eq!(
                claims["cnf"],
                json!({ "jkt": thumbprint_of(key) }),
                "{identifier} {key}"
            );
            assert_eq!(claims["aud"], identifier);
            assert_eq!(claims["scope"], "read:messages");
        }
    }
}

#[tokio::test]
async fn without_a_proof_bearer_unless_the_api_requires_dpop() {
    let server = AuthServer::start().await;
    let client = server.create_client("App").await;
    server
        .register(dpop_api("urn:required", "RS256", true))
        .await;
    server
        .register(dpop_api("urn:allowed", "HS256", false))
        .await;
    server.register(my_rs256_api_at("urn:plain")).await;
    for api in ["urn:required", "urn:allowed", "urn:plain"] {
        server.grant(&client.0, api, &["read:messages"]).await;
    }

    let refused = server
        .dpop_token_request(&client, "urn:required", &[])
        .await;
    refused.assert_oauth_error(400, "invalid_dpop_proof");
    assert!(
        refused.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("requires")
    );

    let allowed = server.dpop_token_request(&client, "urn:allowed", &[]).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.json()["token_type"], "Bearer");
    let token = allowed.json()["access_token"].as_str().unwrap().to_owned();
    assert!(payload_of(&token).get("cnf").is_none());

    // As on Auth0, an API with no proof_of_possession gets Bearer tokens, proof or not.
    let proof = server.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));
    let plain = server
        .dpop_token_request(&client, "urn:plain", &[&proof])
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.json()["token_type"], "Bearer");
    let token = plain.json()["access_token"].as_str().unwrap().to_owned();
    assert!(payload_of(&token).get("cnf").is_none());
}

#[tokio::test]
async fn an_invalid_proof_is_a_400_invalid_dpop_proof() {
    use jsonwebtoken::Algorithm::{ES256, RS256};

    let server = AuthServer::start().await;
    let client = server.create_client("App").await;
    server.register(dpop_api(MY_API, "RS256", false)).await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    let now = crate::common::now();
    let token_url = server.url("oauth/token");
    // A proof whose `jwk` is one key's and whose signature is another's.
    let forged = crate::common::keys::signed_raw(
        RS256,
        "rsa2048_b",
        &json!({ "typ": "dpop+jwt", "alg": "RS256", "jwk": crate::common::keys::public_jwk("rsa2048") }),
        &proof_claims(&token_url, json!({})),
    );
    let cases = [
        (
            "GET",
            server.token_proof(ES256, "p256", json!({ "htm": "GET" })),
            "method",
        ),
        (
            "another URI",
            server.token_proof(
                ES256,
                "p256",
                json!({ "htu": "http://evil.example/oauth/token" }),
            ),
            "URI",
        ),
        (
            "stale",
            server.token_proof(ES256, "p256", json!({ "iat": now - 600 })),
            "too old",
        ),
        (
            "future",
            server.token_proof(ES256, "p256", json!({ "iat": now + 600 })),
            "future",
        ),
        ("forged", forged, "signature"),
        ("not a JWT", "not-a-proof".to_owned(), "malformed"),
    ];
    for (name, proof, says) in &cases {
        let reply = server.dpop_token_request(&client, MY_API, &[proof]).await;
        reply.assert_oauth_error(400, "invalid_dpop_proof");
        let description = reply.json()["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains(says), "{name}: {description}");
    }
    let good = server.token_proof(ES256, "p256", json!({}));
    let two = server
        .dpop_token_request(&client, MY_API, &[&good, &good])
        .await;
    two.assert_oauth_error(400, "invalid_dpop_proof");
    // Neither refusal spent the good proof.
    let reply = server.dpop_token_request(&client, MY_API, &[&good]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn a_replayed_proof_is_refused_and_a_refused_request_spends_none() {
    let server = AuthServer::start().await;
    let client = server.create_client("App").await;
    server.register(dpop_api(MY_API, "HS256", true)).await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    let proof = server.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));

    // A request refused for its client does not record the proof.
    let wrong = (client.0.clone(), "wrong".to_owned());
    server
        .dpop_token_request(&wrong, MY_API, &[&proof])
        .await
        .assert_oauth_error(401, "invalid_client");

    let first = server.dpop_token_request(&client, MY_API, &[&proof]).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["token_type"], "DPoP");
    let replay = server.dpop_token_request(&client, MY_API, &[&proof]).await;
    replay.assert_oauth_error(400, "invalid_dpop_proof");
    assert!(
        replay.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("used before")
    );

    // A fresh proof from the same key is another proof.
    let fresh = server.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));
    let again = server.dpop_token_request(&client, MY_API, &[&fresh]).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

/// Issue 14's end to end: a DPoP-bound token from this server opens the sample API (its
/// registration saying `proof_of_possession` required) only with a fresh proof from its key.
#[tokio::test]
async fn a_dpop_bound_token_opens_the_sample_api_only_with_a_fresh_proof_from_its_key() {
    let server = AuthServer::start().await;
    let registered = server.register(dpop_api(MY_API, "RS256", true)).await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let client = server.create_client("DPoP App").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    let proof = server.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));
    let reply = server.dpop_token_request(&client, MY_API, &[&proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["token_type"], "DPoP");
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();

    // The sample API on the saved registration and the issuer, told where clients reach it.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let api = ResourceServer::from_json(&registered.body).unwrap();
    let router =
        sample_api::app_at(api, Some(server.issuer.clone()), None, Some(base.clone())).unwrap();
    let sample = serve(listener, router).await;
    let url = format!("{sample}/api/private");
    let call = |scheme: &str, proofs: Vec<String>| {
        let mut request =
            Request::get(&url).header(header::AUTHORIZATION, format!("{scheme} {token}"));
        for proof in proofs {
            request = request.header("DPoP", proof);
        }
        server.http.send(request.body(Full::default()).unwrap())
    };
    let fresh = |key: &str, alg| {
        let claims = proof_claims(
            &url,
            json!({ "htm": "GET", "ath": bearer_guard::dpop::DpopProof::access_token_hash(&token) }),
        );
        crate::common::keys::dpop_proof(alg, key, &claims)
    };
    // The sample API loads the issuer's keys in the background: a first 503 is possible
    // (and spends no proof: the token is checked before the proof).
    let mut used = fresh("p256", jsonwebtoken::Algorithm::ES256);
    let mut answer = call("DPoP", vec![used.clone()]).await;
    for _ in 0..100 {
        if answer.status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        used = fresh("p256", jsonwebtoken::Algorithm::ES256);
        answer = call("DPoP", vec![used.clone()]).await;
    }
    assert_eq!(answer.status, 200, "{}", answer.body);
    // Replayed, from another key, without a proof, or as a bearer token: refused.
    let replayed = call("DPoP", vec![used]).await;
    assert_eq!(replayed.status, 401);
    assert!(replayed.body.contains("used before"), "{}", replayed.body);
    let other_key = call(
        "DPoP",
        vec![fresh("ed25519", jsonwebtoken::Algorithm::EdDSA)],
    )
    .await;
    assert_eq!(other_key.status, 401, "{}", other_key.body);
    assert_eq!(call("DPoP", vec![]).await.status, 400);
    let bearer = call("Bearer", vec![]).await;
    assert_eq!(bearer.status, 401);
    assert!(
        bearer
            .header(header::WWW_AUTHENTICATE)
            .unwrap()
            .starts_with("DPoP "),
        "{:?}",
        bearer.header(header::WWW_AUTHENTICATE)
    );
    // A fresh proof again: 200.
    let again = call("DPoP", vec![fresh("p256", jsonwebtoken::Algorithm::ES256)]).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

/// `GET {sample}{path}` with `token`: the status.
async fn status_at(sample: &str, path: &str, token: &str) -> u16 {
    Http::new()
        .call(Method::GET, &format!("{sample}{path}"), Some(token), None)
        .await
        .status
}

#[tokio::test]
async fn an_access_token_authz_api_gets_permissions_and_the_sample_api_checks_them() {
    let server = AuthServer::start().await;
    let mut api = my_sample_api();
    api["token_dialect"] = json!("access_token_authz");
    let registration = server.register(api).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    assert_eq!(registration.json()["token_dialect"], "access_token_authz");
    let id = registration.json()["id"].as_str().unwrap().to_owned();
    let read = server
        .management(Method::GET, &format!("api/v2/resource-servers/{id}"), None)
        .await;
    assert_eq!(read.json()["token_dialect"], "access_token_authz");

    // As Auth0 does: the granted scopes in `permissions`, and in `scope` as always.
    let client = server.create_client("RBAC App").await;
    let grant = server.grant(&client.0, MY_API, &["sample-scope"]).await;
    assert_eq!(grant.status, 201, "{}", grant.body);
    let token = server.token(&client, MY_API, None).await;
    let claims = payload_of(&token);
    assert_eq!(claims["permissions"], json!(["sample-scope"]));
    assert_eq!(claims["scope"], "sample-scope");
    assert_eq!(header_of(&token)["typ"], "JWT");

    // The sample API, on the saved registration and no setting of its own, reads
    // `permissions`: read:messages is not among them, then it is.
    let sample = start_sample_api(&registration.body, &server.issuer).await;
    assert_eq!(status_at(&sample, "/api/private", &token).await, 200);
    assert_eq!(status_at(&sample, "/api/private-scoped", &token).await, 403);
    let grant_id = grant.json()["id"].as_str().unwrap().to_owned();
    let path = format!("api/v2/client-grants/{grant_id}");
    assert_eq!(
        server.management(Method::DELETE, &path, None).await.status,
        204
    );
    let regrant = server.grant(&client.0, MY_API, &["read:messages"]).await;
    assert_eq!(regrant.status, 201, "{}", regrant.body);
    let reader = server.token(&client, MY_API, None).await;
    assert_eq!(payload_of(&reader)["permissions"], json!(["read:messages"]));
    assert_eq!(
        status_at(&sample, "/api/private-scoped", &reader).await,
        200
    );

    // A token carrying read:messages in `scope` alone does not open the route.
    assert_eq!(
        ResourceServer::from_json(&registration.body)
            .unwrap()
            .token_dialect(),
        bearer_guard::registration::TokenDialect::AccessTokenAuthz
    );
    let secret = registration.json()["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = crate::common::claims(
        "read:messages",
        json!({ "iss": server.issuer, "aud": MY_API }),
    );
    let scope_only = crate::common::token_with(secret.as_bytes(), &claims);
    assert_eq!(status_at(&sample, "/api/private", &scope_only).await, 200);
    assert_eq!(
        status_at(&sample, "/api/private-scoped", &scope_only).await,
        403
    );
}

#[tokio::test]
async fn token_dialect_is_validated_and_changed_with_patch() {
    let server = AuthServer::start().await;
    let mut bad = my_sample_api();
    bad["token_dialect"] = json!("access_token_rbac");
    let refused = server.register(bad).await;
    refused.assert_api_error(400, "rfc9068_profile_authz");

    let created = server.register(my_sample_api()).await.json();
    assert_eq!(created["token_dialect"], "access_token");
    let path = format!(
        "api/v2/resource-servers/{}",
        created["id"].as_str().unwrap()
    );
    let wrong = server
        .management(
            Method::PATCH,
            &path,
            Some(json!({ "token_dialect": "jwt" })),
        )
        .await;
    wrong.assert_api_error(400, "access_token_authz");
    let changed = server
        .management(
            Method::PATCH,
            &path,
            Some(json!({ "token_dialect": "rfc9068_profile_authz" })),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["token_dialect"], "rfc9068_profile_authz");
    let read = server.management(Method::GET, &path, None).await;
    assert_eq!(read.json()["token_dialect"], "rfc9068_profile_authz");

    // Tokens from then on have both shapes: RFC 9068's and the permissions.
    let client = server.create_client("Profile App").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    let token = server.token(&client, MY_API, None).await;
    assert_eq!(header_of(&token)["typ"], "at+jwt");
    let claims = payload_of(&token);
    assert_eq!(claims["client_id"], client.0);
    assert_eq!(claims["permissions"], json!(["read:messages"]));
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));
    assert!(claims.get("azp").is_none() && claims.get("gty").is_none());
    let sample = start_sample_api(&read.body, &server.issuer).await;
    assert_eq!(status_at(&sample, "/api/private-scoped", &token).await, 200);
}

/// The JWE fixture key's public half, as Auth0's Dashboard shows a registration's `pem`: a
/// CRLF certificate.
fn encryption_certificate() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/jwe/rsa2048_enc.crt.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn an_api_registered_with_token_encryption_gets_jwes_the_sample_api_decrypts() {
    let server = AuthServer::start().await;
    let token_encryption = json!({
        "format": "compact-nested-jwe",
        "encryption_key": {
            "name": "my-api-enc", "alg": "RSA-OAEP-256", "kid": "enc-2026",
            "pem": encryption_certificate(),
        }
    });
    let mut api = my_sample_api();
    api["token_encryption"] = token_encryption.clone();
    let registration = server.register(api).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    assert_eq!(registration.json()["token_encryption"], token_encryption);
    let client = server.create_client("Encrypted M2M").await;
    let grant = server.grant(&client.0, MY_API, &["read:messages"]).await;
    assert_eq!(grant.status, 201, "{}", grant.body);
    let token = server.token(&client, MY_API, None).await;
    assert_eq!(token.split('.').count(), 5, "a compact JWE");
    assert_eq!(
        header_of(&token),
        json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT", "kid": "enc-2026"})
    );

    // The sample API on the saved registration, with TOKEN_DECRYPTION_KEY.
    let key_path = format!(
        "{}/tests/data/jwe/rsa2048_enc.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let saved = ResourceServer::from_json(&registration.body).unwrap();
    let key = sample_api::decryption_key(&saved, |name| {
        (name == "TOKEN_DECRYPTION_KEY").then(|| key_path.clone())
    })
    .unwrap();
    let fleet = sample_api::Fleet {
        decryption_key: key,
        ..sample_api::Fleet::default()
    };
    let router =
        sample_api::app_in_fleet(saved, Some(server.issuer.clone()), None, None, fleet).unwrap();
    let api_base = serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), router).await;
    let http = Http::new();
    let scoped = format!("{api_base}/api/private-scoped");
    let reply = http.call(Method::GET, &scoped, Some(&token), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Without the key (a guard on the registration without token_encryption), it is refused.
    let mut plain = registration.json();
    plain.as_object_mut().unwrap().remove("token_encryption");
    let plain_base = start_sample_api(&plain.to_string(), &server.issuer).await;
    let reply = http
        .call(
            Method::GET,
            &format!("{plain_base}/api/private-scoped"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply
            .header(header::WWW_AUTHENTICATE)
            .is_some_and(|challenge| challenge.contains("invalid_token")),
        "{reply:?}"
    );

    // PATCH to RSA-OAEP-512 without kid: the next token follows it; null turns it off.
    let id = registration.json()["id"].as_str().unwrap().to_owned();
    let path = format!("api/v2/resource-servers/{id}");
    let reply = server
        .management(
            Method::PATCH,
            &path,
            Some(json!({"token_encryption": {"format": "compact-nested-jwe",
                "encryption_key": {"alg": "RSA-OAEP-512", "pem": encryption_certificate()}}})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = server.token(&client, MY_API, None).await;
    assert_eq!(
        header_of(&token),
        json!({"alg": "RSA-OAEP-512", "enc": "A256GCM", "cty": "JWT"})
    );
    let reply = server
        .management(
            Method::PATCH,
            &path,
            Some(json!({"token_encryption": null})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json().get("token_encryption").is_none());
    assert_eq!(
        server.token(&client, MY_API, None).await.split('.').count(),
        3
    );
}

#[tokio::test]
async fn token_encryption_is_validated_as_auth0_does() {
    let server = AuthServer::start().await;
    let pem = encryption_certificate();
    for (token_encryption, says) in [
        (
            json!({"format": "compact-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": pem}}),
            "compact-nested-jwe",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA1_5", "pem": pem}}),
            "RSA-OAEP-256, RSA-OAEP-384, RSA-OAEP-512",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "dir", "pem": pem}}),
            "RSA-OAEP-256",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": "not a pem"}}),
            "PUBLIC KEY or CERTIFICATE",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256"}}),
            "pem",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": pem, "kid": ""}}),
            "kid",
        ),
        (
            json!({"format": "compact-nested-jwe", "encryption_key": {"alg": "RSA-OAEP-256", "pem": pem, "x": 1}}),
            "x",
        ),
        (json!({"format": "compact-nested-jwe"}), "encryption_key"),
        (json!("compact-nested-jwe"), "token_encryption"),
    ] {
        let mut api = my_sample_api();
        api["token_encryption"] = token_encryption.clone();
        server.register(api).await.assert_api_error(400, says);
    }
}

// ---------------------------------------------------------------------------------------------
// mTLS (RFC 8705 §3): tokens bound to the client certificate a trusted proxy passes on.

/// `Client-Cert: :<base64 der>:`, as a TLS-terminating proxy sets it (RFC 9440).
fn client_cert(der: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        ":{}:",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

impl AuthServer {
    /// `POST /oauth/token` for `client` and `audience`, with these `Client-Cert` values.
    async fn token_request_with_certificates(
        &self,
        client: &(String, String),
        audience: &str,
        certificates: &[&str],
    ) -> Reply {
        let params = json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": audience,
        });
        let mut request =
            Request::post(self.url("oauth/token")).header(header::CONTENT_TYPE, "application/json");
        for certificate in certificates {
            request = request.header("Client-Cert", *certificate);
        }
        self.http
            .send(
                request
                    .body(Full::new(Bytes::from(params.to_string())))
                    .unwrap(),
            )
            .await
    }
}

#[tokio::test]
async fn an_mtls_api_gets_tokens_bound_to_the_client_certificate_end_to_end() {
    const CERT: &[u8] = b"\x30\x06\x02\x01\x01\x04\x01a";
    let server = AuthServer::start_with(Some("Client-Cert")).await;
    let mut api = my_sample_api();
    api["proof_of_possession"] = json!({ "mechanism": "mtls", "required": true });
    let created = server.register(api).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.json()["proof_of_possession"],
        json!({ "mechanism": "mtls", "required": true })
    );
    let client = server.create_client("mTLS client").await;
    assert_eq!(
        server
            .grant(&client.0, MY_API, &["read:messages"])
            .await
            .status,
        201
    );

    // Required: no certificate, no token; a malformed header is the client's error too.
    let refused = server
        .token_request_with_certificates(&client, MY_API, &[])
        .await;
    refused.assert_oauth_error(400, "invalid_request");
    assert!(
        refused.body.contains("CLIENT_CERT_HEADER"),
        "{}",
        refused.body
    );
    for bad in [
        &["MAMCAQE="][..],
        &[":!:"],
        &[&client_cert(CERT), &client_cert(CERT)],
    ] {
        let reply = server
            .token_request_with_certificates(&client, MY_API, bad)
            .await;
        reply.assert_oauth_error(400, "invalid_request");
    }
    let issued = server
        .token_request_with_certificates(&client, MY_API, &[&client_cert(CERT)])
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(issued.json()["token_type"], "Bearer");
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    let payload: Value = {
        use base64::Engine as _;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    };
    let x5t = {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, CERT);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    };
    assert_eq!(payload["cnf"], json!({ "x5t#S256": x5t }));

    // The sample API behind the same kind of proxy takes it with that certificate only.
    let registration = created.body.clone();
    let fleet = sample_api::Fleet {
        client_cert_header: Some("Client-Cert".to_owned()),
        ..sample_api::Fleet::default()
    };
    let api = ResourceServer::from_json(&registration).unwrap();
    let router =
        sample_api::app_in_fleet(api, Some(server.issuer.clone()), None, None, fleet).unwrap();
    let base = serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), router).await;
    let call = |certificate: Option<String>| {
        let mut request = Request::get(format!("{base}/api/private-scoped"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(certificate) = certificate {
            request = request.header("Client-Cert", certificate);
        }
        server
            .http
            .send(request.body(Full::new(Bytes::new())).unwrap())
    };
    assert_eq!(call(Some(client_cert(CERT))).await.status, 200);
    assert_eq!(call(Some(client_cert(b"\x30\x00"))).await.status, 401);
    assert_eq!(call(None).await.status, 401);

    // Without a configured header, the server trusts none: an mtls API that requires
    // binding gets no token, whatever the request sends.
    let untrusting = AuthServer::start().await;
    let mut api = my_sample_api();
    api["proof_of_possession"] = json!({ "mechanism": "mtls", "required": true });
    assert_eq!(untrusting.register(api).await.status, 201);
    let client = untrusting.create_client("mTLS client").await;
    assert_eq!(
        untrusting
            .grant(&client.0, MY_API, &["read:messages"])
            .await
            .status,
        201
    );
    untrusting
        .token_request_with_certificates(&client, MY_API, &[&client_cert(CERT)])
        .await
        .assert_oauth_error(400, "invalid_request");

    // Not required: with no certificate, a Bearer token bound to nothing.
    let patched = server
        .management(
            Method::PATCH,
            &format!(
                "api/v2/resource-servers/{}",
                created.json()["id"].as_str().unwrap()
            ),
            Some(json!({ "proof_of_possession": { "mechanism": "mtls", "required": false } })),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let plain = server
        .token_request_with_certificates(&client_of(&server).await, MY_API, &[])
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
}

/// A new client granted `read:messages` on [`MY_API`].
async fn client_of(server: &AuthServer) -> (String, String) {
    let client = server.create_client("another client").await;
    assert_eq!(
        server
            .grant(&client.0, MY_API, &["read:messages"])
            .await
            .status,
        201
    );
    client
}

#[tokio::test]
async fn the_token_endpoints_test_only_acr_and_auth_time_open_the_mfa_route() {
    const MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
    let server = AuthServer::start().await;
    let registration = server.register(my_sample_api()).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    let client = server.create_client("My M2M App").await;
    let grant = server.grant(&client.0, MY_API, &["read:messages"]).await;
    assert_eq!(grant.status, 201, "{}", grant.body);
    let token_with = |extra: Value| {
        let mut params = json!({
            "grant_type": "client_credentials", "client_id": client.0,
            "client_secret": client.1, "audience": MY_API,
        });
        crate::common::merge(&mut params, &extra);
        server.token_request(params)
    };
    let auth_time = crate::common::now() - 30;
    let reply = token_with(json!({ "acr": MFA, "auth_time": auth_time })).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let mfa = reply.json()["access_token"].as_str().unwrap().to_owned();
    let claims = payload_of(&mfa);
    assert_eq!(
        (claims["acr"].clone(), claims["auth_time"].clone()),
        (json!(MFA), json!(auth_time))
    );
    let plain = server.token(&client, MY_API, None).await;
    assert!(payload_of(&plain).get("acr").is_none());

    let sample = start_sample_api(&registration.body, &server.issuer).await;
    assert_eq!(status_at(&sample, "/api/private-mfa", &mfa).await, 200);
    assert_eq!(status_at(&sample, "/api/private-mfa", &plain).await, 401);
    let reply = token_with(json!({ "acr": "urn:acr:pwd" })).await;
    let password = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status_at(&sample, "/api/private-mfa", &password).await, 401);
}

// ---------------------------------------------------------------------------------------------
// A custom domain: the tenant answering as a second issuer, on a listener of its own.

impl AuthServer {
    /// The server with a custom domain (`CUSTOM_DOMAIN_PORT`): the server, and the same tenant
    /// as its custom domain's listener sees it (its `issuer` and URLs that listener's).
    async fn start_with_custom_domain() -> (Self, Self) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let custom_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let custom_base = format!("http://{}", custom_listener.local_addr().unwrap());
        let server =
            authorization_server::app_with_custom_domain(&base, None, Some(&custom_base)).unwrap();
        let lines = server.startup_lines();
        let custom_domain = server.custom_domain.unwrap();
        assert_eq!(
            lines.lines().last(),
            Some(format!("CUSTOM_DOMAIN_ISSUER={custom_base}/").as_str())
        );
        assert_eq!(custom_domain.issuer, format!("{custom_base}/"));
        let admin_token = server.management_token.clone();
        serve(listener, server.router).await;
        serve(custom_listener, custom_domain.router).await;
        let first = Self {
            http: Http::new(),
            issuer: server.issuer,
            admin_token: admin_token.clone(),
        };
        let second = Self {
            http: Http::new(),
            issuer: custom_domain.issuer,
            admin_token,
        };
        (first, second)
    }
}

#[tokio::test]
async fn a_custom_domain_issues_tokens_as_a_second_issuer_the_sample_api_accepts() {
    let (server, custom) = AuthServer::start_with_custom_domain().await;
    assert_ne!(server.issuer, custom.issuer);
    let registration = server.register(my_rs256_api()).await;
    assert_eq!(registration.status, 201, "{}", registration.body);
    let client = server.create_client("My M2M App").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;

    // Each listener's discovery names its own issuer, endpoints under it; one JWK set.
    for listener in [&server, &custom] {
        let discovery = listener.public(".well-known/openid-configuration").await;
        assert_eq!(discovery.status, 200, "{}", discovery.body);
        let document = discovery.json();
        assert_eq!(document["issuer"], listener.issuer.as_str());
        assert_eq!(document["token_endpoint"], listener.url("oauth/token"));
        assert_eq!(document["jwks_uri"], listener.url(".well-known/jwks.json"));
    }
    assert_eq!(server.jwks_kids().await, custom.jwks_kids().await);
    // The Management API is the first listener's only.
    let elsewhere = custom
        .management(Method::GET, "api/v2/resource-servers", None)
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.body);

    // One token from each token endpoint, each with its listener's `iss`, same keys.
    let token = server.token(&client, MY_API, None).await;
    let custom_token = custom.token(&client, MY_API, None).await;
    assert_eq!(payload_of(&token)["iss"], server.issuer.as_str());
    assert_eq!(payload_of(&custom_token)["iss"], custom.issuer.as_str());
    let jwks = custom.public(".well-known/jwks.json").await.json();
    assert!(jsonwebtoken_verifies(&custom_token, &jwks, &custom.issuer));
    assert!(!jsonwebtoken_verifies(&custom_token, &jwks, &server.issuer));

    // The sample API with TOKEN_ISSUER naming both accepts both, each found by its discovery.
    let issuers = format!("{} {}", server.issuer, custom.issuer);
    let sample = start_sample_api(&registration.body, &issuers).await;
    let scoped = format!("{sample}/api/private-scoped");
    let http = &server.http;
    for (which, token) in [("first", &token), ("custom domain's", &custom_token)] {
        eventually(
            &format!("the sample API accepts the {which} issuer's token"),
            || async {
                http.call(Method::GET, &scoped, Some(token), None)
                    .await
                    .status
                    == 200
            },
        )
        .await;
    }

    // A token of a third issuer (another tenant) is refused.
    let other = AuthServer::start().await;
    other.register(my_rs256_api()).await;
    let stranger = other.create_client("Stranger").await;
    other.grant(&stranger.0, MY_API, &["read:messages"]).await;
    let foreign = other.token(&stranger, MY_API, None).await;
    assert_eq!(payload_of(&foreign)["iss"], other.issuer.as_str());
    let refused = http.call(Method::GET, &scoped, Some(&foreign), None).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
}

#[tokio::test]
async fn a_custom_domain_issues_dpop_bound_tokens_for_its_own_token_endpoint_url() {
    let (server, custom) = AuthServer::start_with_custom_domain().await;
    let created = server.register(dpop_api(MY_API, "RS256", true)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let client = server.create_client("App").await;
    server.grant(&client.0, MY_API, &["read:messages"]).await;
    // A proof for the custom domain's token endpoint is good there, not on the first one.
    let proof = custom.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));
    let bound = custom.dpop_token_request(&client, MY_API, &[&proof]).await;
    assert_eq!(bound.status, 200, "{}", bound.body);
    assert_eq!(bound.json()["token_type"], "DPoP");
    let access_token = bound.json()["access_token"].as_str().unwrap().to_owned();
    let claims = payload_of(&access_token);
    assert_eq!(claims["iss"], custom.issuer.as_str());
    assert_eq!(claims["cnf"]["jkt"], thumbprint_of("p256"));
    let elsewhere = custom.token_proof(jsonwebtoken::Algorithm::ES256, "p256", json!({}));
    server
        .dpop_token_request(&client, MY_API, &[&elsewhere])
        .await
        .assert_oauth_error(400, "invalid_dpop_proof");
}
