//! Certificate-bound access tokens (RFC 8705 §3): tokens whose `cnf["x5t#S256"]` names the
//! client certificate the client used at the token endpoint, good only on a request that
//! comes with the same certificate, so that a stolen token is useless without the
//! certificate's private key.
//!
//! The guard checks the binding as a step of its pipeline, after the token verified (or came
//! from the cache), when the API takes such tokens: from the registration's
//! `proof_of_possession: {"mechanism": "mtls", "required": …}`
//! ([`ResourceServer::mtls_mode`](crate::ResourceServer::mtls_mode)), or the builder's
//! [`mtls`](crate::BearerGuardBuilder::mtls). Then:
//!
//! | token | request's certificate | answer |
//! |---|---|---|
//! | `cnf["x5t#S256"]` = the certificate's thumbprint | the same | passes |
//! | `cnf["x5t#S256"]` | another, or none | 401 `invalid_token` ([`MtlsError::CertificateMismatch`], [`MtlsError::MissingCertificate`]) |
//! | no `cnf["x5t#S256"]` | any | passes under [`MtlsMode::Allowed`]; 401 [`MtlsError::UnboundToken`] under [`MtlsMode::Required`] |
//!
//! The thumbprint is base64url(SHA-256(DER)) without padding, compared in constant time. An
//! API that takes no certificate-bound tokens refuses one ([`MtlsError::NotTaken`]) rather
//! than let it pass as a bearer token.
//!
//! Where the certificate comes from is configured, never guessed ([`CertificateSource`]):
//! the [`ClientCertificate`] a TLS acceptor puts in the request extensions
//! (`examples/mtls.rs` shows one with tokio-rustls), a header a trusted TLS-terminating proxy
//! sets in RFC 9440 form, or a function of the request.
//!
//! # DPoP and mTLS on one API
//!
//! Auth0 registers one mechanism per API; the builder can turn on the other as well
//! (`dpop`, feature `jwks`). Each token is then checked
//! the way it is bound: a DPoP-bound one (`cnf.jkt`) by its proof, a certificate-bound one
//! by its certificate, one with both by both. Each mechanism's `Required` is its own: mTLS
//! `Required` means every token is certificate-bound (a token bound by DPoP alone is
//! refused), DPoP `Required` that every request comes with `Authorization: DPoP` and a
//! proof; with both required, every token carries both bindings. "Bound one way or the
//! other" is not a mode: use `Allowed` for both, which lets unbound tokens through too.
//!
//! # Auth0's `required_for`
//!
//! Auth0's `proof_of_possession` also has `required_for`: `"all_clients"` or
//! `"public_clients"`, which tells the authorization server which clients must get bound
//! tokens. A resource server cannot tell a public client's token from a confidential
//! one's (nothing in the token says so), so here `required: true` with `required_for:
//! "public_clients"` reads as [`MtlsMode::Allowed`] (a bound token is checked, an unbound one
//! passes, as the confidential clients' are), and only `all_clients` (or no
//! `required_for`) as [`MtlsMode::Required`]. The same holds for DPoP.
//!
//! # Example
//!
//! ```
//! use axum::{Router, body::Body, routing::get};
//! use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer};
//! use bearer_guard::issuer::TokenIssuer;
//! use bearer_guard::mtls::{CertificateSource, ClientCertificate, MtlsError, MtlsMode};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let api = ResourceServer::from_json(r#"{
//!     "identifier": "https://api.example.com", "signing_alg": "HS256",
//!     "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
//!     "proof_of_possession": { "mechanism": "mtls", "required": true }
//! }"#)?;
//! assert_eq!(api.mtls_mode(), MtlsMode::Required);
//! let guard = BearerGuardLayer::builder(api.clone())
//!     .client_certificate_from(CertificateSource::extension())
//!     .build()?;
//! let app = Router::new().route("/orders", get(|| async { "orders" })).layer(guard);
//!
//! // The client's certificate, as a TLS acceptor gives it, and a token bound to it.
//! let certificate = ClientCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
//! let token = TokenIssuer::new(&api, "https://tenant.example/")?
//!     .client_token("my-client")
//!     .bound_to_certificate(&certificate)
//!     .sign()?;
//! let request = |certificate: Option<&ClientCertificate>| {
//!     let mut request = http::Request::get("/orders")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(Body::empty())
//!         .unwrap();
//!     if let Some(certificate) = certificate {
//!         request.extensions_mut().insert(certificate.clone()); // what the TLS acceptor does
//!     }
//!     request
//! };
//! let refused = |response: http::Response<Body>| response.extensions().get::<Rejection>().map(Rejection::kind);
//!
//! assert_eq!(app.clone().oneshot(request(Some(&certificate))).await?.status(), 200);
//! let other = ClientCertificate::from_der(vec![0x30, 0x00]);
//! let stolen = app.clone().oneshot(request(Some(&other))).await?;
//! assert_eq!(stolen.status(), 401);
//! assert_eq!(refused(stolen), Some(RejectionKind::Mtls(MtlsError::CertificateMismatch)));
//! let without = app.oneshot(request(None)).await?;
//! assert_eq!(refused(without), Some(RejectionKind::Mtls(MtlsError::MissingCertificate)));
//! # Ok(())
//! # }
//! ```

mod certificate;
mod error;
mod mode;
mod source;

pub use certificate::ClientCertificate;
pub use error::MtlsError;
pub use mode::MtlsMode;
pub(crate) use source::CertificateReader;
pub use source::CertificateSource;
