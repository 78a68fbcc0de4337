//! The deployment history behind `/deploy-history` and the `get_deploy_history` tool.

use serde::Serialize;

use crate::oauth::TokenInfo;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Deployment<'a> {
    pub id: &'static str,
    pub timestamp: &'static str,
    pub environment: &'static str,
    pub status: &'static str,
    pub user: &'a str,
}

/// The sample history, attributed to the caller as in the original API.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DeployHistory<'a> {
    pub deployments: [Deployment<'a>; 3],
    pub authenticated_user: &'a str,
    pub message: &'static str,
}

impl<'a> DeployHistory<'a> {
    /// The user is the token's subject, or its client id for client-credentials tokens.
    pub fn for_token(token: &'a TokenInfo) -> DeployHistory<'a> {
        let user = token.subject().or(token.client_id.as_deref()).unwrap_or("unknown");
        let deployment = |id, timestamp, environment, status| Deployment { id, timestamp, environment, status, user };
        DeployHistory {
            deployments: [
                deployment("deploy-001", "2024-08-13T15:30:00Z", "production", "success"),
                deployment("deploy-002", "2024-08-12T10:15:00Z", "staging", "success"),
                deployment("deploy-003", "2024-08-11T09:45:00Z", "production", "failed"),
            ],
            authenticated_user: user,
            message: "This is a protected endpoint - you needed OAuth to see this!",
        }
    }
}
