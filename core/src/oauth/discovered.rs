//! Provider facts learned at run time: the discovered metadata, shared by every
//! connection, and a validator that introspects at whatever endpoint discovery found
//! (and answers "unreachable" until discovery has succeeded).

use core::cell::RefCell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::RawMutex;
use heapless::String;

use super::buffers::ProviderBuffers;
use super::config::OAuthConfig;
use super::introspection::Introspector;
use super::metadata::{ProviderMetadata, URL_MAX};
use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::net::Connect;

/// The provider's metadata once discovery has succeeded.
pub struct SharedMetadata<M: RawMutex> {
    cell: Mutex<M, RefCell<Option<ProviderMetadata>>>,
}

impl<M: RawMutex> core::fmt::Debug for SharedMetadata<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMetadata")
            .field("known", &self.is_known())
            .finish()
    }
}

impl<M: RawMutex> Default for SharedMetadata<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// An endpoint URL copied out of the shared metadata.
pub type EndpointUrl = String<URL_MAX>;

impl<M: RawMutex> SharedMetadata<M> {
    pub const fn new() -> Self {
        SharedMetadata {
            cell: Mutex::new(RefCell::new(None)),
        }
    }

    pub fn set(&self, metadata: ProviderMetadata) {
        self.cell.lock(|cell| *cell.borrow_mut() = Some(metadata));
    }

    pub fn is_known(&self) -> bool {
        self.cell.lock(|cell| cell.borrow().is_some())
    }

    /// Runs `f` on the metadata (or `None` while undiscovered) under the lock.
    pub fn with<T>(&self, f: impl FnOnce(Option<&ProviderMetadata>) -> T) -> T {
        self.cell.lock(|cell| f(cell.borrow().as_ref()))
    }

    /// Copies one endpoint out, so no lock is held across I/O.
    pub fn endpoint(
        &self,
        pick: impl FnOnce(&ProviderMetadata) -> Option<&EndpointUrl>,
    ) -> Option<EndpointUrl> {
        self.with(|metadata| metadata.and_then(pick).cloned())
    }
}

/// Introspects at the discovered (or configured) introspection endpoint.
pub struct DiscoveredIntrospector<'a, M: RawMutex, C> {
    metadata: &'a SharedMetadata<M>,
    connect: &'a C,
    config: &'a OAuthConfig<'a>,
    buffers: &'a ProviderBuffers<'a, M>,
}

impl<M: RawMutex, C> core::fmt::Debug for DiscoveredIntrospector<'_, M, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DiscoveredIntrospector")
            .field("metadata", self.metadata)
            .finish_non_exhaustive()
    }
}

impl<'a, M: RawMutex, C> DiscoveredIntrospector<'a, M, C> {
    pub fn new(
        metadata: &'a SharedMetadata<M>,
        connect: &'a C,
        config: &'a OAuthConfig<'a>,
        buffers: &'a ProviderBuffers<'a, M>,
    ) -> Self {
        DiscoveredIntrospector {
            metadata,
            connect,
            config,
            buffers,
        }
    }
}

impl<M: RawMutex, C: Connect> TokenValidator for DiscoveredIntrospector<'_, M, C>
where
    for<'c> <C::Connection<'c> as embedded_io_async::ErrorType>::Error: embedded_io::Error,
{
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        let known = self.metadata.is_known();
        let url = self
            .metadata
            .endpoint(|m| m.introspection_endpoint.as_ref());
        match url {
            Some(url) => {
                Introspector::new(self.connect, &url, self.config, self.buffers)
                    .validate(token)
                    .await
            }
            // Until discovery succeeds the provider counts as unreachable (503, not 401).
            None if !known => Err(ValidationError::Unreachable),
            None => Err(ValidationError::Misconfigured),
        }
    }
}
