#!/usr/bin/env python3
"""An independent implementation of sealdrop format v1, written from docs/FORMAT.md alone,
that performs every test vector (section 15.1) including the rebuild from the seed (15.2).

It shares no code with the Rust crate: it uses Python's `cryptography` package (OpenSSL).

    python3 crypto-core/tests/independent/check_vectors.py [crypto-core/tests/vectors]
"""

import base64
import hashlib
import json
import pathlib
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHUNK = 65536
ENC_CHUNK = CHUNK + 16
ZERO_NONCE = bytes(12)
MAX_METADATA = 1 << 20
MAX_MANIFEST = 1_073_952


class FormatError(Exception):
    def __init__(self, kind, file=None, chunk=None):
        super().__init__(kind)
        self.kind, self.file, self.chunk = kind, file, chunk


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(ikm)


def seal(key, nonce, aad, plaintext):
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def open_(key, nonce, aad, ciphertext):
    return AESGCM(key).decrypt(nonce, ciphertext, aad)


def x25519(scalar, point):
    """X25519(scalar, point); None for an all-zero result (low-order point)."""
    try:
        shared = X25519PrivateKey.from_private_bytes(scalar).exchange(X25519PublicKey.from_public_bytes(point))
    except ValueError:  # OpenSSL refuses an all-zero shared secret
        return None
    return None if shared == bytes(32) else shared


def x25519_base(scalar):
    return X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()


# --- section 8: sizes -------------------------------------------------------------------

