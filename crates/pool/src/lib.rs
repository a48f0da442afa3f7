//! Connection slots, the cap on open connections, and recycled buffers.
//!
//! Nothing here knows HTTP or sockets; the event loop uses it to keep the
//! memory of a connection in proportion to what the connection is doing:
//!
//! - [`ConnLimit`] counts open connections across every thread and refuses
//!   a [`Permit`] at the cap; dropping the permit frees the slot.
//! - [`Slab`] stores per-connection state in one vector, addressed by a
//!   small integer key that doubles as the event-loop token.
//! - [`BufPool`] lends buffers to connections while they work and takes them
//!   back when they go idle, so an idle connection holds none.
//!
//! ```
//! use netrunner_pool::{BufPool, ConnLimit, Slab};
//!
//! let limit = ConnLimit::new(1);
//! let permit = limit.try_acquire().expect("a free slot");
//! assert!(limit.try_acquire().is_none()); // at the cap
//!
//! let mut conns = Slab::new();
//! let key = conns.insert(("peer", permit));
//!
//! let mut buffers: BufPool<Vec<u8>> = BufPool::new(16);
//! let mut buf = buffers.take();
//! buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
//! buffers.give(buf); // cleared, kept for the next connection
//! assert_eq!(buffers.cached(), 1);
//!
//! drop(conns.remove(key));
//! assert!(limit.try_acquire().is_some()); // the slot is free again
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod buffers;
mod limit;
mod slab;

pub use buffers::{BufPool, Recycle};
pub use limit::{ConnLimit, Permit};
pub use slab::Slab;
