//! The deployment history behind `/deploy-history` and the `get_deploy_history` tool.
//! Written as a template rather than through serde: all but the user name is fixed
//! text, and this is the hottest protected route.

use core::fmt;

use crate::http::codec::JsonEscaped;

/// The fixed text around each occurrence of the user name: the three sample
/// deployments (id, timestamp, environment, status, user), then `authenticated_user`.
const SEGMENTS: [&str; 5] = [
    r#"{"deployments":[{"id":"deploy-001","timestamp":"2024-08-13T15:30:00Z","environment":"production","status":"success","user":""#,
    r#""},{"id":"deploy-002","timestamp":"2024-08-12T10:15:00Z","environment":"staging","status":"success","user":""#,
    r#""},{"id":"deploy-003","timestamp":"2024-08-11T09:45:00Z","environment":"production","status":"failed","user":""#,
    r#""}],"authenticated_user":""#,
    r#"","message":"This is a protected endpoint - you needed OAuth to see this!"}"#,
];

/// The sample history, attributed to the caller as in the original API.
#[derive(Debug, Clone, Copy)]
pub struct DeployHistory<'a> {
    pub user: &'a str,
}

impl DeployHistory<'_> {
    /// Writes the JSON document: fixed segments with the escaped user name between them.
    pub fn render(&self, out: &mut dyn push_advisor_http::codec::TextSink) -> fmt::Result {
        let (last, before) = SEGMENTS.split_last().ok_or(fmt::Error)?;
        for segment in before {
            out.write_str(segment)?;
            JsonEscaped(self.user).write_to(out)?;
        }
        out.write_str(last)
    }
}
