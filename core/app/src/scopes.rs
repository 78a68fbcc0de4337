//! The OAuth scopes Push Advisor defines, named once.

/// Reading the deployment history.
pub const READ: &str = "api:read";
/// Changing deployments (no route needs it yet; tokens may carry it).
pub const WRITE: &str = "api:write";
/// Every scope, in the order `scopes_supported` lists them.
pub const ALL: [&str; 2] = [READ, WRITE];
/// What the login page asks the provider for.
pub const LOGIN: &str = "api:read api:write";
