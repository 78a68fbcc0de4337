//! The address of the client whose connection is being served, for layers the core's
//! request does not tell it to (e.g. each client's share of the provider-call budget).
//! The server sets it around each connection's task.

use std::future::Future;
use std::net::IpAddr;

tokio::task_local! {
    static CLIENT: Option<IpAddr>;
}

/// Runs `serve` with `client` as the current client address. Not an `async fn`: that
/// would keep `serve` twice in its state (as the argument and as the awaited scope),
/// doubling every connection's future.
pub fn serving<F: Future>(client: Option<IpAddr>, serve: F) -> impl Future<Output = F::Output> {
    CLIENT.scope(client, serve)
}

/// The address of the client being served, `None` outside a connection's task.
pub fn current() -> Option<IpAddr> {
    CLIENT.try_with(|client| *client).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn known_inside_the_scope_only() {
        let address: IpAddr = "127.0.0.7".parse().unwrap();
        assert_eq!(
            serving(Some(address), async { current() }).await,
            Some(address)
        );
        assert_eq!(current(), None);
    }
}
