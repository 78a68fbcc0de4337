//! Each client address's share of the provider-call budget: below the cache and above
//! the global `BudgetedValidator`, so one client sending junk tokens cannot spend all
//! of the budget and leave none for others' new tokens. The address comes from the
//! connection's task (`push_advisor_tokio::client_address`); a check without one (none
//! happen on the host) is not limited here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use push_advisor_oauth::{CallBudget, TokenInfo, TokenValidator, ValidationError};
use push_advisor_tokio::{client_address, token_cache};

/// Clients tracked at once; when all are busy a new client is refused (503) rather
/// than the table growing.
const MAX_CLIENTS: usize = 4096;
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Usage {
    in_flight: u16,
    window_start: Instant,
    started_in_window: u16,
}

impl Usage {
    fn idle(&self, now: Instant) -> bool {
        self.in_flight == 0 && now.duration_since(self.window_start) >= WINDOW
    }
}

/// Limits each client address to `share` of the calls in flight and per second.
#[derive(Debug)]
pub struct ClientShare<V> {
    inner: V,
    share: CallBudget,
    clients: Mutex<HashMap<IpAddr, Usage>>,
}

/// One client's call, counted in flight until dropped (also when cancelled).
struct InFlight<'s> {
    clients: &'s Mutex<HashMap<IpAddr, Usage>>,
    client: IpAddr,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(usage) = clients.get_mut(&self.client) {
            usage.in_flight = usage.in_flight.saturating_sub(1);
        }
    }
}

impl<V> ClientShare<V> {
    /// `percent` of `budget` for each client (at least one call of each kind).
    pub fn new(inner: V, budget: CallBudget, percent: u8) -> Self {
        let part = |whole: u16| {
            let part = u32::from(whole) * u32::from(percent.min(100)) / 100;
            u16::try_from(part).unwrap_or(u16::MAX).max(1)
        };
        ClientShare {
            inner,
            share: CallBudget {
                in_flight: part(budget.in_flight),
                per_second: part(budget.per_second),
            },
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a place for the current client's call: `Ok(None)` when no client is known.
    fn start(&self) -> Result<Option<InFlight<'_>>, ValidationError> {
        // A token the provider accepted before is not the unknown kind this share holds
        // back; it still counts against the whole budget below.
        if token_cache::renewing() {
            return Ok(None);
        }
        let Some(client) = client_address::current() else {
            return Ok(None);
        };
        let now = Instant::now();
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(&client) {
            clients.retain(|_, usage| !usage.idle(now));
            if clients.len() >= MAX_CLIENTS {
                return Err(ValidationError::Busy);
            }
        }
        let usage = clients.entry(client).or_insert(Usage {
            in_flight: 0,
            window_start: now,
            started_in_window: 0,
        });
        if now.duration_since(usage.window_start) >= WINDOW {
            usage.window_start = now;
            usage.started_in_window = 0;
        }
        if usage.in_flight >= self.share.in_flight
            || usage.started_in_window >= self.share.per_second
        {
            return Err(ValidationError::Busy);
        }
        usage.in_flight += 1;
        usage.started_in_window += 1;
        Ok(Some(InFlight {
            clients: &self.clients,
            client,
        }))
    }
}

impl<V: TokenValidator> TokenValidator for ClientShare<V> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        let _call = self.start()?;
        self.inner.validate(token).await
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let _call = self.start()?;
        self.inner.inspect(token, inspect).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers inactive at once, counting calls.
    #[derive(Default)]
    struct Junk(std::sync::atomic::AtomicUsize);

    impl TokenValidator for Junk {
        async fn validate(&self, _: &str) -> Result<TokenInfo, ValidationError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(ValidationError::Inactive)
        }
    }

    #[tokio::test]
    async fn one_client_cannot_spend_the_others_share() {
        let budget = CallBudget {
            in_flight: 16,
            per_second: 8,
        };
        let share = ClientShare::new(Junk::default(), budget, 25);
        let flooder: IpAddr = "127.0.0.2".parse().unwrap();
        let other: IpAddr = "127.0.0.3".parse().unwrap();
        let flood = client_address::serving(Some(flooder), async {
            let mut answers = Vec::new();
            for _ in 0..5 {
                answers.push(share.validate("junk").await);
            }
            answers
        })
        .await;
        let errors: Vec<_> = flood.into_iter().map(Result::unwrap_err).collect();
        use ValidationError::{Busy, Inactive};
        assert_eq!(errors, [Inactive, Inactive, Busy, Busy, Busy]);
        let answer = client_address::serving(Some(other), share.validate("new")).await;
        assert_eq!(answer, Err(ValidationError::Inactive));
        assert_eq!(share.inner.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    /// Accepts `good`, refuses anything else, counting calls.
    #[derive(Default)]
    struct Provider(std::sync::atomic::AtomicUsize);

    impl TokenValidator for Provider {
        async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match token {
                "good" => Ok(TokenInfo::new("alice", "api:read")),
                _ => Err(ValidationError::Inactive),
            }
        }
    }

    #[tokio::test]
    async fn a_known_users_renewal_passes_while_junk_from_the_same_address_spent_its_share() {
        use push_advisor_oauth::{ClientAuth, ClientCredentials, OAuthConfig};
        let client = ClientCredentials {
            client_id: "push-advisor",
            client_secret: "secret",
            auth: ClientAuth::ClientSecretBasic,
        };
        let config = OAuthConfig::new("http://127.0.0.1:1", "", "http://127.0.0.1:2", client);
        let budget = CallBudget {
            in_flight: 16,
            per_second: 8,
        };
        let clock = push_advisor_http::testing::FakeClock::at(None);
        let share = ClientShare::new(Provider::default(), budget, 25);
        let cache = push_advisor_tokio::TokenCache::new(&share, &clock, &config, 64, &[]).unwrap();
        let one_address: IpAddr = "127.0.0.2".parse().unwrap();
        client_address::serving(Some(one_address), async {
            assert!(cache.validate("good").await.is_ok());
            clock.advance_ms(config.cache_max_lifetime_ms + 1);
            let junk = [
                cache.validate("junk-1").await,
                cache.validate("junk-2").await,
            ];
            assert_eq!(
                junk,
                [Err(ValidationError::Inactive), Err(ValidationError::Busy)],
                "share spent"
            );
            assert_eq!(
                cache.validate("new").await,
                Err(ValidationError::Busy),
                "a new token waits"
            );
            assert!(
                cache.validate("good").await.is_ok(),
                "the known token is renewed"
            );
        })
        .await;
        assert_eq!(share.inner.0.load(std::sync::atomic::Ordering::Relaxed), 3);
    }
}
