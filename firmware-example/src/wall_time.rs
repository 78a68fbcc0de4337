//! Keeps the device's wall clock: learns it from the provider's `Date` header,
//! retries until that works and refreshes it now and then.

use embassy_net::Stack;
use embassy_net::tcp::client::TcpClientState;
use embassy_time::{Duration, Timer};
use push_advisor_embassy::{TcpConnector, learn_wall_time};
use static_cell::StaticCell;

use crate::app::CLOCK;

const RETRY: Duration = Duration::from_secs(3);
const REFRESH: Duration = Duration::from_secs(3600);

static CONNECTIONS: StaticCell<TcpClientState<1, 1024, 1024>> = StaticCell::new();

#[embassy_executor::task]
pub async fn wall_time_task(stack: Stack<'static>, provider_url: &'static str) -> ! {
    let state = CONNECTIONS.init(TcpClientState::new());
    let connector = TcpConnector::new(stack, state, Duration::from_secs(5), Duration::from_secs(5));
    let mut head = [0u8; 768];
    stack.wait_config_up().await;
    loop {
        match learn_wall_time(&connector, provider_url, &CLOCK, &mut head).await {
            Ok(_) => Timer::after(REFRESH).await,
            Err(_) => Timer::after(RETRY).await,
        }
    }
}
