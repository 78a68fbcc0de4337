//! The OpenAPI 3.1 document: its paths from the route table (so operation names match
//! the MCP tool names), its OAuth URLs from the configured provider.

#[cfg(feature = "openapi")]
use core::fmt::{self, Write};

#[cfg(feature = "openapi")]
use crate::http::codec::{JsonEscaped, write_json_object};
#[cfg(feature = "openapi")]
use crate::routes::{Access, Operation, ROUTES};
#[cfg(feature = "openapi")]
use crate::scopes;

#[cfg(feature = "openapi")]
/// What the document takes from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct OpenApiParams<'a> {
    pub server_url: &'a str,
    pub authorization_url: &'a str,
    pub token_url: &'a str,
}

pub const VERDICT_SCHEMA: &str = r#"{"type":"object","required":["answer","reason","day"],"properties":{"answer":{"type":"string","enum":["yes","no"]},"reason":{"type":"string"},"day":{"type":"string"}}}"#;
pub const VIBE_SCHEMA: &str = r#"{"type":"object","required":["answer","vibe"],"properties":{"answer":{"type":"string","enum":["yes","no"]},"vibe":{"type":"string"}}}"#;
pub const HISTORY_SCHEMA: &str = r#"{"type":"object","required":["deployments","authenticated_user","message"],"properties":{"deployments":{"type":"array","items":{"type":"object","required":["id","timestamp","environment","status","user"],"properties":{"id":{"type":"string"},"timestamp":{"type":"string","format":"date-time"},"environment":{"type":"string"},"status":{"type":"string"},"user":{"type":"string"}}}},"authenticated_user":{"type":"string"},"message":{"type":"string"}}}"#;
#[cfg(feature = "openapi")]
const ERROR_SCHEMA: &str = r#"{"type":"object","required":["error"],"properties":{"error":{"type":"string"},"message":{"type":"string"},"required_scopes":{"type":"array","items":{"type":"string"}}}}"#;

#[cfg(feature = "openapi")]
fn json_response(
    out: &mut dyn Write,
    status: &str,
    description: &str,
    schema: &str,
) -> fmt::Result {
    json_response_with(out, status, description, schema, None)
}

/// A response with a JSON body and, when `header` names one, a required header.
#[cfg(feature = "openapi")]
fn json_response_with(
    out: &mut dyn Write,
    status: &str,
    description: &str,
    schema: &str,
    header: Option<(&str, &str)>,
) -> fmt::Result {
    write!(
        out,
        r#""{status}":{{"description":"{}","#,
        JsonEscaped(description)
    )?;
    if let Some((name, about)) = header {
        write!(
            out,
            r#""headers":{{"{name}":{{"description":"{}","required":true,"schema":{{"type":"string"}}}}}},"#,
            JsonEscaped(about)
        )?;
    }
    write!(
        out,
        r#""content":{{"application/json":{{"schema":{schema}}}}}}}"#
    )
}

#[cfg(feature = "openapi")]
const CHALLENGE: &str =
    "RFC 6750 Bearer challenge with the RFC 9728 resource_metadata URL and the scope needed";
#[cfg(feature = "openapi")]
const RETRY_AFTER: &str = "Seconds to wait before trying again";

/// Writes a row's operation: its 200 answer and, for a protected route, its security
/// requirement and the refusals the guard may answer. Documented routes answer GET
/// (`tests/routes.rs` checks it).
#[cfg(feature = "openapi")]
fn write_operation(
    out: &mut dyn Write,
    path: &str,
    access: Access,
    operation: &Operation,
) -> fmt::Result {
    write!(
        out,
        r#""{}":{{"get":{{"operationId":"{}","x-gram":{{"name":"{}"}},"summary":"{}","description":"{}","security":"#,
        JsonEscaped(path),
        JsonEscaped(operation.id),
        JsonEscaped(operation.gram_name),
        JsonEscaped(operation.summary),
        JsonEscaped(operation.description),
    )?;
    let scope = access.scope();
    match scope {
        Some(scope) => write!(out, r#"[{{"oauth2":["{}"]}}]"#, JsonEscaped(scope))?,
        None => out.write_str("[]")?,
    }
    out.write_str(r#","responses":{"#)?;
    let answer = operation.answer;
    json_response(out, "200", answer.description, answer.schema)?;
    if scope.is_some() {
        for (status, description, header) in [
            (
                "401",
                "Authentication required",
                ("WWW-Authenticate", CHALLENGE),
            ),
            ("403", "Insufficient scope", ("WWW-Authenticate", CHALLENGE)),
            (
                "503",
                "Authorization server unavailable",
                ("Retry-After", RETRY_AFTER),
            ),
        ] {
            out.write_char(',')?;
            json_response_with(out, status, description, ERROR_SCHEMA, Some(header))?;
        }
    } else if let Some(when) = operation.unavailable {
        out.write_char(',')?;
        json_response_with(
            out,
            "503",
            when,
            ERROR_SCHEMA,
            Some(("Retry-After", RETRY_AFTER)),
        )?;
    }
    out.write_str("}}}")
}

/// Renders the document; called once to measure and again per transmit window.
#[cfg(feature = "openapi")]
pub fn render(params: &OpenApiParams<'_>, out: &mut dyn Write) -> fmt::Result {
    write!(
        out,
        r#"{{"openapi":"3.1.0","info":{{"title":"Push Advisor API","description":"Decides when it is appropriate to push code; deployment history is protected by OAuth 2.0.","version":"1.0.0"}},"servers":[{{"url":"{}"}}],"paths":{{"#,
        JsonEscaped(params.server_url)
    )?;
    let mut separator = "";
    for row in ROUTES {
        if let Some(operation) = &row.operation {
            out.write_str(separator)?;
            write_operation(out, row.path, row.access, operation)?;
            separator = ",";
        }
    }
    write!(
        out,
        r#"}},"components":{{"securitySchemes":{{"oauth2":{{"type":"oauth2","flows":{{"authorizationCode":{{"authorizationUrl":"{}","tokenUrl":"{}","scopes":"#,
        JsonEscaped(params.authorization_url),
        JsonEscaped(params.token_url)
    )?;
    write_json_object(&mut &mut *out, scopes::DESCRIBED)?;
    out.write_str("}}}}}}")
}
