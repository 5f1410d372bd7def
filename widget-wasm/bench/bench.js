// Throughput of AES-256-GCM over 64 KiB chunks, three ways, in the same page:
//
//   raw         crypto.subtle.encrypt/decrypt called directly from JavaScript: the ceiling;
//   webcrypto   the sealdrop wasm core's FileEncryptor/FileDecryptor with the WebCrypto backend
//               (the core plans each chunk, checks lengths, maps errors; WebCrypto does AES);
//   rustcrypto  the same objects with the RustCrypto backend (`aes-gcm` compiled to wasm).
//
// Every variant works on the same random 64 MiB buffer, sliced into 64 KiB chunks and looped
// until `totalBytes` have gone through, with the same number of chunk promises in flight.

import init, { PackageSealer, openPackage } from "./pkg/sealdrop_widget.js";

const CHUNK = 65536;
const MiB = 1024 * 1024;

function b64u(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function randomBytes(n) {
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65 536 bytes per call.
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

// STREAM's nonce: 11-byte big-endian chunk counter || last-chunk flag. Raw WebCrypto builds the
// same nonces so that it does the same work as the core (the flag is 0: never the last chunk).
function nonce(index) {
  const n = new Uint8Array(12);
  let i = index;
  for (let pos = 10; pos >= 0 && i > 0; pos--) {
    n[pos] = i % 256;
    i = Math.floor(i / 256);
  }
  return n;
}

// Runs task(0..count-1) with at most `inflight` promises pending; resolves when all are done.
async function pipeline(count, inflight, task) {
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
}

async function timed(bytes, fn) {
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  return { bytes, seconds, mbps: bytes / 1e6 / seconds };
}

async function benchRaw(buffer, totalBytes, inflight) {
  const chunksInBuffer = buffer.length / CHUNK;
  const chunks = totalBytes / CHUNK;
  const key = await crypto.subtle.importKey("raw", randomBytes(32), { name: "AES-GCM" }, false,
    ["encrypt", "decrypt"]);
  const sealed = new Array(chunksInBuffer);
  const encrypt = await timed(totalBytes, () => pipeline(chunks, inflight, async (i) => {
    const j = i % chunksInBuffer;
    const pt = buffer.subarray(j * CHUNK, (j + 1) * CHUNK);
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce(i) }, key, pt));
    if (ct.length !== CHUNK + 16) throw new Error("raw encrypt: wrong length");
    if (i < chunksInBuffer) sealed[i] = ct;
  }));
  const decrypt = await timed(totalBytes, () => pipeline(chunks, inflight, async (i) => {
    const j = i % chunksInBuffer;
    const pt = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce(j) }, key, sealed[j]));
    if (pt.length !== CHUNK) throw new Error("raw decrypt: wrong length");
  }));
  return { encrypt, decrypt };
}

async function benchCore(backend, buffer, totalBytes, inflight) {
  const chunksInBuffer = buffer.length / CHUNK;
  const chunks = totalBytes / CHUNK;
  const packageId = b64u(randomBytes(16));
  const serverSecret = b64u(randomBytes(32));
  // One file of exactly `totalBytes`: chunk i of it is buffer chunk i mod chunksInBuffer.
  const sealer = new PackageSealer(packageId, serverSecret, {
    files: [{ name: "bench.bin", size: totalBytes, type: "application/octet-stream" }],
    message: null,
    sender: null,
    backend,
  });
  const enc = sealer.file(0);
  if (enc.backend !== backend) throw new Error(`asked for ${backend}, got ${enc.backend}`);
  const sealed = new Array(chunksInBuffer);
  const encrypt = await timed(totalBytes, () => pipeline(chunks, inflight, async (i) => {
    const j = i % chunksInBuffer;
    const ct = await enc.encryptChunk(i, buffer.subarray(j * CHUNK, (j + 1) * CHUNK));
    if (i < chunksInBuffer) sealed[i] = ct;
  }));
  // The recipient's side: open the manifest with the link secret and S, then decrypt the first
  // chunksInBuffer chunks of the file again and again.
  const opened = openPackage(sealer.manifest, sealer.linkSecret, serverSecret, backend);
  const dec = opened.file(0);
  const first = await dec.decryptChunk(0, sealed[0]);
  for (let k = 0; k < CHUNK; k++) {
    if (first[k] !== buffer[k]) throw new Error(`${backend}: round trip differs at byte ${k}`);
  }
  const decrypt = await timed(totalBytes, () => pipeline(chunks, inflight, async (i) => {
    const j = i % chunksInBuffer;
    const pt = await dec.decryptChunk(j, sealed[j]);
    if (pt.length !== CHUNK) throw new Error("core decrypt: wrong length");
  }));
  enc.free();
  dec.free();
  opened.free();
  sealer.free();
  return { encrypt, decrypt };
}

