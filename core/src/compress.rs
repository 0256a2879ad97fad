//! The compression formats found in memcached values: zlib (written by
//! mcring, php-memcached and pylibmc) and FastLZ (php-memcached's default).
//!
//! Everything here works on whole in-memory buffers and takes a limit on the
//! output, because a value's compressed size says nothing about how large it
//! inflates to: a few kilobytes of zlib can claim gigabytes.

use std::fmt;
use std::io::Write;

use flate2::{Decompress, FlushDecompress, Status};

/// zlib's default level (`Z_DEFAULT_COMPRESSION`), which php-memcached 3.2's
/// `compress()` and pylibmc both use.
pub const ZLIB_DEFAULT_LEVEL: u32 = 6;

/// Why compressed data could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressError {
    /// The zlib stream is malformed, truncated or fails its checksum.
    ZlibCorrupt,
    /// The FastLZ block is malformed; the reason says where it went wrong.
    FastlzCorrupt(&'static str),
    /// The output would be longer than the limit the caller set.
    OverLimit {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CompressError::ZlibCorrupt => f.write_str("zlib data is corrupt"),
            CompressError::FastlzCorrupt(why) => write!(f, "fastlz data is corrupt: {why}"),
            CompressError::OverLimit { limit } => {
                write!(f, "decompressed value is over the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for CompressError {}

/// Compresses `data` into a zlib stream (RFC 1950: header, deflate, adler32),
/// the format of zlib's `compress2()`. `level` is 0..=9 (larger is clamped).
pub fn zlib_compress(data: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::new(level.min(9)),
    );
    // Writing into a Vec cannot fail; should the encoder ever report an
    // error, an empty result makes every caller keep the value uncompressed.
    encoder.write_all(data).and_then(|()| encoder.finish()).unwrap_or_default()
}

/// Inflates one zlib stream, refusing to produce more than `limit` bytes.
/// Bytes after the end of the stream are ignored, as zlib's `uncompress()`
/// and pylibmc's inflate loop do.
pub fn zlib_decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, CompressError> {
    let mut inflater = Decompress::new(true);
    // One byte more than the limit is allowed in so an oversized stream is
    // noticed rather than cut short.
    let cap = limit.saturating_add(1);
    let mut out: Vec<u8> = Vec::with_capacity(cap.min(data.len().saturating_mul(4).max(256)));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap {
                return Err(CompressError::OverLimit { limit });
            }
            let grow = out.len().max(4096).min(cap - out.len());
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(consumed..).unwrap_or(&[]);
        let produced_before = out.len();
        let status = inflater
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|_| CompressError::ZlibCorrupt)?;
        if out.len() > limit {
            return Err(CompressError::OverLimit { limit });
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let consumed_now = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
                let stalled = consumed_now == consumed && out.len() == produced_before;
                // No progress with room left in the output means the input
                // ended before the stream did.
                if stalled && out.len() < out.capacity() {
                    return Err(CompressError::ZlibCorrupt);
                }
            }
        }
    }
}

/// The bias of FastLZ level 2's "far" back-references (its 13-bit "near"
/// ones reach up to this distance).
const FASTLZ_NEAR_DISTANCE: usize = 8191;

