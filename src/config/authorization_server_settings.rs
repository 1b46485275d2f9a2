//! The fields of a registration that tell the authorization server how to issue tokens for
//! the API, and which the resource server reads but leaves to it.

use serde::Deserialize;

/// The registration's fields that steer the authorization server, as the Management API
/// returns them (`GET /api/v2/resource-servers/{id}`): parsed so that a saved registration
/// loads whole, readable here, and otherwise left to the authorization server, which applies
/// them when it issues tokens. Each is `None` when the registration leaves it out (or, where
/// Auth0's schema allows it, sends `null`).
///
/// Every field of Auth0's answer and what bearer-guard does with it:
///
/// | field | what bearer-guard does |
/// |---|---|
/// | `id`, `name` | read ([`ResourceServer::id`], [`ResourceServer::name`]); `name` goes into the RFC 9728 metadata |
/// | `identifier` | the audience every token must carry, and the default realm |
/// | `scopes` | what scope requirements are checked against at startup |
/// | `signing_alg`, `signing_secret` | the one algorithm accepted, and the HMAC key |
/// | `token_lifetime` | a token whose `exp` is further than that (plus leeway) from now is refused |
/// | `token_dialect` | where scopes are read from, and whether RFC 9068's profile applies |
/// | `proof_of_possession` | DPoP (RFC 9449) taken or required ([`ResourceServer::dpop_mode`]) |
/// | `is_system` | `true` (an Auth0 API such as the Management API, not yours) is refused at build: [`ConfigError::SystemApi`](crate::ConfigError::SystemApi) |
/// | `token_lifetime_for_web` | read only: the lifetime of tokens from the implicit and hybrid flows, at most `token_lifetime`, which already bounds every token (a token does not say which flow made it) |
/// | `enforce_policies` | read only: RBAC at the authorization server, which then grants only assigned permissions; what a token holds is read as `token_dialect` says |
/// | `allow_offline_access` | read only: whether refresh tokens are issued; an access token from a refresh is checked like any other |
/// | `skip_consent_for_verifiable_first_party_clients`, `consent_policy` | read only: consent is asked of users by the authorization server, before a token exists |
/// | `authorization_details` | read only: the Rich Authorization Request (RFC 9396) types the authorization server accepts; a token's own `authorization_details` claim is yours to read ([`VerifiedToken::claims`](crate::VerifiedToken::claims)) |
/// | `subject_type_authorization` | read only: which flows (user, client) may get tokens at all; the authorization server refuses the others before issuing |
/// | `client_id` | read only: the client the resource server is linked to |
/// | `token_encryption`, `allow_online_access`, `authorization_policy`, fields to come | ignored unless another part of bearer-guard reads them: unknown fields never stop a registration from loading |
///
/// [`ResourceServer::id`]: crate::ResourceServer::id
/// [`ResourceServer::name`]: crate::ResourceServer::name
/// [`ResourceServer::dpop_mode`]: crate::ResourceServer::dpop_mode
///
/// # Example
///
/// ```
/// use bearer_guard::ResourceServer;
///
/// let api = ResourceServer::from_json(r#"{
///     "identifier": "https://my-api-urn", "signing_alg": "RS256",
///     "token_lifetime": 86400, "token_lifetime_for_web": 7200,
///     "enforce_policies": true, "allow_offline_access": false,
///     "skip_consent_for_verifiable_first_party_clients": true,
///     "consent_policy": "transactional-authorization-with-mfa",
///     "authorization_details": [{"type": "payment_initiation"}],
///     "subject_type_authorization": {"user": {"policy": "allow_all"}, "client": {"policy": "deny_all"}},
///     "client_id": "pzSvENtoTn0D5qZqS1Wy3BOY2HoZCmZy", "is_system": false
/// }"#)?;
/// let settings = api.authorization_server_settings();
/// assert_eq!(settings.token_lifetime_for_web(), Some(7200));
/// assert_eq!(settings.enforce_policies(), Some(true));
/// assert_eq!(settings.allow_offline_access(), Some(false));
/// assert_eq!(settings.skip_consent_for_verifiable_first_party_clients(), Some(true));
/// assert_eq!(settings.consent_policy(), Some("transactional-authorization-with-mfa"));
/// assert_eq!(settings.authorization_details_types().collect::<Vec<_>>(), ["payment_initiation"]);
/// assert_eq!(settings.user_flows_policy(), Some("allow_all"));
/// assert_eq!(settings.client_flows_policy(), Some("deny_all"));
/// assert_eq!(settings.client_id(), Some("pzSvENtoTn0D5qZqS1Wy3BOY2HoZCmZy"));
/// assert!(!api.is_system());
/// # Ok::<(), bearer_guard::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizationServerSettings {
    #[serde(default)]
    enforce_policies: Option<bool>,
    #[serde(default)]
    token_lifetime_for_web: Option<u64>,
    #[serde(default)]
    allow_offline_access: Option<bool>,
    #[serde(default)]
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
    /// A string or `null`: Auth0 names `transactional-authorization-with-mfa`, and its RAR
    /// guide `standard`; any string is kept.
    #[serde(default)]
    consent_policy: Option<String>,
    /// An array of `{type, …}` or `null`.
    #[serde(default)]
    authorization_details: Option<Vec<AuthorizationDetailType>>,
    #[serde(default)]
    subject_type_authorization: Option<SubjectTypeAuthorization>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    pub(crate) is_system: Option<bool>,
}

