//! [`BufPool`]: buffers lent to busy connections and taken back from idle
//! ones.

/// A buffer that can be cleared for reuse.
pub trait Recycle: Default {
    /// Make the value ready for its next user. Return `false` to have it
    /// dropped instead of kept (a buffer that grew far past its usual size,
    /// say, so that one large request does not pin memory for good).
    fn reuse(&mut self) -> bool;
}

/// Largest `Vec<u8>` a pool keeps; bigger ones are freed when given back.
const MAX_KEPT_VEC: usize = 64 * 1024;

impl Recycle for Vec<u8> {
    fn reuse(&mut self) -> bool {
        self.clear();
        self.capacity() <= MAX_KEPT_VEC
    }
}

/// A boxed buffer recycles as its contents do; pooling the box saves the
/// allocation of the box itself.
impl<T: Recycle> Recycle for Box<T> {
    fn reuse(&mut self) -> bool {
        (**self).reuse()
    }
}

/// A free list of buffers for one thread: no locks, no sharing.
///
/// `take` lends a buffer (a recycled one when there is one, a new one
/// otherwise) and `give` takes it back; at most `max_cached` wait in the
/// pool, the rest are freed.
#[derive(Debug)]
pub struct BufPool<T> {
    free: Vec<T>,
    max_cached: usize,
    created: u64,
}

impl<T: Recycle> BufPool<T> {
    /// A pool that keeps at most `max_cached` free buffers.
    pub fn new(max_cached: usize) -> BufPool<T> {
        BufPool {
            free: Vec::new(),
            max_cached,
            created: 0,
        }
    }

    /// Lend a buffer.
    pub fn take(&mut self) -> T {
        match self.free.pop() {
            Some(buf) => buf,
            None => {
                self.created += 1;
                T::default()
            }
        }
    }

    /// Take a buffer back.
    pub fn give(&mut self, mut buf: T) {
        if self.free.len() < self.max_cached && buf.reuse() {
            self.free.push(buf);
        }
    }

    /// Buffers waiting in the pool.
    pub fn cached(&self) -> usize {
        self.free.len()
    }

    /// Buffers this pool has made since it was created.
    pub fn created(&self) -> u64 {
        self.created
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_cleared() {
        let mut pool: BufPool<Vec<u8>> = BufPool::new(2);
        let mut a = pool.take();
        a.extend_from_slice(b"hello");
        let cap = a.capacity();
        pool.give(a);
        let a = pool.take();
        assert!(a.is_empty(), "a recycled buffer comes back empty");
        assert_eq!(a.capacity(), cap, "and keeps its memory");
        assert_eq!(pool.created(), 1);
    }

    #[test]
    fn at_most_max_cached_are_kept() {
        let mut pool: BufPool<Vec<u8>> = BufPool::new(2);
        let bufs: Vec<_> = (0..5).map(|_| pool.take()).collect();
        assert_eq!(pool.created(), 5);
        for b in bufs {
            pool.give(b);
        }
        assert_eq!(pool.cached(), 2);
    }

    #[test]
    fn oversized_buffers_are_freed() {
        let mut pool: BufPool<Vec<u8>> = BufPool::new(8);
        pool.give(Vec::with_capacity(MAX_KEPT_VEC + 1));
        assert_eq!(pool.cached(), 0);
        pool.give(Vec::with_capacity(1024));
        assert_eq!(pool.cached(), 1);
    }

    #[derive(Default)]
    struct Pair {
        read: Vec<u8>,
        write: Vec<u8>,
    }

    impl Recycle for Pair {
        fn reuse(&mut self) -> bool {
            self.read.reuse() & self.write.reuse()
        }
    }

    #[test]
    fn composite_buffers() {
        let mut pool: BufPool<Pair> = BufPool::new(4);
        let mut p = pool.take();
        p.read.push(1);
        p.write.push(2);
        pool.give(p);
        let p = pool.take();
        assert!(p.read.is_empty() && p.write.is_empty());
    }
}
