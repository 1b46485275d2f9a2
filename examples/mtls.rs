//! Run with: cargo run --example mtls
//!
//! Certificate-bound access tokens (RFC 8705 §3) on an API that terminates TLS itself: a
//! tokio-rustls listener that asks clients for a certificate (and lets those without one in,
//! for the guard to answer), puts the client's certificate in each request's extensions as
//! bearer-guard's `ClientCertificate`, and an axum app behind a guard that takes
//! certificate-bound tokens from `CertificateSource::extension()`.
//!
//! It makes a CA, a server certificate and two client certificates (rcgen), serves on
//! 127.0.0.1 (port from `PORT`, default 3443), then calls itself with a token bound to the
//! first client's certificate: with that certificate (200), with the other one (401), with
//! none (401). Then it serves until Ctrl-C.
//!
//! One TLS handshake at a time, each under a 10 s timeout, in the listener's `accept`: enough
//! for an example; a production server runs handshakes concurrently (axum-server's
//! `RustlsAcceptor` does, and its connections' certificates are read the same way).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::serve::{IncomingStream, Listener};
use axum::{Router, routing::get};
use bearer_guard::mtls::{CertificateSource, ClientCertificate};
use bearer_guard::{BearerGuardLayer, ResourceServer, VerifiedToken};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto};
use tokio_rustls::server::TlsStream;

/// The demo registration: certificate-bound tokens required. Its secret is public.
pub(crate) const DEMO_API: &str = r#"{
  "identifier": "https://api.example.com", "signing_alg": "HS256",
  "signing_secret": "FF1prn9UxZotnFEfPVwEJhqqyRmwdSu5",
  "proof_of_possession": { "mechanism": "mtls", "required": true }
}"#;

/// A certificate and its private key (PKCS#8 DER).
pub(crate) struct Certified {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key: Vec<u8>,
}

impl Certified {
    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }
}

/// A CA, and certificates it signs for servers (`127.0.0.1`, `localhost`) and clients.
pub(crate) struct Pki {
    pub(crate) ca: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new(name: &str) -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = KeyPair::generate()?;
        let ca = params.self_signed(&key)?.der().clone();
        Ok(Self {
            ca,
            issuer: Issuer::new(params, key),
        })
    }

    fn sign(
        &self,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Certified, rcgen::Error> {
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )?;
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate()?;
        let der = params.signed_by(&key, &self.issuer)?.der().clone();
        Ok(Certified {
            der,
            key: key.serialize_der(),
        })
    }

    pub(crate) fn server(&self) -> Result<Certified, rcgen::Error> {
        self.sign(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    pub(crate) fn client(&self, name: &str) -> Result<Certified, rcgen::Error> {
        self.sign(&[name], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// The server's TLS settings: `server`'s certificate, and client certificates asked for and
/// checked against `client_ca`, but not required (a request without one reaches the guard,
/// which answers it).
pub(crate) fn server_config(
    server: &Certified,
    client_ca: &CertificateDer<'static>,
) -> Result<ServerConfig, Box<dyn std::error::Error>> {
    let provider = Arc::new(crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.clone())?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    Ok(ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.der.clone()], server.key())?)
}

/// A TCP listener whose connections are TLS, handshakes done in `accept`.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl TlsListener {
    pub(crate) fn new(tcp: TcpListener, config: ServerConfig) -> Self {
        Self {
            tcp,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A failed or stalled handshake (an unknown CA's certificate, say) drops that
            // connection only.
            let handshake =
                tokio::time::timeout(Duration::from_secs(10), self.acceptor.accept(tcp));
            if let Ok(Ok(tls)) = handshake.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The client certificate of a connection, read once when it is accepted.
#[derive(Clone)]
struct Peer(Option<ClientCertificate>);

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        let (_, connection) = stream.io().get_ref();
        // The end-entity certificate comes first in the chain.
        let certificate = connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|der| ClientCertificate::from_der(der.as_ref()));
        Self(certificate)
    }
}

/// The app: `GET /orders` behind a guard for `api` that reads client certificates from the
/// request extensions, where the layer outside it puts the connection's.
pub(crate) fn app(api: ResourceServer) -> Result<Router, bearer_guard::ConfigError> {
    let guard = BearerGuardLayer::builder(api)
        .client_certificate_from(CertificateSource::extension())
        .build()?;
    Ok(Router::new()
        .route(
            "/orders",
            get(|token: VerifiedToken| async move {
                format!("orders for {}", token.subject().unwrap_or_default())
            }),
        )
        .route_layer(guard)
        .layer(axum::middleware::map_request(
            |mut request: axum::extract::Request| async move {
                if let Some(ConnectInfo(Peer(Some(certificate)))) =
                    request.extensions().get::<ConnectInfo<Peer>>().cloned()
                {
                    request.extensions_mut().insert(certificate);
                }
                request
            },
        )))
}

/// Serves `app` over `listener`, each request knowing its connection's certificate.
pub(crate) async fn serve(listener: TlsListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).await
}

/// A rustls client for `server_ca`'s servers, presenting `client`'s certificate if any.
pub(crate) fn client(
    server_ca: &CertificateDer<'static>,
    client: Option<&Certified>,
) -> Result<reqwest::Client, Box<dyn std::error::Error>> {
    let provider = Arc::new(crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(server_ca.clone())?;
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match client {
        Some(client) => config.with_client_auth_cert(vec![client.der.clone()], client.key())?,
        None => config.with_no_client_auth(),
    };
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pki = Pki::new("bearer-guard demo CA")?;
    let (server, alice, bob) = (pki.server()?, pki.client("alice")?, pki.client("bob")?);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3443".to_owned());
    let tcp = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let url = format!("https://{}/orders", tcp.local_addr()?);
    let api = ResourceServer::from_json(DEMO_API)?;
    let listener = TlsListener::new(tcp, server_config(&server, &pki.ca)?);
    let serving = tokio::spawn(serve(listener, app(api.clone())?));

    // What an authorization server does at its token endpoint: bind the token to alice's
    // certificate (cnf["x5t#S256"]).
    let token = bearer_guard::issuer::TokenIssuer::new(&api, "https://tenant.example/")?
        .client_token("alice")
        .bound_to_certificate(&ClientCertificate::from_der(alice.der.as_ref()))
        .sign()?;
    for (who, certificate) in [
        ("alice", Some(&alice)),
        ("bob", Some(&bob)),
        ("no one", None),
    ] {
        let answer = client(&pki.ca, certificate)?
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await?;
        println!(
            "mtls: alice's token with {who}'s certificate: {}",
            answer.status()
        );
    }
    println!("mtls: serving on {url} until Ctrl-C");
    tokio::select! {
        served = serving => served??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
