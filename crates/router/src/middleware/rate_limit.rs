//! Rate limiting: a token bucket per client IP address, in bounded memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use netrunner_wire::{Request, Response, Status};

use super::{Middleware, Next};

/// The client addresses a [`RateLimit`] tracks at most unless told
/// otherwise: about 4 MiB of buckets.
pub const DEFAULT_RATE_LIMIT_CLIENTS: usize = 65_536;

/// Shards at most: each a mutex around its own map, so that threads
/// checking different clients rarely wait for each other.
const MAX_SHARDS: usize = 16;

/// Buckets a shard holds at least before another shard is made (so a small
/// cap is not spread thin over shards).
const MIN_SHARD_CLIENTS: usize = 256;

/// A token bucket per client IP address: `rate` tokens a second, `burst`
/// at most, one per request. A request that finds its bucket empty is
/// answered `429 Too Many Requests` with `Retry-After`, the whole seconds
/// (at least 1) until the bucket holds a token again.
///
/// Requests without a peer address are not limited. An IPv4-mapped IPv6
/// address counts as its IPv4 address; every other IPv6 address is its own
/// client.
///
/// **Implementation notes.** Each bucket is kept as the time it will be
/// full again (the generic cell rate algorithm): a bucket that reached that
/// time is the same as a new one, so it can be forgotten. Buckets are held
/// in up to 16 shards, each a `Mutex<HashMap>` picked by a keyed hash of
/// the address, and the number of buckets never exceeds the cap
/// ([`RateLimit::max_clients`]), however many addresses appear. When a new
/// address finds its shard full, one pass over that shard forgets every
/// bucket that is full again; if none is, it forgets the one that will be
/// full soonest (the least recently drained, which forgives the fewest
/// requests). That pass costs time in proportion to the shard's size
/// (4,096 buckets with the defaults), on this rare path only: checking a
/// known address, or a new one with room, is one hash lookup.
///
/// ```
/// use std::net::IpAddr;
/// use std::time::{Duration, Instant};
///
/// use netrunner_router::middleware::RateLimit;
///
/// let limit = RateLimit::per_second(2);
/// let client: IpAddr = "192.0.2.1".parse()?;
/// let start = Instant::now();
/// assert!(limit.check(client, start).is_ok());
/// assert!(limit.check(client, start).is_ok());
/// // The burst is spent: a token comes back in half a second.
/// assert_eq!(limit.check(client, start), Err(Duration::from_millis(500)));
/// assert!(limit.check(client, start + Duration::from_millis(500)).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RateLimit {
    rate: u32,
    burst: u32,
    max_clients: usize,
    /// The time one token takes to come back.
    interval: Duration,
    /// `burst` tokens' worth of time: how far ahead of now a bucket's
    /// "full again" time may be.
    tolerance: Duration,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

/// One shard: buckets by address, each the time it is full again.
#[derive(Debug)]
struct Shard {
    full_at: HashMap<IpAddr, Instant>,
    cap: usize,
}

impl RateLimit {
    /// `rate` requests a second per client address, in bursts of up to
    /// `rate`, for up to [`DEFAULT_RATE_LIMIT_CLIENTS`] addresses.
    ///
    /// # Panics
    ///
    /// If `rate` is zero.
    pub fn per_second(rate: u32) -> RateLimit {
        assert!(rate > 0, "a rate limit of zero requests a second");
        RateLimit {
            rate,
            burst: rate,
            max_clients: DEFAULT_RATE_LIMIT_CLIENTS,
            interval: Duration::ZERO,
            tolerance: Duration::ZERO,
            shards: Box::new([]),
            hasher: RandomState::new(),
        }
        .rebuild()
    }

    /// Let a client send up to `burst` requests at once (at least 1).
    /// Clears the buckets.
    pub fn burst(mut self, burst: u32) -> RateLimit {
        self.burst = burst.max(1);
        self.rebuild()
    }

    /// Keep buckets for at most `max_clients` addresses (at least 1).
    /// Clears the buckets.
    pub fn max_clients(mut self, max_clients: usize) -> RateLimit {
        self.max_clients = max_clients.max(1);
        self.rebuild()
    }

