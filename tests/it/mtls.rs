//! Black-box tests: certificate-bound tokens (RFC 8705 §3) through the guard, with each of
//! the three certificate sources (the TLS acceptor's extension, an RFC 9440 header, a
//! function), both modes, DPoP beside it, and RFC 9728's metadata. Tokens are minted by
//! jsonwebtoken and thumbprints computed with aws-lc-rs, apart from the code under test.

use crate::common::keys::{dpop_proof, public_jwk};
use crate::common::*;
use aws_lc_rs::digest::{SHA256, digest};
use axum::body::Body;
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bearer_guard::dpop::{DpopError, DpopMode, DpopProof, jwk_thumbprint};
use bearer_guard::mtls::{CertificateSource, ClientCertificate, MtlsError, MtlsMode};
use bearer_guard::{BearerGuardLayer, ConfigError, RejectionKind, ResourceServer};
use http::Request;
use serde_json::json;

/// Two certificates' DER (any bytes do: the binding is a hash of them, not parsed).
const CERT_A: &[u8] = b"\x30\x0a\x02\x01\x01\x04\x05client-a";
const CERT_B: &[u8] = b"\x30\x0a\x02\x01\x02\x04\x05client-b";

/// base64url(SHA-256(der)), as an authorization server puts it in `cnf["x5t#S256"]`.
fn x5t(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, der))
}

/// A token bound to `der`'s certificate (and to DPoP key `jkt`, if any), or a plain one.
fn token(bound_to: Option<&[u8]>, jkt: Option<&str>) -> String {
    let mut cnf = serde_json::Map::new();
    if let Some(der) = bound_to {
        cnf.insert("x5t#S256".into(), x5t(der).into());
    }
    if let Some(jkt) = jkt {
        cnf.insert("jkt".into(), jkt.into());
    }
    let extra = if cnf.is_empty() {
        json!({})
    } else {
        json!({ "cnf": cnf })
    };
    crate::common::token(&claims("read:messages", extra))
}

/// A certificate as a function source finds it: the server's own extension type.
#[derive(Clone)]
struct PeerDer(Vec<u8>);

#[derive(Clone, Copy, Debug)]
enum Source {
    Extension,
    Header,
    Function,
}

impl Source {
    fn setting(self) -> CertificateSource {
        match self {
            Self::Extension => CertificateSource::extension(),
            Self::Header => CertificateSource::header("Client-Cert"),
            Self::Function => CertificateSource::from_fn(|request| {
                let der = request.extensions.get::<PeerDer>()?;
                Some(ClientCertificate::from_der(der.0.as_slice()))
            }),
        }
    }

    /// `request` with the client certificate `der` where this source finds it.
    fn attach(self, request: &mut Request<Body>, der: &[u8]) {
        match self {
            Self::Extension => {
                request
                    .extensions_mut()
                    .insert(ClientCertificate::from_der(der));
            }
            Self::Header => {
                let value = format!(":{}:", STANDARD.encode(der));
                request
                    .headers_mut()
                    .insert("client-cert", value.parse().unwrap());
            }
            Self::Function => {
                request.extensions_mut().insert(PeerDer(der.to_vec()));
            }
        }
    }
}

fn app(layer: BearerGuardLayer) -> Router {
    Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route_layer(layer)
}

fn guard(mode: MtlsMode, source: Source) -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    app(BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .mtls(mode)
        .client_certificate_from(source.setting())
        .build()
        .unwrap())
}

fn get_orders(token: &str) -> Request<Body> {
    get_with_token("/orders", token)
}

const OK: Option<RejectionKind> = None;
const fn refused(error: MtlsError) -> Option<RejectionKind> {
    Some(RejectionKind::Mtls(error))
}

