//! A budget of provider calls: at most so many in flight and so many started per
//! second. Put below the cache, it bounds what unknown tokens can cost the provider: a
//! check beyond the budget is refused as `ValidationError::Busy` (503 with
//! `Retry-After`) without a provider call, while cached tokens never reach it.

use core::cell::Cell;

use embassy_sync::blocking_mutex::Mutex as BlockingMutex;
use embassy_sync::blocking_mutex::raw::RawMutex;

use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::http::time::Clock;

/// How many provider calls may run at once and start per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallBudget {
    /// Calls in flight at once.
    pub in_flight: u16,
    /// Calls started per second.
    pub per_second: u16,
}

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    in_flight: u16,
    window_start_ms: u64,
    started_in_window: u16,
}

/// Wraps a validator so its calls stay within a `CallBudget`.
pub struct BudgetedValidator<M: RawMutex, V, C> {
    inner: V,
    clock: C,
    budget: CallBudget,
    usage: BlockingMutex<M, Cell<Usage>>,
}

impl<M: RawMutex, V, C> core::fmt::Debug for BudgetedValidator<M, V, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BudgetedValidator")
            .field("budget", &self.budget)
            .field("in_flight", &self.usage.lock(Cell::get).in_flight)
            .finish()
    }
}

/// A call counted in flight until dropped (also when its check is cancelled).
struct InFlight<'b, M: RawMutex> {
    usage: &'b BlockingMutex<M, Cell<Usage>>,
}

impl<M: RawMutex> Drop for InFlight<'_, M> {
    fn drop(&mut self) {
        self.usage.lock(|usage| {
            let mut now = usage.get();
            now.in_flight = now.in_flight.saturating_sub(1);
            usage.set(now);
        });
    }
}

impl<M: RawMutex, V, C: Clock> BudgetedValidator<M, V, C> {
    /// `inner` called within `budget`, timed by `clock`.
    pub const fn new(inner: V, clock: C, budget: CallBudget) -> Self {
        BudgetedValidator {
            inner,
            clock,
            budget,
            usage: BlockingMutex::new(Cell::new(Usage {
                in_flight: 0,
                window_start_ms: 0,
                started_in_window: 0,
            })),
        }
    }

    /// The validator it calls.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// Takes a place for one call, or `None` when the budget is spent.
    fn start(&self) -> Option<InFlight<'_, M>> {
        let now_ms = self.clock.monotonic_ms();
        let admitted = self.usage.lock(|usage| {
            let mut now = usage.get();
            if now_ms.saturating_sub(now.window_start_ms) >= 1000 {
                now.window_start_ms = now_ms;
                now.started_in_window = 0;
            }
            let admitted = now.in_flight < self.budget.in_flight
                && now.started_in_window < self.budget.per_second;
            if admitted {
                now.in_flight += 1;
                now.started_in_window += 1;
                usage.set(now);
            }
            admitted
        });
        admitted.then_some(InFlight { usage: &self.usage })
    }
}

impl<M: RawMutex, V: TokenValidator, C: Clock> TokenValidator for BudgetedValidator<M, V, C> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        let _call = self.start().ok_or(ValidationError::Busy)?;
        self.inner.validate(token).await
    }

    async fn inspect<T>(
        &self,
        token: &str,
        inspect: impl FnOnce(&TokenInfo) -> T,
    ) -> Result<T, ValidationError> {
        let _call = self.start().ok_or(ValidationError::Busy)?;
        self.inner.inspect(token, inspect).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeClock, FixedValidator};
    use embassy_futures::block_on;
    use embassy_futures::join::join3;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;

    type Budgeted<'a> = BudgetedValidator<NoopRawMutex, &'a FixedValidator, &'a FakeClock>;

    #[test]
    fn calls_beyond_the_rate_are_refused_until_the_next_second() {
        let clock = FakeClock::at(None);
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let budget = CallBudget {
            in_flight: 8,
            per_second: 3,
        };
        let budgeted: Budgeted = BudgetedValidator::new(&upstream, &clock, budget);
        for _ in 0..3 {
            assert_eq!(
                block_on(budgeted.validate("junk")),
                Err(ValidationError::Inactive)
            );
        }
        assert_eq!(
            block_on(budgeted.validate("junk")),
            Err(ValidationError::Busy)
        );
        assert_eq!(upstream.calls.get(), 3, "the refused check cost no call");
        clock.advance_ms(1000);
        assert_eq!(
            block_on(budgeted.validate("junk")),
            Err(ValidationError::Inactive)
        );
        assert_eq!(upstream.calls.get(), 4);
    }

    #[test]
    fn calls_in_flight_are_bounded_and_released() {
        let clock = FakeClock::at(None);
        let upstream = FixedValidator::new(Err(ValidationError::Inactive));
        let budget = CallBudget {
            in_flight: 2,
            per_second: 100,
        };
        let budgeted: Budgeted = BudgetedValidator::new(&upstream, &clock, budget);
        let (a, b, c) = block_on(join3(
            budgeted.validate("a"),
            budgeted.validate("b"),
            budgeted.validate("c"),
        ));
        assert_eq!(
            (a, b),
            (
                Err(ValidationError::Inactive),
                Err(ValidationError::Inactive)
            )
        );
        assert_eq!(c, Err(ValidationError::Busy));
        assert_eq!(upstream.calls.get(), 2);
        assert_eq!(budgeted.usage.lock(Cell::get).in_flight, 0);
        assert_eq!(
            block_on(budgeted.validate("d")),
            Err(ValidationError::Inactive)
        );
    }
}
