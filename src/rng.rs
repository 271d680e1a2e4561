//! The one portable pseudo-random generator, and the few transcendental functions it needs.
//!
//! `rand`'s `SmallRng` is not portable across platforms, and `f64::ln`/`f64::exp` call the platform's libm, which
//! may round the last bit differently natively and in wasm32. Both would break "same seed, same trace" across the
//! CLI and the browser, so this module implements xoshiro256** (seeded through SplitMix64) and `ln`/`exp` with
//! only IEEE-754 `+ - * /`, which Rust never contracts into fused operations.

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

/// xoshiro256** by Blackman and Vigna: fast, 256 bits of state, and identical output on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// Creates the generator for one stream of a run. Different streams of the same seed are independent.
    pub fn new(seed: u64, stream: Stream) -> Rng {
        Rng::from_parts(seed, stream as u64)
    }

    /// Creates a generator from a seed and an arbitrary sub-stream number (for per-host streams and the like).
    pub fn from_parts(seed: u64, sub_stream: u64) -> Rng {
        let mut sm = seed ^ sub_stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut sm);
        }
        if s == [0; 4] {
            s[0] = 1; // the all-zero state is the one fixed point of xoshiro
        }
        Rng { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform float in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in [0, n). `n` must be at least 1. Uses Lemire's multiply-shift (bias below 2^-64·n).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An exponential variate with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        self.standard_exponential() * mean
    }

    /// A standard exponential variate (mean 1) by Marsaglia and Tsang's ziggurat ("The Ziggurat Method for
    /// Generating Random Variables", J. Stat. Software 5(8), 2000): 98.9% of draws cost one table lookup and one
    /// multiply. Unlike the original, the layer index and the abscissa come from different bits of one 64-bit
    /// draw, so they are independent. The tables are built with this module's portable `ln`/`exp`, so draws are
    /// identical on every platform.
    pub fn standard_exponential(&mut self) -> f64 {
        let t = ziggurat();
        loop {
            let bits = self.next_u64();
            let layer = (bits & 0xff) as usize;
            let j = (bits >> 32) as u32;
            if j < t.k[layer] {
                return j as f64 * t.w[layer];
            }
            if layer == 0 {
                // The tail beyond r is again exponential, shifted by r (memorylessness).
                return ZIG_R - ln(1.0 - self.next_f64());
            }
            let x = j as f64 * t.w[layer];
            if t.f[layer] + self.next_f64() * (t.f[layer - 1] - t.f[layer]) < exp(-x) {
                return x;
            }
        }
    }

    /// A standard normal variate (Marsaglia's polar method: needs only `ln` and `sqrt`, both portable).
    pub fn standard_normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * ln(s) / s).sqrt();
            }
        }
    }
}

/// ln 2 split Cody–Waite style (fdlibm's constants): `k·LN2_HI` is exact for |k| < 2^11, so range reduction
/// loses no bits.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const LN_2: f64 = std::f64::consts::LN_2;

/// Where the exponential ziggurat's base layer meets its tail, and the common area of its 256 layers
/// (Marsaglia and Tsang 2000, table for the exponential).
const ZIG_R: f64 = 7.697_117_470_131_487;
const ZIG_V: f64 = 3.949_659_822_581_572e-3;

/// The exponential ziggurat's tables: `k` accept thresholds (scaled by 2^32), `w` layer widths per unit of the
/// 32-bit draw, `f` the density at each layer's edge.
struct Ziggurat {
    k: [u32; 256],
    w: [f64; 256],
    f: [f64; 256],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let m = 4_294_967_296.0; // 2^32
        let mut z = Ziggurat { k: [0; 256], w: [0.0; 256], f: [0.0; 256] };
        let mut d = ZIG_R;
        let mut t = d;
        let q = ZIG_V / exp(-d);
        z.k[0] = ((d / q) * m) as u32;
        z.k[1] = 0;
        z.w[0] = q / m;
        z.w[255] = d / m;
        z.f[0] = 1.0;
        z.f[255] = exp(-d);
        for i in (1..=254).rev() {
            d = -ln(ZIG_V / d + exp(-d));
            z.k[i + 1] = ((d / t) * m) as u32;
            t = d;
            z.f[i] = exp(-d);
            z.w[i] = d / m;
        }
        z
    })
}

/// 1/(2k+1) for k = 0..12: the atanh series in Horner form; with s² ≤ 0.0295 the first term left out is below
/// 2^-61 of the sum.
const ATANH_COEFFS: [f64; 12] = {
    let mut c = [0.0; 12];
    let mut k = 0;
    while k < 12 {
        c[k] = 1.0 / (2 * k + 1) as f64;
        k += 1;
    }
    c
};

/// 1/n! for n = 0..20: the exponential series on |r| ≤ ln2/2, where the n = 20 term is below 2^-80.
const EXP_COEFFS: [f64; 20] = {
    let mut c = [0.0; 20];
    let mut n = 0;
    let mut fact = 1.0;
    while n < 20 {
        c[n] = 1.0 / fact;
        n += 1;
        fact *= n as f64;
    }
    c
};

/// The natural logarithm, portable to the last bit across platforms (error below 2 ulp for normal inputs).
///
/// Returns `-inf` for 0 and NaN for negative or NaN input, like `f64::ln`.
pub fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // Split x = m · 2^e with m in [√½, √2).
    let mut bits = x.to_bits();
    let mut e: i64 = ((bits >> 52) & 0x7ff) as i64;
    if e == 0 {
        // Subnormal: scale into the normal range first.
        let scaled = x * (1u64 << 54) as f64;
        bits = scaled.to_bits();
        e = ((bits >> 52) & 0x7ff) as i64 - 54;
    }
    e -= 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2·atanh(s) = 2s·(1 + s²/3 + s⁴/5 + …), s = (m−1)/(m+1), |s| ≤ 0.1716: twelve terms reach full
    // precision. Horner form with constant coefficients: no division in the loop.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut poly = 0.0;
    for k in (0..ATANH_COEFFS.len()).rev() {
        poly = poly * s2 + ATANH_COEFFS[k];
    }
    let sum = s * poly;
    let e = e as f64;
    e * LN2_HI + (2.0 * sum + e * LN2_LO)
}

/// The exponential function, portable to the last bit across platforms (relative error below 2 ulp).
///
/// Saturates to `+inf` above 709.78 and to 0 below −745, like `f64::exp`.
pub fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = k·ln2 + r with |r| ≤ ln2/2; exp(r) by Taylor series to full precision.
    let k = (x / LN_2).round();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut sum = 0.0;
    for k in (0..EXP_COEFFS.len()).rev() {
        sum = sum * r + EXP_COEFFS[k];
    }
    // Multiply by 2^k in two halves so that neither factor overflows or underflows prematurely.
    let k = k as i32;
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

fn pow2(k: i32) -> f64 {
    let biased = (k + 1023).clamp(1, 2046) as u64;
    f64::from_bits(biased << 52)
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
