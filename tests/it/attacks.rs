//! Black-box attack corpus: hostile tokens and `Authorization` headers, each with the exact
//! answer expected (status, `error` code, and the typed reason in the response extensions).

use std::net::TcpListener;

use crate::common::*;
use axum::body::Body;
use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearer_guard::answer::RequestErrorKind;
use bearer_guard::cache::TokenCacheSettings;
use bearer_guard::{
    BearerGuardLayer, Claims, RejectionKind, ResourceServer, TokenErrorKind, VerifiedToken,
};
use http::{HeaderValue, Request, header};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

/// What a request must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200 from the handler.
    Pass,
    /// 401 with no `error`.
    NoCredentials,
    /// 400 `invalid_request`.
    Request(RequestErrorKind),
    /// 401 `invalid_token`.
    Token(TokenErrorKind),
}

use Expect::{NoCredentials, Pass, Request as Bad, Token};
use TokenErrorKind as T;

fn app(cache: TokenCacheSettings) -> Router {
    let api = ResourceServer::new(AUDIENCE, SECRET).with_scope("read:messages", "Read messages");
    let guard = BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .token_cache(cache)
        .build()
        .unwrap();
    Router::new()
        .route("/private", get(|| async { "ok" }))
        .layer(guard)
}

async fn check(app: &Router, name: &str, authorization: &[u8], expect: Expect) {
    let request = Request::get("/private")
        .header(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(authorization).unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let answer = send(app, request).await;
    let rejection = answer.kind();
    let (status, error, kind) = match expect {
        Pass => (200, None, None),
        NoCredentials => (401, None, Some(RejectionKind::MissingCredentials)),
        Bad(kind) => (
            400,
            Some("invalid_request"),
            Some(RejectionKind::InvalidRequest(kind)),
        ),
        Token(kind) => (
            401,
            Some("invalid_token"),
            Some(RejectionKind::InvalidToken(kind)),
        ),
    };
    assert_eq!(
        (answer.status, rejection),
        (status, kind),
        "{name}: {answer:?}"
    );
    let challenge_error = answer
        .challenge
        .as_deref()
        .and_then(|c| c.split("error=\"").nth(1))
        .and_then(|rest| rest.split('"').next());
    assert_eq!(challenge_error, error, "{name}: {:?}", answer.challenge);
    if let Some(error) = error {
        assert_eq!(answer.json()["error"], error, "{name}");
    }
}

/// Each case through a guard without the verified-token cache, then twice through one with
/// it (a token that passes is a hit the second time): every answer as expected.
async fn check_all(cases: &[(&str, Vec<u8>, Expect)]) {
    let uncached = app(TokenCacheSettings::disabled());
    let cached = app(TokenCacheSettings::default());
    for (name, authorization, expect) in cases {
        check(&uncached, name, authorization, *expect).await;
        check(&cached, &format!("{name} (miss)"), authorization, *expect).await;
        check(&cached, &format!("{name} (hit)"), authorization, *expect).await;
    }
}

fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

fn good_claims() -> Value {
    claims("read:messages", json!({}))
}

fn good_payload() -> String {
    good_claims().to_string()
}

/// A token with these header and payload texts, signed HS256 with the right secret.
fn signed(header: &str, payload: &str) -> String {
    raw_token(header, payload, Algorithm::HS256)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn baseline_token_passes() {
    check_all(&[(
        "baseline",
        bearer(&signed(r#"{"alg":"HS256","typ":"JWT"}"#, &good_payload())),
        Pass,
    )])
    .await;
}

#[tokio::test]
async fn alg_none_in_every_spelling_fails() {
    let mut cases = Vec::new();
    for alg in [
        "none",
        "None",
        "NONE",
        "nOnE",
        "NoNe",
        "none ",
        " none",
        "none\u{0}",
    ] {
        let header = json!({ "alg": alg, "typ": "JWT" }).to_string();
        let unsigned = format!(
            "{}.{}.",
            b64(header.as_bytes()),
            b64(good_payload().as_bytes())
        );
        cases.push((alg, bearer(&unsigned), Token(T::UnsupportedAlgorithm)));
        // The same with an HMAC over it, in case a verifier checks the tag but not the alg.
        cases.push((
            alg,
            bearer(&signed(&header, &good_payload())),
            Token(T::UnsupportedAlgorithm),
        ));
    }
    check_all(&cases).await;
}

#[tokio::test]
async fn other_hmac_algorithms_fail_even_with_the_right_secret() {
    let mut cases = Vec::new();
    for (name, alg) in [("HS384", Algorithm::HS384), ("HS512", Algorithm::HS512)] {
        let header = json!({ "alg": name, "typ": "JWT" }).to_string();
        let token = raw_token(&header, &good_payload(), alg);
        cases.push((name, bearer(&token), Token(T::UnsupportedAlgorithm)));
    }
    check_all(&cases).await;
}

#[tokio::test]
async fn asymmetric_algorithm_headers_fail_key_confusion() {
    let mut cases = Vec::new();
    // Signed with the HMAC secret (as a confused verifier would check it) under another alg.
    for alg in [
        "RS256",
        "ES256",
        "PS256",
        "EdDSA",
        "RS512",
        "HS256 ",
        "hs256",
        "HS256\u{0}",
    ] {
        let header = json!({ "alg": alg }).to_string();
        cases.push((
            alg,
            bearer(&signed(&header, &good_payload())),
            Token(T::UnsupportedAlgorithm),
        ));
    }
    cases.push((
        "no alg",
        bearer(&signed(r#"{"typ":"JWT"}"#, &good_payload())),
        Token(T::UnsupportedAlgorithm),
    ));
    for (name, header) in [
        ("alg null", r#"{"alg":null}"#),
        ("alg array", r#"{"alg":["HS256"]}"#),
        ("alg number", r#"{"alg":256}"#),
        ("alg twice", r#"{"alg":"none","alg":"HS256"}"#),
        ("alg twice, same", r#"{"alg":"HS256","alg":"HS256"}"#),
    ] {
        cases.push((
            name,
            bearer(&signed(header, &good_payload())),
            Token(T::Malformed),
        ));
    }
    check_all(&cases).await;
}

#[tokio::test]
async fn key_parameters_in_the_header_never_pick_the_key_nor_fetch_it() {
    // A listener the header points at: any outbound request would knock on it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    let attacker = b"attacker-secret-attacker-secret!";
    let attacker_jwk = json!({ "kty": "oct", "k": b64(attacker) });
    let forged = |header: &Value| {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(good_payload().as_bytes())
        );
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(attacker),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{input}.{signature}")
    };
    let mut cases = Vec::new();
    for (name, header) in [
        ("jku", json!({ "alg": "HS256", "jku": url })),
        ("x5u", json!({ "alg": "HS256", "x5u": url })),
        ("jwk", json!({ "alg": "HS256", "jwk": attacker_jwk })),
        (
            "kid path",
            json!({ "alg": "HS256", "kid": "../../../../dev/null" }),
        ),
        (
            "kid sql",
            json!({ "alg": "HS256", "kid": "x' UNION SELECT 'attacker-secret" }),
        ),
        ("kid url", json!({ "alg": "HS256", "kid": url })),
        ("x5c", json!({ "alg": "HS256", "x5c": ["MIIB"] })),
    ] {
        // Signed with the attacker's key: refused.
        cases.push((name, bearer(&forged(&header)), Token(T::InvalidSignature)));
        // Signed with the real secret: the extra parameters change nothing.
        cases.push((
            name,
            bearer(&signed(&header.to_string(), &good_payload())),
            Pass,
        ));
    }
    // An empty key (what `kid: /dev/null` reads as elsewhere).
    let header = json!({ "alg": "HS256", "kid": "/dev/null" }).to_string();
    let input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(good_payload().as_bytes())
    );
    let empty_key = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(b""),
        Algorithm::HS256,
    )
    .unwrap();
    cases.push((
        "empty key",
        bearer(&format!("{input}.{empty_key}")),
        Token(T::InvalidSignature),
    ));
    check_all(&cases).await;
    assert!(
        listener
            .accept()
            .is_err_and(|err| err.kind() == std::io::ErrorKind::WouldBlock),
        "the guard made an outbound connection"
    );
}

#[tokio::test]
async fn crit_header_fails_whatever_it_lists() {
    let mut cases = Vec::new();
    for (name, header) in [
        ("crit exp", r#"{"alg":"HS256","crit":["exp"],"exp":1}"#),
        ("crit empty", r#"{"alg":"HS256","crit":[]}"#),
        ("crit b64", r#"{"alg":"HS256","crit":["b64"],"b64":false}"#),
        ("crit string", r#"{"alg":"HS256","crit":"exp"}"#),
        ("crit before alg none", r#"{"crit":["x"],"alg":"none"}"#),
    ] {
        cases.push((
            name,
            bearer(&signed(header, &good_payload())),
            Token(T::CriticalHeader),
        ));
    }
    cases.push((
        "crit twice",
        bearer(&signed(
            r#"{"alg":"HS256","crit":["a"],"crit":["b"]}"#,
            &good_payload(),
        )),
        Token(T::Malformed),
    ));
    check_all(&cases).await;
}

#[tokio::test]
async fn nested_jwt_header_fails_in_any_spelling() {
    // RFC 7519 §7.2 step 8: `cty` JWT means the payload is another JWT, never an access token.
    let mut cases = Vec::new();
    for cty in ["JWT", "jwt", "jWt", "application/JWT", "Application/jwt"] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","cty":"{cty}"}}"#);
        cases.push((
            cty,
            bearer(&signed(&header, &good_payload())),
            Token(T::NestedToken),
        ));
    }
    // Another content type says nothing about nesting; a repeated `cty` is malformed.
    let json_cty = r#"{"alg":"HS256","cty":"json"}"#;
    cases.push(("cty json", bearer(&signed(json_cty, &good_payload())), Pass));
    let twice = r#"{"alg":"HS256","cty":"json","cty":"JWT"}"#;
    cases.push((
        "cty twice",
        bearer(&signed(twice, &good_payload())),
        Token(T::Malformed),
    ));
    check_all(&cases).await;
}

#[tokio::test]
async fn wrong_segment_counts_fail() {
    let token = signed(r#"{"alg":"HS256"}"#, &good_payload());
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    check_all(&[
        ("one segment", bearer(h), Token(T::Malformed)),
        (
            "two segments",
            bearer(&format!("{h}.{p}")),
            Token(T::Malformed),
        ),
        (
            "four segments",
            bearer(&format!("{h}.{p}.{s}.{s}")),
            Token(T::Malformed),
        ),
        (
            "five segments (JWE)",
            bearer(&format!("{h}.{p}.{p}.{p}.{s}")),
            Token(T::Malformed),
        ),
        (
            "empty header",
            bearer(&format!(".{p}.{s}")),
            Token(T::Malformed),
        ),
        (
            "empty payload",
            bearer(&format!("{h}..{s}")),
            Token(T::Malformed),
        ),
        (
            "empty signature",
            bearer(&format!("{h}.{p}.")),
            Token(T::InvalidSignature),
        ),
        ("only dots", bearer(".."), Token(T::Malformed)),
        (
            "trailing dot",
            bearer(&format!("{token}.")),
            Token(T::Malformed),
        ),
    ])
    .await;
}

#[tokio::test]
async fn padding_and_non_base64url_bytes_fail() {
    let token = signed(r#"{"alg":"HS256"}"#, &good_payload());
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let standard = |segment: &str| segment.replace('-', "+").replace('_', "/");
    check_all(&[
        // b64token allows '=' only at the very end.
        (
            "padded header",
            format!("Bearer {h}=.{p}.{s}").into_bytes(),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "padded signature",
            bearer(&format!("{h}.{p}.{s}=")),
            Token(T::InvalidSignature),
        ),
        (
            "padded signature twice",
            bearer(&format!("{h}.{p}.{s}==")),
            Token(T::InvalidSignature),
        ),
        // '+' and '/' are b64token characters but not base64url ones.
        (
            "standard alphabet header",
            bearer(&format!("{}+.{p}.{s}", &h[..h.len() - 1])),
            Token(T::Malformed),
        ),
        (
            // The payload is decoded only once the signature over its text has verified.
            "standard alphabet payload",
            bearer(&format!("{h}.{}/.{s}", &p[..p.len() - 1])),
            Token(T::InvalidSignature),
        ),
        (
            "standard alphabet signature",
            bearer(&format!("{h}.{p}.{}", standard(s))),
            if s == standard(s) {
                Pass
            } else {
                Token(T::InvalidSignature)
            },
        ),
        (
            "tilde",
            bearer(&format!("{h}~.{p}.{s}")),
            Token(T::Malformed),
        ),
        (
            "percent",
            format!("Bearer {h}%41.{p}.{s}").into_bytes(),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "comma",
            format!("Bearer {h},{p}.{s}").into_bytes(),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "quote",
            format!("Bearer \"{token}\"").into_bytes(),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        // Non-canonical last character: same bytes with other trailing bits.
        (
            "non-canonical tail",
            bearer(&format!("{h}.{p}.{}", non_canonical(s))),
            Token(T::InvalidSignature),
        ),
    ])
    .await;
}

/// The same base64url text with different unused trailing bits.
fn non_canonical(segment: &str) -> String {
    let last = segment.chars().last().unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|&c| c == last as u8).unwrap();
    let other = alphabet[index ^ 1] as char;
    format!("{}{other}", &segment[..segment.len() - 1])
}

#[tokio::test]
async fn non_utf8_bytes_fail() {
    let payload = good_payload();
    let raw = |header: &[u8], payload: &[u8]| {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
            Algorithm::HS256,
        )
        .unwrap();
        format!("{input}.{signature}")
    };
    let mut latin1 = payload.clone().into_bytes();
    latin1.extend_from_slice(b"\xe9");
    check_all(&[
        (
            "obs-text in the header value",
            b"Bearer \xe9\xe9.\xff.\xfe".to_vec(),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "non-UTF-8 header JSON",
            bearer(&raw(
                b"{\"alg\":\"HS256\",\"x\":\"\xff\"}",
                payload.as_bytes(),
            )),
            Token(T::Malformed),
        ),
        (
            "non-UTF-8 payload",
            bearer(&raw(br#"{"alg":"HS256"}"#, &latin1)),
            Token(T::Malformed),
        ),
        (
            "lone surrogate escape",
            bearer(&signed(
                r#"{"alg":"HS256"}"#,
                &payload.replacen("read:messages", "read:messages\\ud800", 1),
            )),
            Token(T::Malformed),
        ),
    ])
    .await;
}

#[tokio::test]
async fn json_that_is_not_one_object_fails() {
    let payload = good_payload();
    check_all(&[
        (
            "header array",
            bearer(&signed("[]", &payload)),
            Token(T::Malformed),
        ),
        (
            "header string",
            bearer(&signed(r#""HS256""#, &payload)),
            Token(T::Malformed),
        ),
        (
            "payload array",
            bearer(&signed(r#"{"alg":"HS256"}"#, &format!("[{payload}]"))),
            Token(T::Malformed),
        ),
        (
            "payload null",
            bearer(&signed(r#"{"alg":"HS256"}"#, "null")),
            Token(T::Malformed),
        ),
        (
            "payload number",
            bearer(&signed(r#"{"alg":"HS256"}"#, "4102444800")),
            Token(T::Malformed),
        ),
        (
            "two payload objects",
            bearer(&signed(
                r#"{"alg":"HS256"}"#,
                &format!("{payload}{payload}"),
            )),
            Token(T::Malformed),
        ),
        (
            "trailing garbage",
            bearer(&signed(r#"{"alg":"HS256"}"#, &format!("{payload}x"))),
            Token(T::Malformed),
        ),
        (
            "truncated",
            bearer(&signed(r#"{"alg":"HS256"}"#, &payload[..payload.len() - 1])),
            Token(T::Malformed),
        ),
        (
            "empty object",
            bearer(&signed(r#"{"alg":"HS256"}"#, "{}")),
            Token(T::MissingExpiry),
        ),
        (
            "trailing whitespace ok",
            bearer(&signed(
                "{\"alg\":\"HS256\"} \n",
                &format!("\t{payload}\r\n"),
            )),
            Pass,
        ),
    ])
    .await;
}

/// `payload` (a JSON object) with member `name` set to the raw JSON `value` added at the end.
fn add_claim(payload: &str, name: &str, value: &str) -> String {
    format!("{},\"{name}\":{value}}}", &payload[..payload.len() - 1])
}

/// The good claims with `name` set to the raw JSON `value`, added after the others.
fn with_raw_claim(name: &str, value: &str) -> String {
    add_claim(&good_payload(), name, value)
}

#[tokio::test]
async fn duplicate_claims_fail() {
    let h = r#"{"alg":"HS256"}"#;
    let mut cases = Vec::new();
    for (name, value) in [
        ("exp", "4102444800"),
        ("nbf", "0"),
        ("iat", "0"),
        ("aud", r#""https://my-api-urn""#),
        ("iss", &format!("\"{ISSUER}\"")),
        ("scope", r#""read:messages""#),
        ("sub", r#""admin""#),
    ] {
        // Each name once more than in the good claims (which have no `nbf`).
        let mut payload = with_raw_claim(name, value);
        if name == "nbf" {
            payload = add_claim(&payload, name, value);
        }
        cases.push((name, bearer(&signed(h, &payload)), Token(T::InvalidClaim)));
    }
    // Escaped spelling of the same name is the same claim.
    cases.push((
        "escaped exp",
        bearer(&signed(h, &with_raw_claim("\\u0065xp", "4102444800"))),
        Token(T::InvalidClaim),
    ));
    // Claims bearer-guard never reads may repeat.
    let unknown_twice = add_claim(&with_raw_claim("x", "1"), "x", "[2]");
    cases.push(("unknown twice", bearer(&signed(h, &unknown_twice)), Pass));
    check_all(&cases).await;
}

#[tokio::test]
async fn lone_surrogate_escapes_fail_wherever_they_stand() {
    // A claim bearer-guard does not read is skipped undecoded, but `Claims<T>` would decode
    // it and fail: the guard refuses it, so the two never disagree.
    let h = r#"{"alg":"HS256"}"#;
    let mut cases = Vec::new();
    for (name, value) in [
        ("custom high", r#""\ud800""#),
        ("custom low", r#""\uDC00x""#),
        ("nested", r#"{"a":["b","\ud83d"]}"#),
        ("high then non-low", r#""\ud83d\u0041""#),
    ] {
        cases.push((
            name,
            bearer(&signed(h, &with_raw_claim("tenant", value))),
            Token(T::InvalidClaim),
        ));
    }
    for (name, value) in [
        ("pair", r#""\ud83d\ude00""#),
        ("escaped backslash", r#""\\ud800""#),
    ] {
        cases.push((
            name,
            bearer(&signed(h, &with_raw_claim("tenant", value))),
            Pass,
        ));
    }
    check_all(&cases).await;
}

#[tokio::test]
async fn every_token_the_guard_passes_has_readable_claims() {
    // A handler that reads the whole claims set answers 500 when it cannot: the guard must
    // refuse such a token itself (401), never pass it on.
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let read_all = |token: VerifiedToken| async move {
        match token.claims::<Value>() {
            Ok(_) => http::StatusCode::OK,
            Err(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    };
    let app = Router::new()
        .route("/claims", get(read_all))
        .route("/typed", get(|Claims(_): Claims<Value>| async { "ok" }))
        .layer(BearerGuardLayer::builder(api).build().unwrap());
    let h = r#"{"alg":"HS256"}"#;
    for (value, status) in [(r#""\ud83d\ude00""#, 200), (r#""\ud800""#, 401)] {
        let token = signed(h, &with_raw_claim("tenant", value));
        for path in ["/claims", "/typed"] {
            let request = Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let answer = send(&app, request).await;
            assert_eq!(answer.status, status, "{path} {value}");
        }
    }
}

#[tokio::test]
async fn numbers_as_strings_and_other_wrong_types_fail() {
    let h = r#"{"alg":"HS256"}"#;
    let mut cases = Vec::new();
    for (name, value) in [
        ("exp", r#""4102444800""#),
        ("nbf", r#""0""#),
        ("iat", r#""0""#),
        ("exp", "true"),
        ("exp", "null"),
        ("exp", "[4102444800]"),
        ("aud", "5"),
        ("aud", "[5]"),
        ("iss", "1"),
        ("sub", "1"),
        ("scope", "5"),
        ("scope", r#"["read:messages",5]"#),
    ] {
        let claims = claims("read:messages", json!({ name: null })).to_string();
        let payload = add_claim(&claims, name, value);
        cases.push((name, bearer(&signed(h, &payload)), Token(T::InvalidClaim)));
    }
    check_all(&cases).await;
}

#[tokio::test]
async fn huge_and_deeply_nested_payloads_fail_safely() {
    let h = r#"{"alg":"HS256"}"#;
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let huge_header = json!({ "alg": "HS256", "x": "a".repeat(600) }).to_string();
    check_all(&[
        (
            "9 KiB token",
            bearer(&signed(
                h,
                &with_raw_claim("x", &format!("\"{}\"", "a".repeat(9000))),
            )),
            Token(T::TooLarge),
        ),
        (
            "64 KiB token",
            bearer(&"a".repeat(65_536)),
            Token(T::TooLarge),
        ),
        (
            "header over 512 bytes",
            bearer(&signed(&huge_header, &good_payload())),
            Token(T::Malformed),
        ),
        // Claims and header parameters bearer-guard never reads are skipped without
        // recursion (serde_json's ignore): depth costs no stack, see deep_nesting_needs_no_stack.
        (
            "nested 2000 deep, unread claim",
            bearer(&signed(h, &with_raw_claim("x", &nested(2000)))),
            Pass,
        ),
        (
            "nested in an unread header parameter",
            bearer(&signed(
                &format!("{{\"alg\":\"HS256\",\"x\":{}}}", nested(150)),
                &good_payload(),
            )),
            Pass,
        ),
        // In a claim that is read, the claim's type (or serde_json's 128-level limit) stops it.
        (
            "nested 2000 deep in aud",
            bearer(&signed(
                h,
                &add_claim(
                    &claims("", json!({"aud": null})).to_string(),
                    "aud",
                    &nested(2000),
                ),
            )),
            Token(T::InvalidClaim),
        ),
        (
            "nested objects 900 deep in scope",
            bearer(&signed(
                h,
                &add_claim(
                    &claims("", json!({"scope": null})).to_string(),
                    "scope",
                    &format!("{}{}", "{\"a\":".repeat(900), "}".repeat(900)),
                ),
            )),
            Token(T::InvalidClaim),
        ),
        (
            "number too large for f64",
            bearer(&signed(h, &with_raw_claim("x", &"9".repeat(400)))),
            Pass,
        ),
        // serde_json refuses a number out of f64 range as a syntax error: malformed.
        (
            "exp too large for f64",
            bearer(&signed(
                h,
                &add_claim(
                    &claims("", json!({"exp": null})).to_string(),
                    "exp",
                    &format!("1{}", "0".repeat(400)),
                ),
            )),
            Token(T::Malformed),
        ),
    ])
    .await;
}

/// Found by the `validate_signed` fuzz target: a claim bearer-guard does not read is only
/// checked to be JSON, so a number beyond f64 passes validation; reading it is an `Err` for
/// the caller (the `Claims<T>` extractor answers it 401), never a panic.
#[test]
fn fuzz_regression_out_of_range_number_in_an_unread_claim() {
    let payload = with_raw_claim("", "170000e70003600");
    let token = signed(r#"{"alg":"HS256"}"#, &payload);
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let layer = BearerGuardLayer::builder(api)
        .issuer(ISSUER)
        .build()
        .unwrap();
    let verified = layer.validator().validate(&token).unwrap();
    assert_eq!(verified.claims_json(), payload);
    assert!(verified.claims::<Value>().is_err());
    #[derive(serde::Deserialize)]
    struct Subject {
        sub: String,
    }
    assert_eq!(
        verified.claims::<Subject>().unwrap().sub,
        "client-1@clients"
    );
}

/// The deepest nesting a 64 KiB token can carry, validated on a thread with a 128 KiB stack.
#[test]
fn deep_nesting_needs_no_stack() {
    let depth = 23_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let aud_nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let unread = signed(r#"{"alg":"HS256"}"#, &with_raw_claim("x", &nested));
    let read = signed(
        r#"{"alg":"HS256"}"#,
        &claims("", json!({"aud": null})).to_string().replacen(
            '{',
            &format!("{{\"aud\":{aud_nested},"),
            1,
        ),
    );
    let api = ResourceServer::new(AUDIENCE, SECRET);
    let layer = BearerGuardLayer::builder(api)
        .max_token_len(65_536)
        .build()
        .unwrap();
    let validator = layer.validator().clone();
    let kinds = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            [unread, read].map(|token| {
                assert!(token.len() <= 65_536, "{}", token.len());
                validator.validate(&token).err().map(|err| err.kind())
            })
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(kinds, [None, Some(T::InvalidClaim)]);
}

#[tokio::test]
async fn whitespace_variants_of_the_header() {
    let token = token(&good_claims());
    let v = |text: String| text.into_bytes();
    check_all(&[
        ("one space", v(format!("Bearer {token}")), Pass),
        ("lower-case scheme", v(format!("bearer {token}")), Pass),
        ("upper-case scheme", v(format!("BEARER {token}")), Pass),
        ("three spaces", v(format!("Bearer   {token}")), Pass),
        (
            "leading and trailing OWS",
            v(format!(" \tBearer {token}\t ")),
            Pass,
        ),
        (
            "tab after scheme",
            v(format!("Bearer\t{token}")),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "space inside token",
            v(format!("Bearer {} {}", &token[..10], &token[10..])),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "tab inside token",
            v(format!("Bearer {}\t{}", &token[..10], &token[10..])),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "two tokens",
            v(format!("Bearer {token} {token}")),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        (
            "scheme only",
            v("Bearer".to_owned()),
            Bad(RequestErrorKind::EmptyToken),
        ),
        (
            "scheme and spaces",
            v("Bearer    ".to_owned()),
            Bad(RequestErrorKind::EmptyToken),
        ),
        (
            "scheme glued to token",
            v(format!("Bearer{token}")),
            NoCredentials,
        ),
        ("other scheme", v(format!("Token {token}")), NoCredentials),
        ("empty value", Vec::new(), NoCredentials),
        (
            "NBSP",
            v(format!("Bearer\u{a0}{token}")),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
        // `=` may only end a b64token, so the auth-param form is not one.
        (
            "auth-param form",
            v(format!("Bearer token={token}")),
            Bad(RequestErrorKind::MalformedCredentials),
        ),
    ])
    .await;
}