// The median of several rounds: the machine this runs on is shared, so single runs are noisy.
function median(samples) {
  const sorted = [...samples].sort((a, b) => a.mbps - b.mbps);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return { ...mid, samples: samples.map((x) => Math.round(x.mbps)) };
}

// Runs all three variants and returns their figures. Raw WebCrypto and the WebCrypto-backed
// core alternate for `rounds` rounds (so that load on the machine hits both alike) and report
// the median round; the much slower RustCrypto fallback runs once over `fallbackBytes`.
export async function run({
  totalBytes = 1024 * MiB,
  bufferBytes = 64 * MiB,
  fallbackBytes = 256 * MiB,
  inflight = 8,
  rounds = 3,
  log = () => {},
} = {}) {
  await init();
  const buffer = randomBytes(bufferBytes);
  const results = { totalBytes, bufferBytes, fallbackBytes, inflight, rounds, userAgent: navigator.userAgent, rows: [] };
  const raw = { encrypt: [], decrypt: [] };
  const web = { encrypt: [], decrypt: [] };
  for (let r = 0; r < rounds; r++) {
    log(`round ${r + 1}/${rounds}: raw WebCrypto...`);
    const a = await benchRaw(buffer, totalBytes, inflight);
    log(`round ${r + 1}/${rounds}: core, webcrypto backend...`);
    const b = await benchCore("webcrypto", buffer, totalBytes, inflight);
    for (const what of ["encrypt", "decrypt"]) {
      raw[what].push(a[what]);
      web[what].push(b[what]);
    }
  }
  results.rows.push({ name: "raw WebCrypto", encrypt: median(raw.encrypt), decrypt: median(raw.decrypt) });
  results.rows.push({ name: "core (webcrypto backend)", encrypt: median(web.encrypt), decrypt: median(web.decrypt) });
  log("core, rustcrypto backend...");
  const fallback = await benchCore("rustcrypto", buffer.subarray(0, Math.min(bufferBytes, fallbackBytes)), fallbackBytes, inflight);
  results.rows.push({
    name: "core (rustcrypto backend)",
    encrypt: median([fallback.encrypt]),
    decrypt: median([fallback.decrypt]),
  });
  return results;
}

// A fixed-width table: MB/s (10^6 bytes) and percentage of raw WebCrypto.
export function formatTable(results) {
  const raw = results.rows[0];
  const pad = (s, n) => String(s).padStart(n);
  const lines = [
    `AES-256-GCM, 64 KiB chunks, ${results.inflight} in flight, ${results.bufferBytes / MiB} MiB buffer looped, ` +
      `median of ${results.rounds} alternating rounds (fallback: 1 round)`,
    `${"variant".padEnd(28)}${pad("data", 10)}${pad("encrypt MB/s", 14)}${pad("% raw", 8)}${pad("decrypt MB/s", 14)}${pad("% raw", 8)}`,
  ];
  for (const row of results.rows) {
    const pct = (r, what) => ((100 * r[what].mbps) / raw[what].mbps).toFixed(1);
    lines.push(
      `${row.name.padEnd(28)}${pad(`${row.encrypt.bytes / MiB} MiB`, 10)}` +
      `${pad(row.encrypt.mbps.toFixed(0), 14)}${pad(pct(row, "encrypt"), 8)}` +
      `${pad(row.decrypt.mbps.toFixed(0), 14)}${pad(pct(row, "decrypt"), 8)}` +
      `   rounds: enc ${row.encrypt.samples.join("/")}, dec ${row.decrypt.samples.join("/")}`,
    );
  }
  return lines.join("\n");
}
