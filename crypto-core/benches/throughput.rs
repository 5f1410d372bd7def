//! Throughput of the STREAM payload against raw `ring` AES-256-GCM over the same 64 KiB chunks.
//!
//! `cargo bench -p sealdrop-crypto --bench throughput` prints one table. Each figure is 1 GiB:
//! a 64 MiB buffer processed 16 times, every variant measured once per round, rounds
//! interleaved so that noise from other processes spreads evenly. Set `SEALDROP_BENCH_ROUNDS`
//! to change the number of rounds.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};
use sealdrop_crypto::stream::chunk_nonce;
use sealdrop_crypto::{
    decrypt_file, encrypt_file, Aead, FileKey, RingAead, RustCryptoAead, StreamDecryptor,
    StreamEncryptor, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, TAG_SIZE,
};

const BUFFER: usize = 64 << 20;
const KEY: [u8; 32] = [0x5a; 32];

/// Everything one variant needs between rounds.
trait Variant {
    fn name(&self) -> String;
    fn encrypt(&mut self) -> Duration;
    fn decrypt(&mut self) -> Duration;
}

/// Raw ring: one key, in-place seal of each 64 KiB chunk, tags kept aside.
struct RawRing {
    key: LessSafeKey,
    data: Vec<u8>,
    tags: Vec<Tag>,
}

impl Variant for RawRing {
    fn name(&self) -> String {
        "raw ring (in place, one key)".into()
    }

    fn encrypt(&mut self) -> Duration {
        let start = Instant::now();
        self.tags.clear();
        let count = self.data.len() / CHUNK_SIZE;
        for (i, chunk) in self.data.chunks_mut(CHUNK_SIZE).enumerate() {
            let nonce = Nonce::assume_unique_for_key(chunk_nonce(i as u64, i + 1 == count));
            self.tags.push(
                self.key
                    .seal_in_place_separate_tag(nonce, Aad::empty(), chunk)
                    .unwrap(),
            );
        }
        start.elapsed()
    }

    fn decrypt(&mut self) -> Duration {
        let start = Instant::now();
        let count = self.data.len() / CHUNK_SIZE;
        for (i, (chunk, tag)) in self.data.chunks_mut(CHUNK_SIZE).zip(&self.tags).enumerate() {
            let nonce = Nonce::assume_unique_for_key(chunk_nonce(i as u64, i + 1 == count));
            self.key
                .open_in_place_separate_tag(nonce, Aad::empty(), *tag, chunk, 0..)
                .unwrap();
        }
        start.elapsed()
    }
}

/// The core's in-place chunk API over a buffer in ciphertext layout.
struct CoreInPlace {
    aead: &'static dyn Aead,
    label: &'static str,
    encryptor: StreamEncryptor,
    decryptor: StreamDecryptor,
    data: Vec<u8>,
}

impl Variant for CoreInPlace {
    fn name(&self) -> String {
        format!("core {} (in-place chunk API)", self.label)
    }

    fn encrypt(&mut self) -> Duration {
        let start = Instant::now();
        for (i, chunk) in self.data.chunks_mut(ENCRYPTED_CHUNK_SIZE).enumerate() {
            self.encryptor
                .encrypt_chunk_in_place(self.aead, i as u64, chunk)
                .unwrap();
        }
        start.elapsed()
    }

    fn decrypt(&mut self) -> Duration {
        let start = Instant::now();
        for (i, chunk) in self.data.chunks_mut(ENCRYPTED_CHUNK_SIZE).enumerate() {
            self.decryptor
                .decrypt_chunk_in_place(self.aead, i as u64, chunk)
                .unwrap();
        }
        start.elapsed()
    }
}

/// The core's chunk API returning a fresh `Vec` per chunk (what a streaming uploader does).
struct CoreChunks {
    aead: &'static dyn Aead,
    label: &'static str,
    encryptor: StreamEncryptor,
    decryptor: StreamDecryptor,
    plaintext: Vec<u8>,
    ciphertext: Vec<Vec<u8>>,
}

impl Variant for CoreChunks {
    fn name(&self) -> String {
        format!("core {} (chunk API, Vec per chunk)", self.label)
    }

    fn encrypt(&mut self) -> Duration {
        // Each sealed chunk is handed on and dropped, as an uploader does with a part.
        let start = Instant::now();
        for (i, chunk) in self.plaintext.chunks(CHUNK_SIZE).enumerate() {
            black_box(
                self.encryptor
                    .encrypt_chunk(self.aead, i as u64, chunk)
                    .unwrap(),
            );
        }
        start.elapsed()
    }

    fn decrypt(&mut self) -> Duration {
        let start = Instant::now();
        for (i, chunk) in self.ciphertext.iter().enumerate() {
            black_box(
                self.decryptor
                    .decrypt_chunk(self.aead, i as u64, chunk)
                    .unwrap(),
            );
        }
        start.elapsed()
    }
}

