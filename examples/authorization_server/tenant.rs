//! The tenant's data, in memory: resource servers, clients and client grants, with the rules
//! the Management API enforces on them.

use bearer_guard::dpop::DpopError;
use bearer_guard::issuer::{SigningKeyError, TokenEncryptionKey, TokenIssuer};
use bearer_guard::mtls::ClientCertificate;
use bearer_guard::registration::TokenDialect;
use bearer_guard::{Algorithm, ConfigError, ResourceServer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::random;
use super::signing_keys::SigningKeys;

/// Auth0's default and maximum `token_lifetime`, in seconds.
const DEFAULT_TOKEN_LIFETIME: u64 = 86_400;
const MAX_TOKEN_LIFETIME: u64 = 2_592_000;
/// bearer-guard refuses shorter HS256 secrets unless told otherwise.
const MIN_SIGNING_SECRET_LEN: usize = 32;
/// The `signing_alg` values a resource server may have, as Auth0 offers them.
pub(crate) const SIGNING_ALGS: [&str; 4] = ["HS256", "RS256", "RS512", "PS256"];
/// The `signing_alg` of a resource server registered without one: RS256, as on Auth0, so a
/// script that leaves it out gets here the same kind of API it gets on a real tenant.
const DEFAULT_SIGNING_ALG: &str = "RS256";

/// A resource server as the Management API returns it; `signing_secret` only for HS256. No
/// `Debug`: it holds the secret.
#[derive(Clone, Serialize)]
pub(crate) struct ResourceServerRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) is_system: bool,
    pub(crate) identifier: String,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) signing_alg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signing_secret: Option<String>,
    pub(crate) allow_offline_access: bool,
    pub(crate) skip_consent_for_verifiable_first_party_clients: bool,
    pub(crate) token_lifetime: u64,
    pub(crate) token_lifetime_for_web: u64,
    pub(crate) enforce_policies: bool,
    pub(crate) token_dialect: String,
    /// Auth0 shows it only once set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proof_of_possession: Option<ProofOfPossession>,
    /// Auth0 shows it only once set, `pem` included (its schema has the same
    /// `encryption_key` in requests and answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token_encryption: Option<TokenEncryption>,
}

/// A resource server's `token_encryption`: its access tokens are then compact JWEs,
/// encrypted to `encryption_key.pem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenEncryption {
    format: String,
    encryption_key: EncryptionKey,
}

/// Its `encryption_key`, as Auth0's schema has it: `alg` and `pem` required, `name` and
/// `kid` optional (1 to 128 characters), the `pem` at most 4096.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptionKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    pem: String,
}

/// A resource server's `proof_of_possession`, as the Management API has it: the
/// sender-constraining mechanism of its tokens, and whether a token request must use it.
/// Auth0 offers `mtls` and `dpop`, and so does this server: it has no TLS of its own, so an
/// `mtls` API's tokens are bound to the client certificate a TLS-terminating proxy passes on
/// in the header named by `CLIENT_CERT_HEADER` (RFC 9440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct ProofOfPossession {
    mechanism: &'static str,
    pub(crate) required: bool,
}

/// One scope a resource server declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scope {
    pub(crate) value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
}

/// The token endpoint's test-only `acr` and `auth_time` parameters: the claims of a user's
/// login (RFC 9470), which a client-credentials token never has on Auth0, so that step-up
/// routes can be tried offline.
#[derive(Debug, Default)]
pub(crate) struct StepUpClaims {
    pub(crate) acr: Option<String>,
    /// Seconds since the epoch.
    pub(crate) auth_time: Option<u64>,
}

/// `POST /api/v2/resource-servers`. No `Debug`: it may hold a secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewResourceServer {
    name: Option<String>,
    identifier: String,
    #[serde(default)]
    scopes: Vec<Scope>,
    signing_alg: Option<String>,
    signing_secret: Option<String>,
    token_lifetime: Option<u64>,
    token_dialect: Option<String>,
    #[serde(default)]
    allow_offline_access: bool,
    #[serde(default)]
    skip_consent_for_verifiable_first_party_clients: bool,
    #[serde(default)]
    enforce_policies: bool,
    /// Checked by [`check_proof_of_possession`], for a message that says what is allowed.
    #[serde(default)]
    proof_of_possession: Option<Value>,
    /// Checked by [`check_token_encryption`].
    #[serde(default)]
    token_encryption: Option<Value>,
}