    fn rebuild(mut self) -> RateLimit {
        self.interval = (Duration::from_secs(1) / self.rate).max(Duration::from_nanos(1));
        self.tolerance = self.interval.saturating_mul(self.burst);
        let shards = (self.max_clients / MIN_SHARD_CLIENTS).clamp(1, MAX_SHARDS);
        self.shards = (0..shards)
            .map(|i| {
                // Share the cap out exactly: the shards' caps add up to it.
                let cap = self.max_clients / shards + usize::from(i < self.max_clients % shards);
                Mutex::new(Shard {
                    full_at: HashMap::new(),
                    cap,
                })
            })
            .collect();
        self
    }

    /// Take a token from `client`'s bucket at time `now`: `Ok` if there was
    /// one, else how long until there is.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = client.to_canonical();
        let i = (self.hasher.hash_one(client) % self.shards.len() as u64) as usize;
        let mut shard = self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(full_at) = shard.full_at.get_mut(&client) {
            return self.take(full_at, now);
        }
        if shard.full_at.len() >= shard.cap {
            shard.evict(now);
        }
        let mut full_at = now;
        let taken = self.take(&mut full_at, now);
        shard.full_at.insert(client, full_at);
        taken
    }

    /// Take a token from the bucket that is full at `full_at`.
    fn take(&self, full_at: &mut Instant, now: Instant) -> Result<(), Duration> {
        // Tokens missing now, as time: zero if the bucket is full.
        let debt = full_at.saturating_duration_since(now);
        let after = debt + self.interval;
        if after > self.tolerance {
            return Err(after - self.tolerance);
        }
        *full_at = now + after;
        Ok(())
    }

    /// The number of client addresses with a bucket: never more than the
    /// cap.
    pub fn clients(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .full_at
                    .len()
            })
            .sum()
    }

    /// Answer `req` through `next`, or `429` if its client's bucket is
    /// empty: what the middleware does for each request, at `now`.
    pub fn apply(&self, req: &Request<'_>, next: Next<'_>, now: Instant) -> Response {
        let Some(peer) = req.peer() else {
            return next(req);
        };
        match self.check(peer.ip(), now) {
            Ok(()) => next(req),
            Err(wait) => {
                let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                Response::error(Status::TOO_MANY_REQUESTS)
                    .with_header("Retry-After", secs.to_string())
            }
        }
    }

    /// This limit as a middleware: [`RateLimit::apply`] for each request,
    /// at [`Instant::now`].
    pub fn middleware(self) -> impl Middleware {
        move |req: &Request<'_>, next: Next<'_>| self.apply(req, next, Instant::now())
    }
}

impl Shard {
    /// Make room for one more bucket: forget those full again, or else the
    /// one full soonest.
    fn evict(&mut self, now: Instant) {
        self.full_at.retain(|_, full_at| *full_at > now);
        if self.full_at.len() < self.cap {
            return;
        }
        let soonest = self
            .full_at
            .iter()
            .min_by_key(|(_, full_at)| **full_at)
            .map(|(client, _)| *client);
        if let Some(client) = soonest {
            self.full_at.remove(&client);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    use super::*;
    use crate::testing::with_request;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    impl RateLimit {
        fn holds(&self, client: &str) -> bool {
            let client = ip(client).to_canonical();
            self.shards
                .iter()
                .any(|s| s.lock().unwrap().full_at.contains_key(&client))
        }
    }

    #[test]
    fn burst_then_wait() {
        let limit = RateLimit::per_second(5);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..5 {
            assert_eq!(limit.check(a, t0), Ok(()));
        }
        assert_eq!(limit.check(a, t0), Err(ms(200)));
        assert_eq!(limit.check(a, t0 + ms(50)), Err(ms(150)));
        // A refused request costs nothing.
        assert_eq!(limit.check(a, t0 + ms(200)), Ok(()));
        assert_eq!(limit.check(a, t0 + ms(200)), Err(ms(200)));
        // A long pause refills the bucket to the burst, no more.
        let t1 = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(limit.check(a, t1), Ok(()));
        }
        assert!(limit.check(a, t1).is_err());
        // Steady at the rate: never refused.
        for i in 1..=100 {
            assert_eq!(limit.check(a, t1 + ms(200 * i)), Ok(()), "{i}");
        }
    }

    #[test]
    fn burst_apart_from_rate() {
        let limit = RateLimit::per_second(1).burst(3);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(limit.check(a, t0), Ok(()));
        }
        assert_eq!(limit.check(a, t0), Err(Duration::from_secs(1)));
        assert_eq!(limit.check(a, t0 + ms(999)), Err(ms(1)));
        assert_eq!(limit.check(a, t0 + ms(1000)), Ok(()));
    }

