//! A real gRPC service without protobuf code generation (so without `protoc`): messages are
//! raw bytes, carried by tonic's own framing, server and client. Shared by
//! `examples/grpc.rs` and `tests/it/grpc.rs`.

use std::convert::Infallible;

use bearer_guard::VerifiedToken;
use bytes::{Buf as _, BufMut as _, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Status, body::Body};

/// The one method: answers with the verified token's subject.
pub(crate) const WHO_AM_I: &str = "/demo.Identity/WhoAmI";

/// Messages as raw bytes, where a generated service would use prost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The gRPC service, as a tower service over HTTP requests: what a generated `…Server` is.
pub(crate) async fn identity(
    request: http::Request<Body>,
) -> Result<http::Response<Body>, Infallible> {
    if request.uri().path() != WHO_AM_I {
        return Ok(Status::unimplemented("no such method").into_http());
    }
    let who_am_i = tower::service_fn(|request: tonic::Request<Bytes>| async move {
        // The guard's VerifiedToken is in the extensions, as for an axum handler.
        let token = request.extensions().get::<VerifiedToken>();
        let subject = token.and_then(VerifiedToken::subject).unwrap_or_default();
        Ok::<_, Status>(tonic::Response::new(Bytes::from(subject.to_owned())))
    });
    Ok(tonic::server::Grpc::new(RawCodec)
        .unary(who_am_i, request)
        .await)
}

/// Calls `WhoAmI` at `channel`, with `authorization` as metadata if given.
pub(crate) async fn call_who_am_i(
    channel: tonic::transport::Channel,
    authorization: Option<&str>,
) -> Result<String, Status> {
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|err| Status::unavailable(err.to_string()))?;
    let mut request = tonic::Request::new(Bytes::new());
    if let Some(value) = authorization {
        let value = value
            .parse()
            .map_err(|_| Status::invalid_argument("not a metadata value"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let path = http::uri::PathAndQuery::from_static(WHO_AM_I);
    let response = client.unary(request, path, RawCodec).await?;
    Ok(String::from_utf8_lossy(response.get_ref()).into_owned())
}