/// One of `authorization_details`: a Rich Authorization Request type (RFC 9396 §2), with
/// whatever else the entry holds ignored.
#[derive(Clone, Debug, Deserialize)]
struct AuthorizationDetailType {
    #[serde(rename = "type")]
    kind: String,
}

/// `subject_type_authorization`: `{"user": {"policy": …}, "client": {"policy": …}}`, each part
/// and each policy optional (Auth0's schema lets each part hold more).
#[derive(Clone, Debug, Default, Deserialize)]
struct SubjectTypeAuthorization {
    #[serde(default)]
    user: Option<FlowPolicy>,
    #[serde(default)]
    client: Option<FlowPolicy>,
}

/// `{"policy": "allow_all" | "deny_all" | "require_client_grant"}`; any string is kept.
#[derive(Clone, Debug, Default, Deserialize)]
struct FlowPolicy {
    #[serde(default)]
    policy: Option<String>,
}

impl AuthorizationServerSettings {
    /// `enforce_policies`: whether the authorization server applies RBAC to the API.
    #[must_use]
    pub fn enforce_policies(&self) -> Option<bool> {
        self.enforce_policies
    }

    /// `token_lifetime_for_web`: the lifetime, in seconds, of tokens issued by the implicit
    /// and hybrid flows (at most `token_lifetime`).
    #[must_use]
    pub fn token_lifetime_for_web(&self) -> Option<u64> {
        self.token_lifetime_for_web
    }

    /// `allow_offline_access`: whether refresh tokens are issued for the API.
    #[must_use]
    pub fn allow_offline_access(&self) -> Option<bool> {
        self.allow_offline_access
    }

    /// `skip_consent_for_verifiable_first_party_clients`: whether first-party clients skip
    /// the user's consent.
    #[must_use]
    pub fn skip_consent_for_verifiable_first_party_clients(&self) -> Option<bool> {
        self.skip_consent_for_verifiable_first_party_clients
    }

    /// `consent_policy`, such as `transactional-authorization-with-mfa`.
    #[must_use]
    pub fn consent_policy(&self) -> Option<&str> {
        self.consent_policy.as_deref()
    }

    /// The `type` of each `authorization_details` entry: the Rich Authorization Request types
    /// the authorization server accepts for the API.
    pub fn authorization_details_types(&self) -> impl Iterator<Item = &str> {
        self.authorization_details
            .iter()
            .flatten()
            .map(|detail| detail.kind.as_str())
    }

    /// `subject_type_authorization.user.policy`: who may get tokens for the API through user
    /// flows (`allow_all`, `deny_all`, `require_client_grant`).
    #[must_use]
    pub fn user_flows_policy(&self) -> Option<&str> {
        let flows = self.subject_type_authorization.as_ref()?;
        flows.user.as_ref()?.policy.as_deref()
    }

    /// `subject_type_authorization.client.policy`: who may get tokens for the API through the
    /// client-credentials flow (`deny_all`, `require_client_grant`).
    #[must_use]
    pub fn client_flows_policy(&self) -> Option<&str> {
        let flows = self.subject_type_authorization.as_ref()?;
        flows.client.as_ref()?.policy.as_deref()
    }

    /// `client_id`: the client the resource server is linked to.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> serde_json::Result<AuthorizationServerSettings> {
        serde_json::from_str(json)
    }

    #[test]
    fn every_field_may_be_missing_and_the_nullable_ones_null() {
        let empty = parse("{}").unwrap();
        assert_eq!(empty.consent_policy(), None);
        assert_eq!(empty.authorization_details_types().count(), 0);
        assert_eq!(empty.user_flows_policy(), None);
        let nulls = parse(
            r#"{"consent_policy": null, "authorization_details": null, "subject_type_authorization": {"user": {}, "client": {}}}"#,
        )
        .unwrap();
        assert_eq!(nulls.consent_policy(), None);
        assert_eq!(nulls.authorization_details_types().count(), 0);
        assert_eq!(nulls.client_flows_policy(), None);
    }

    #[test]
    fn entries_keep_parsing_with_members_to_come() {
        let settings = parse(
            r#"{"authorization_details": [{"type": "payment", "schema": {}}, {"type": "non-payment"}],
                "subject_type_authorization": {"user": {"policy": "require_client_grant", "later": 1}}}"#,
        )
        .unwrap();
        assert_eq!(
            settings.authorization_details_types().collect::<Vec<_>>(),
            ["payment", "non-payment"]
        );
        assert_eq!(settings.user_flows_policy(), Some("require_client_grant"));
    }

    #[test]
    fn a_field_of_another_type_fails() {
        for json in [
            r#"{"enforce_policies": "yes"}"#,
            r#"{"token_lifetime_for_web": -1}"#,
            r#"{"authorization_details": [{"kind": "payment"}]}"#,
            r#"{"subject_type_authorization": {"user": {"policy": 1}}}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }
}
