//! One deadline for a whole token check: waiting for a provider buffer or a cache lane,
//! connecting, writing and reading the answer all end by it. The core has no timer, so
//! the connector supplies one (`Timer`, from the adapter); a check that runs out of
//! time is `ValidationError::Timeout` (503) and is reported to the connector's log.

use core::future::{Future, poll_fn};
use core::pin::{Pin, pin};
use core::task::Poll;

use embassy_futures::select::{Either, select};

use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::http::failure::ExchangeFailure;
use crate::http::net::Connect;
use crate::http::time::Timer;

/// Wraps a validator (put it outermost, above the cache) so every check answers within
/// `limit_ms`. A check that is ready at once (a cache hit) never starts the timer.
#[derive(Debug)]
pub struct DeadlineValidator<'c, V, C> {
    inner: V,
    link: &'c C,
    limit_ms: u64,
}

impl<'c, V, C: Connect + Timer> DeadlineValidator<'c, V, C> {
    /// Checks through `inner`, each within `limit_ms` timed by `link`'s timer.
    pub const fn new(inner: V, link: &'c C, limit_ms: u64) -> Self {
        DeadlineValidator {
            inner,
            link,
            limit_ms,
        }
    }

    /// The validator it bounds.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// Runs `check`, pinned where the caller made it (passed by value it would be moved
    /// into this future too: twice its size in every connection's future on a device).
    async fn within<T>(
        &self,
        mut check: Pin<&mut impl Future<Output = Result<T, ValidationError>>>,
    ) -> Result<T, ValidationError> {
        if let Poll::Ready(answer) = poll_fn(|cx| Poll::Ready(check.as_mut().poll(cx))).await {
            return answer;
        }
        match select(check, self.link.sleep_ms(self.limit_ms)).await {
            Either::First(answer) => answer,
            Either::Second(()) => {
                self.link.exchange_failed(ExchangeFailure::Timeout);
                Err(ValidationError::Timeout)
            }
        }
    }
}

impl<V: TokenValidator, C: Connect + Timer> TokenValidator for DeadlineValidator<'_, V, C> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        self.within(pin!(self.inner.validate(token))).await
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        self.within(pin!(self.inner.inspect(token, inspect))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::failure::ExchangeFailure;
    use crate::testing::{FakeConnector, FixedValidator};
    use embassy_futures::block_on;

    /// Never answers: a provider that hangs.
    struct Hung;

    impl TokenValidator for Hung {
        async fn validate(&self, _: &str) -> Result<TokenInfo, ValidationError> {
            core::future::pending().await
        }
    }

    #[test]
    fn a_hung_check_times_out_and_is_reported() {
        let link = FakeConnector::default();
        let bounded = DeadlineValidator::new(Hung, &link, 10);
        assert_eq!(
            block_on(bounded.validate("t")),
            Err(ValidationError::Timeout)
        );
        assert_eq!(*link.failures.borrow(), [ExchangeFailure::Timeout]);
    }

    #[test]
    fn answers_in_time_pass_through() {
        let link = FakeConnector::default();
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let bounded = DeadlineValidator::new(&upstream, &link, 100);
        assert_eq!(
            block_on(bounded.validate("t")),
            Err(ValidationError::Inactive)
        );
        assert!(link.failures.borrow().is_empty());
    }
}
