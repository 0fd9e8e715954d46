//! The JSON payload of API answers, written straight from the value with serde.
//!
//! poem-openapi's own `Json` builds a `serde_json::Value` tree from the value and then writes
//! the tree; for a list of twenty records that tree is most of the work of the request. The
//! answer types derive `Object` (for the OpenAPI document) and `Serialize` (for the bytes)
//! with the same names, and the tests compare the two.

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// The document's description of a JSON payload answered with 200.
pub fn ok_meta<P: Payload>() -> MetaResponses {
    MetaResponses {
        responses: vec![MetaResponse {
            description: "",
            status: Some(200),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: P::CONTENT_TYPE,
                schema: P::schema_ref(),
            }],
            headers: vec![],
        }],
    }
}

/// A JSON answer (200 unless a response enum says otherwise).
pub struct Reply<T>(pub T);

impl<T: Type> Payload for Reply<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Serialize + Send> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        // Most answers fit in 4 KiB; a list of twenty grows it twice instead of six times.
        let mut body = Vec::with_capacity(4096);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder()
                .content_type(<Self as Payload>::CONTENT_TYPE)
                .body(body),
            Err(e) => {
                tracing::error!("cannot write an answer as JSON: {e}");
                poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for Reply<T> {
    fn meta() -> MetaResponses {
        ok_meta::<Self>()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::super::accounts::MemberView;
    use super::super::audit::AuditEntryView;
    use super::super::media::{MediaView, VariantUrl};
    use super::super::settings::SettingsView;
    use super::super::{Data, PageRequest, feed};

    /// The bytes written (serde) are what the document describes (poem-openapi).
    fn same<T: ToJSON + serde::Serialize>(value: &T) {
        assert_eq!(
            serde_json::to_value(value).unwrap(),
            value.to_json().unwrap(),
        );
    }

    #[test]
    fn answers_are_written_as_the_document_describes_them() {
        let member = || MemberView {
            id: "1".into(),
            username: "ann".into(),
            email: "ann@example.test".into(),
            email_verified: true,
            role: "member".into(),
            status: "suspended".into(),
            status_reason: Some("spam".into()),
            suspended_until: None,
            supporter: false,
            created_at: "2026-06-01T12:00:00Z".into(),
        };
        same(&member());
        same(&PageRequest::new(Some(2), Some(1)).answer(vec![member()], 3));
        let media = MediaView {
            id: "m".into(),
            owner_id: "o".into(),
            format: "jpeg".into(),
            original_name: "p.jpg".into(),
            size: 10,
            created_at: "t".into(),
            state: "ready".into(),
            reason: None,
            width: 1,
            height: 2,
            duration_ms: Some(3),
            animated: false,
            blurhash: None,
            urls: vec![VariantUrl {
                variant: "thumb".into(),
                url: "/media/m/thumb".into(),
            }],
        };
        same(&Data { data: media });
        let entry = AuditEntryView {
            at: "t".into(),
            actor_id: None,
            actor_name: "ada".into(),
            action: "user.ban".into(),
            target: "mallory".into(),
            reason: "spam".into(),
            details: String::new(),
        };
        same(&feed(vec![entry], 20, Some("c".into())));
        same(&SettingsView::from(
            &crate::domain::settings::SiteSettings::default(),
        ));
    }
}
