//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! body types of [`crate::bodies`], so it describes what the code actually does.
//!
//! The limits of what a client may send — lengths, the E.164 and timestamp patterns, the page
//! bounds — are those of the crates that enforce them (`hookline_domain`, `hookline_query`):
//! [`WebhookPayload`] and [`ListParams`] build their schemas from those constants, because
//! utoipa's attributes take literals only. A unit test reads them back out of the document.

use std::borrow::Cow;
use std::collections::BTreeMap;

use hookline_domain::{
    E164_PATTERN, MAX_MESSAGE_ID_CHARS, MAX_MSISDN_DIGITS, MAX_TEXT_CHARS, UTC_TIMESTAMP_PATTERN,
};
use hookline_query::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MIN_LIMIT, MIN_OFFSET};
use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Required, Schema};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

use crate::bodies::{
    Detail, Liveness, LocItem, MessageItem, MessagesPage, Readiness, SenderCountItem, StatsBody,
    ValidationErrors, ValidationIssue, WebhookAccepted,
};
use crate::routes::{health, messages, metrics, stats, webhook, whatsapp};

/// The name of the bearer security scheme (`READ_TOKEN`) in the document.
pub const READ_TOKEN_SCHEME: &str = "read_token";

/// The API description served at `GET /openapi.json` and rendered at `GET /docs`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookline",
        description = "Webhook ingest: signed messages in, paged and searchable messages out.\n\n\
            Every `POST /webhook` must carry `X-Signature: hex(HMAC_SHA256(WEBHOOK_SECRET, raw body))` \
            (or `X-Hub-Signature-256: sha256=<hex>`). Unknown paths answer 404 \
            `{\"detail\":\"Not Found\"}`, wrong methods 405 `{\"detail\":\"Method Not Allowed\"}`. \
            Every response carries `X-Request-ID`.\n\n\
            `POST /webhook/whatsapp` takes Meta's WhatsApp Cloud API envelope, signed with \
            `X-Hub-Signature-256` under `WHATSAPP_APP_SECRET`. When `READ_TOKEN` is set, \
            `GET /messages` and `GET /stats` need `Authorization: Bearer <token>`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        webhook::receive,
        whatsapp::verify,
        whatsapp::receive,
        messages::list,
        stats::stats,
        health::live,
        health::ready,
        metrics::metrics,
    ),
    components(schemas(
        WebhookPayload,
        WhatsappEnvelope,
        WebhookAccepted,
        Detail,
        ValidationErrors,
        ValidationIssue,
        LocItem,
        MessagesPage,
        MessageItem,
        StatsBody,
        SenderCountItem,
        Liveness,
        Readiness,
    )),
    modifiers(&ReadTokenScheme),
    tags(
        (name = "webhook", description = "Signed message ingest"),
        (name = "whatsapp", description = "Meta's WhatsApp Cloud API: subscription handshake and envelopes"),
        (name = "messages", description = "Reading what was stored"),
        (name = "health", description = "Liveness and readiness probes"),
        (name = "operations", description = "Prometheus metrics"),
    )
)]
pub struct ApiDoc;

/// The answers of the checks both signed-body routes share (`crate::routes::signed_body`):
/// 401, 408, 413 and 415, each with its `{"detail": …}` body.
pub struct SignedBodyRejections;

impl IntoResponses for SignedBodyRejections {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        [
            ("401", "Signature missing or wrong", "invalid signature"),
            (
                "408",
                "The body did not arrive within 5 s",
                "request timeout",
            ),
            ("413", "Body larger than 64 KiB", "request body too large"),
            (
                "415",
                "Content-Type present and not JSON",
                "unsupported media type",
            ),
        ]
        .into_iter()
        .map(|(status, description, detail)| {
            let content = ContentBuilder::new()
                .schema(Some(Detail::schema()))
                .example(Some(json!({ "detail": detail })))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            (status.to_owned(), response.into())
        })
        .collect()
    }
}

/// Declares the `read_token` bearer scheme that `GET /messages` and `GET /stats` name.
struct ReadTokenScheme;

impl Modify for ReadTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            READ_TOKEN_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "READ_TOKEN (any entry of its comma-separated list). Required by \
                         GET /messages and GET /stats only when READ_TOKEN is set; without \
                         it they answer 401 with `WWW-Authenticate: Bearer`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON bytes.
pub fn openapi_json() -> Vec<u8> {
    // Serializing a document of plain data cannot fail; an empty body would be the only
    // (visible) consequence if it ever did.
    serde_json::to_vec(&ApiDoc::openapi()).unwrap_or_default()
}