#[tokio::test]
async fn each_source_and_mode_passes_only_the_certificate_a_token_is_bound_to() {
    use MtlsError::{CertificateMismatch, MissingCertificate, UnboundToken};
    let bound = token(Some(CERT_A), None);
    let unbound = token(None, None);
    // (case, token, certificate sent, Allowed's answer, Required's answer)
    let cases: [(&str, &str, Option<&[u8]>, _, _); 5] = [
        ("bound, its certificate", &bound, Some(CERT_A), OK, OK),
        (
            "bound, another certificate",
            &bound,
            Some(CERT_B),
            refused(CertificateMismatch),
            refused(CertificateMismatch),
        ),
        (
            "bound, no certificate",
            &bound,
            None,
            refused(MissingCertificate),
            refused(MissingCertificate),
        ),
        (
            "unbound, a certificate",
            &unbound,
            Some(CERT_A),
            OK,
            refused(UnboundToken),
        ),
        (
            "unbound, no certificate",
            &unbound,
            None,
            OK,
            refused(UnboundToken),
        ),
    ];
    for source in [Source::Extension, Source::Header, Source::Function] {
        for (mode, column) in [(MtlsMode::Allowed, 0), (MtlsMode::Required, 1)] {
            let app = guard(mode, source);
            for (case, token, certificate, allowed, required) in &cases {
                let mut request = get_orders(token);
                if let Some(der) = certificate {
                    source.attach(&mut request, der);
                }
                let answer = send(&app, request).await;
                let expected = [allowed, required][column];
                let name = format!("{source:?} {mode:?}: {case}");
                assert_eq!(answer.kind(), *expected, "{name}");
                match expected {
                    None => assert_eq!(
                        (answer.status, answer.body.as_str()),
                        (200, "orders"),
                        "{name}"
                    ),
                    Some(RejectionKind::Mtls(error)) => {
                        assert_eq!(answer.status, 401, "{name}");
                        assert_eq!(
                            answer.challenge,
                            Some(invalid_token(error.description())),
                            "{name}"
                        );
                        assert_eq!(answer.json()["error"], "invalid_token", "{name}");
                    }
                    Some(other) => panic!("{name}: {other:?}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn a_cached_token_is_checked_against_each_requests_certificate() {
    let app = guard(MtlsMode::Allowed, Source::Extension);
    let bound = token(Some(CERT_A), None);
    for (der, status) in [(CERT_A, 200), (CERT_B, 401), (CERT_A, 200), (CERT_B, 401)] {
        let mut request = get_orders(&bound);
        Source::Extension.attach(&mut request, der);
        assert_eq!(send(&app, request).await.status, status);
    }
}

#[tokio::test]
async fn only_the_configured_source_is_read() {
    let bound = token(Some(CERT_A), None);
    // A header is never trusted by a guard that reads the extension, and the other way round.
    for (guarded_by, sent_by) in [
        (Source::Extension, Source::Header),
        (Source::Header, Source::Extension),
        (Source::Function, Source::Header),
    ] {
        let mut request = get_orders(&bound);
        sent_by.attach(&mut request, CERT_A);
        let answer = send(&guard(MtlsMode::Allowed, guarded_by), request).await;
        assert_eq!(
            answer.kind(),
            refused(MtlsError::MissingCertificate),
            "{guarded_by:?} given {sent_by:?}"
        );
    }
    // Another header name is no certificate either.
    let mut request = get_orders(&bound);
    let value = format!(":{}:", STANDARD.encode(CERT_A));
    request
        .headers_mut()
        .insert("x-client-cert", value.parse().unwrap());
    let answer = send(&guard(MtlsMode::Allowed, Source::Header), request).await;
    assert_eq!(answer.kind(), refused(MtlsError::MissingCertificate));
}

#[tokio::test]
async fn a_malformed_rfc9440_header_is_refused_with_its_own_reason() {
    let app = guard(MtlsMode::Allowed, Source::Header);
    let bound = token(Some(CERT_A), None);
    let good = format!(":{}:", STANDARD.encode(CERT_A));
    let unpadded = format!(":{}:", STANDARD.encode(CERT_A).trim_end_matches('='));
    for (case, values, expected) in [
        (
            "empty",
            vec![String::new()],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "no colons",
            vec![STANDARD.encode(CERT_A)],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "nothing between the colons",
            vec!["::".into()],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "base64url, not base64",
            vec![format!(":{}:", URL_SAFE_NO_PAD.encode([0xfb; 30]))],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "not base64",
            vec![":not base64!:".into()],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "a PEM",
            vec!["-----BEGIN CERTIFICATE-----".into()],
            refused(MtlsError::MalformedCertificate),
        ),
        (
            "twice",
            vec![good.clone(), good.clone()],
            refused(MtlsError::MalformedCertificate),
        ),
        ("well formed", vec![good.clone()], OK),
        ("without padding", vec![unpadded], OK),
    ] {
        let mut request = get_orders(&bound);
        for value in &values {
            request
                .headers_mut()
                .append("client-cert", value.parse().unwrap());
        }
        assert_eq!(send(&app, request).await.kind(), expected, "{case}");
    }
    // An unbound token does not need the header: a malformed one is not even read.
    let mut request = get_orders(&token(None, None));
    request
        .headers_mut()
        .insert("client-cert", "garbage".parse().unwrap());
    assert_eq!(send(&app, request).await.status, 200);
}

#[tokio::test]
async fn the_registrations_mtls_is_honoured_and_an_api_without_it_refuses_bound_tokens() {
    let registration = |pop: &str| {
        ResourceServer::from_json(&format!(
            r#"{{"identifier": "{AUDIENCE}", "signing_alg": "HS256", "signing_secret": "{SECRET}",
                "proof_of_possession": {pop}}}"#
        ))
        .unwrap()
    };
    let required = registration(r#"{"mechanism": "mtls", "required": true}"#);
    let app_of = |api: ResourceServer| {
        app(BearerGuardLayer::builder(api)
            .client_certificate_from(CertificateSource::extension())
            .build()
            .unwrap())
    };
    let required_app = app_of(required.clone());
    let mut with_cert = get_orders(&token(Some(CERT_A), None));
    Source::Extension.attach(&mut with_cert, CERT_A);
    assert_eq!(send(&required_app, with_cert).await.status, 200);
    let unbound = send(&required_app, get_orders(&token(None, None))).await;
    assert_eq!(unbound.kind(), refused(MtlsError::UnboundToken));

    // Auth0's required_for public_clients cannot be told at a resource server: optional here.
    let public_only = registration(
        r#"{"mechanism": "mtls", "required": true, "required_for": "public_clients"}"#,
    );
    assert_eq!(public_only.mtls_mode(), MtlsMode::Allowed);
    let answer = send(&app_of(public_only), get_orders(&token(None, None))).await;
    assert_eq!(answer.status, 200);

    // Without mtls, a stolen certificate-bound token is refused, never taken as a bearer token.
    let plain = app(
        BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
            .build()
            .unwrap(),
    );
    let mut stolen = get_orders(&token(Some(CERT_A), None));
    Source::Extension.attach(&mut stolen, CERT_A);
    let answer = send(&plain, stolen).await;
    assert_eq!(
        (answer.status, answer.kind()),
        (401, refused(MtlsError::NotTaken))
    );
    assert_eq!(
        send(&plain, get_orders(&token(None, None))).await.status,
        200
    );

    // Misconfigurations fail at build.
    let err = BearerGuardLayer::builder(required).build().unwrap_err();
    assert_eq!(err, ConfigError::MtlsWithoutCertificateSource);
    assert!(err.to_string().contains("client_certificate_from"), "{err}");
    let err = BearerGuardLayer::builder(ResourceServer::new(AUDIENCE, SECRET))
        .client_certificate_from(CertificateSource::header("client-cert"))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::CertificateSourceWithoutMtls);
}

#[tokio::test]
async fn the_metadata_says_certificate_bound_tokens_are_taken() {
    let document = |mode: Option<MtlsMode>| {
        let mut builder =
            BearerGuardLayer::builder(ResourceServer::new("https://api.example.com", SECRET))
                .issuer(ISSUER)
                .resource_metadata();
        if let Some(mode) = mode {
            builder = builder
                .mtls(mode)
                .client_certificate_from(CertificateSource::extension());
        }
        builder
            .build()
            .unwrap()
            .resource_metadata()
            .unwrap()
            .document()
            .clone()
    };
    let key = "tls_client_certificate_bound_access_tokens";
    assert_eq!(document(Some(MtlsMode::Allowed))[key], true);
    assert_eq!(document(Some(MtlsMode::Required))[key], true);
    assert_eq!(document(None).get(key), None);
}

/// `GET /orders` with `Authorization: DPoP` and a fresh proof by fixture key `p256`.
fn dpop_request(access_token: &str) -> Request<Body> {
    let claims = json!({
        "jti": format!("jti-{}", rand_suffix()),
        "htm": "GET",
        "htu": "https://api.example.com/orders",
        "iat": now(),
        "ath": DpopProof::access_token_hash(access_token),
    });
    let proof = dpop_proof(jsonwebtoken::Algorithm::ES256, "p256", &claims);
    Request::get("/orders")
        .header("authorization", format!("DPoP {access_token}"))
        .header("dpop", proof)
        .body(Body::empty())
        .unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A row of the DPoP-and-mTLS table: its name, the modes, the request, the expected refusal.
type Case = (
    &'static str,
    (MtlsMode, DpopMode),
    Request<Body>,
    Option<RejectionKind>,
);

#[tokio::test]
async fn with_dpop_too_each_token_is_checked_the_way_it_is_bound() {
    let jkt = jwk_thumbprint(&public_jwk("p256").to_string()).unwrap();
    let with = |mtls: MtlsMode, dpop: DpopMode| {
        let api =
            ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
        app(BearerGuardLayer::builder(api)
            .issuer(ISSUER)
            .dpop(dpop)
            .external_url("https://api.example.com")
            .mtls(mtls)
            .client_certificate_from(CertificateSource::extension())
            .build()
            .unwrap())
    };
    let both_bound = token(Some(CERT_A), Some(&jkt));
    let dpop_bound = token(None, Some(&jkt));
    let cert_bound = token(Some(CERT_A), None);
    let attach = |mut request: Request<Body>, der: Option<&[u8]>| {
        if let Some(der) = der {
            Source::Extension.attach(&mut request, der);
        }
        request
    };
    let dpop = |error| Some(RejectionKind::Dpop(error));
    // (case, modes, request, expected)
    let cases: Vec<Case> = vec![
        (
            "both: proof and certificate",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(dpop_request(&both_bound), Some(CERT_A)),
            OK,
        ),
        (
            "both: proof, another certificate",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(dpop_request(&both_bound), Some(CERT_B)),
            refused(MtlsError::CertificateMismatch),
        ),
        (
            "both: proof, no certificate",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(dpop_request(&both_bound), None),
            refused(MtlsError::MissingCertificate),
        ),
        (
            "both: certificate, as bearer",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(get_orders(&both_bound), Some(CERT_A)),
            dpop(DpopError::BoundTokenAsBearer),
        ),
        (
            "DPoP-bound: proof, no certificate",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(dpop_request(&dpop_bound), None),
            OK,
        ),
        (
            "certificate-bound: certificate, as bearer",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(get_orders(&cert_bound), Some(CERT_A)),
            OK,
        ),
        (
            "certificate-bound: another certificate",
            (MtlsMode::Allowed, DpopMode::Allowed),
            attach(get_orders(&cert_bound), Some(CERT_B)),
            refused(MtlsError::CertificateMismatch),
        ),
        (
            "mTLS required: DPoP-bound alone",
            (MtlsMode::Required, DpopMode::Allowed),
            attach(dpop_request(&dpop_bound), Some(CERT_A)),
            refused(MtlsError::UnboundToken),
        ),
        (
            "mTLS required: both",
            (MtlsMode::Required, DpopMode::Allowed),
            attach(dpop_request(&both_bound), Some(CERT_A)),
            OK,
        ),
        (
            "DPoP required: certificate-bound as bearer",
            (MtlsMode::Allowed, DpopMode::Required),
            attach(get_orders(&cert_bound), Some(CERT_A)),
            Some(RejectionKind::DpopRequired),
        ),
        (
            "both required: both",
            (MtlsMode::Required, DpopMode::Required),
            attach(dpop_request(&both_bound), Some(CERT_A)),
            OK,
        ),
    ];
    for (case, (mtls, dpop_mode), request, expected) in cases {
        let answer = send(&with(mtls, dpop_mode), request).await;
        assert_eq!(answer.kind(), expected, "{case}");
        if expected.is_none() {
            assert_eq!(answer.status, 200, "{case}");
        } else {
            assert_eq!(answer.status, 401, "{case}");
        }
    }
}

#[tokio::test]
async fn the_hook_sees_the_typed_reason() {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let layer = BearerGuardLayer::builder(api)
        .mtls(MtlsMode::Allowed)
        .client_certificate_from(CertificateSource::extension())
        .on_rejection(|rejection: &bearer_guard::Rejection| {
            let mut response = http::Response::new(Body::from(rejection.reason()));
            *response.status_mut() = rejection.status();
            response
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route_layer(layer);
    let mut request = get_orders(&token(Some(CERT_A), None));
    Source::Extension.attach(&mut request, CERT_B);
    let answer = send(&app, request).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (401, "mtls_certificate_mismatch")
    );
    assert_eq!(answer.kind(), refused(MtlsError::CertificateMismatch));
}

/// The `WWW-Authenticate` description of an answer.
fn description(answer: &reqwest::Response) -> String {
    let challenge = answer.headers()["www-authenticate"].to_str().unwrap();
    challenge
        .split("error_description=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_real_tls_listener_passes_only_the_client_certificate_the_token_is_bound_to() {
    use crate::examples::mtls::{Pki, TlsListener, app, client, serve, server_config};
    let pki = Pki::new("test CA").unwrap();
    let (server, alice, bob) = (
        pki.server().unwrap(),
        pki.client("alice").unwrap(),
        pki.client("bob").unwrap(),
    );
    let stranger_ca = Pki::new("another CA").unwrap();
    let stranger = stranger_ca.client("alice").unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/orders", tcp.local_addr().unwrap());
    let api = ResourceServer::from_json(crate::examples::mtls::DEMO_API).unwrap();
    let listener = TlsListener::new(tcp, server_config(&server, &pki.ca).unwrap());
    tokio::spawn(serve(listener, app(api).unwrap()));

    // The token is minted apart from the code under test: jsonwebtoken over the thumbprint
    // of alice's DER, computed with aws-lc-rs.
    let claims = json!({
        "aud": "https://api.example.com", "sub": "alice@clients", "exp": now() + 600,
        "cnf": { "x5t#S256": x5t(alice.der.as_ref()) },
    });
    let bound = token_with(b"FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5", &claims);
    let unbound = token_with(
        b"FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
        &json!({ "aud": "https://api.example.com", "sub": "alice@clients", "exp": now() + 600 }),
    );
    let call = |certificate: Option<&crate::examples::mtls::Certified>, token: &str| {
        let request = client(&pki.ca, certificate)
            .unwrap()
            .get(&url)
            .bearer_auth(token);
        request.send()
    };

    let answer = call(Some(&alice), &bound).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "orders for alice@clients");
    // The same token again: a cache hit, checked against this connection's certificate.
    assert_eq!(call(Some(&alice), &bound).await.unwrap().status(), 200);

    for (who, certificate, token, error) in [
        (
            "bob's certificate",
            Some(&bob),
            &bound,
            MtlsError::CertificateMismatch,
        ),
        (
            "no certificate",
            None,
            &bound,
            MtlsError::MissingCertificate,
        ),
        (
            "an unbound token",
            Some(&alice),
            &unbound,
            MtlsError::UnboundToken,
        ),
    ] {
        let answer = call(certificate, token).await.unwrap();
        assert_eq!(answer.status(), 401, "{who}");
        assert_eq!(description(&answer), error.description(), "{who}");
    }
    // A certificate from a CA the server does not trust never gets past the handshake.
    assert!(call(Some(&stranger), &bound).await.is_err());
}
