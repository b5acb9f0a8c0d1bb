//! In-process implementations of the state ports, for a single node (the
//! zero-config default): [`MemoryRooms`], [`MemoryPresence`], [`KeyedLocks`].

pub mod locks;
pub mod presence;
pub mod rooms;

pub use locks::KeyedLocks;
pub use presence::MemoryPresence;
pub use rooms::MemoryRooms;