/// The documented shape of a `POST /webhook` body (parsing itself is `hookline_domain`'s).
pub struct WebhookPayload;

impl PartialSchema for WebhookPayload {
    // `example`, not 3.1's `examples`: the derived schemas of `bodies` write `example`, and
    // one document should say it one way.
    #[allow(deprecated)]
    fn schema() -> RefOr<Schema> {
        let e164 = |whose: &str| {
            string()
                .pattern(Some(E164_PATTERN))
                .description(Some(format!(
                    "{whose}, E.164: `+` then 1 to {MAX_MSISDN_DIGITS} ASCII digits"
                )))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("A message. Unknown fields are ignored."))
            .property(
                "message_id",
                string()
                    .min_length(Some(1))
                    .max_length(Some(MAX_MESSAGE_ID_CHARS))
                    .description(Some(format!(
                        "Unique key of the message: 1 to {MAX_MESSAGE_ID_CHARS} characters"
                    ))),
            )
            .required("message_id")
            .property("from", e164("Sender"))
            .required("from")
            .property("to", e164("Recipient"))
            .required("to")
            .property(
                "ts",
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .pattern(Some(UTC_TIMESTAMP_PATTERN))
                    .description(Some(
                        "RFC 3339 instant in UTC ending in `Z` (fractional seconds allowed); \
                         stored and returned exactly as sent",
                    ))
                    .example(Some("2025-01-15T10:00:00Z".into())),
            )
            .required("ts")
            .property(
                "text",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .max_length(Some(MAX_TEXT_CHARS))
                    .description(Some(format!(
                        "Optional: at most {MAX_TEXT_CHARS} characters, or null, or absent"
                    ))),
            )
            .example(Some(json!({"message_id": "m1", "from": "+919876543210",
                "to": "+14155550100", "ts": "2025-01-15T10:00:00Z", "text": "Hello"})))
            .into()
    }
}

impl ToSchema for WebhookPayload {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WebhookPayload")
    }
}

/// The documented shape of a `POST /webhook/whatsapp` body (parsing is `hookline_domain`'s).
///
/// Deliberately loose: only `object` is required by every envelope. An envelope whose
/// `object` is not `whatsapp_business_account` is acknowledged without reading anything else,
/// so the schema cannot demand more of `entry` than "present for WhatsApp envelopes".
pub struct WhatsappEnvelope;

impl PartialSchema for WhatsappEnvelope {
    #[allow(deprecated)]
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Meta's webhook envelope. Every `entry[].changes[].value.messages[]` item \
                 becomes one message (see docs/WHATSAPP.md); `statuses` and other change \
                 fields are acknowledged and not stored. Unknown fields are ignored.",
            ))
            .property(
                "object",
                string().description(Some(
                    "`whatsapp_business_account`; any other value is acknowledged and ignored",
                )),
            )
            .required("object")
            .property(
                "entry",
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .description(Some(
                        "A list of `{id, changes: [{field, value}]}`; required when `object` \
                         is `whatsapp_business_account` (any other `object` is not read)",
                    )),
            )
            .example(Some(json!({
                "object": "whatsapp_business_account",
                "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881",
                        "phone_number_id": "106540352242922"},
                    "messages": [{"from": "16505551234", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxA1",
                        "timestamp": "1739321024", "type": "text",
                        "text": {"body": "Does it come in another color?"}}]}}]}]
            })))
            .into()
    }
}

impl ToSchema for WhatsappEnvelope {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WhatsappEnvelope")
    }
}

/// The query parameters of `GET /messages`, with the bounds `hookline_query` enforces.
pub struct ListParams;

impl IntoParams for ListParams {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let param = |name: &str, description: &str, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(parameter_in().unwrap_or(ParameterIn::Query))
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema))
        };
        vec![
            param(
                "limit",
                &format!("Page size, {MIN_LIMIT}–{MAX_LIMIT} (default {DEFAULT_LIMIT})"),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                    .minimum(Some(MIN_LIMIT))
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(DEFAULT_LIMIT.into())),
            )
            .example(Some(DEFAULT_LIMIT.into()))
            .build(),
            param(
                "offset",
                "Rows to skip (default 0); must be 0 or absent with `cursor`",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(MIN_OFFSET))
                    .maximum(Some(MAX_OFFSET))
                    .default(Some(MIN_OFFSET.into())),
            )
            .example(Some(MIN_OFFSET.into()))
            .build(),
            param(
                "from",
                "Exact sender, E.164; an unencoded `+` (arriving as a space) is repaired. \
                 A value that is not E.164 matches nothing.",
                string().pattern(Some(E164_PATTERN)),
            )
            .example(Some("+919876543210".into()))
            .build(),
            param(
                "since",
                "RFC 3339 instant, any offset: rows with `ts >= since` as instants",
                string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .example(Some("2025-01-15T09:30:00Z".into()))
            .build(),
            param(
                "q",
                "Case-insensitive, Unicode-aware substring of `text`; `%` and `_` are literal",
                string(),
            )
            .example(Some("hello".into()))
            .build(),
            param(
                "cursor",
                "`next_cursor` of the previous page, with the same filters (keyset pagination)",
                string(),
            )
            .build(),
        ]
    }
}

