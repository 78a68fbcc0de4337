//! Provider facts learned at run time: the discovered metadata, shared by every
//! connection, and a validator that introspects at whatever endpoint discovery found
//! (and answers "unreachable" until discovery has succeeded).

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::once_lock::OnceLock;
use heapless::String;

use super::buffers::ProviderBuffers;
use super::config::OAuthConfig;
use super::introspection::Introspector;
use super::metadata::{ProviderMetadata, URL_MAX};
use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::http::net::Connect;

/// The provider's metadata once discovery has succeeded. It is set once and then only
/// read, so connections borrow endpoints in place instead of copying them.
pub struct SharedMetadata {
    cell: OnceLock<ProviderMetadata>,
}

impl core::fmt::Debug for SharedMetadata {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMetadata")
            .field("known", &self.is_known())
            .finish()
    }
}

impl Default for SharedMetadata {
    fn default() -> Self {
        Self::new()
    }
}

/// An endpoint URL in the shared metadata.
pub type EndpointUrl = String<URL_MAX>;

impl SharedMetadata {
    pub const fn new() -> Self {
        SharedMetadata {
            cell: OnceLock::new(),
        }
    }

    /// Publishes the discovered metadata; `false` (and no change) if it was already set.
    pub fn set(&self, metadata: ProviderMetadata) -> bool {
        self.cell.init(metadata).is_ok()
    }

    pub fn is_known(&self) -> bool {
        self.cell.is_set()
    }

    /// The metadata, or `None` while undiscovered.
    pub fn get(&self) -> Option<&ProviderMetadata> {
        self.cell.try_get()
    }

    /// One endpoint of the metadata, if discovered and advertised.
    pub fn endpoint(
        &self,
        pick: impl FnOnce(&ProviderMetadata) -> Option<&EndpointUrl>,
    ) -> Option<&EndpointUrl> {
        self.get().and_then(pick)
    }
}

/// Introspects at the discovered (or configured) introspection endpoint.
pub struct DiscoveredIntrospector<'a, M: RawMutex, C> {
    metadata: &'a SharedMetadata,
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
        metadata: &'a SharedMetadata,
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
        // Until discovery succeeds the provider counts as unreachable (503, not 401).
        let metadata = self.metadata.get().ok_or(ValidationError::Unreachable)?;
        let url = metadata
            .introspection_endpoint
            .as_ref()
            .ok_or(ValidationError::Misconfigured)?;
        Introspector::new(self.connect, url, self.config, self.buffers)
            .validate(token)
            .await
    }
}
