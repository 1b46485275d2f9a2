//! The services and errors as a tower or axum user handles them: the wrapped service is
//! reachable, rejections compose with `?` and logging, a validator works without a layer.

use std::convert::Infallible;

use crate::common::{AUDIENCE, SECRET, claims, token};
use bearer_guard::{BearerGuardLayer, Rejection, RejectionKind, ResourceServer, TokenErrorKind};
use http::{Request, Response};
use serde_json::json;
use tower::{Layer as _, service_fn};

type Handler = fn(Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>>;

fn ok(_: Request<()>) -> std::future::Ready<Result<Response<String>, Infallible>> {
    std::future::ready(Ok(Response::new("ok".to_owned())))
}

fn layer() -> BearerGuardLayer {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "");
    BearerGuardLayer::builder(api).build().unwrap()
}

#[test]
fn each_service_gives_access_to_the_one_it_wraps() {
    let layer = layer();
    let mut guard = layer.layer(service_fn(ok as Handler));
    let _: &_ = guard.get_ref();
    let _: &mut _ = guard.get_mut();
    let _inner = guard.into_inner();

    let mut scoped = layer
        .require_all(["read:messages"])
        .unwrap()
        .layer(service_fn(ok as Handler));
    let _: &_ = scoped.get_ref();
    let _: &mut _ = scoped.get_mut();
    let _inner = scoped.into_inner();
}

#[test]
fn a_rejection_is_an_error_that_says_what_went_wrong() {
    fn check() -> Result<(), Box<dyn std::error::Error>> {
        Err(Rejection::new(
            RejectionKind::InvalidToken(TokenErrorKind::Expired),
            AUDIENCE,
        ))?;
        Ok(())
    }
    let err = check().unwrap_err();
    assert_eq!(err.to_string(), "The access token expired");
    assert!(err.downcast_ref::<Rejection>().is_some());
}

#[test]
fn a_validator_needs_no_layer() {
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let validator = BearerGuardLayer::builder(api).build_validator().unwrap();
    let verified = validator
        .validate(&token(&claims("read:messages", json!({}))))
        .unwrap();
    assert_eq!(verified.subject(), Some("client-1@clients"));
    assert_eq!(
        validator.validate("a.b.c").unwrap_err().kind(),
        TokenErrorKind::Malformed
    );
}

#[test]
fn config_errors_print_their_message_from_main() {
    // `main() -> Result<(), Box<dyn Error>>` prints the error with `Debug`.
    let api = ResourceServer::new(AUDIENCE, "ten bytes!");
    let err: Box<dyn std::error::Error> =
        BearerGuardLayer::builder(api).build().unwrap_err().into();
    let printed = format!("{err:?}");
    assert!(
        printed.starts_with("the signing secret has 10 bytes"),
        "{printed}"
    );
    assert!(!printed.contains("ten bytes!"), "{printed}");
}
