//! The deployment history behind `/deploy-history` and the `get_deploy_history` tool.
//! Written as a template rather than through serde: all but the user name is fixed
//! text, and this is the hottest protected route.

use core::fmt::{self, Write};

use crate::http::codec::JsonEscaped;
use crate::oauth::TokenInfo;

/// (id, timestamp, environment, status) of the sample deployments.
const DEPLOYMENTS: [(&str, &str, &str, &str); 3] = [
    (
        "deploy-001",
        "2024-08-13T15:30:00Z",
        "production",
        "success",
    ),
    ("deploy-002", "2024-08-12T10:15:00Z", "staging", "success"),
    ("deploy-003", "2024-08-11T09:45:00Z", "production", "failed"),
];

/// The sample history, attributed to the caller as in the original API.
#[derive(Debug, Clone, Copy)]
pub struct DeployHistory<'a> {
    pub user: &'a str,
}

impl<'a> DeployHistory<'a> {
    /// The user is the token's subject, or its client id for client-credentials tokens.
    pub fn for_token(token: &'a TokenInfo) -> DeployHistory<'a> {
        DeployHistory {
            user: token.principal().unwrap_or("unknown"),
        }
    }

    /// Writes the JSON document.
    pub fn render(&self, out: &mut dyn Write) -> fmt::Result {
        let user = JsonEscaped(self.user);
        out.write_str("{\"deployments\":[")?;
        for (index, (id, timestamp, environment, status)) in DEPLOYMENTS.iter().enumerate() {
            if index > 0 {
                out.write_char(',')?;
            }
            write!(
                out,
                "{{\"id\":\"{id}\",\"timestamp\":\"{timestamp}\",\"environment\":\"{environment}\",\"status\":\"{status}\",\"user\":\"{user}\"}}"
            )?;
        }
        write!(
            out,
            "],\"authenticated_user\":\"{user}\",\"message\":\"This is a protected endpoint - you needed OAuth to see this!\"}}"
        )
    }
}
