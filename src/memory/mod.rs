//! In-process implementations of the state ports, for a single node (the
//! zero-config default): [`MemoryRooms`], [`MemoryPresence`], [`MemoryCalls`],
//! [`KeyedLocks`].

pub mod calls;
pub mod locks;
pub mod presence;
pub mod rooms;

pub use calls::MemoryCalls;
pub use locks::KeyedLocks;
pub use presence::MemoryPresence;
pub use rooms::MemoryRooms;
