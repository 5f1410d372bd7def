// An in-memory stand-in for the sealdrop server, just enough of docs/API.md for sealdrop.js's
// flows: create, manifest, parts (length and SHA-256 checked), finalize, info, open, download,
// ranged file reads. It also serves the browser package and sealdrop.js, and can inject
// faults (a 503, a part "stored" but lost, a flipped ciphertext byte).
//
// It is a test double of the HTTP contract, not of the server: the real server is tested
// against the same flows in tests/e2e.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";

const ENCRYPTED_CHUNK = 65552;
const PART_SIZE = 128 * ENCRYPTED_CHUNK;

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (bytes) => createHash("sha256").update(bytes).digest();

/** The public part of a manifest (docs/FORMAT.md section 10): package id and file sizes. */
export function parseManifest(bytes) {
  const fail = (why) => {
    throw new Error(`bad manifest: ${why}`);
  };
  if (bytes.length < 60 || bytes.subarray(0, 8).toString("latin1") !== "SEALDROP") fail("magic");
  if (bytes[8] !== 1) fail("version");
  const id = b64u(bytes.subarray(9, 25));
  let at = 57;
  const stanzas = bytes[at++];
  for (let i = 0; i < stanzas; i++) {
    const type = bytes[at++];
    at += type === 1 ? 48 : type === 2 ? 80 : fail("stanza type");
  }
  const count = bytes.readUInt16BE(at);
  at += 2;
  const sizes = [];
  for (let i = 0; i < count; i++) {
    sizes.push(Number(bytes.readBigUInt64BE(at + 16)));
    at += 24;
  }
  const metadataLen = bytes.readUInt32BE(at);
  if (at + 4 + metadataLen !== bytes.length) fail("length");
  return { id, sizes };
}

const partCount = (size) => Math.max(1, Math.ceil(size / PART_SIZE));
const partLength = (size, part) => Math.min(PART_SIZE, size - part * PART_SIZE);

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm" };

/**
 * Starts the mock on 127.0.0.1:0. `static` maps URL prefixes to folders. Returns
 * `{ url, packages, faults, requests, close }`; `faults` may be changed between flows:
 * `fail503`: set of "file/part" whose first PUT answers 503;
 * `lose`: set of "file/part" whose first PUT answers 201 but stores nothing;
 * `down`: set of "file/part" whose every PUT answers 503.
 */
