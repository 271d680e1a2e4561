//! Where Cache::Memcached::Fast puts a key: CRC-32 buckets (the default, Cache::Memcached compatible) or a
//! ketama continuum, over the client's server list. Placement is a pure function of the key and the list; the
//! client never looks at a server's health, so a dead server keeps its keys (SEED-MODELS §000 "Mechanism").
//!
//! Source: JRaspass/Cache-Memcached-Fast v0.26 `src/dispatch_key.c` (`compatible_get_server`: bucket
//! `((crc32(key) >> 16) & 0x7fff) % N` for equal weights; `ketama_crc32_add_server`: each server's points are a
//! CRC-32 chain seeded with `host\0port`, a key goes to the first point at or after `crc32(key)`, wrapping). The
//! namespace is not hashed in v0.26 (newer releases chain the prefix's CRC first; Koha 20.05 used v0.26).
use crate::engine::keys::{opt, Opt};

/// CRC-32/IEEE (reflected, polynomial 0xEDB88320), table built at compile time. No std or dependency offers it.
const TABLE: [u32; 256] = build_table();

const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// Continues a CRC-32 (zlib's convention: `crc32_add(crc32(a), b) == crc32(a ++ b)`, starting from 0).
pub fn crc32_add(crc: u32, bytes: &[u8]) -> u32 {
    let mut c = !crc;
    for b in bytes {
        c = TABLE[((c ^ *b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// CRC-32/IEEE of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32_add(0, bytes)
}

/// The default bucket of a key over `servers` equally weighted servers: `((crc32 >> 16) & 0x7fff) % servers`.
pub fn crc32_bucket(key: &str, servers: usize) -> usize {
    if servers <= 1 {
        return 0;
    }
    (((crc32(key.as_bytes()) >> 16) & 0x7fff) as usize) % servers
}

/// Points per server on the ketama continuum. Cache::Memcached::Fast takes `ketama_points` from the caller;
/// 150 is the value its documentation shows [assume: Koha sets none, so ketama is off by default].
pub const KETAMA_POINTS: u32 = 150;

/// A ketama continuum over a server list: sorted (point, list position) pairs.
#[derive(Clone, Debug)]
pub struct Continuum {
    points: Vec<(u32, usize)>,
}

impl Continuum {
    /// The continuum of `hosts` (`host`, `port`) in list order, `points` per server (weight 1 each).
    pub fn new(hosts: &[(&str, &str)], points: u32) -> Continuum {
        let mut all = Vec::with_capacity(hosts.len() * points as usize);
        for (index, (host, port)) in hosts.iter().enumerate() {
            let seed = crc32_add(crc32_add(crc32(host.as_bytes()), &[0]), port.as_bytes());
            let mut point = 0u32;
            for _ in 0..points {
                point = crc32_add(seed, &point.to_le_bytes());
                all.push((point, index));
            }
        }
        // Ties keep the earlier server first, as the C code inserts a later server's equal point after it.
        all.sort();
        Continuum { points: all }
    }

    /// The list position of the server that owns `key`: the first point at or after `crc32(key)`, wrapping.
    pub fn server_of(&self, key: &str) -> usize {
        if self.points.is_empty() {
            return 0;
        }
        let h = crc32(key.as_bytes());
        let i = self.points.partition_point(|p| p.0 < h);
        self.points[if i == self.points.len() { 0 } else { i }].1
    }
}

/// How keys are placed (the `hash` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// CRC-32 buckets modulo the list length (the default).
    Crc32,
    /// The ketama continuum, [`KETAMA_POINTS`] per server.
    Ketama,
}

impl Hash {
    /// The `hash` key's choices, in this enum's order.
    pub const OPTIONS: &'static [Opt] =
        &[opt("crc32", "buckets modulo the server count"), opt("ketama", "a ring of points")];
}

/// The server (an index into `hosts`' owners, given by `ids`) of each key, for one client's server list.
pub fn place(keys: &[String], hosts: &[(&str, &str)], ids: &[usize], hash: Hash) -> Vec<usize> {
    let continuum = match hash {
        Hash::Ketama if hosts.len() > 1 => Some(Continuum::new(hosts, KETAMA_POINTS)),
        _ => None,
    };
    keys.iter()
        .map(|k| {
            let pos = match &continuum {
                Some(c) => c.server_of(k),
                None => crc32_bucket(k, hosts.len()),
            };
            ids.get(pos).copied().unwrap_or(0)
        })
        .collect()
}

/// The synthetic cache key names of a page: `syspref_pref00`, `syspref_pref01`, … The real 66 syspref names
/// are not in the sources at hand, so these stand in; their split over servers is whatever CRC-32 gives them.
pub fn key_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("syspref_pref{i:02}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_answers() {
        // The CRC-32/IEEE check value (catalogue of parametrised CRC algorithms) and two zlib classics.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        assert_eq!(crc32_add(crc32(b"1234"), b"56789"), 0xCBF4_3926, "chaining equals one pass");
    }

    #[test]
    fn the_bucket_is_the_top_fifteen_bits_modulo_n() {
        let h = crc32(b"123456789"); // 0xCBF43926: (h >> 16) & 0x7fff = 0x4bf4 = 19444
        assert_eq!((h >> 16) & 0x7fff, 19_444);
        assert_eq!(crc32_bucket("123456789", 3), 19_444 % 3);
        assert_eq!(crc32_bucket("anything", 1), 0);
    }

    #[test]
    fn ketama_keys_land_on_every_server_roughly_evenly() {
        let hosts = [("10.10.100.51", "11211"), ("10.10.100.52", "11211"), ("10.10.100.53", "11211")];
        let c = Continuum::new(&hosts, KETAMA_POINTS);
        let mut counts = [0u32; 3];
        for k in key_names(3000) {
            counts[c.server_of(&k)] += 1;
        }
        // 150 points per server give shares within a few percent of 1/3 (ketama's design goal); 20% is loose.
        for n in counts {
            assert!((800..1200).contains(&n), "{counts:?}");
        }
    }
}