    #[test]
    fn clients_are_apart() {
        let limit = RateLimit::per_second(1);
        let t0 = Instant::now();
        assert_eq!(limit.check(ip("192.0.2.1"), t0), Ok(()));
        assert!(limit.check(ip("192.0.2.1"), t0).is_err());
        assert_eq!(limit.check(ip("192.0.2.2"), t0), Ok(()));
        assert_eq!(limit.check(ip("2001:db8::1"), t0), Ok(()));
        assert_eq!(limit.check(ip("2001:db8::2"), t0), Ok(()));
        // IPv4 mapped into IPv6 is the same client as plain IPv4.
        assert!(limit.check(ip("::ffff:192.0.2.1"), t0).is_err());
        assert!(limit.check(ip("192.0.2.2"), t0).is_err());
        assert_eq!(limit.clients(), 4);
    }

    #[test]
    fn the_cap_holds_for_100k_clients() {
        let limit = RateLimit::per_second(10).max_clients(1000);
        let t0 = Instant::now();
        for i in 0..100_000u32 {
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            // Every one of them starts with a full burst. A bucket is full
            // again after 100 ms, 300 clients later: the shards fill up,
            // and make room both ways.
            assert_eq!(limit.check(client, t0 + ms(u64::from(i / 3))), Ok(()));
            if i % 97 == 0 {
                assert!(limit.clients() <= 1000, "{i}: {}", limit.clients());
            }
        }
        assert!(limit.clients() <= 1000);
        // The shards' caps add up to the cap exactly.
        let caps: usize = limit.shards.iter().map(|s| s.lock().unwrap().cap).sum();
        assert_eq!(caps, 1000);
        assert_eq!(limit.shards.len(), 3);

        // All at one instant: no bucket is ever full again, so each new
        // client makes room by forgetting the one full soonest.
        let limit = RateLimit::per_second(10).max_clients(100);
        for i in 0..20_000u32 {
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(limit.check(client, t0), Ok(()));
            assert!(limit.clients() <= 100);
        }
        assert_eq!(limit.clients(), 100);
    }