/// Inflates one FastLZ block (level 1 or 2, as bundled with php-memcached),
/// refusing to produce more than `limit` bytes.
///
/// Format: the top three bits of the first byte give the level minus one.
/// Then a sequence of instructions, each starting with a control byte `c`
/// (the first one masked to its low five bits):
/// - `c < 32`: copy the next `c + 1` bytes of input (a literal run);
/// - otherwise a back-reference of length `(c >> 5) + 2` (when `c >> 5` is
///   7 the length continues in the next byte, and at level 2 in every
///   following byte up to and including one that is not 255), followed by
///   one byte that with `c & 31` forms the distance minus one. At level 2 a
///   distance byte of 255 with `c & 31 == 31` announces a 16-bit big-endian
///   distance to which 8191 is added.
pub fn fastlz_decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, CompressError> {
    let corrupt = CompressError::FastlzCorrupt;
    let first = *data.first().ok_or(corrupt("empty block"))?;
    let level = (first >> 5) + 1;
    if level > 2 {
        return Err(corrupt("unknown level"));
    }
    let mut out: Vec<u8> = Vec::with_capacity(limit.min(data.len().saturating_mul(16)));
    let mut input = Input { data, pos: 1 };
    let mut control = first & 31;
    loop {
        if control < 32 {
            let run = usize::from(control) + 1;
            if out.len().saturating_add(run) > limit {
                return Err(CompressError::OverLimit { limit });
            }
            out.extend_from_slice(input.take(run)?);
        } else {
            let mut len = usize::from(control >> 5) + 2;
            if control >> 5 == 7 {
                loop {
                    let more = input.byte()?;
                    len = len.saturating_add(usize::from(more));
                    if level == 1 || more != 255 {
                        break;
                    }
                }
            }
            let low = input.byte()?;
            let high = usize::from(control & 31);
            let mut distance = (high << 8) + usize::from(low) + 1;
            if level == 2 && low == 255 && high == 31 {
                let far = (usize::from(input.byte()?) << 8) | usize::from(input.byte()?);
                distance = far + FASTLZ_NEAR_DISTANCE + 1;
            }
            if out.len().saturating_add(len) > limit {
                return Err(CompressError::OverLimit { limit });
            }
            let start =
                out.len().checked_sub(distance).ok_or(corrupt("reference before the start"))?;
            if distance >= len {
                out.extend_from_within(start..start + len);
            } else {
                // The copy overlaps its own output (a run): byte by byte.
                for i in start..start + len {
                    let byte = *out.get(i).ok_or(corrupt("reference past the end"))?;
                    out.push(byte);
                }
            }
        }
        if input.at_end() {
            return Ok(out);
        }
        control = input.byte()?;
    }
}

/// A FastLZ block being read.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    const TRUNCATED: CompressError =
        CompressError::FastlzCorrupt("block ends inside an instruction");

    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> Result<u8, CompressError> {
        let b = *self.data.get(self.pos).ok_or(Self::TRUNCATED)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CompressError> {
        let end = self.pos.checked_add(n).ok_or(Self::TRUNCATED)?;
        let bytes = self.data.get(self.pos..end).ok_or(Self::TRUNCATED)?;
        self.pos = end;
        Ok(bytes)
    }
}

/// Which compression a client writes (php format; pylibmc's is always zlib).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// zlib, as php-memcached's `COMPRESSION_ZLIB` and pylibmc.
    Zlib,
    /// FastLZ, php-memcached's default (`COMPRESSION_FASTLZ`).
    Fastlz,
}

/// How values are compressed on write: the algorithm, zlib's level, and
/// php-memcached's factor: a compressed value is kept only when the original
/// is more than `factor` times its size (`memcached.compression_factor`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compression {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// zlib's level, 0..=9.
    pub zlib_level: u32,
    /// The factor a compressed value must beat.
    pub factor: f64,
}

impl Default for Compression {
    /// zlib at its default level, php-memcached's factor of 1.3.
    fn default() -> Compression {
        Compression { algorithm: Algorithm::Zlib, zlib_level: ZLIB_DEFAULT_LEVEL, factor: 1.3 }
    }
}

impl Compression {
    /// `data` compressed, or `None` when it does not pay off (the original
    /// is not more than `factor` times the compressed size).
    pub fn compress(&self, data: &[u8]) -> Option<Vec<u8>> {
        let out = match self.algorithm {
            Algorithm::Zlib => zlib_compress(data, self.zlib_level),
            Algorithm::Fastlz => fastlz_compress(data),
        };
        if out.is_empty() || data.len() as f64 <= out.len() as f64 * self.factor {
            return None;
        }
        Some(out)
    }
}

/// FastLZ's literal runs hold at most this many bytes.
const FASTLZ_MAX_COPY: usize = 32;
/// FastLZ's hash table: 2^13 slots of 3-byte prefixes.
const FASTLZ_HASH_LOG: u32 = 13;

