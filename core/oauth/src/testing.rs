//! Test helpers for OAuth code (feature `testing`): the shared settings, a fixed
//! validator and leaked provider buffers; the connection fakes come from the HTTP crate.

extern crate std;

use core::cell::{Cell, RefCell};
use std::vec::Vec;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;

pub use crate::http::testing::*;

use crate::buffers::{BufferSlot, ProviderBuffers};

/// The settings the OAuth tests share: resource 127.0.0.1:8787 named "Push Advisor
/// API" with scopes `api:read` and `api:write`, provider 127.0.0.1:9000, client
/// `push-advisor` with Basic authentication.
pub fn config() -> crate::OAuthConfig<'static> {
    use crate::{ClientAuth, ClientCredentials, OAuthConfig};
    let config = OAuthConfig::new(
        "http://127.0.0.1:8787",
        "http://127.0.0.1:8787/.well-known/oauth-protected-resource",
        "http://127.0.0.1:9000",
        ClientCredentials {
            client_id: "push-advisor",
            client_secret: "s3cret",
            auth: ClientAuth::ClientSecretBasic,
        },
    );
    OAuthConfig {
        resource_name: "Push Advisor API",
        realm: "Push Advisor API",
        scopes_supported: &["api:read", "api:write"],
        login_scope: "api:read api:write",
        ..config
    }
}

/// A validator fixture that answers with a fixed result and counts calls.
#[derive(Debug)]
pub struct FixedValidator {
    /// What every call answers.
    pub answer: RefCell<Result<crate::TokenInfo, crate::ValidationError>>,
    /// How many calls there were.
    pub calls: Cell<usize>,
}

impl FixedValidator {
    /// A validator answering `answer`.
    pub fn new(answer: Result<crate::TokenInfo, crate::ValidationError>) -> Self {
        FixedValidator {
            answer: RefCell::new(answer),
            calls: Cell::new(0),
        }
    }
}

impl crate::TokenValidator for FixedValidator {
    async fn validate(&self, _token: &str) -> Result<crate::TokenInfo, crate::ValidationError> {
        self.calls.set(self.calls.get() + 1);
        // Take a few turns, as a network round trip would, so concurrent callers overlap.
        for _ in 0..3 {
            embassy_futures::yield_now().await;
        }
        self.answer.borrow().clone()
    }
}

/// Provider buffers for tests: two of `size` bytes, leaked (tests only).
pub fn buffers_of(size: usize) -> &'static ProviderBuffers<'static, CriticalSectionRawMutex> {
    use std::boxed::Box;
    use std::vec;
    let slots: Vec<BufferSlot<'static, CriticalSectionRawMutex>> = (0..2)
        .map(|_| embassy_sync::mutex::Mutex::new(&mut vec![0u8; size].leak()[..]))
        .collect();
    Box::leak(Box::new(ProviderBuffers::new(slots.leak())))
}

/// Provider buffers as large as a host gives them.
pub fn buffers() -> &'static ProviderBuffers<'static, CriticalSectionRawMutex> {
    buffers_of(4096)
}