/// A string schema to refine.
fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::from_slice(&openapi_json()).unwrap()
    }

    #[test]
    fn the_webhook_body_schema_states_the_domain_limits() {
        let doc = document();
        let body = &doc["components"]["schemas"]["WebhookPayload"];
        let inline = &doc["paths"]["/webhook"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(inline, body, "the request body is the component, inlined");
        assert_eq!(body["required"], json!(["message_id", "from", "to", "ts"]));
        let field = |name: &str| &body["properties"][name];
        assert_eq!(field("message_id")["minLength"], 1);
        assert_eq!(field("message_id")["maxLength"], MAX_MESSAGE_ID_CHARS);
        for e164 in ["from", "to"] {
            assert_eq!(field(e164)["pattern"], E164_PATTERN, "{e164}");
        }
        assert_eq!(field("ts")["format"], "date-time");
        assert_eq!(field("ts")["pattern"], UTC_TIMESTAMP_PATTERN);
        assert_eq!(field("text")["type"], json!(["string", "null"]));
        assert_eq!(field("text")["maxLength"], MAX_TEXT_CHARS);
    }

    #[test]
    fn the_list_parameters_state_the_query_bounds() {
        let doc = document();
        let params = doc["paths"]["/messages"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let schema = |name: &str| {
            let param = params.iter().find(|p| p["name"] == name).unwrap();
            assert_eq!(param["in"], "query", "{name}");
            assert_eq!(param["required"], false, "{name}");
            param["schema"].clone()
        };
        let limit = schema("limit");
        assert_eq!(limit["type"], "integer");
        assert_eq!(limit["minimum"], MIN_LIMIT);
        assert_eq!(limit["maximum"], MAX_LIMIT);
        assert_eq!(limit["default"], DEFAULT_LIMIT);
        let offset = schema("offset");
        assert_eq!(offset["type"], "integer");
        assert_eq!(offset["minimum"], MIN_OFFSET);
        assert_eq!(offset["maximum"], MAX_OFFSET);
        assert_eq!(offset["default"], MIN_OFFSET);
        assert_eq!(schema("from")["pattern"], E164_PATTERN);
        assert_eq!(schema("since")["format"], "date-time");
        for text in ["q", "cursor"] {
            assert_eq!(schema(text), json!({"type": "string"}), "{text}");
        }
    }

    #[test]
    fn every_error_status_the_webhook_answers_is_documented_with_its_body() {
        let doc = document();
        let responses = &doc["paths"]["/webhook"]["post"]["responses"];
        for status in ["200", "401", "408", "413", "415", "422", "503"] {
            assert!(responses[status].is_object(), "{status}");
        }
        let issue = &doc["components"]["schemas"]["ValidationIssue"];
        assert_eq!(issue["required"], json!(["loc", "msg", "type"]));
    }

    #[test]
    fn reads_name_the_bearer_scheme_and_the_whatsapp_routes_are_documented() {
        let doc = document();
        let scheme = &doc["components"]["securitySchemes"][READ_TOKEN_SCHEME];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
        for path in ["/messages", "/stats"] {
            let operation = &doc["paths"][path]["get"];
            assert_eq!(
                operation["security"],
                json!([{}, {READ_TOKEN_SCHEME: []}]),
                "{path}"
            );
            assert!(operation["responses"]["401"].is_object(), "{path}");
        }
        let whatsapp = &doc["paths"]["/webhook/whatsapp"];
        for status in ["200", "403", "503"] {
            assert!(whatsapp["get"]["responses"][status].is_object(), "{status}");
        }
        for status in ["200", "401", "413", "415", "422", "503"] {
            assert!(
                whatsapp["post"]["responses"][status].is_object(),
                "{status}"
            );
        }
        for open in ["/webhook", "/health/live", "/metrics"] {
            let operation = doc["paths"][open]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap();
            assert!(operation.get("security").is_none(), "{open}");
        }
    }
}
