//! The OpenAPI 3.1 document, generated from the configuration so the OAuth URLs are
//! the configured provider's and the operation names match the MCP tool names.

#[cfg(feature = "openapi")]
use core::fmt::{self, Write};

#[cfg(feature = "openapi")]
use crate::http::codec::{JsonEscaped, write_json_object};
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
    write!(
        out,
        r#""{status}":{{"description":"{description}","content":{{"application/json":{{"schema":{schema}}}}}}}"#
    )
}

#[cfg(feature = "openapi")]
/// Writes one public GET operation with its single 200 response.
fn public_operation(
    out: &mut dyn Write,
    path: &str,
    id: &str,
    summary: &str,
    description: &str,
    schema: &str,
) -> fmt::Result {
    write!(
        out,
        r#""{path}":{{"get":{{"operationId":"{id}","x-gram":{{"name":"{id}"}},"summary":"{summary}","description":"{description}","security":[],"responses":{{"#
    )?;
    json_response(out, "200", "Successful response", schema)?;
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
    public_operation(
        out,
        "/can-i-push-to-prod",
        "can_i_push_to_prod",
        "Check if it's safe to push to production",
        "Returns yes Monday to Thursday (UTC), no Friday to Sunday.",
        VERDICT_SCHEMA,
    )?;
    out.write_char(',')?;
    public_operation(
        out,
        "/vibe-check",
        "vibe_check",
        "Random vibe check for pushing",
        "Returns a random yes/no answer with a random vibe.",
        VIBE_SCHEMA,
    )?;
    write!(
        out,
        r#","/deploy-history":{{"get":{{"operationId":"get_deploy_history","x-gram":{{"name":"get_deploy_history"}},"summary":"Get deployment history (Protected)","description":"Recent deployments; needs an OAuth access token with scope api:read.","security":[{{"oauth2":["{}"]}}],"responses":{{"#,
        scopes::READ
    )?;
    json_response(out, "200", "Deployment history", HISTORY_SCHEMA)?;
    out.write_char(',')?;
    json_response(out, "401", "Authentication required", ERROR_SCHEMA)?;
    out.write_char(',')?;
    json_response(out, "403", "Insufficient scope", ERROR_SCHEMA)?;
    out.write_char(',')?;
    json_response(out, "503", "Authorization server unavailable", ERROR_SCHEMA)?;
    write!(
        out,
        r#"}}}}}}}},"components":{{"securitySchemes":{{"oauth2":{{"type":"oauth2","flows":{{"authorizationCode":{{"authorizationUrl":"{}","tokenUrl":"{}","scopes":"#,
        JsonEscaped(params.authorization_url),
        JsonEscaped(params.token_url)
    )?;
    write_json_object(out, scopes::DESCRIBED)?;
    out.write_str("}}}}}}")
}
