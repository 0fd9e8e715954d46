//! Request bodies taken as they are (a CSV file, an attachment's bytes), not parsed by
//! poem-openapi: the handler decides when, and how much of, the body is read, so it can
//! refuse a request before a byte of a large body arrives.

use std::marker::PhantomData;

use poem::Request;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// The content types a raw body is documented as and taken with.
pub trait BodyKind: Send {
    const CONTENT_TYPE: &'static str;

    fn accepts(content_type: &str) -> bool;
}

/// A body of kind `K`, unread.
pub struct RawBody<K>(pub poem::Body, PhantomData<K>);

/// A records CSV file (`text/csv`, or `text/plain` as some tools send it).
pub struct Csv;

impl BodyKind for Csv {
    const CONTENT_TYPE: &'static str = "text/csv";

    fn accepts(content_type: &str) -> bool {
        content_type.starts_with("text/csv") || content_type.starts_with("text/plain")
    }
}

/// A file's bytes, whatever they are (the server reads their kind from them); not a form,
/// whose envelope would be taken for the file.
pub struct Bytes;

impl BodyKind for Bytes {
    const CONTENT_TYPE: &'static str = "application/octet-stream";

    fn accepts(content_type: &str) -> bool {
        !content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    }
}

impl<K: BodyKind> Payload for RawBody<K> {
    const CONTENT_TYPE: &'static str = K::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        K::accepts(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            format: Some("binary"),
            ..MetaSchema::new("string")
        }))
    }
}

impl<K: BodyKind> ParsePayload for RawBody<K> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        Ok(RawBody(body.take()?, PhantomData))
    }
}

/// As poem-openapi does for its own payloads: the body, when its content type is one of ours.
impl<'a, K: BodyKind> ApiExtractor<'a> for RawBody<K> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: <Self as ParsePayload>::IS_REQUIRED,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut poem::RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(t) if <Self as Payload>::check_content_type(t) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(t) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: t.to_string(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}
