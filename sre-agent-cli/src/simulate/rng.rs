//! A small seeded PRNG (SplitMix64 seeding a xoshiro256**), so a seed
//! rebuilds the same scenarios on every platform and release without a
//! dependency whose stream could change.

/// A deterministic pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng {
    // Interior mutability lets `ctx.event(.., ctx.rng.range(..))` borrow
    // the generator while the context is borrowed for the call.
    s: std::cell::Cell<[u64; 4]>,
}

const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        Self {
            s: std::cell::Cell::new([
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
            ]),
        }
    }

    /// An independent generator derived from this one's seed and a label.
    pub fn fork(&self, label: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        Self::new(self.next_u64() ^ h)
    }

    /// The next 64 random bits.
    pub fn next_u64(&self) -> u64 {
        let mut s = self.s.get();
        let r = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.s.set(s);
        r
    }

    /// A float in [0, 1).
    pub fn f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An integer in [lo, hi] (inclusive).
    pub fn range(&self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    /// An index below `n` (0 when `n` is 0).
    pub fn below(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A float in [lo, hi).
    pub fn uniform(&self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.f64() < p
    }

    /// One element of a non-empty slice (the first of an empty one panics
    /// nowhere: callers pass literal, non-empty tables).
    pub fn pick<'a, T>(&self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len());
        &items[i.min(items.len().saturating_sub(1))]
    }

    /// Shuffles in place.
    pub fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `n` lowercase hex digits.
    pub fn hex(&self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }

    /// `n` characters of the alphabet Kubernetes uses for generated names.
    pub fn suffix(&self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(ALPHA[self.below(ALPHA.len())]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_ranges_hold() {
        let (a, b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let c = Rng::new(8);
        assert_ne!(Rng::new(7).next_u64(), c.next_u64());
        for _ in 0..1000 {
            let x = a.range(3, 5);
            assert!((3..=5).contains(&x));
            assert!(a.f64() < 1.0);
        }
        assert_eq!(a.suffix(5).len(), 5);
        assert_eq!(a.hex(32).len(), 32);
    }
}