def chunk_count(size):
    return max(1, -(-size // CHUNK))


def ciphertext_size(size):
    return size + 16 * chunk_count(size)


def plaintext_size(ct):
    q, r = divmod(ct, ENC_CHUNK)
    if q >= 1 and r == 0:
        return CHUNK * q
    if q == 0 and r >= 16:
        return r - 16
    if q >= 1 and r >= 17:
        return CHUNK * q + r - 16
    raise FormatError("invalid_ciphertext_size")


def nonce(i, last):
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def stream_encrypt(kf, plaintext):
    n = chunk_count(len(plaintext))
    return b"".join(
        seal(kf, nonce(i, i == n - 1), b"", plaintext[i * CHUNK:(i + 1) * CHUNK]) for i in range(n)
    )


def stream_decrypt(kf, ciphertext, declared):
    if len(ciphertext) < declared:
        raise FormatError("truncated_file")
    if len(ciphertext) > declared:
        raise FormatError("trailing_data")
    n = chunk_count(plaintext_size(declared))
    out = []
    for i in range(n):
        try:
            out.append(open_(kf, nonce(i, i == n - 1), b"", ciphertext[i * ENC_CHUNK:(i + 1) * ENC_CHUNK]))
        except InvalidTag:
            raise FormatError("chunk_tampered", chunk=i)
    return b"".join(out)


# --- section 10: manifest ----------------------------------------------------------------

def parse_manifest(data):
    if len(data) > MAX_MANIFEST:
        raise FormatError("invalid_manifest")
    pos = 0

    def take(n):
        nonlocal pos
        if len(data) - pos < n:
            raise FormatError("invalid_manifest")
        pos += n
        return data[pos - n:pos]

    if len(data) < 8 or take(8) != b"SEALDROP":
        raise FormatError("invalid_manifest")
    version = take(1)[0]
    if version != 1:
        raise FormatError("unsupported_version")
    package_id, commitment = take(16), take(32)
    count = take(1)[0]
    if not 1 <= count <= 16:
        raise FormatError("invalid_manifest")
    stanzas = []
    for _ in range(count):
        kind = take(1)[0]
        if kind not in (1, 2):
            raise FormatError("invalid_manifest")
        stanzas.append((kind, take(48 if kind == 1 else 80)))
    table_start = pos
    file_count = int.from_bytes(take(2), "big")
    if file_count > 1000:
        raise FormatError("invalid_manifest")
    files = []
    for _ in range(file_count):
        salt, size = take(16), int.from_bytes(take(8), "big")
        plaintext_size(size)  # raises for impossible sizes (reported as invalid_manifest below)
        if any(salt == s for s, _ in files):
            raise FormatError("invalid_manifest")
        files.append((salt, size))
    table = data[table_start:pos]
    metadata_len = int.from_bytes(take(4), "big")
    if not 16 <= metadata_len <= MAX_METADATA + 16:
        raise FormatError("invalid_manifest")
    metadata = take(metadata_len)
    if pos != len(data):
        raise FormatError("invalid_manifest")
    return {
        "id": package_id,
        "commitment": commitment,
        "stanzas": stanzas,
        "files": files,
        "aad": bytes([version]) + package_id + table,
        "metadata": metadata,
    }


def parse_manifest_checked(data):
    try:
        return parse_manifest(data)
    except FormatError as e:
        if e.kind == "invalid_ciphertext_size":
            raise FormatError("invalid_manifest")
        raise


def write_manifest(package_id, commitment, stanzas, files, metadata_ct):
    table = len(files).to_bytes(2, "big") + b"".join(s + n.to_bytes(8, "big") for s, n in files)
    return (
        b"SEALDROP" + b"\x01" + package_id + commitment + bytes([len(stanzas)])
        + b"".join(bytes([k]) + body for k, body in stanzas)
        + table + len(metadata_ct).to_bytes(4, "big") + metadata_ct
    )


def metadata_json(metadata):
    return json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()


# --- sections 5-7, 10.2: opening -----------------------------------------------------------

def open_package(m, vector):
    pid = m["id"]
    key = None
    if vector["open_with"] == "link":
        c, s = unb64u(vector["link_secret"]), unb64u(vector["server_secret"])
        links = [body for kind, body in m["stanzas"] if kind == 1]
        if not links:
            raise FormatError("no_usable_stanza")
        w = hkdf(c + s, pid, "sealdrop/v1/link")
        for body in links:
            try:
                key = open_(w, ZERO_NONCE, pid, body)
                break
            except InvalidTag:
                pass
        if key is None:
            raise FormatError("wrong_link_or_server_secret")
    else:
        r = unb64u(vector["x25519_identity"])
        recipient = x25519_base(r)
        for kind, body in m["stanzas"]:
            if kind != 2:
                continue
            e_pub = body[:32]
            shared = x25519(r, e_pub)
            if shared is None:
                raise FormatError("low_order_point")
            w = hkdf(shared, e_pub + recipient, "sealdrop/v1/x25519")
            try:
                key = open_(w, ZERO_NONCE, pid, body[32:])
                break
            except InvalidTag:
                pass
        if key is None:
            raise FormatError("no_usable_stanza")
    if hkdf(key, pid, "sealdrop/v1/commit") != m["commitment"]:
        raise FormatError("commitment_mismatch")
    try:
        plaintext = open_(hkdf(key, pid, "sealdrop/v1/metadata"), ZERO_NONCE, m["aad"], m["metadata"])
    except InvalidTag:
        raise FormatError("metadata_tampered")
    metadata = json.loads(plaintext)
    if len(metadata["files"]) != len(m["files"]) or any(
        ciphertext_size(info["size"]) != size for info, (_, size) in zip(metadata["files"], m["files"])
    ):
        raise FormatError("invalid_metadata")
    return key, metadata


# --- section 15.2: the generator's random stream -------------------------------------------

class DeterministicRandom:
    def __init__(self, seed):
        self.seed, self.counter, self.buffer = seed, 0, b""

    def take(self, n):
        while len(self.buffer) < n:
            self.buffer += hashlib.sha256(self.seed + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


def rebuild(vector):
    rng = DeterministicRandom(vector["seed"].encode())
    pid, c, s, r = rng.take(16), rng.take(32), rng.take(32), rng.take(32)
    assert b64u(pid) == vector["package_id"], "seed gives another package id"
    k = rng.take(32)
    files = [(rng.take(16), ciphertext_size(f["plaintext_size"])) for f in vector["files"]]
    stanzas = []
    for kind in vector["stanzas"]:
        if kind == "link":
            stanzas.append((1, seal(hkdf(c + s, pid, "sealdrop/v1/link"), ZERO_NONCE, pid, k)))
        else:
            e = rng.take(32)
            e_pub, recipient = x25519_base(e), x25519_base(r)
            w = hkdf(x25519(e, recipient), e_pub + recipient, "sealdrop/v1/x25519")
            stanzas.append((2, e_pub + seal(w, ZERO_NONCE, pid, k)))
    table = len(files).to_bytes(2, "big") + b"".join(salt + n.to_bytes(8, "big") for salt, n in files)
    aad = b"\x01" + pid + table
    metadata_ct = seal(hkdf(k, pid, "sealdrop/v1/metadata"), ZERO_NONCE, aad, metadata_json(vector["metadata"]))
    return write_manifest(pid, hkdf(k, pid, "sealdrop/v1/commit"), stanzas, files, metadata_ct), k, c


def plaintext_of(f):
    if f["plaintext"] is not None:
        return unb64u(f["plaintext"])
    return bytes(i % 251 for i in range(f["plaintext_size"]))


def perform(vector):
    """Returns None on success, raises FormatError for format failures, AssertionError for
    wrong bytes."""
    manifest = unb64u(vector["manifest"])
    m = parse_manifest_checked(manifest)
    assert b64u(m["id"]) == vector["package_id"]
    key, metadata = open_package(m, vector)
    assert metadata == vector["metadata"], "metadata differs"
    for index, (f, (salt, size)) in enumerate(zip(vector["files"], m["files"])):
        kf = hkdf(key, salt, "sealdrop/v1/file")
        ct = unb64u(f["ciphertext"])
        try:
            pt = stream_decrypt(kf, ct, size)
        except FormatError as e:
            e.file = index
            raise
        assert pt == plaintext_of(f) and hashlib.sha256(pt).hexdigest() == f["plaintext_sha256"]
        if vector["expect"] == "ok":
            assert stream_encrypt(kf, pt) == ct, f"re-encrypting file {index} differs"
    if vector["expect"] == "ok":
        rebuilt, k, c = rebuild(vector)
        assert rebuilt == manifest, "rebuilt manifest differs"
        inter = vector["intermediate"]
        assert inter["package_key"] == b64u(k)
        if inter["link_proof"] is not None:
            # The package's own C (drawn from the seed); an X25519 vector does not list it.
            a = hkdf(c, m["id"], "sealdrop/v1/link-auth")
            assert inter["link_proof"] == b64u(a)
            assert inter["link_verifier"] == b64u(hashlib.sha256(a).digest())
        assert inter["public_file_table"] == b64u(m["aad"])
        for f_key, (salt, _) in zip(inter["file_keys"], m["files"]):
            assert f_key == b64u(hkdf(k, salt, "sealdrop/v1/file"))


def main():
    directory = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[1] / "vectors")
    failures = 0
    paths = sorted(directory.glob("*.json"))
    for path in paths:
        vector = json.loads(path.read_text())
        try:
            perform(vector)
            outcome = None
        except FormatError as e:
            outcome = e
        except AssertionError as e:
            print(f"FAIL {path.name}: wrong bytes: {e}")
            failures += 1
            continue
        expected = vector["error"]
        if vector["expect"] == "ok" and outcome is None:
            print(f"ok   {path.name}")
        elif vector["expect"] == "fail" and outcome is not None and (
            outcome.kind, outcome.file, outcome.chunk) == (expected["kind"], expected["file"], expected["chunk"]):
            print(f"ok   {path.name} ({outcome.kind})")
        else:
            got = None if outcome is None else (outcome.kind, outcome.file, outcome.chunk)
            print(f"FAIL {path.name}: expected {vector['expect']} {expected}, got {got}")
            failures += 1
    print(f"{len(paths) - failures}/{len(paths)} vectors pass")
    return 1 if failures or not paths else 0


if __name__ == "__main__":
    sys.exit(main())
