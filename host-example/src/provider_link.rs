//! The host's link to the OAuth provider: the tokio connector with failures logged
//! (so a wrong CA or a down provider is visible), and discovery retried with back-off.

use std::time::Duration;

use push_advisor_app::Metadata;
use push_advisor_http::net::{Connect, Endpoint};
use push_advisor_oauth::{OAuthConfig, discover};
use push_advisor_tokio::{ConnectError, Connection, Connector};
use tracing::{info, warn};

/// The tokio connector, logging every failed connection once.
#[derive(Debug)]
pub struct LoggedConnector(pub Connector);

impl Connect for LoggedConnector {
    type Connection<'c> = Connection<'c>;
    type Error = ConnectError;

    async fn connect(&self, endpoint: &Endpoint<'_>) -> Result<Connection<'_>, ConnectError> {
        self.0
            .connect(endpoint)
            .await
            .inspect_err(|error| warn!("provider connection failed: {error}"))
    }
}

/// Discovers the provider, retrying with back-off until it answers; protected routes
/// answer 503 until then while public ones already serve.
pub async fn discover_until_known(
    connector: &LoggedConnector,
    config: &OAuthConfig<'_>,
    metadata: &Metadata,
) {
    let mut delay = Duration::from_millis(250);
    let mut rx = vec![0u8; 16 * 1024];
    loop {
        match discover(connector, config, &mut rx).await {
            Ok(found) => {
                let view = found.view();
                info!(
                    issuer = view.issuer(),
                    introspection = view.introspection_endpoint().unwrap_or("none"),
                    "provider discovered"
                );
                metadata.set(found);
                return;
            }
            Err(error) => {
                warn!(issuer = config.issuer, ?error, retry_in = ?delay, "provider discovery failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