/// Compresses `data` into one FastLZ block as php-memcached's bundled
/// FastLZ does (`fastlz_compress()`): level 1 below 64 KiB, level 2 from
/// there on. The output is byte for byte FastLZ's, so php-memcached and
/// mcring store identical values. An empty input gives an empty block.
pub fn fastlz_compress(data: &[u8]) -> Vec<u8> {
    let level = if data.len() < 65536 { 1 } else { 2 };
    FastlzWriter::new(data, level).compress()
}

/// FastLZ's greedy compressor: a hash table of the last position of each
/// 3-byte prefix, a match taken as soon as one is found, literals between
/// matches in runs of up to 32 bytes.
struct FastlzWriter<'a> {
    input: &'a [u8],
    level: u8,
    out: Vec<u8>,
    /// Where the control byte of the literal run being written is.
    run_at: usize,
    /// Literals in that run so far.
    copy: usize,
}

impl<'a> FastlzWriter<'a> {
    fn new(input: &'a [u8], level: u8) -> Self {
        FastlzWriter {
            input,
            level,
            out: Vec::with_capacity(input.len() + input.len() / 16 + 16),
            run_at: 0,
            copy: 0,
        }
    }

    fn byte(&self, at: usize) -> u8 {
        self.input.get(at).copied().unwrap_or(0)
    }

    fn u16_at(&self, at: usize) -> u32 {
        u32::from(self.byte(at)) | u32::from(self.byte(at + 1)) << 8
    }

    /// FastLZ's hash of the 3 bytes at `at`.
    fn hash(&self, at: usize) -> usize {
        let v = self.u16_at(at);
        let v = v ^ (self.u16_at(at + 1) ^ (v >> (16 - FASTLZ_HASH_LOG)));
        (v & ((1 << FASTLZ_HASH_LOG) - 1)) as usize
    }

    /// Starts a literal run: its control byte, fixed up when the run ends.
    fn open_run(&mut self) {
        self.out.push((FASTLZ_MAX_COPY - 1) as u8);
        self.run_at = self.out.len() - 1;
        self.copy = 0;
    }

    fn literal(&mut self, b: u8) {
        self.out.push(b);
        self.copy += 1;
        if self.copy == FASTLZ_MAX_COPY {
            self.open_run();
        }
    }

    /// Ends the literal run before a match or the end: its control byte says
    /// how many literals it has, or goes if it has none.
    fn close_run(&mut self) {
        if self.copy > 0 {
            self.out[self.run_at] = (self.copy - 1) as u8;
        } else {
            self.out.pop();
        }
        self.copy = 0;
    }

