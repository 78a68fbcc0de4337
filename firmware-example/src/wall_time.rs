//! Keeps the device's wall clock: learns it from the provider's `Date` header (over the
//! app's connector, so an HTTPS provider works too), retries until that works and
//! refreshes it now and then.

use embassy_net::Stack;
use embassy_time::{Duration, Timer};
use push_advisor_embassy::learn_wall_time;

use crate::app::{CLOCK, Connector};

const RETRY: Duration = Duration::from_secs(3);
const REFRESH: Duration = Duration::from_secs(3600);

#[embassy_executor::task]
pub async fn wall_time_task(
    stack: Stack<'static>,
    connector: &'static Connector,
    provider_url: &'static str,
) -> ! {
    let mut head = [0u8; 768];
    stack.wait_config_up().await;
    loop {
        match learn_wall_time(connector, provider_url, &CLOCK, &mut head).await {
            Ok(_) => Timer::after(REFRESH).await,
            Err(_) => Timer::after(RETRY).await,
        }
    }
}