    #[test]
    fn the_default_cap_holds() {
        let limit = RateLimit::per_second(1000);
        assert_eq!(limit.shards.len(), 16);
        let t0 = Instant::now();
        for i in 0..100_000u64 {
            let client = IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i)));
            // Each client's bucket is full again a millisecond later.
            assert_eq!(limit.check(client, t0 + ms(i / 10)), Ok(()));
        }
        assert!(limit.clients() <= DEFAULT_RATE_LIMIT_CLIENTS);
        assert!(limit.clients() > 0);
    }

    #[test]
    fn eviction_forgets_full_buckets_first() {
        // Three buckets, one shard.
        let limit = RateLimit::per_second(1).max_clients(3);
        assert_eq!(limit.shards.len(), 1);
        let t0 = Instant::now();
        let (a, b, c, d) = ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4");
        assert_eq!(limit.check(ip(a), t0), Ok(()));
        assert_eq!(limit.check(ip(b), t0 + ms(900)), Ok(()));
        assert_eq!(limit.check(ip(c), t0 + ms(900)), Ok(()));
        // At 1.5 s, a's bucket is full again, b's and c's are not: d takes
        // a's place, and b and c stay limited.
        let t = t0 + ms(1500);
        assert_eq!(limit.check(ip(d), t), Ok(()));
        assert!(!limit.holds(a));
        assert!(limit.holds(b) && limit.holds(c) && limit.holds(d));
        assert_eq!(limit.check(ip(b), t), Err(ms(400)));
        assert_eq!(limit.check(ip(c), t), Err(ms(400)));
        assert_eq!(limit.clients(), 3);
    }

    #[test]
    fn eviction_then_forgets_the_one_full_soonest() {
        let limit = RateLimit::per_second(1).burst(2).max_clients(3);
        let t0 = Instant::now();
        let (a, b, c, d) = ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4");
        // a drains its bucket; b and c take one token each, b last.
        assert_eq!(limit.check(ip(a), t0), Ok(()));
        assert_eq!(limit.check(ip(a), t0), Ok(()));
        assert_eq!(limit.check(ip(c), t0 + ms(100)), Ok(()));
        assert_eq!(limit.check(ip(b), t0 + ms(200)), Ok(()));
        // At 0.5 s none is full again; c is full soonest (at 1.1 s).
        let t = t0 + ms(500);
        assert_eq!(limit.check(ip(d), t), Ok(()));
        assert!(!limit.holds(c));
        assert!(limit.holds(a) && limit.holds(b) && limit.holds(d));
        // a is still limited: half a token back, not a new bucket.
        assert_eq!(limit.check(ip(a), t), Err(ms(500)));
    }

    #[test]
    fn middleware_answers_429_with_retry_after() {
        let limit = RateLimit::per_second(2);
        let next = |_: &Request<'_>| Response::text(Status::OK, "ok");
        let t0 = Instant::now();
        let peer: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let run = |now: Instant| {
            with_request("GET", "/", |req| {
                limit.apply(&req.with_peer(peer), &next, now)
            })
        };
        assert_eq!(run(t0).status, Status::OK);
        assert_eq!(run(t0).status, Status::OK);
        let res = run(t0);
        assert_eq!(res.status, Status::TOO_MANY_REQUESTS);
        assert_eq!(res.header("retry-after"), Some("1"));
        assert_eq!(
            res.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(res.body.as_bytes(), b"429 Too Many Requests\n");
        assert_eq!(run(t0 + ms(500)).status, Status::OK);
        // Without a peer: never limited.
        for _ in 0..10 {
            let res = with_request("GET", "/", |req| limit.apply(req, &next, t0));
            assert_eq!(res.status, Status::OK);
        }
        // Retry-After rounds up to whole seconds.
        let slow = RateLimit::per_second(1).burst(1);
        let peer = "192.0.2.9:1".parse().unwrap();
        let run = |now: Instant| {
            with_request("GET", "/", |req| {
                slow.apply(&req.with_peer(peer), &next, now)
            })
        };
        assert_eq!(run(t0).status, Status::OK);
        assert_eq!(run(t0 + ms(1)).header("retry-after"), Some("1"));
        let limit = RateLimit::per_second(1).burst(3);
        for _ in 0..3 {
            assert!(limit.check(ip("192.0.2.9"), t0).is_ok());
        }
        assert_eq!(limit.check(ip("192.0.2.9"), t0 + ms(1)), Err(ms(999)));
    }

    #[test]
    fn middleware_in_a_router() {
        let router = crate::Router::new()
            .get("/", |_: &Request<'_>, _: &_| {
                Response::text(Status::OK, "home")
            })
            .wrap(RateLimit::per_second(1).middleware())
            .build()
            .unwrap();
        let peer: SocketAddr = "[2001:db8::7]:1".parse().unwrap();
        let call = || with_request("GET", "/", |req| router.handle(&req.with_peer(peer)));
        assert_eq!(call().status, Status::OK);
        // The next token is a second away: well after this.
        let res = call();
        assert_eq!(res.status, Status::TOO_MANY_REQUESTS);
        assert_eq!(res.header("retry-after"), Some("1"));
    }
}