    fn compress(mut self) -> Vec<u8> {
        let n = self.input.len();
        if n < 4 {
            if n > 0 {
                self.out.push((n - 1) as u8);
                self.out.extend_from_slice(self.input);
            }
            return self.out;
        }
        let (max_near, max_far) =
            if self.level == 1 { (8192, 8192) } else { (8191, 65535 + 8191 - 1) };
        let ip_bound = n - 2;
        let ip_limit = n.saturating_sub(12);
        let mut htab = vec![0usize; 1 << FASTLZ_HASH_LOG];

        // The block starts with a literal run of the first two bytes.
        self.open_run();
        self.literal(self.input[0]);
        self.literal(self.input[1]);
        let mut ip = 2;

        while ip < ip_limit {
            let anchor = ip;
            let mut len = 3;
            let mut ref_at;
            let mut distance;
            let is_run = self.level == 2
                && self.byte(ip) == self.byte(ip - 1)
                && self.u16_at(ip - 1) == self.u16_at(ip + 1);
            if is_run {
                // A run of one byte: a match at distance 1, no lookup.
                distance = 1;
                ref_at = anchor + 2;
            } else {
                let slot = self.hash(ip);
                let candidate = htab[slot];
                htab[slot] = anchor;
                distance = anchor - candidate;
                let matches = |w: &Self, k: usize| w.byte(candidate + k) == w.byte(anchor + k);
                if distance == 0
                    || distance >= max_far
                    || !(matches(&self, 0) && matches(&self, 1) && matches(&self, 2))
                {
                    self.literal(self.input[anchor]);
                    ip = anchor + 1;
                    continue;
                }
                ref_at = candidate + 3;
                // A far match (level 2) needs at least 5 bytes.
                if distance >= max_near {
                    if !(matches(&self, 3) && matches(&self, 4)) {
                        self.literal(self.input[anchor]);
                        ip = anchor + 1;
                        continue;
                    }
                    len += 2;
                    ref_at = candidate + 5;
                }
            }

            // Extend the match; `ip` ends one past the first differing byte
            // (or at the bound), as FastLZ's loop leaves it.
            ip = anchor + len;
            distance -= 1;
            if distance == 0 {
                let x = self.byte(ip - 1);
                while ip < ip_bound {
                    let r = self.byte(ref_at);
                    ref_at += 1;
                    if r != x {
                        break;
                    }
                    ip += 1;
                }
            } else {
                let mut unchecked = 8;
                loop {
                    let (r, i) = (self.byte(ref_at), self.byte(ip));
                    ref_at += 1;
                    ip += 1;
                    if r != i {
                        break;
                    }
                    if unchecked > 1 {
                        unchecked -= 1;
                    } else if ip >= ip_bound {
                        break;
                    }
                }
            }

            self.close_run();
            ip -= 3;
            let len = ip - anchor;
            self.encode_match(len, distance, max_near);

            // Hash the two positions at the end of the match.
            let slot = self.hash(ip);
            htab[slot] = ip;
            ip += 1;
            let slot = self.hash(ip);
            htab[slot] = ip;
            ip += 1;
            self.open_run();
        }

        while ip < n {
            self.literal(self.input[ip]);
            ip += 1;
        }
        self.close_run();
        if self.level == 2 {
            if let Some(first) = self.out.first_mut() {
                *first |= 1 << 5;
            }
        }
        self.out
    }