/// `PATCH /api/v2/resource-servers/{id}`. `identifier` is here only to be refused by name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceServerChanges {
    name: Option<String>,
    scopes: Option<Vec<Scope>>,
    token_lifetime: Option<u64>,
    token_dialect: Option<String>,
    identifier: Option<serde_json::Value>,
    /// `Some(Value::Null)` for an explicit `null`, which removes it.
    #[serde(default, deserialize_with = "present")]
    proof_of_possession: Option<Value>,
    /// As `proof_of_possession`: `null` removes it.
    #[serde(default, deserialize_with = "present")]
    token_encryption: Option<Value>,
}

/// A member that is present, even as `null` (which `Option` alone reads as absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A client application, as `POST /api/v2/clients` returns it. No `Debug`: it holds the
/// client secret.
#[derive(Clone, Serialize)]
pub(crate) struct Client {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) name: String,
    pub(crate) app_type: &'static str,
    pub(crate) grant_types: [&'static str; 1],
    pub(crate) token_endpoint_auth_method: &'static str,
}

/// `POST /api/v2/clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClient {
    name: String,
}

/// A client grant: the scopes of one API that one client may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ClientGrant {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) audience: String,
    pub(crate) scope: Vec<String>,
}

/// `POST /api/v2/client-grants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewClientGrant {
    client_id: String,
    audience: String,
    scope: Vec<String>,
}

/// What a token request may be refused for, before RFC 6749's error codes are put on it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    /// Unknown client or wrong secret (one answer for both, so as not to tell which).
    BadClient,
    /// No API has this identifier.
    UnknownAudience(String),
    /// The client holds no grant for this API.
    NoGrant(String),
    /// A requested scope is not in the grant.
    ScopeNotGranted(String),
    /// The API's `proof_of_possession` requires DPoP, and the request has no proof.
    DpopProofRequired,
    /// The request's DPoP proof failed a check of RFC 9449 §4.3.
    InvalidDpopProof(DpopError),
    /// The API's `proof_of_possession` requires mTLS, and the request came with no client
    /// certificate (none in the trusted header, or no header configured).
    ClientCertificateRequired,
    /// The OS gave no randomness, or the token could not be signed.
    ServerError,
}

/// A token issued by [`Tenant::issue_token`]. No `Debug`: it holds the token.
pub(crate) struct IssuedToken {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) scope: String,
    /// Whether it carries `cnf.jkt`: its `token_type` is then `DPoP` (RFC 9449 §5).
    pub(crate) dpop_bound: bool,
}

/// What a token request's `DPoP` header gave: `None` without one, else the verifier's
/// verdict, the thumbprint of the proof's key when it passed.
pub(crate) type DpopVerdict<'a> = Option<Result<&'a str, DpopError>>;

/// The client certificate a token request came with (from the trusted proxy's header), if
/// any.
pub(crate) type ClientCertificateSeen<'a> = Option<&'a ClientCertificate>;

/// What a token request proved besides the client's secret: a DPoP proof, a client
/// certificate; each binds the token when the API's `proof_of_possession` asks for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Proofs<'a> {
    pub(crate) dpop: DpopVerdict<'a>,
    pub(crate) certificate: ClientCertificateSeen<'a>,
}

/// A registered API.
struct Api {
    record: ResourceServerRecord,
}

/// Everything the server knows. Lookups are linear: a local tenant holds a handful of each.
pub(crate) struct Tenant {
    issuer: String,
    apis: Vec<Api>,
    clients: Vec<Client>,
    grants: Vec<ClientGrant>,
    keys: SigningKeys,
}

impl Tenant {
    /// An empty tenant whose tokens carry `iss` = `issuer`, with fresh signing keys.
    pub(crate) fn new(issuer: String) -> Result<Self, ApiError> {
        Ok(Self {
            issuer,
            apis: Vec::new(),
            clients: Vec::new(),
            grants: Vec::new(),
            keys: SigningKeys::new()?,
        })
    }

    /// The `iss` of its tokens.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The tenant's signing keys.
    pub(crate) fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    pub(crate) fn keys_mut(&mut self) -> &mut SigningKeys {
        &mut self.keys
    }

