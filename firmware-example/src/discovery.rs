//! Provider discovery and wall time, for every program on these boards: the device has
//! no RTC, so it learns the date from the provider's answers. Each program names the
//! metadata it keeps as `crate::Metadata` (a task cannot be generic over it).

use embassy_net::Stack;
use embassy_time::{Duration, Timer};
use push_advisor_embassy::EmbassyClock;
use push_advisor_http::time::Clock as _;
use push_advisor_oauth::{DiscoveryError, OAuthConfig, ProviderBuffers, discover_dated};

use crate::board_parts::Mx;
use crate::net::Connector;

/// The device's clock; wall time is unknown until the provider's `Date` is read.
pub static CLOCK: EmbassyClock<Mx> = EmbassyClock::new();

/// How the clock is handed to the auth core.
pub type Clock = &'static EmbassyClock<Mx>;

/// How often the provider's metadata is fetched again once known, to keep the wall
/// clock from drifting.
const TIME_REFRESH: Duration = Duration::from_secs(3600);

/// Discovers the provider, retrying with back-off (250 ms doubling to 5 s) until it
/// answers, and sets the wall clock from the answer's `Date`; then asks again now and
/// then for the time alone (the metadata is kept from the first answer).
#[embassy_executor::task]
pub async fn provider_task(
    stack: Stack<'static>,
    connector: &'static Connector,
    oauth: &'static OAuthConfig<'static>,
    metadata: &'static crate::Metadata,
    buffers: &'static ProviderBuffers<'static, Mx>,
) {
    let mut delay = Duration::from_millis(250);
    stack.wait_config_up().await;
    loop {
        let found = match buffers.borrow().await {
            Some(mut buffer) => discover_dated(connector, oauth, &mut buffer).await,
            None => Err(DiscoveryError::Misconfigured),
        };
        match found {
            Ok(found) => {
                if let Some(date) = found.date {
                    CLOCK.set_unix_time(date);
                }
                if metadata.set(found.metadata) {
                    info!("provider discovered");
                }
                delay = Duration::from_millis(250);
                // Without a `Date` the clock is still unknown: ask again soon.
                let known = CLOCK.unix_seconds().is_some();
                Timer::after(if known {
                    TIME_REFRESH
                } else {
                    Duration::from_secs(5)
                })
                .await;
            }
            Err(_error) => {
                warn!("provider discovery failed ({_error:?}); retry in {delay:?}");
                Timer::after(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
