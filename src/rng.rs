//! The one portable pseudo-random generator and its samplers, on the ecosystem's crates.
//!
//! The generator is `rand_xoshiro`'s xoshiro256** (seeded through SplitMix64, as its `seed_from_u64` does), the
//! samplers are `rand_distr`'s, and the transcendental functions are the pure-Rust `libm` crate's. `rand`'s
//! `SmallRng` is not portable across platforms and `f64::ln`/`f64::exp` call the platform's libm, which may round
//! the last bit differently natively and in wasm32; both would break "same seed, same trace" across the CLI and
//! the browser. `rand_distr` is built without its `std_math` feature, so its floats come from `libm` too.
//!
//! [`Rng`] keeps the small API every caller uses (`new`, `from_parts`, `next_u64`, `next_f64`, `below`, `chance`,
//! `exponential`, `standard_normal`) and implements `rand_core::RngCore`, so any `rand` sampler can draw from it.

use rand::Rng as _;
use rand_core::{RngCore, SeedableRng};
use rand_distr::{Distribution, Exp1, StandardNormal};
use rand_xoshiro::Xoshiro256StarStar;

/// A named random stream. Each subsystem draws from its own stream, so that, for example, switching the
/// balancing controller does not change the arrival sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Inter-arrival times and the choice of app host.
    Arrivals = 1,
    /// Query service times.
    Service = 2,
    /// Fault timing and fault randomness.
    Faults = 3,
    /// Balancer decisions (weighted picks, candidate sampling, primary-or-replica).
    Balancing = 4,
    /// Controller-internal randomness (probe jitter and the like).
    Control = 5,
}

/// A seeded xoshiro256** stream (Blackman and Vigna): fast, 256 bits of state, identical output on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: Xoshiro256StarStar,
}

impl Rng {
    /// Creates the generator for one stream of a run. Different streams of the same seed are independent.
    pub fn new(seed: u64, stream: Stream) -> Rng {
        Rng::from_parts(seed, stream as u64)
    }

    /// Creates a generator from a seed and an arbitrary sub-stream number (for per-host streams and the like).
    pub fn from_parts(seed: u64, sub_stream: u64) -> Rng {
        Rng { inner: Xoshiro256StarStar::seed_from_u64(seed ^ sub_stream.wrapping_mul(0xD1B5_4A32_D192_ED03)) }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in [0, 1) with 53 random bits (`rand`'s `StandardUniform` for `f64`).
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// A uniform integer in [0, n) (`rand`'s unbiased `random_range`). `n` must be at least 1.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        self.inner.random_range(0..n.max(1))
    }

    /// True with probability `p` (clamped to [0, 1]).
    ///
    /// Hand-written on purpose: `rand`'s `random_bool` panics for p outside [0, 1] (a NaN from a config would
    /// abort the run), while one comparison with a uniform draw clamps by itself and costs the same.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An exponential variate with the given mean.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        self.standard_exponential() * mean
    }

    /// A standard exponential variate (mean 1): `rand_distr`'s `Exp1` (a 256-layer ziggurat).
    #[inline]
    pub fn standard_exponential(&mut self) -> f64 {
        Exp1.sample(&mut self.inner)
    }

    /// A standard normal variate: `rand_distr`'s `StandardNormal` (a ziggurat).
    #[inline]
    pub fn standard_normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.inner)
    }
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        self.inner.fill_bytes(dst)
    }
}

/// The natural logarithm, portable to the last bit across platforms (`libm::log`, a port of musl's).
///
/// Returns `-inf` for 0 and NaN for negative or NaN input, like `f64::ln`.
#[inline]
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// The exponential function, portable to the last bit across platforms (`libm::exp`).
#[inline]
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_exp_match_std_closely() {
        let mut rng = Rng::new(42, Stream::Control);
        for _ in 0..100_000 {
            let x = rng.next_f64() * 1e3 + 1e-300;
            let ours = ln(x);
            let std = x.ln();
            assert!((ours - std).abs() <= 4.0 * f64::EPSILON * std.abs().max(1.0), "ln({x}) = {ours} vs {std}");
            let y = rng.next_f64() * 60.0 - 30.0;
            let (ours, std) = (exp(y), y.exp());
            assert!((ours - std).abs() <= 4.0 * f64::EPSILON * std, "exp({y}) = {ours} vs {std}");
        }
        assert_eq!(ln(1.0), 0.0);
        assert!(ln(0.0).is_infinite() && ln(-1.0).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn seeding_is_splitmix64_into_xoshiro256starstar() {
        // The reference algorithms as published (Vigna, prng.di.unimi.it): SplitMix64 fills the four state words,
        // then xoshiro256** steps. The crate must give exactly these words, so streams are what the docs say.
        fn splitmix(state: &mut u64) -> u64 {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        let mut sm = 99 ^ 4u64.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = splitmix(&mut sm);
        }
        let mut rng = Rng::from_parts(99, 4);
        for _ in 0..1000 {
            let expected = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
            assert_eq!(rng.next_u64(), expected);
        }
    }

    #[test]
    fn normal_tail_probabilities() {
        // P(|Z| > z) = erfc(z/√2); standard error √(p(1−p)/n), allow 4 of them.
        let mut rng = Rng::new(5, Stream::Service);
        let n = 400_000;
        let draws: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        for z in [0.5, 1.0, 2.0, 3.0, 4.0] {
            let p = libm::erfc(z / std::f64::consts::SQRT_2);
            let measured = draws.iter().filter(|d| d.abs() > z).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((measured - p).abs() < 4.0 * se + 1e-6, "P(|Z| > {z}) = {measured}, expected {p}");
        }
        let mean = draws.iter().sum::<f64>() / n as f64;
        assert!(mean.abs() < 4.0 / (n as f64).sqrt(), "mean {mean}");
    }

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a: Vec<u64> =
            (0..4).map(|_| 0).scan(Rng::new(7, Stream::Arrivals), |r, _: u64| Some(r.next_u64())).collect();
        let b: Vec<u64> =
            (0..4).map(|_| 0).scan(Rng::new(7, Stream::Arrivals), |r, _: u64| Some(r.next_u64())).collect();
        let c: Vec<u64> =
            (0..4).map(|_| 0).scan(Rng::new(7, Stream::Service), |r, _: u64| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn exponential_tail_probabilities() {
        // P(X > x) = e^-x. With n = 400k draws each estimate has standard error √(p(1−p)/n); allow 4 of them.
        let mut rng = Rng::new(8, Stream::Service);
        let n = 400_000;
        let draws: Vec<f64> = (0..n).map(|_| rng.standard_exponential()).collect();
        for x in [0.1, 0.5, 1.0, 2.0, 4.0, 7.0, 9.0] {
            let p = exp(-x);
            let measured = draws.iter().filter(|&&d| d > x).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((measured - p).abs() < 4.0 * se + 1e-6, "P(X > {x}) = {measured}, expected {p}");
        }
        assert!(draws.iter().all(|d| d.is_finite() && *d >= 0.0));
    }

    #[test]
    fn exponential_has_the_right_mean() {
        // The sample mean of n exponentials has standard error mean/√n; 200k samples give 0.22%, we allow 1%.
        let mut rng = Rng::new(1, Stream::Service);
        let n = 200_000;
        let mean = (0..n).map(|_| rng.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
    }
}