    /// Registers the tenant's own Management API (`is_system`), so that client grants and
    /// `/oauth/token` work for it as on a real tenant. It cannot be changed or deleted.
    pub(crate) fn add_management_api(
        &mut self,
        identifier: String,
        signing_secret: String,
        scopes: &[&str],
    ) -> Result<(), ApiError> {
        let record = ResourceServerRecord {
            id: random::resource_server_id()?,
            name: "Management API".to_owned(),
            is_system: true,
            identifier,
            scopes: scopes
                .iter()
                .map(|scope| Scope {
                    value: (*scope).to_owned(),
                    description: None,
                })
                .collect(),
            signing_alg: "HS256".to_owned(),
            signing_secret: Some(signing_secret),
            allow_offline_access: false,
            skip_consent_for_verifiable_first_party_clients: false,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            token_lifetime_for_web: 7200,
            enforce_policies: false,
            token_dialect: "access_token".to_owned(),
            proof_of_possession: None,
            token_encryption: None,
        };
        self.issuer_for(&record)?;
        self.apis.push(Api { record });
        Ok(())
    }

    /// The token issuer of the API `identifier`, signing as its `signing_alg` says.
    pub(crate) fn token_issuer(&self, identifier: &str) -> Result<TokenIssuer, ApiError> {
        let api = self.find_by_identifier(identifier).ok_or_else(|| {
            ApiError::not_found(
                "inexistent_resource_server",
                format!("No resource server with the identifier {identifier:?}"),
            )
        })?;
        self.issuer_for(&api.record)
    }

    pub(crate) fn create_resource_server(
        &mut self,
        new: NewResourceServer,
    ) -> Result<ResourceServerRecord, ApiError> {
        let signing_alg = new
            .signing_alg
            .unwrap_or_else(|| DEFAULT_SIGNING_ALG.to_owned());
        if !SIGNING_ALGS.contains(&signing_alg.as_str()) {
            return Err(ApiError::bad_request(format!(
                "signing_alg {signing_alg:?} is not supported: use one of {}",
                SIGNING_ALGS.join(", ")
            )));
        }
        let signing_secret = match (signing_alg.as_str(), new.signing_secret) {
            ("HS256", Some(secret)) if secret.len() < MIN_SIGNING_SECRET_LEN => {
                return Err(ApiError::bad_request(format!(
                    "signing_secret must have at least {MIN_SIGNING_SECRET_LEN} characters"
                )));
            }
            ("HS256", Some(secret)) => Some(secret),
            ("HS256", None) => Some(random::signing_secret()?),
            (_, Some(_)) => {
                return Err(ApiError::bad_request(format!(
                    "signing_secret is for HS256 only: {signing_alg} tokens are signed with the tenant's signing keys"
                )));
            }
            (_, None) => None,
        };
        let token_dialect = check_token_dialect(new.token_dialect.as_deref())?;
        let record = ResourceServerRecord {
            id: random::resource_server_id()?,
            name: check_name(new.name.unwrap_or_else(|| new.identifier.clone()))?,
            is_system: false,
            identifier: new.identifier,
            scopes: check_scopes(new.scopes)?,
            signing_alg,
            signing_secret,
            allow_offline_access: new.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: new
                .skip_consent_for_verifiable_first_party_clients,
            token_lifetime: check_token_lifetime(new.token_lifetime)?,
            token_lifetime_for_web: 7200,
            enforce_policies: new.enforce_policies,
            token_dialect,
            proof_of_possession: check_proof_of_possession(new.proof_of_possession)?,
            token_encryption: check_token_encryption(new.token_encryption)?,
        };
        if self.find_by_identifier(&record.identifier).is_some() {
            return Err(ApiError::conflict(
                "conflict",
                format!(
                    "A resource server with the identifier {:?} already exists",
                    record.identifier
                ),
            ));
        }
        self.issuer_for(&record)?;
        self.apis.push(Api {
            record: record.clone(),
        });
        Ok(record)
    }

    pub(crate) fn resource_servers(&self) -> Vec<ResourceServerRecord> {
        self.apis.iter().map(|api| api.record.clone()).collect()
    }

    pub(crate) fn resource_server(&self, id: &str) -> Result<ResourceServerRecord, ApiError> {
        self.api_index(id)
            .map(|index| self.apis[index].record.clone())
    }

