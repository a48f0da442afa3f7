//! [`ConnLimit`]: the cap on open connections, shared by every thread.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A count of open connections with a cap, shared by the acceptor and every
/// event loop. Cloning it shares the same count.
///
/// Whoever stops accepting at the cap can ask to be told when a place
/// frees ([`ConnLimit::on_free`]), so it resumes without polling.
#[derive(Debug, Clone)]
pub struct ConnLimit {
    inner: Arc<Inner>,
}

struct Inner {
    open: AtomicUsize,
    max: usize,
    on_free: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnLimit")
            .field("open", &self.open)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// One open connection's place under the cap; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
}

impl ConnLimit {
    /// A limit of `max` open connections.
    pub fn new(max: usize) -> ConnLimit {
        ConnLimit {
            inner: Arc::new(Inner {
                open: AtomicUsize::new(0),
                max,
                on_free: OnceLock::new(),
            }),
        }
    }

    /// Call `notify` each time a place frees while the count was at the
    /// cap (so only when someone may have stopped accepting). Set once;
    /// later calls are ignored and return `false`.
    pub fn on_free(&self, notify: impl Fn() + Send + Sync + 'static) -> bool {
        self.inner.on_free.set(Box::new(notify)).is_ok()
    }

    /// A permit for one more connection, or `None` at the cap.
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut open = self.inner.open.load(Ordering::Relaxed);
        loop {
            if open >= self.inner.max {
                return None;
            }
            match self.inner.open.compare_exchange_weak(
                open,
                open + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Permit {
                        inner: Arc::clone(&self.inner),
                    })
                }
                Err(now) => open = now,
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// Whether the cap is reached.
    pub fn is_full(&self) -> bool {
        self.open() >= self.inner.max
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let before = self.inner.open.fetch_sub(1, Ordering::AcqRel);
        if before >= self.inner.max {
            if let Some(notify) = self.inner.on_free.get() {
                notify();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_is_enforced_and_freed_on_drop() {
        let limit = ConnLimit::new(2);
        let a = limit.try_acquire().unwrap();
        let b = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none());
        assert!(limit.is_full());
        assert_eq!(limit.open(), 2);
        drop(a);
        assert_eq!(limit.open(), 1);
        let c = limit.try_acquire().unwrap();
        drop((b, c));
        assert_eq!(limit.open(), 0);
    }

    #[test]
    fn on_free_is_called_when_leaving_the_cap_only() {
        use std::sync::atomic::AtomicUsize;
        let calls = Arc::new(AtomicUsize::new(0));
        let limit = ConnLimit::new(2);
        let counter = Arc::clone(&calls);
        assert!(limit.on_free(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        assert!(!limit.on_free(|| {}), "set once");
        let a = limit.try_acquire().unwrap();
        let b = limit.try_acquire().unwrap();
        drop(a); // 2 -> 1: leaving the cap
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        drop(b); // 1 -> 0: was not at the cap
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn zero_cap_refuses_everything() {
        assert!(ConnLimit::new(0).try_acquire().is_none());
    }

    #[test]
    fn shared_between_threads() {
        let limit = ConnLimit::new(1000);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limit = limit.clone();
                std::thread::spawn(move || -> Vec<Permit> {
                    (0..300).filter_map(|_| limit.try_acquire()).collect()
                })
            })
            .collect();
        let held: Vec<Vec<Permit>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let got: usize = held.iter().map(Vec::len).sum();
        assert_eq!(got, 1000, "exactly the cap was granted while all were held");
        drop(held);
        assert_eq!(limit.open(), 0, "dropping the permits frees every place");
    }
}
