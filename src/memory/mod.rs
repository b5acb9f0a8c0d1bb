//! In-process implementations of the state ports, for a single node (the
//! zero-config default): [`MemoryRooms`], [`MemoryPresence`], [`MemoryCalls`],
//! [`MemorySlots`], [`KeyedLocks`], [`MemoryBuckets`].

pub mod buckets;
pub mod calls;
pub mod locks;
pub mod presence;
pub mod rooms;
pub mod slots;

pub use buckets::MemoryBuckets;
pub use calls::MemoryCalls;
pub use locks::KeyedLocks;
pub use presence::MemoryPresence;
pub use rooms::MemoryRooms;
pub use slots::MemorySlots;