    pub(crate) fn update_resource_server(
        &mut self,
        id: &str,
        changes: ResourceServerChanges,
    ) -> Result<ResourceServerRecord, ApiError> {
        let index = self.system_api_refused(self.api_index(id)?)?;
        if changes.identifier.is_some() {
            return Err(ApiError::bad_request(
                "identifier cannot be modified: it is the audience of the tokens already issued",
            ));
        }
        let mut record = self.apis[index].record.clone();
        if let Some(name) = changes.name {
            record.name = check_name(name)?;
        }
        if let Some(scopes) = changes.scopes {
            record.scopes = check_scopes(scopes)?;
        }
        if let Some(lifetime) = changes.token_lifetime {
            record.token_lifetime = check_token_lifetime(Some(lifetime))?;
        }
        if let Some(dialect) = changes.token_dialect {
            record.token_dialect = check_token_dialect(Some(&dialect))?;
        }
        if let Some(pop) = changes.proof_of_possession {
            record.proof_of_possession = check_proof_of_possession(Some(pop))?;
        }
        if let Some(encryption) = changes.token_encryption {
            record.token_encryption = check_token_encryption(Some(encryption))?;
        }
        self.issuer_for(&record)?;
        self.apis[index] = Api {
            record: record.clone(),
        };
        Ok(record)
    }

    /// Deletes the API and, as the Management API does, the grants for it.
    pub(crate) fn delete_resource_server(&mut self, id: &str) -> Result<(), ApiError> {
        let index = self.system_api_refused(self.api_index(id)?)?;
        let api = self.apis.remove(index);
        self.grants
            .retain(|grant| grant.audience != api.record.identifier);
        Ok(())
    }

    pub(crate) fn create_client(&mut self, new: NewClient) -> Result<Client, ApiError> {
        let client = Client {
            client_id: random::client_id()?,
            client_secret: random::client_secret()?,
            name: check_name(new.name)?,
            app_type: "non_interactive",
            grant_types: ["client_credentials"],
            token_endpoint_auth_method: "client_secret_post",
        };
        self.clients.push(client.clone());
        Ok(client)
    }

    pub(crate) fn create_client_grant(
        &mut self,
        new: NewClientGrant,
    ) -> Result<ClientGrant, ApiError> {
        if !self.clients.iter().any(|c| c.client_id == new.client_id) {
            return Err(ApiError::not_found(
                "inexistent_client",
                format!("No client with client_id {:?}", new.client_id),
            ));
        }
        let api = self.find_by_identifier(&new.audience).ok_or_else(|| {
            ApiError::not_found(
                "inexistent_resource_server",
                format!("No resource server with the identifier {:?}", new.audience),
            )
        })?;
        if let Some(scope) = new.scope.iter().find(|scope| !declares(&api.record, scope)) {
            return Err(ApiError::bad_request(format!(
                "The scope {scope:?} is not declared by the resource server {:?}",
                new.audience
            )));
        }
        if self.grant_for(&new.client_id, &new.audience).is_some() {
            return Err(ApiError::conflict(
                "conflict",
                "A client grant for this client and audience already exists",
            ));
        }
        let grant = ClientGrant {
            id: random::client_grant_id()?,
            client_id: new.client_id,
            audience: new.audience,
            scope: new.scope,
        };
        self.grants.push(grant.clone());
        Ok(grant)
    }

    pub(crate) fn client_grants(&self) -> Vec<ClientGrant> {
        self.grants.clone()
    }

    pub(crate) fn delete_client_grant(&mut self, id: &str) -> Result<(), ApiError> {
        let index = self
            .grants
            .iter()
            .position(|grant| grant.id == id)
            .ok_or_else(|| {
                ApiError::not_found(
                    "inexistent_client_grant",
                    format!("No client grant with id {id:?}"),
                )
            })?;
        self.grants.remove(index);
        Ok(())
    }

