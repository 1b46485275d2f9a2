//! The Management API's endpoints for resource servers, clients, client grants and signing
//! keys, each behind the scope a real tenant asks for.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::handler::Handler as _;
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use bearer_guard::{BearerGuardLayer, ConfigError};

use super::api_error::{ApiError, ApiJson};
use super::signing_keys::{KeyChange, SigningKeyRecord};
use super::tenant::{
    Client, ClientGrant, NewClient, NewClientGrant, NewResourceServer, ResourceServerChanges,
    ResourceServerRecord, Tenant,
};

/// The tenant, shared by the handlers. No lock is held across an `.await`.
pub(crate) type SharedTenant = Arc<Mutex<Tenant>>;

/// The scopes of the management API, one per kind of operation.
pub(crate) const MANAGEMENT_SCOPES: [&str; 11] = [
    "create:resource_server",
    "read:resource_servers",
    "update:resource_server",
    "delete:resource_server",
    "create:client",
    "create:client_grant",
    "read:client_grants",
    "delete:client_grant",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
];

/// The `/api/v2` routes, each requiring its scope, all behind `guard`.
pub(crate) fn router(guard: BearerGuardLayer) -> Result<Router<SharedTenant>, ConfigError> {
    let scope = |scope: &str| guard.require_all([scope]);
    Ok(Router::new()
        .route(
            "/api/v2/resource-servers",
            post(create_resource_server.layer(scope("create:resource_server")?))
                .get(list_resource_servers.layer(scope("read:resource_servers")?)),
        )
        .route(
            "/api/v2/resource-servers/{id}",
            get(get_resource_server.layer(scope("read:resource_servers")?))
                .patch(update_resource_server.layer(scope("update:resource_server")?))
                .delete(delete_resource_server.layer(scope("delete:resource_server")?)),
        )
        .route(
            "/api/v2/clients",
            post(create_client.layer(scope("create:client")?)),
        )
        .route(
            "/api/v2/client-grants",
            post(create_client_grant.layer(scope("create:client_grant")?))
                .get(list_client_grants.layer(scope("read:client_grants")?)),
        )
        .route(
            "/api/v2/client-grants/{id}",
            delete(delete_client_grant.layer(scope("delete:client_grant")?)),
        )
        .route(
            "/api/v2/keys/signing",
            get(list_signing_keys.layer(scope("read:signing_keys")?)),
        )
        .route(
            "/api/v2/keys/signing/{kid}",
            get(get_signing_key.layer(scope("read:signing_keys")?)),
        )
        .route(
            "/api/v2/keys/signing/rotate",
            post(rotate_signing_key.layer(scope("create:signing_keys")?)),
        )
        .route(
            "/api/v2/keys/signing/{kid}/revoke",
            put(revoke_signing_key.layer(scope("update:signing_keys")?)),
        )
        .layer(guard))
}

/// The tenant, even if a handler panicked while holding it: every change to it is made by
/// one assignment or push after all checks, so it is never left half-changed.
pub(crate) fn lock(tenant: &SharedTenant) -> MutexGuard<'_, Tenant> {
    tenant.lock().unwrap_or_else(PoisonError::into_inner)
}

type Created<T> = Result<(StatusCode, Json<T>), ApiError>;

async fn create_resource_server(
    State(tenant): State<SharedTenant>,
    ApiJson(new): ApiJson<NewResourceServer>,
) -> Created<ResourceServerRecord> {
    let record = lock(&tenant).create_resource_server(new)?;
    Ok((StatusCode::CREATED, Json(record)))
}

async fn list_resource_servers(
    State(tenant): State<SharedTenant>,
) -> Json<Vec<ResourceServerRecord>> {
    Json(lock(&tenant).resource_servers())
}

async fn get_resource_server(
    State(tenant): State<SharedTenant>,
    Path(id): Path<String>,
) -> Result<Json<ResourceServerRecord>, ApiError> {
    lock(&tenant).resource_server(&id).map(Json)
}

async fn update_resource_server(
    State(tenant): State<SharedTenant>,
    Path(id): Path<String>,
    ApiJson(changes): ApiJson<ResourceServerChanges>,
) -> Result<Json<ResourceServerRecord>, ApiError> {
    lock(&tenant).update_resource_server(&id, changes).map(Json)
}

async fn delete_resource_server(
    State(tenant): State<SharedTenant>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    lock(&tenant).delete_resource_server(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_client(
    State(tenant): State<SharedTenant>,
    ApiJson(new): ApiJson<NewClient>,
) -> Created<Client> {
    let client = lock(&tenant).create_client(new)?;
    Ok((StatusCode::CREATED, Json(client)))
}

async fn create_client_grant(
    State(tenant): State<SharedTenant>,
    ApiJson(new): ApiJson<NewClientGrant>,
) -> Created<ClientGrant> {
    let grant = lock(&tenant).create_client_grant(new)?;
    Ok((StatusCode::CREATED, Json(grant)))
}

async fn list_client_grants(State(tenant): State<SharedTenant>) -> Json<Vec<ClientGrant>> {
    Json(lock(&tenant).client_grants())
}

async fn delete_client_grant(
    State(tenant): State<SharedTenant>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    lock(&tenant).delete_client_grant(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_signing_keys(State(tenant): State<SharedTenant>) -> Json<Vec<SigningKeyRecord>> {
    Json(lock(&tenant).keys().list())
}

async fn get_signing_key(
    State(tenant): State<SharedTenant>,
    Path(kid): Path<String>,
) -> Result<Json<SigningKeyRecord>, ApiError> {
    lock(&tenant).keys().get(&kid).map(Json)
}

/// 201 with the new next key, as Auth0 answers. Generating an RSA key takes a moment; the
/// tenant stays locked meanwhile, which a local server can afford.
async fn rotate_signing_key(State(tenant): State<SharedTenant>) -> Created<KeyChange> {
    let change = lock(&tenant).keys_mut().rotate()?;
    Ok((StatusCode::CREATED, Json(change)))
}

async fn revoke_signing_key(
    State(tenant): State<SharedTenant>,
    Path(kid): Path<String>,
) -> Result<Json<KeyChange>, ApiError> {
    lock(&tenant).keys_mut().revoke(&kid).map(Json)
}
