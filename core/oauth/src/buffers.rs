//! Memory for calls to the provider (introspection, code exchange), shared by every
//! connection: a call borrows one buffer for its request and the answer, so no
//! connection's future carries kilobytes it rarely uses. Outbound calls are few at
//! once anyway (the connector has only so many sockets), so waiting for a buffer
//! costs little.

use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_sync::mutex::{Mutex, MutexGuard};

/// One buffer to lend.
pub type BufferSlot<'p, M> = Mutex<M, &'p mut [u8]>;

/// A few buffers the gateway owns and sizes; one per outbound connection is plenty.
pub struct ProviderBuffers<'p, M: RawMutex> {
    slots: &'p [BufferSlot<'p, M>],
}

impl<M: RawMutex> core::fmt::Debug for ProviderBuffers<'_, M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProviderBuffers")
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl<'p, M: RawMutex> ProviderBuffers<'p, M> {
    /// `slots` is what calls borrow (`Mutex::new(&mut memory[..])` each); a buffer
    /// must hold a request and its answer, head included.
    pub const fn new(slots: &'p [BufferSlot<'p, M>]) -> Self {
        ProviderBuffers { slots }
    }

    /// One slot per buffer of `memory`, to build `ProviderBuffers` from.
    pub fn slots<const N: usize, const SIZE: usize>(
        memory: &'p mut [[u8; SIZE]; N],
    ) -> [BufferSlot<'p, M>; N] {
        memory.each_mut().map(|buffer| Mutex::new(&mut buffer[..]))
    }

    /// A free buffer, else the first one once its call is over; `None` without slots.
    pub async fn borrow(&self) -> Option<MutexGuard<'_, M, &'p mut [u8]>> {
        for slot in self.slots {
            if let Ok(buffer) = slot.try_lock() {
                return Some(buffer);
            }
        }
        Some(self.slots.first()?.lock().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embassy_futures::block_on;
    use embassy_sync::blocking_mutex::raw::NoopRawMutex;

    #[test]
    fn lends_free_buffers_first_and_none_without_slots() {
        let (mut a, mut b) = ([0u8; 8], [0u8; 16]);
        let slots: [BufferSlot<'_, NoopRawMutex>; 2] =
            [Mutex::new(&mut a[..]), Mutex::new(&mut b[..])];
        let buffers = ProviderBuffers::new(&slots);
        let first = block_on(buffers.borrow()).unwrap();
        let second = block_on(buffers.borrow()).unwrap();
        assert_eq!((first.len(), second.len()), (8, 16));
        drop(first);
        assert_eq!(block_on(buffers.borrow()).unwrap().len(), 8);
        let none: ProviderBuffers<'_, NoopRawMutex> = ProviderBuffers::new(&[]);
        assert!(block_on(none.borrow()).is_none());
    }
}