    /// The client-credentials grant: checks the client, its grant for `audience` and the
    /// requested scopes (all granted ones when `scope` is `None` or empty).
    ///
    /// The token is DPoP-bound (`cnf.jkt`, RFC 9449 §6.1) when the API has a
    /// `proof_of_possession` and the request a valid proof; an API that requires it refuses
    /// a request without one. As on Auth0, an API without `proof_of_possession` gets Bearer
    /// tokens whatever the request sends, so its proof is not looked at.
    ///
    /// For an API whose `proof_of_possession` is `mtls`, the token is certificate-bound
    /// (`cnf["x5t#S256"]`, RFC 8705 §3.1) to the request's client `certificate`; an API that
    /// requires it refuses a request without one. Its `token_type` stays `Bearer` (§3).
    ///
    /// The token's `iss` is `issuer`: the tenant's own, or its custom domain's, which signs
    /// with the same keys (as on Auth0).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issue_token(
        &self,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        audience: &str,
        scope: Option<&str>,
        proofs: Proofs<'_>,
        step_up: &StepUpClaims,
    ) -> Result<IssuedToken, TokenRefusal> {
        let Proofs { dpop, certificate } = proofs;
        let client = self
            .clients
            .iter()
            .find(|client| client.client_id == client_id)
            .filter(|client| same_secret(&client.client_secret, client_secret))
            .ok_or(TokenRefusal::BadClient)?;
        let api = self
            .find_by_identifier(audience)
            .ok_or_else(|| TokenRefusal::UnknownAudience(audience.to_owned()))?;
        let grant = self
            .grant_for(&client.client_id, audience)
            .ok_or_else(|| TokenRefusal::NoGrant(audience.to_owned()))?;
        // A scope the API stopped declaring after the grant was made is no longer granted.
        let granted: Vec<&str> = grant
            .scope
            .iter()
            .map(String::as_str)
            .filter(|scope| declares(&api.record, scope))
            .collect();
        let scopes: Vec<&str> = match scope.map(str::split_ascii_whitespace) {
            Some(requested) => {
                let mut unique: Vec<&str> = Vec::new();
                for scope in requested {
                    if !unique.contains(&scope) {
                        unique.push(scope);
                    }
                }
                let requested = unique;
                if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
                    return Err(TokenRefusal::ScopeNotGranted((*extra).to_owned()));
                }
                if requested.is_empty() {
                    granted
                } else {
                    requested
                }
            }
            None => granted,
        };
        let pop = api.record.proof_of_possession;
        let mtls = pop.filter(|pop| pop.mechanism == "mtls");
        let certificate = match (mtls, certificate) {
            (None, _) => None,
            (Some(_), Some(certificate)) => Some(certificate),
            (Some(pop), None) if pop.required => {
                return Err(TokenRefusal::ClientCertificateRequired);
            }
            (Some(_), None) => None,
        };
        let jkt = match (pop.filter(|pop| pop.mechanism == "dpop"), dpop) {
            (None, _) => None,
            (Some(_), Some(Ok(jkt))) => Some(jkt),
            (Some(_), Some(Err(err))) => return Err(TokenRefusal::InvalidDpopProof(err)),
            (Some(pop), None) if pop.required => return Err(TokenRefusal::DpopProofRequired),
            (Some(_), None) => None,
        };
        let tokens = self
            .issuer_named(&api.record, issuer)
            .map_err(|_| TokenRefusal::ServerError)?;
        // The issuer shapes the token as the API's dialect says: the scopes in `permissions`
        // too under the `_authz` ones, RFC 9068's `typ`, `client_id` and `jti` under theirs.
        let mut token = tokens
            .client_token(&client.client_id)
            .scopes(scopes.iter().copied());
        if tokens.token_dialect().is_rfc9068() {
            let jti = random::jti().map_err(|_| TokenRefusal::ServerError)?;
            token = token.jti(jti);
        }
        if let Some(jkt) = jkt {
            token = token.claim("cnf", json!({ "jkt": jkt }));
        }
        if let Some(certificate) = certificate {
            token = token.bound_to_certificate(certificate);
        }
        if let Some(acr) = &step_up.acr {
            token = token.acr(acr.as_str());
        }
        if let Some(auth_time) = step_up.auth_time {
            token =
                token.auth_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(auth_time));
        }
        let mut access_token = token.sign().map_err(|_| TokenRefusal::ServerError)?;
        // An API with `token_encryption` gets the signed token encrypted to its key.
        if let Some(encryption) = &api.record.token_encryption {
            access_token = encryption
                .key()
                .and_then(|key| key.encrypt(&access_token))
                .map_err(|_| TokenRefusal::ServerError)?;
        }
        Ok(IssuedToken {
            access_token,
            expires_in: tokens.lifetime().as_secs(),
            scope: scopes.join(" "),
            dpop_bound: jkt.is_some(),
        })
    }

    fn api_index(&self, id: &str) -> Result<usize, ApiError> {
        self.apis
            .iter()
            .position(|api| api.record.id == id)
            .ok_or_else(|| {
                ApiError::not_found(
                    "inexistent_resource_server",
                    format!("No resource server with id {id:?}"),
                )
            })
    }

    fn system_api_refused(&self, index: usize) -> Result<usize, ApiError> {
        if self.apis[index].record.is_system {
            return Err(ApiError::forbidden(
                "operation_not_supported",
                "The Management API is a system API: it cannot be changed or deleted",
            ));
        }
        Ok(index)
    }

    fn find_by_identifier(&self, identifier: &str) -> Option<&Api> {
        self.apis
            .iter()
            .find(|api| api.record.identifier == identifier)
    }

    fn grant_for(&self, client_id: &str, audience: &str) -> Option<&ClientGrant> {
        self.grants
            .iter()
            .find(|grant| grant.client_id == client_id && grant.audience == audience)
    }

    /// The record's token issuer: HS256 with its secret, RS256, RS512 and PS256 with the tenant's
    /// current key. bearer-guard's checks of the record (an absolute-URI identifier among
    /// them) become 400s.
    fn issuer_for(&self, record: &ResourceServerRecord) -> Result<TokenIssuer, ApiError> {
        self.issuer_named(record, &self.issuer)
    }

    /// [`Tenant::issuer_for`], its tokens' `iss` being `issuer`.
    fn issuer_named(
        &self,
        record: &ResourceServerRecord,
        issuer: &str,
    ) -> Result<TokenIssuer, ApiError> {
        let json =
            serde_json::to_string(record).map_err(|err| ApiError::internal(err.to_string()))?;
        let api = ResourceServer::from_json(&json)
            .map_err(|err| ApiError::bad_request(err.to_string()))?;
        let refused = |err: ConfigError| match err {
            ConfigError::EmptyIdentifier | ConfigError::IdentifierNotAbsoluteUri { .. } => {
                ApiError::bad_request(format!(
                    "identifier must be an absolute URI, such as https://my-api.example.com/ (got {:?})",
                    record.identifier
                ))
            }
            other => ApiError::bad_request(other.to_string()),
        };
        let alg = Algorithm::from_name(&record.signing_alg).filter(|alg| alg.is_asymmetric());
        let Some(alg) = alg else {
            return TokenIssuer::new(&api, issuer).map_err(refused);
        };
        let key = self
            .keys
            .current_for(alg)
            .ok_or_else(|| ApiError::internal(format!("the tenant has no key for {alg}")))?;
        TokenIssuer::with_signing_key(&api, issuer, key).map_err(|err| match err {
            SigningKeyError::ResourceServer(err) => refused(err),
            other => ApiError::internal(other.to_string()),
        })
    }
}

