//! Provider facts learned at run time: the discovered metadata, shared by every
//! connection, and a validator that introspects at whatever endpoint discovery found
//! (and answers "unreachable" until discovery has succeeded).

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::once_lock::OnceLock;

use super::buffers::ProviderBuffers;
use super::config::OAuthConfig;
use super::introspection::Introspector;
use super::metadata::{ALL_MEMBERS, METADATA_TEXT, MetadataView, ProviderMetadata};
use super::token::{TokenInfo, TokenValidator, ValidationError};
use crate::http::net::Connect;

/// Where readers find the provider's metadata once it is known, whatever capacity it
/// is kept in.
pub trait MetadataSource: Sync {
    /// The metadata, or `None` while undiscovered.
    fn metadata(&self) -> Option<MetadataView<'_>>;
}

/// The provider's metadata once discovery has succeeded. It is set once and then only
/// read, so connections borrow endpoints in place instead of copying them. `TEXT` and
/// `KEEP` are its [`ProviderMetadata`]'s room and members.
pub struct SharedMetadata<const TEXT: usize = METADATA_TEXT, const KEEP: u16 = ALL_MEMBERS> {
    cell: OnceLock<ProviderMetadata<TEXT, KEEP>>,
}

impl<const TEXT: usize, const KEEP: u16> core::fmt::Debug for SharedMetadata<TEXT, KEEP> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedMetadata")
            .field("known", &self.is_known())
            .finish()
    }
}

impl<const TEXT: usize, const KEEP: u16> Default for SharedMetadata<TEXT, KEEP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const TEXT: usize, const KEEP: u16> SharedMetadata<TEXT, KEEP> {
    /// Nothing known yet.
    pub const fn new() -> Self {
        SharedMetadata {
            cell: OnceLock::new(),
        }
    }

    /// Publishes the discovered metadata; `false` (and no change) if it was already set.
    pub fn set(&self, metadata: ProviderMetadata<TEXT, KEEP>) -> bool {
        self.cell.init(metadata).is_ok()
    }

    /// Whether discovery has succeeded.
    pub fn is_known(&self) -> bool {
        self.cell.is_set()
    }
}

impl<const TEXT: usize, const KEEP: u16> MetadataSource for SharedMetadata<TEXT, KEEP> {
    fn metadata(&self) -> Option<MetadataView<'_>> {
        self.cell.try_get().map(ProviderMetadata::view)
    }
}

/// Introspects at the discovered (or configured) introspection endpoint.
pub struct DiscoveredIntrospector<'a, M: RawMutex, C> {
    metadata: &'a dyn MetadataSource,
    connect: &'a C,
    config: &'a OAuthConfig<'a>,
    buffers: &'a ProviderBuffers<'a, M>,
}

impl<M: RawMutex, C> core::fmt::Debug for DiscoveredIntrospector<'_, M, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DiscoveredIntrospector")
            .field("known", &self.metadata.metadata().is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, M: RawMutex, C> DiscoveredIntrospector<'a, M, C> {
    /// Introspects at `metadata`'s endpoint through `connect`, with buffers from `buffers`.
    pub fn new(
        metadata: &'a dyn MetadataSource,
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

impl<M: RawMutex, C: Connect> TokenValidator for DiscoveredIntrospector<'_, M, C> {
    async fn validate(&self, token: &str) -> Result<TokenInfo, ValidationError> {
        // Until discovery succeeds the provider counts as unreachable (503, not 401).
        let metadata = self
            .metadata
            .metadata()
            .ok_or(ValidationError::Unreachable)?;
        let url = metadata
            .introspection_endpoint()
            .ok_or(ValidationError::Misconfigured)?;
        Introspector::new(self.connect, url, self.config, self.buffers)
            .validate(token)
            .await
    }
}
