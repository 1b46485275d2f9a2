//! The cache's key: a 256-bit fingerprint of a token's text and the guard that verified it,
//! from a universal hash with a secret key drawn once per process.
//!
//! **Why not the text.** Keyed by its text, an entry costs the text again (432 bytes for an
//! Auth0 access token, more than its decoded claims). A fingerprint is 32 bytes.
//!
//! **Why a hit is still certain to be the same token.** The fingerprint is NH with the
//! Toeplitz extension (Black, Halevi, Krawczyk, Krovetz and Rogaway, *UMAC: Fast and Secure
//! Message Authentication*, CRYPTO 1999, §3, the hash UMAC and VMAC are built on), over 64-bit
//! words: the message is one block of (length, guard) and then the token's bytes in 16-byte
//! blocks (the last one the text's last 16 bytes, overlapping the one before; zero-padded
//! only in a text shorter than a block); each of the two passes is a sum of products
//! `(m₂ᵢ + k₂ᵢ)(m₂ᵢ₊₁ + k₂ᵢ₊₁)` mod 2¹²⁸, the second with the key shifted by two words. For any
//! two different messages, chosen by anyone who does not know the key, the probability over
//! the key that both passes agree is at most 2⁻¹²⁸ (2⁻⁶⁴ a pass; the length in the first
//! block makes messages of different lengths differ in a block of their own, so the bound
//! holds for them too). The key is 64 KiB of words drawn from std's `RandomState` (OS-seeded
//! SipHash, used as a PRF) when the first cache is built, never leaves the process, and no
//! fingerprint is ever shown: not in a response, a log or `Debug`. So an attacker holding
//! a valid token of their own and free to send anything cannot find a second text with the
//! same fingerprint other than by luck, 2⁻¹²⁸ a try; and an entry was only ever made for the
//! text whose fingerprint it carries, after that exact text passed every check. A false hit
//! would need such a collision.
//!
//! What an attacker can observe is timing: the cache's map places an entry by a hash of the
//! fingerprint (foldhash, seeded apart), so a lookup's time may tell whether two texts land
//! in the same bucket. That says nothing of the fingerprint's other bits, nor of the key.
//!
//! **Why not SHA-256 or HMAC.** Over 430 bytes they cost about 300 ns, twice a whole hit.
//! NH is two multiplications per 16 bytes: about 30 ns for an Auth0 token on the 2-core
//! machine, some 10 ns more than the foldhash pass and the comparison of the full text it
//! replaces, and the one part of a hit that grew (BENCHMARKS.md, "Many users, one cache").
//! A fast non-cryptographic hash (foldhash twice, xxh3) has no bound on pairs an attacker
//! chooses, which matters even for a token the attacker holds.

use std::hash::{BuildHasher as _, Hash, Hasher};
use std::sync::OnceLock;

/// The longest token the fingerprint takes: the longest `max_token_len` accepted.
const LONGEST: usize = 64 * 1024;

/// Key words: two per block, the length block and `LONGEST / 16` blocks of text, and the
/// Toeplitz shift of two.
const KEY_WORDS: usize = 2 * (1 + LONGEST / 16) + 2;

/// A token's fingerprint: the two NH passes, 128 bits each.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fingerprint([u64; 4]);

impl Hash for Fingerprint {
    /// One word is enough to place it: the map compares all four.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0] ^ self.0[3]);
    }
}

/// The process's key, drawn when the first cache is built.
static KEY: OnceLock<Box<[u64]>> = OnceLock::new();

/// The key, drawn on first use.
pub(crate) fn key() -> &'static [u64] {
    KEY.get_or_init(|| {
        let state = std::collections::hash_map::RandomState::new();
        (0..KEY_WORDS as u64)
            .map(|i| state.hash_one(("bearer-guard token cache key", i)))
            .collect()
    })
}

/// One NH step: `sum + (m0 + k0)(m1 + k1)`, mod 2¹²⁸.
#[inline(always)]
fn step(sum: u128, [k0, k1]: [u64; 2], [m0, m1]: [u64; 2]) -> u128 {
    sum.wrapping_add(u128::from(m0.wrapping_add(k0)) * u128::from(m1.wrapping_add(k1)))
}

/// A block of 16 bytes as two little-endian words.
#[inline(always)]
fn words(block: &[u8; 16]) -> [u64; 2] {
    let (halves, _) = block.as_chunks::<8>();
    match halves {
        [lo, hi] => [u64::from_le_bytes(*lo), u64::from_le_bytes(*hi)],
        _ => [0; 2],
    }
}