fn declares(record: &ResourceServerRecord, scope: &str) -> bool {
    record.scopes.iter().any(|declared| declared.value == scope)
}

/// Names are shown in dashboards: not empty, and (as the Management API says) no `<` or `>`.
fn check_name(name: String) -> Result<String, ApiError> {
    if name.trim().is_empty() || name.contains(['<', '>']) {
        return Err(ApiError::bad_request(
            "name must not be empty and cannot contain < or > characters",
        ));
    }
    Ok(name)
}

/// Scope values must be RFC 6749 scope tokens (printable ASCII but space, `"` and `\`), once each.
fn check_scopes(scopes: Vec<Scope>) -> Result<Vec<Scope>, ApiError> {
    for (index, scope) in scopes.iter().enumerate() {
        let token = !scope.value.is_empty()
            && scope
                .value
                .bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if !token {
            return Err(ApiError::bad_request(format!(
                "scope {:?} is not a valid scope token (RFC 6749 §3.3: no spaces, quotes or backslashes)",
                scope.value
            )));
        }
        if scopes[..index].iter().any(|s| s.value == scope.value) {
            return Err(ApiError::bad_request(format!(
                "scope {:?} is declared twice",
                scope.value
            )));
        }
    }
    Ok(scopes)
}

/// `proof_of_possession`: `{"mechanism": "dpop" | "mtls", "required": true|false}`, both
/// members required as in Auth0's schema; `null` is none.
fn check_proof_of_possession(value: Option<Value>) -> Result<Option<ProofOfPossession>, ApiError> {
    const SHAPE: &str = r#"{"mechanism": "dpop" | "mtls", "required": true|false}"#;
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let Some(members) = value.as_object() else {
        return Err(ApiError::bad_request(format!(
            "proof_of_possession must be an object: {SHAPE}"
        )));
    };
    if let Some(unknown) = members
        .keys()
        .find(|member| !matches!(member.as_str(), "mechanism" | "required"))
    {
        return Err(ApiError::bad_request(format!(
            "proof_of_possession has no member {unknown:?}: it is {SHAPE}"
        )));
    }
    let mechanism = match members.get("mechanism").and_then(Value::as_str) {
        Some("dpop") => "dpop",
        Some("mtls") => "mtls",
        _ => {
            return Err(ApiError::bad_request(format!(
                "proof_of_possession.mechanism must be \"dpop\" or \"mtls\": {SHAPE}"
            )));
        }
    };
    let Some(required) = members.get("required").and_then(Value::as_bool) else {
        return Err(ApiError::bad_request(format!(
            "proof_of_possession.required must be true or false: {SHAPE}"
        )));
    };
    Ok(Some(ProofOfPossession {
        mechanism,
        required,
    }))
}