export async function startMockApi({ static: mounts = {} } = {}) {
  const packages = new Map();
  const faults = { fail503: new Set(), lose: new Set(), down: new Set() };
  const requests = [];

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push({ method: req.method, path: url.pathname, headers: req.headers });
    const send = (status, json, headers = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(json));
    };
    const error = (status, code, message) => send(status, { error: code, message });

    for (const [prefix, dir] of Object.entries(mounts)) {
      if (url.pathname.startsWith(prefix)) {
        const path = normalize(join(dir, url.pathname.slice(prefix.length)));
        if (!path.startsWith(dir + sep) || !existsSync(path) || !statSync(path).isFile()) return error(404, "not_found", "No such file.");
        res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream" });
        return createReadStream(path).pipe(res);
      }
    }

    const m = url.pathname.match(/^\/api\/v1\/packages(?:\/([A-Za-z0-9_-]{22})(\/.*)?)?$/);
    if (!m) return error(404, "not_found", "No such route.");
    const [, id, rest = ""] = m;
    const pkg = id && packages.get(id);

    if (!id && req.method === "POST") {
      if (!req.headers["x-sealdrop-widget-key"] && !req.headers.authorization) return error(401, "unauthorized", "Send a credential.");
      const created = {
        id: b64u(randomBytes(16)),
        server_secret: b64u(randomBytes(32)),
        upload_token: `sdu_${b64u(randomBytes(32))}`,
        expires_at: new Date(Date.now() + 7 * 86400e3).toISOString(),
        part_chunks: 128,
        max_file_size: 10 * 2 ** 30,
        url: `http://127.0.0.1:${server.address().port}/p/PLACEHOLDER`,
      };
      created.url = created.url.replace("PLACEHOLDER", created.id);
      packages.set(created.id, { ...created, request: JSON.parse(body.toString() || "{}"), parts: new Map(), finalized: false });
      return send(201, created);
    }
    if (!pkg) return error(404, "not_found", "No package at this link.");

    const uploader = req.headers["x-sealdrop-upload-token"] === pkg.upload_token && !pkg.finalized;
    const proof = req.headers["x-sealdrop-link-proof"];
    const linkHolder = pkg.finalized && proof && pkg.verifier && sha256(Buffer.from(proof, "base64url")).equals(pkg.verifier);

    if (rest === "/manifest" && req.method === "PUT") {
      if (!uploader) return error(401, "unauthorized", "Send X-Sealdrop-Upload-Token.");
      const verifier = req.headers["x-sealdrop-link-verifier"];
      if (!verifier || Buffer.from(verifier, "base64url").length !== 32) return error(400, "bad_request", "Send X-Sealdrop-Link-Verifier.");
      let parsed;
      try {
        parsed = parseManifest(body);
      } catch (e) {
        return error(400, "bad_request", e.message);
      }
      if (parsed.id !== id) return error(400, "bad_request", "The manifest is for another package.");
      Object.assign(pkg, { manifest: body, verifier: Buffer.from(verifier, "base64url"), sizes: parsed.sizes });
      return send(200, { id, files: parsed.sizes.length, parts: parsed.sizes.reduce((n, s) => n + partCount(s), 0) });
    }
    let pm = rest.match(/^\/files\/(\d+)\/parts\/(\d+)$/);
    if (pm && req.method === "PUT") {
      if (!uploader) return error(401, "unauthorized", "Send X-Sealdrop-Upload-Token.");
      if (!pkg.sizes) return error(409, "conflict", "Set the manifest first.");
      const [file, part] = [Number(pm[1]), Number(pm[2])];
      const size = pkg.sizes[file];
      if (size === undefined || part >= partCount(size)) return error(400, "bad_request", "No such part.");
      if (body.length !== partLength(size, part)) return error(400, "bad_request", "Wrong part length.");
      const digest = sha256(body).toString("hex");
      if (req.headers["x-sealdrop-sha256"] !== digest) return error(422, "checksum_mismatch", "Checksum differs.");
      const key = `${file}/${part}`;
      if (faults.fail503.delete(key) || faults.down.has(key)) return error(503, "internal", "Try again.");
      const reply = { file, part, size: body.length, sha256: digest };
      if (faults.lose.delete(key)) return send(201, reply);
      const held = pkg.parts.get(key);
      if (held && !held.equals(body)) return error(409, "conflict", "A different part is held.");
      pkg.parts.set(key, body);
      return send(held ? 200 : 201, reply);
    }
    if (rest === "" && req.method === "DELETE") {
      if (!uploader) return error(403, "forbidden", "Not yours to revoke.");
      pkg.revoked = true;
      pkg.parts.clear();
      res.writeHead(204);
      return res.end();
    }
    if (rest === "/finalize" && req.method === "POST") {
      if (pkg.finalized && req.headers["x-sealdrop-upload-token"] === pkg.upload_token) return send(200, { id, expires_at: pkg.expires_at });
      if (!uploader) return error(401, "unauthorized", "Send X-Sealdrop-Upload-Token.");
      const missing = (pkg.sizes ?? [])
        .map((size, file) => ({ file, parts: [...Array(partCount(size)).keys()].filter((p) => !pkg.parts.has(`${file}/${p}`)) }))
        .filter((f) => f.parts.length);
      if (!pkg.sizes || missing.length) return send(409, { error: "incomplete_upload", message: "Parts are missing.", missing });
      pkg.finalized = true;
      return send(200, { id, expires_at: pkg.expires_at });
    }
    if (rest === "" && req.method === "GET") {
      if (!linkHolder) return error(404, "not_found", "No package at this link.");
      return send(200, {
        id, state: "ready", require_auth: false, downloads_left: null, expires_at: pkg.expires_at,
        files: pkg.sizes.map((ciphertext_size, file) => ({ file, ciphertext_size })), sender: "Mock Support",
      });
    }
    if (rest === "/open" && req.method === "POST") {
      if (!linkHolder) return error(404, "not_found", "No package at this link.");
      return send(200, { server_secret: pkg.server_secret, manifest: pkg.manifest.toString("base64") });
    }
    if (rest === "/download" && req.method === "POST") {
      if (!linkHolder) return error(404, "not_found", "No package at this link.");
      pkg.downloadToken = `sdd_${b64u(randomBytes(32))}`;
      return send(200, { download_token: pkg.downloadToken, expires_at: pkg.expires_at });
    }
    pm = rest.match(/^\/files\/(\d+)$/);
    if (pm && req.method === "GET") {
      if (!pkg.downloadToken || req.headers["x-sealdrop-download-token"] !== pkg.downloadToken) return error(401, "unauthorized", "Send X-Sealdrop-Download-Token.");
      const file = Number(pm[1]);
      const size = pkg.sizes[file];
      if (size === undefined) return error(404, "not_found", "No such file.");
      const whole = Buffer.concat([...Array(partCount(size)).keys()].map((p) => pkg.parts.get(`${file}/${p}`)));
      const range = req.headers.range?.match(/^bytes=(\d+)-(\d+)$/);
      if (!range) {
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes" });
        return res.end(whole);
      }
      const [a, b] = [Number(range[1]), Math.min(Number(range[2]), size - 1)];
      if (a >= size) return error(416, "range_not_satisfiable", "Range starts past the end.");
      res.writeHead(206, { "Content-Type": "application/octet-stream", "Content-Range": `bytes ${a}-${b}/${size}` });
      return res.end(whole.subarray(a, b + 1));
    }
    return error(404, "not_found", "No such route.");
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    packages,
    faults,
    requests,
    close: () => new Promise((ok) => server.close(ok)),
  };
}