impl Fingerprint {
    /// The fingerprint of `token` for the guard `guard` (0: none) under `key`; `None` for a
    /// text longer than the key covers.
    pub(crate) fn of(key: &[u64], guard: u64, token: &[u8]) -> Option<Self> {
        if token.len() > LONGEST {
            return None;
        }
        // Block 0 is (length, guard); block `i` takes key pair `i` in the first pass and pair
        // `i + 1` in the second (the Toeplitz shift).
        let (pairs, _) = key.as_chunks::<2>();
        let (blocks, rest) = token.as_chunks::<16>();
        let last = 1 + blocks.len() + usize::from(!rest.is_empty());
        if pairs.len() < last + 1 {
            return None;
        }
        let length = [token.len() as u64, guard];
        let mut first = step(0, pairs[0], length);
        let mut second = step(0, pairs[1], length);
        for ((block, own), shifted) in blocks.iter().zip(&pairs[1..]).zip(&pairs[2..]) {
            let m = words(block);
            first = step(first, *own, m);
            second = step(second, *shifted, m);
        }
        if !rest.is_empty() {
            // The last block is the text's last 16 bytes, overlapping the one before, or the
            // rest zero-padded in a text shorter than a block. Either way a text of a given
            // length maps to its blocks one to one, which is all NH's bound needs; texts of
            // different lengths differ in the first block.
            let mut padded = [0u8; 16];
            let tail = match token.last_chunk::<16>() {
                Some(tail) => tail,
                None => {
                    padded[..rest.len()].copy_from_slice(rest);
                    &padded
                }
            };
            let m = words(tail);
            first = step(first, pairs[last - 1], m);
            second = step(second, pairs[last], m);
        }
        Some(Self([
            first as u64,
            (first >> 64) as u64,
            second as u64,
            (second >> 64) as u64,
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(guard: u64, token: &str) -> Fingerprint {
        Fingerprint::of(key(), guard, token.as_bytes()).unwrap()
    }

    #[test]
    fn texts_guards_and_lengths_each_tell_fingerprints_apart() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
        assert!(of(1, token) == of(1, token));
        assert!(of(1, token) != of(2, token));
        assert!(of(0, token) != of(1, token));
        // One byte flipped, anywhere; a zero byte added (the padding's value).
        for at in 0..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[at] ^= 1;
            assert!(
                Fingerprint::of(key(), 1, &bytes) != Some(of(1, token)),
                "{at}"
            );
        }
        let mut longer = token.as_bytes().to_vec();
        longer.push(0);
        assert!(Fingerprint::of(key(), 1, &longer) != Some(of(1, token)));
        assert!(of(1, "") != of(1, "\0"));
    }

    /// NH as the module's doc says, block by block, without the fast path's tricks.
    fn reference(key: &[u64], guard: u64, token: &[u8]) -> [u64; 4] {
        let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap());
        let mut blocks = vec![[token.len() as u64, guard]];
        let full = token.len() / 16;
        for i in 0..full {
            blocks.push([word(&token[16 * i..][..8]), word(&token[16 * i + 8..][..8])]);
        }
        if !token.len().is_multiple_of(16) {
            let mut last = [0u8; 16];
            if token.len() >= 16 {
                last.copy_from_slice(&token[token.len() - 16..]);
            } else {
                last[..token.len()].copy_from_slice(token);
            }
            blocks.push([word(&last[..8]), word(&last[8..])]);
        }
        let pass = |shift: usize| {
            blocks.iter().enumerate().fold(0u128, |sum, (i, [m0, m1])| {
                let k = &key[2 * i + shift..];
                let a = u128::from(m0.wrapping_add(k[0]));
                let b = u128::from(m1.wrapping_add(k[1]));
                sum.wrapping_add(a * b)
            })
        };
        let (first, second) = (pass(0), pass(2));
        [
            first as u64,
            (first >> 64) as u64,
            second as u64,
            (second >> 64) as u64,
        ]
    }

    #[test]
    fn the_fast_path_computes_nh_as_documented() {
        let key = key();
        let text: Vec<u8> = (0..700u32).map(|i| (i * 7 + 3) as u8).collect();
        // Every length around the block and two-block boundaries, and an Auth0 token's.
        for len in (0..=100).chain([431, 432, 433, 447, 448, 449, 699]) {
            for guard in [0, 7] {
                let token = &text[..len];
                let fast = Fingerprint::of(key, guard, token).unwrap();
                assert!(fast.0 == reference(key, guard, token), "{len}");
            }
        }
    }

    #[test]
    fn the_longest_token_is_covered_and_a_longer_one_is_not() {
        let key = key();
        // 64 KiB of text (the largest `max_token_len`): 4,096 blocks, the length block and
        // the shift, two words each: 64 KiB of key, no more.
        assert_eq!(key.len(), 8196);
        assert!(Fingerprint::of(key, 0, &vec![b'a'; 65_536]).is_some());
        assert!(Fingerprint::of(key, 0, &vec![b'a'; 65_537]).is_none());
    }

    #[test]
    fn a_key_too_short_for_the_text_gives_no_fingerprint_and_no_panic() {
        let key = key();
        // 20 bytes: the length block, one full block and a last one, and the shift: 4 pairs.
        let token = [b'x'; 20];
        assert!(Fingerprint::of(&key[..8], 0, &token).is_some());
        assert!(Fingerprint::of(&key[..7], 0, &token).is_none());
        assert!(Fingerprint::of(&key[..6], 0, &token).is_none());
        // 32 bytes, two full blocks: 4 pairs too.
        assert!(Fingerprint::of(&key[..8], 0, &[b'x'; 32]).is_some());
        assert!(Fingerprint::of(&key[..6], 0, &[b'x'; 32]).is_none());
    }
}