impl TokenEncryption {
    /// The key the API's tokens are encrypted to, with the registration's `alg` and `kid`.
    fn key(&self) -> Result<TokenEncryptionKey, bearer_guard::jwks::JweKeyError> {
        let key = &self.encryption_key;
        TokenEncryptionKey::from_pem(&key.pem, key.kid.as_deref())?.with_alg(&key.alg)
    }
}

/// `token_encryption`: `{"format": "compact-nested-jwe", "encryption_key": {"name"?, "alg",
/// "kid"?, "pem"}}` as in Auth0's schema, `alg` RSA-OAEP-256, -384 or -512, `pem` an RSA
/// public key of 2048 to 8192 bits as a `PUBLIC KEY` or `CERTIFICATE` PEM block; `null` is
/// none.
fn check_token_encryption(value: Option<Value>) -> Result<Option<TokenEncryption>, ApiError> {
    const SHAPE: &str =
        r#"{"format": "compact-nested-jwe", "encryption_key": {"name", "alg", "kid", "pem"}}"#;
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let encryption: TokenEncryption = serde_json::from_value(value)
        .map_err(|err| ApiError::bad_request(format!("token_encryption must be {SHAPE}: {err}")))?;
    if encryption.format != "compact-nested-jwe" {
        return Err(ApiError::bad_request(format!(
            "token_encryption.format must be \"compact-nested-jwe\", not {:?}",
            encryption.format
        )));
    }
    let key = &encryption.encryption_key;
    const ALGS: [&str; 3] = ["RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512"];
    if !ALGS.contains(&key.alg.as_str()) {
        return Err(ApiError::bad_request(format!(
            "token_encryption.encryption_key.alg must be one of {}, not {:?}",
            ALGS.join(", "),
            key.alg
        )));
    }
    for (member, text) in [("name", &key.name), ("kid", &key.kid)] {
        if text
            .as_ref()
            .is_some_and(|text| text.is_empty() || text.len() > 128)
        {
            return Err(ApiError::bad_request(format!(
                "token_encryption.encryption_key.{member} must have 1 to 128 characters"
            )));
        }
    }
    if key.pem.is_empty() || key.pem.len() > 4096 {
        return Err(ApiError::bad_request(
            "token_encryption.encryption_key.pem must have 1 to 4096 characters",
        ));
    }
    encryption.key().map_err(|err| {
        ApiError::bad_request(format!("token_encryption.encryption_key.pem: {err}"))
    })?;
    Ok(Some(encryption))
}

/// `token_dialect`: one of Auth0's four, `access_token` when absent.
fn check_token_dialect(dialect: Option<&str>) -> Result<String, ApiError> {
    let Some(name) = dialect else {
        return Ok(TokenDialect::default().name().to_owned());
    };
    TokenDialect::from_name(name)
        .map(|dialect| dialect.name().to_owned())
        .ok_or_else(|| {
            let names: Vec<&str> = TokenDialect::ALL.iter().map(|d| d.name()).collect();
            ApiError::bad_request(format!(
                "token_dialect must be one of {}, not {name:?}",
                names.join(", ")
            ))
        })
}

fn check_token_lifetime(lifetime: Option<u64>) -> Result<u64, ApiError> {
    match lifetime {
        None => Ok(DEFAULT_TOKEN_LIFETIME),
        Some(seconds @ 1..=MAX_TOKEN_LIFETIME) => Ok(seconds),
        Some(seconds) => Err(ApiError::bad_request(format!(
            "token_lifetime must be between 1 and {MAX_TOKEN_LIFETIME} seconds, not {seconds}"
        ))),
    }
}

/// Compares secrets without an early exit on the first differing byte.
fn same_secret(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}