    /// A match of `len` + 2 bytes at `distance` + 1 bytes back.
    fn encode_match(&mut self, mut len: usize, distance: usize, max_near: usize) {
        let out = &mut self.out;
        if self.level == 2 {
            let (far, d) =
                if distance < max_near { (false, distance) } else { (true, distance - max_near) };
            let low = if far { 31 } else { (d >> 8) as u8 };
            if len < 7 {
                out.push(((len << 5) as u8).wrapping_add(low));
            } else {
                out.push((7u8 << 5).wrapping_add(low));
                len -= 7;
                while len >= 255 {
                    out.push(255);
                    len -= 255;
                }
                out.push(len as u8);
            }
            if far {
                out.extend_from_slice(&[255, (d >> 8) as u8, (d & 255) as u8]);
            } else {
                out.push((d & 255) as u8);
            }
            return;
        }
        // Level 1: lengths over 262 go out in pieces of 262.
        const MAX_LEN: usize = 264;
        while len > MAX_LEN - 2 {
            out.extend_from_slice(&[
                (7u8 << 5).wrapping_add((distance >> 8) as u8),
                (MAX_LEN - 2 - 7 - 2) as u8,
                (distance & 255) as u8,
            ]);
            len -= MAX_LEN - 2;
        }
        if len < 7 {
            out.extend_from_slice(&[
                ((len << 5) as u8).wrapping_add((distance >> 8) as u8),
                (distance & 255) as u8,
            ]);
        } else {
            out.extend_from_slice(&[
                (7u8 << 5).wrapping_add((distance >> 8) as u8),
                (len - 7) as u8,
                (distance & 255) as u8,
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A plain greedy FastLZ writer used only to produce test input for the
    /// reader: literal runs of up to 32 bytes and back-references found
    /// through a table of 3-byte prefixes.
    fn fastlz_compress(data: &[u8], level: u8) -> Vec<u8> {
        assert!(!data.is_empty() && (level == 1 || level == 2));
        let max_distance = if level == 1 { 8192 } else { 65535 + FASTLZ_NEAR_DISTANCE + 1 };
        let mut out = Vec::new();
        let mut literals: Vec<u8> = Vec::new();
        let mut seen: HashMap<[u8; 3], usize> = HashMap::new();
        let flush = |out: &mut Vec<u8>, literals: &mut Vec<u8>| {
            for chunk in literals.chunks(32) {
                out.push(chunk.len() as u8 - 1);
                out.extend_from_slice(chunk);
            }
            literals.clear();
        };
        // The first instruction must be a literal (its control byte carries
        // the level).
        literals.push(data[0]);
        let mut i = 1;
        while i < data.len() {
            let found = data.get(i..i + 3).and_then(|p| {
                let key = [p[0], p[1], p[2]];
                let prev = seen.insert(key, i);
                prev.filter(|&at| i - at <= max_distance)
            });
            let Some(at) = found else {
                literals.push(data[i]);
                i += 1;
                continue;
            };
            let mut len = 3;
            let max_len = if level == 1 { 264 } else { usize::MAX };
            while i + len < data.len() && data[at + len] == data[i + len] && len < max_len {
                len += 1;
            }
            flush(&mut out, &mut literals);
            let d = i - at - 1;
            let far = level == 2 && d >= FASTLZ_NEAR_DISTANCE;
            let (high, low) = if far { (31u8, 255u8) } else { ((d >> 8) as u8, d as u8) };
            if len - 2 < 7 {
                out.push((((len - 2) as u8) << 5) | high);
            } else {
                out.push((7 << 5) | high);
                let mut extra = len - 9;
                if level == 2 {
                    while extra >= 255 {
                        out.push(255);
                        extra -= 255;
                    }
                }
                out.push(extra as u8);
            }
            out.push(low);
            if far {
                let f = d - FASTLZ_NEAR_DISTANCE;
                out.push((f >> 8) as u8);
                out.push(f as u8);
            }
            i += len;
        }
        flush(&mut out, &mut literals);
        if level == 2 {
            out[0] |= 1 << 5;
        }
        out
    }

    #[test]
    fn zlib_round_trip() {
        let data = b"hello hello hello hello hello hello".repeat(50);
        let z = zlib_compress(&data, ZLIB_DEFAULT_LEVEL);
        assert!(z.len() < data.len());
        assert_eq!(z[0], 0x78, "zlib header");
        assert_eq!(zlib_decompress(&z, data.len()).unwrap(), data);
        // Trailing bytes after the stream are ignored, as by uncompress().
        let mut trailing = z.clone();
        trailing.extend_from_slice(b"junk");
        assert_eq!(zlib_decompress(&trailing, data.len()).unwrap(), data);
    }

    #[test]
    fn zlib_limit_is_enforced() {
        let data = vec![0u8; 1 << 20];
        let z = zlib_compress(&data, 9);
        assert!(z.len() < 2048);
        assert_eq!(zlib_decompress(&z, 1000), Err(CompressError::OverLimit { limit: 1000 }));
        assert_eq!(zlib_decompress(&z, data.len()).unwrap().len(), data.len());
        assert!(zlib_decompress(&z, data.len() - 1).is_err());
    }

    #[test]
    fn zlib_corrupt_and_truncated() {
        let data = b"some text that compresses some text that compresses".repeat(20);
        let z = zlib_compress(&data, 6);
        assert_eq!(zlib_decompress(&z[..z.len() / 2], 1 << 20), Err(CompressError::ZlibCorrupt));
        assert_eq!(zlib_decompress(&z[..z.len() - 1], 1 << 20), Err(CompressError::ZlibCorrupt));
        assert_eq!(zlib_decompress(b"", 100), Err(CompressError::ZlibCorrupt));
        assert_eq!(zlib_decompress(b"not zlib at all", 100), Err(CompressError::ZlibCorrupt));
        let mut bad_sum = z.clone();
        let n = bad_sum.len();
        bad_sum[n - 1] ^= 1;
        assert_eq!(zlib_decompress(&bad_sum, 1 << 20), Err(CompressError::ZlibCorrupt));
    }

    #[test]
    fn fastlz_hand_made_blocks() {
        // Level 1: literal "abc", then a reference of length 6 at distance 3.
        let block = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(fastlz_decompress(&block, 100).unwrap(), b"abcabcabc");
        // The same with the level-2 marker.
        let block2 = [(1 << 5) | 2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(fastlz_decompress(&block2, 100).unwrap(), b"abcabcabc");
        // A run: "x" then 10 more at distance 1 (length 7 + extra 3 = 10).
        let run = [0, b'x', (7 << 5), 1, 0];
        assert_eq!(fastlz_decompress(&run, 100).unwrap(), b"xxxxxxxxxxx");
    }

    #[test]
    fn fastlz_rejects_bad_blocks() {
        let corrupt = |r| Err(CompressError::FastlzCorrupt(r));
        assert_eq!(fastlz_decompress(b"", 10), corrupt("empty block"));
        assert_eq!(fastlz_decompress(&[2 << 5], 10), corrupt("unknown level"));
        assert_eq!(fastlz_decompress(&[5, b'a'], 10), corrupt("block ends inside an instruction"));
        // Reference four bytes back with only three written.
        assert_eq!(
            fastlz_decompress(&[2, b'a', b'b', b'c', (1 << 5), 3], 10),
            corrupt("reference before the start")
        );
        // A reference missing its distance byte.
        assert_eq!(
            fastlz_decompress(&[0, b'a', (1 << 5)], 10),
            corrupt("block ends inside an instruction")
        );
        assert_eq!(
            fastlz_decompress(&[2, b'a', b'b', b'c', (4 << 5), 2], 8),
            Err(CompressError::OverLimit { limit: 8 })
        );
        assert_eq!(
            fastlz_decompress(&[3, 1, 2, 3, 4], 3),
            Err(CompressError::OverLimit { limit: 3 })
        );
    }

    #[test]
    fn fastlz_level2_far_reference() {
        // A random-looking 20000-byte block repeated: matches at distance
        // 20000 need level 2's 16-bit "far" form.
        let mut state = 12345u32;
        let block: Vec<u8> = (0..20000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        let data = block.repeat(4);
        let z = fastlz_compress(&data, 2);
        assert!(z.len() < data.len() / 2);
        assert_eq!(fastlz_decompress(&z, data.len()).unwrap(), data);
    }

    proptest! {
        #[test]
        fn fastlz_round_trip(
            data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 1..3000),
            level in 1u8..=2,
        ) {
            let z = fastlz_compress(&data, level);
            prop_assert_eq!(fastlz_decompress(&z, data.len()).unwrap(), data);
        }

        #[test]
        fn fastlz_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), limit in 0usize..4096) {
            let _ = fastlz_decompress(&data, limit);
        }

        #[test]
        fn zlib_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), limit in 0usize..4096) {
            let _ = zlib_decompress(&data, limit);
        }
    }

    #[test]
    fn fastlz_writer_round_trips() {
        let mut samples: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"a".to_vec(),
            b"abc".to_vec(),
            b"abcd".to_vec(),
            b"hello hello hello hello hello hello hello".to_vec(),
            vec![0u8; 100_000],
            (0..70_000u32).map(|i| (i % 251) as u8).collect(),
            "php-memcached compresses this. ".repeat(300).into_bytes(),
        ];
        // Far matches (level 2): a block repeated 20000 bytes later.
        let mut far: Vec<u8> =
            (0..90_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let block = far[100..400].to_vec();
        far[30_000..30_300].copy_from_slice(&block);
        samples.push(far);
        for data in samples {
            let block = super::fastlz_compress(&data);
            if data.is_empty() {
                assert!(block.is_empty());
                continue;
            }
            assert_eq!(block[0] >> 5, if data.len() < 65536 { 0 } else { 1 }, "level marker");
            let back = fastlz_decompress(&block, data.len()).expect("decompresses");
            assert_eq!(back, data, "{} bytes", data.len());
        }
    }

    proptest! {
        #[test]
        fn fastlz_writer_round_trips_anything(data in proptest::collection::vec(0u8..4, 0..3000)) {
            let block = super::fastlz_compress(&data);
            if !data.is_empty() {
                prop_assert_eq!(fastlz_decompress(&block, data.len()).unwrap(), data);
            }
        }
    }
}