/// The core's whole-buffer helpers (allocate the output every time).
struct CoreWhole {
    aead: &'static dyn Aead,
    label: &'static str,
    key: FileKey,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Variant for CoreWhole {
    fn name(&self) -> String {
        format!("core {} (encrypt_file/decrypt_file)", self.label)
    }

    fn encrypt(&mut self) -> Duration {
        let start = Instant::now();
        self.ciphertext = encrypt_file(self.aead, &self.key, &self.plaintext);
        start.elapsed()
    }

    fn decrypt(&mut self) -> Duration {
        let start = Instant::now();
        black_box(decrypt_file(self.aead, &self.key, &self.ciphertext).unwrap());
        start.elapsed()
    }
}

/// No cryptography: what returning a fresh 64 MiB `Vec` costs (allocation, page faults, copy).
struct FreshCopy {
    source: Vec<u8>,
}

impl Variant for FreshCopy {
    fn name(&self) -> String {
        "floor: copy into a fresh Vec, no crypto".into()
    }

    fn encrypt(&mut self) -> Duration {
        let start = Instant::now();
        black_box(self.source.to_vec());
        start.elapsed()
    }

    fn decrypt(&mut self) -> Duration {
        self.encrypt()
    }
}

fn core_in_place(aead: &'static dyn Aead, label: &'static str) -> CoreInPlace {
    let encryptor = StreamEncryptor::new(FileKey::from_bytes(KEY), BUFFER as u64).unwrap();
    let decryptor =
        StreamDecryptor::new(FileKey::from_bytes(KEY), encryptor.ciphertext_size()).unwrap();
    let mut data = vec![0u8; encryptor.ciphertext_size() as usize];
    for chunk in data.chunks_mut(ENCRYPTED_CHUNK_SIZE) {
        let body = chunk.len() - TAG_SIZE;
        for (j, b) in chunk[..body].iter_mut().enumerate() {
            *b = j as u8;
        }
    }
    CoreInPlace {
        aead,
        label,
        encryptor,
        decryptor,
        data,
    }
}

fn core_chunks(aead: &'static dyn Aead, label: &'static str) -> CoreChunks {
    let encryptor = StreamEncryptor::new(FileKey::from_bytes(KEY), BUFFER as u64).unwrap();
    let decryptor =
        StreamDecryptor::new(FileKey::from_bytes(KEY), encryptor.ciphertext_size()).unwrap();
    let plaintext = pattern();
    let ciphertext = plaintext
        .chunks(CHUNK_SIZE)
        .enumerate()
        .map(|(i, chunk)| encryptor.encrypt_chunk(aead, i as u64, chunk).unwrap())
        .collect();
    CoreChunks {
        aead,
        label,
        encryptor,
        decryptor,
        plaintext,
        ciphertext,
    }
}

fn core_whole(aead: &'static dyn Aead, label: &'static str) -> CoreWhole {
    CoreWhole {
        aead,
        label,
        key: FileKey::from_bytes(KEY),
        plaintext: pattern(),
        ciphertext: Vec::new(),
    }
}

fn pattern() -> Vec<u8> {
    (0..BUFFER).map(|i| i as u8).collect()
}

fn gib_per_s(total: Duration, bytes: f64) -> f64 {
    bytes / (1u64 << 30) as f64 / total.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this with no timing intent.
    if std::env::args().any(|a| a == "--list" || a == "--test")
        || (cfg!(debug_assertions) && std::env::var_os("SEALDROP_BENCH_ROUNDS").is_none())
    {
        println!("throughput: skipped (run `cargo bench -p sealdrop-crypto --bench throughput`)");
        return;
    }
    let rounds: u32 = std::env::var("SEALDROP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(16);
    let raw = RawRing {
        key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap()),
        data: pattern(),
        tags: Vec::new(),
    };
    let mut variants: Vec<Box<dyn Variant>> = vec![
        Box::new(raw),
        Box::new(core_in_place(&RingAead, "ring")),
        Box::new(core_chunks(&RingAead, "ring")),
        Box::new(core_whole(&RingAead, "ring")),
        Box::new(core_in_place(&RustCryptoAead, "RustCrypto")),
        Box::new(core_whole(&RustCryptoAead, "RustCrypto")),
        Box::new(FreshCopy { source: pattern() }),
    ];
    // Warm-up: one round of each, not counted (page faults, CPU frequency).
    for v in variants.iter_mut() {
        v.encrypt();
        v.decrypt();
    }
    let mut totals = vec![(Duration::ZERO, Duration::ZERO); variants.len()];
    for _ in 0..rounds {
        for (v, total) in variants.iter_mut().zip(totals.iter_mut()) {
            total.0 += v.encrypt();
            total.1 += v.decrypt();
        }
    }
    let bytes = BUFFER as f64 * f64::from(rounds);
    let gib = bytes / (1u64 << 30) as f64;
    println!();
    println!(
        "sealdrop STREAM throughput: {} x {} MiB = {gib:.2} GiB of plaintext per figure, 64 KiB chunks, AES-256-GCM",
        rounds,
        BUFFER >> 20
    );
    println!();
    println!("| variant | encrypt GiB/s | % raw ring | decrypt GiB/s | % raw ring | encrypt s/GiB | decrypt s/GiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (raw_enc, raw_dec) = (gib_per_s(totals[0].0, bytes), gib_per_s(totals[0].1, bytes));
    for (v, (enc, dec)) in variants.iter().zip(&totals) {
        let (e, d) = (gib_per_s(*enc, bytes), gib_per_s(*dec, bytes));
        println!(
            "| {} | {e:.2} | {:.0} % | {d:.2} | {:.0} % | {:.3} | {:.3} |",
            v.name(),
            100.0 * e / raw_enc,
            100.0 * d / raw_dec,
            enc.as_secs_f64() / gib,
            dec.as_secs_f64() / gib,
        );
    }
}
