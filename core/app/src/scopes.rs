//! The OAuth scopes of the Push Advisor API, named in this one place: the route table,
//! the MCP tools, the OpenAPI document and the OAuth configuration take them from here.

/// Read access: the deployment history, over REST and as an MCP tool.
pub const READ: &str = "api:read";
/// Write access: no route needs it yet; the login flow asks for it.
pub const WRITE: &str = "api:write";

/// Every scope, for `OAuthConfig::scopes_supported` (published in the protected-resource
/// metadata).
pub const ALL: &[&str] = &[READ, WRITE];

/// What the login flow asks for (`OAuthConfig::login_scope`): every scope.
pub const LOGIN: &str = "api:read api:write";

/// Every scope with what it grants, as the OpenAPI document's OAuth flow lists them.
pub const DESCRIBED: &[(&str, &str)] = &[
    (READ, "Read access to API endpoints"),
    (WRITE, "Write access to API endpoints"),
];

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// The lists spell the scopes again only where a `const` cannot join them.
    #[test]
    fn every_list_names_every_scope() {
        let described: std::vec::Vec<&str> = DESCRIBED.iter().map(|(name, _)| *name).collect();
        assert_eq!(described, ALL);
        assert_eq!(LOGIN, ALL.join(" "));
    }
}
