#!/usr/bin/env python3
"""An independent implementation of sealdrop format v1, written from docs/FORMAT.md alone,
that performs every test vector (section 15.1) including the rebuild from the seed (15.2), and
the team keys' vectors in vectors/team/ (sections 15.4 and 16-21).

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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
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


def metadata_json(metadata, link_binding=None):
    document = dict(metadata)
    if link_binding is not None:  # section 7: after `sender`, team-sealed packages only
        document["link_binding"] = b64u(link_binding)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def link_binding_of(c, pid):
    return hkdf(c, pid, "sealdrop/v1/link-binding")


# --- sections 5-7, 10.2: opening -----------------------------------------------------------

def open_with_identity(m, r):
    """Section 5.3 with an X25519 identity: K, or FormatError."""
    pid, recipient = m["id"], x25519_base(r)
    for kind, body in m["stanzas"]:
        if kind != 2:
            continue
        e_pub = body[:32]
        shared = x25519(r, e_pub)
        if shared is None:
            raise FormatError("low_order_point")
        w = hkdf(shared, e_pub + recipient, "sealdrop/v1/x25519")
        try:
            return open_(w, ZERO_NONCE, pid, body[32:])
        except InvalidTag:
            pass
    raise FormatError("no_usable_stanza")


def open_with_shares(m, recipient, shares):
    """Section 20.5: K from the key agreement results alone (one per X25519 stanza)."""
    pid = m["id"]
    x_stanzas = [body for kind, body in m["stanzas"] if kind == 2]
    assert len(shares) == len(x_stanzas), "one shared secret per X25519 stanza"
    for body, shared in zip(x_stanzas, shares):
        if shared is None or shared == bytes(32):
            raise FormatError("low_order_point")
        w = hkdf(shared, body[:32] + recipient, "sealdrop/v1/x25519")
        try:
            return open_(w, ZERO_NONCE, pid, body[32:])
        except InvalidTag:
            pass
    raise FormatError("no_usable_stanza")


def open_team(m, vector):
    """Section 20.3: every listed identity opens, and the link binding matches the link."""
    if any(kind == 1 for kind, _ in m["stanzas"]):
        raise FormatError("not_team_sealed")
    c = unb64u(vector["link_secret"])
    result = None
    for text in vector["x25519_identities"]:
        key = open_with_identity(m, unb64u(text))
        metadata = open_metadata(m, key)
        binding = metadata.pop("link_binding", None)
        if binding is None or unb64u(binding) != link_binding_of(c, m["id"]):
            raise FormatError("link_binding_mismatch")
        result = result or (key, metadata)
    return result


def open_metadata(m, key):
    """Sections 6, 7 and 10.2 steps 3-5."""
    pid = m["id"]
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
    return metadata


def open_package(m, vector):
    pid = m["id"]
    key = None
    if vector["open_with"] == "team":
        return open_team(m, vector)
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
        key = open_with_identity(m, unb64u(vector["x25519_identity"]))
    metadata = open_metadata(m, key)
    metadata.pop("link_binding", None)
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
    # A team-sealed vector lists its recipients; otherwise every X25519 stanza is r's.
    listed = iter(unb64u(x) for x in vector.get("x25519_recipients") or [])
    for kind in vector["stanzas"]:
        if kind == "link":
            stanzas.append((1, seal(hkdf(c + s, pid, "sealdrop/v1/link"), ZERO_NONCE, pid, k)))
        else:
            e = rng.take(32)
            e_pub = x25519_base(e)
            recipient = next(listed) if vector.get("x25519_recipients") else x25519_base(r)
            w = hkdf(x25519(e, recipient), e_pub + recipient, "sealdrop/v1/x25519")
            stanzas.append((2, e_pub + seal(w, ZERO_NONCE, pid, k)))
    table = len(files).to_bytes(2, "big") + b"".join(salt + n.to_bytes(8, "big") for salt, n in files)
    aad = b"\x01" + pid + table
    binding = link_binding_of(c, pid) if vector["open_with"] == "team" else None
    metadata_ct = seal(hkdf(k, pid, "sealdrop/v1/metadata"), ZERO_NONCE, aad, metadata_json(vector["metadata"], binding))
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
        if vector["open_with"] == "team":
            assert inter["link_binding"] == b64u(link_binding_of(c, m["id"]))
            # Section 20.5: every member's key agreement, and K from those values alone.
            listed = inter["x25519_shared_secrets"]
            assert len(listed) == len(vector["x25519_identities"])
            for text, shares in zip(vector["x25519_identities"], listed):
                r = unb64u(text)
                computed = [x25519(r, body[:32]) for kind, body in m["stanzas"] if kind == 2]
                assert [b64u(x) for x in computed] == shares, "x25519_shared_secrets differs"
                assert open_with_shares(m, x25519_base(r), [unb64u(x) for x in shares]) == k
        for f_key, (salt, _) in zip(inter["file_keys"], m["files"]):
            assert f_key == b64u(hkdf(k, salt, "sealdrop/v1/file"))


# --- sections 17-19: fingerprints, the recovery code, the wrapped admin key, the roster -----

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def fingerprint(label, data):
    return hashlib.sha256(label.encode() + data).digest()[:16]


def display(fp):
    text = fp.hex()
    return " ".join(text[i:i + 4] for i in range(0, 32, 4))


def parse_fingerprint(text):
    digits = text.replace(" ", "").replace("-", "")
    if len(digits) != 32 or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
        raise FormatError("invalid_encoding")
    return bytes.fromhex(digits)


def recovery_check(rc):
    return hashlib.sha256(b"sealdrop/v1/recovery-code-check" + rc).digest()[:4]


def recovery_text(rc):
    bits = int.from_bytes(rc + recovery_check(rc), "big")
    symbols = "".join(CROCKFORD[(bits >> (5 * (31 - i))) & 31] for i in range(32))
    return "-".join(symbols[i:i + 4] for i in range(0, 32, 4))


def parse_recovery_code(text):
    symbols = [ch for ch in text if not (ch.isspace() or ch == "-")]
    symbols = [{"O": "0", "I": "1", "L": "1"}.get(ch.upper(), ch.upper()) for ch in symbols]
    if len(symbols) != 32 or any(ch not in CROCKFORD for ch in symbols):
        raise FormatError("invalid_encoding")
    value = 0
    for ch in symbols:
        value = (value << 5) | CROCKFORD.index(ch)
    data = value.to_bytes(20, "big")
    if recovery_check(data[:16]) != data[16:]:
        raise FormatError("recovery_code_checksum")
    return data[:16]


def recovery_derive(rc):
    w_admin = hkdf(rc, b"", "sealdrop/v1/recovery/admin-key")
    r_rec = hkdf(rc, b"", "sealdrop/v1/recovery/x25519")
    return w_admin, r_rec, x25519_base(r_rec)


def ed25519_public(seed):
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def unwrap_admin_key(blob, rc):
    if len(blob) != 101 or blob[:8] != b"SDADMKEY":
        raise FormatError("invalid_admin_key_blob")
    if blob[8] != 1:
        raise FormatError("unsupported_version")
    header, nonce, sealed = blob[:41], blob[41:53], blob[53:]
    try:
        seed = open_(recovery_derive(rc)[0], nonce, header, sealed)
    except InvalidTag:
        raise FormatError("wrong_recovery_code")
    if ed25519_public(seed) != header[9:41]:
        raise FormatError("invalid_admin_key_blob")
    return seed


def parse_roster(data):
    if len(data) > 1793:
        raise FormatError("invalid_roster")
    pos = 0

    def take(n):
        nonlocal pos
        if len(data) - pos < n:
            raise FormatError("invalid_roster")
        pos += n
        return data[pos - n:pos]

    if take(8) != b"SDROSTER":
        raise FormatError("invalid_roster")
    if take(1)[0] != 1:
        raise FormatError("unsupported_version")
    admin = take(32)
    tenant_len = take(1)[0]
    if not 1 <= tenant_len <= 63:
        raise FormatError("invalid_roster")
    tenant = take(tenant_len)
    if any(chr(b) not in "abcdefghijklmnopqrstuvwxyz0123456789-" for b in tenant):
        raise FormatError("invalid_roster")
    sequence, issued_at = int.from_bytes(take(8), "big"), int.from_bytes(take(8), "big")
    recovery = take(32)
    count = take(1)[0]
    if sequence < 1 or count > 15:
        raise FormatError("invalid_roster")
    devices = []
    for _ in range(count):
        key, user = take(32), int.from_bytes(take(8), "big")
        label_len = take(1)[0]
        if not 1 <= label_len <= 64 or user < 1:
            raise FormatError("invalid_roster")
        try:
            label = take(label_len).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("invalid_roster")
        bidi = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ord(ch) in bidi for ch in label):
            raise FormatError("invalid_roster")
        devices.append((key, user, label))
    body = data[:pos]
    signature = take(64)
    if pos != len(data):
        raise FormatError("invalid_roster")
    keys = [key for key, _, _ in devices]
    if any(a >= b for a, b in zip(keys, keys[1:])) or recovery in keys:
        raise FormatError("invalid_roster")
    return admin, tenant.decode(), sequence, issued_at, recovery, devices, body, signature


def verify_roster(data, pinned, tenant, highest_seen):
    """Section 19.3, in order."""
    admin, r_tenant, sequence, issued_at, recovery, devices, body, signature = parse_roster(data)
    if fingerprint("sealdrop/v1/admin-key-fingerprint", admin) != pinned:
        raise FormatError("admin_key_mismatch")
    try:
        Ed25519PublicKey.from_public_bytes(admin).verify(signature, b"sealdrop/v1/roster" + body)
    except (InvalidSignature, ValueError):
        raise FormatError("roster_signature_invalid")
    if r_tenant != tenant:
        raise FormatError("roster_tenant_mismatch")
    probe = bytes([0x5a] * 32)
    if any(x25519(probe, key) is None for key in [recovery] + [d[0] for d in devices]):
        raise FormatError("invalid_roster")
    if highest_seen is not None and sequence < highest_seen:
        raise FormatError("roster_rolled_back")
    return admin, sequence, issued_at, recovery, devices


def perform_team(vector):
    case = vector["case"]
    ok = vector["expect"] == "ok"
    if case["kind"] == "roster":
        data = unb64u(case["roster"])
        admin, sequence, issued_at, recovery, devices = verify_roster(
            data, parse_fingerprint(case["pinned_fingerprint"]), case["tenant"], case["highest_sequence_seen"])
        if ok:
            got = {
                "admin_key": b64u(admin),
                "admin_key_fingerprint": display(fingerprint("sealdrop/v1/admin-key-fingerprint", admin)),
                "sequence": sequence,
                "issued_at": issued_at,
                "recovery_key": b64u(recovery),
                "devices": [{
                    "device_key": b64u(key), "user_id": user, "label": label,
                    "fingerprint": display(fingerprint("sealdrop/v1/device-key-fingerprint",
                                                       user.to_bytes(8, "big") + key)),
                } for key, user, label in devices],
                "recipients": [b64u(key) for key, _, _ in devices] + [b64u(recovery)],
            }
            assert got == case["expected"], f"roster says {got}"
            seed = unb64u(case["admin_secret_key"])
            again = Ed25519PrivateKey.from_private_bytes(seed).sign(b"sealdrop/v1/roster" + data[:-64])
            assert again == data[-64:], "signing again gives another signature"
    elif case["kind"] == "recovery_code":
        rc = parse_recovery_code(case["text"])
        if ok:
            w_admin, r_rec, big_r = recovery_derive(rc)
            assert case["expected"] == {
                "secret": b64u(rc), "canonical_text": recovery_text(rc), "admin_wrap_key": b64u(w_admin),
                "recovery_identity": b64u(r_rec), "recovery_key": b64u(big_r),
            }, "recovery code gives other values"
    elif case["kind"] == "admin_key":
        blob = unb64u(case["blob"])
        rc = parse_recovery_code(case["recovery_code"])
        seed = unwrap_admin_key(blob, rc)
        public = ed25519_public(seed)
        if fingerprint("sealdrop/v1/admin-key-fingerprint", public) != parse_fingerprint(case["pinned_fingerprint"]):
            raise FormatError("admin_key_mismatch")
        if ok:
            assert case["expected"] == {"admin_key": b64u(public), "admin_secret_key": b64u(seed)}
            again = blob[:53] + seal(recovery_derive(rc)[0], blob[41:53], blob[:41], seed)
            assert again == blob, "wrapping again gives other bytes"
    else:
        raise AssertionError(f"unknown case kind {case['kind']}")


def run(paths, perform_one, expected_of):
    failures = 0
    for path in paths:
        vector = json.loads(path.read_text())
        try:
            perform_one(vector)
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
        elif vector["expect"] == "fail" and outcome is not None and expected_of(outcome) == expected:
            print(f"ok   {path.name} ({outcome.kind})")
        else:
            got = None if outcome is None else expected_of(outcome)
            print(f"FAIL {path.name}: expected {vector['expect']} {expected}, got {got}")
            failures += 1
    return failures


def main():
    directory = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[1] / "vectors")
    paths = sorted(directory.glob("*.json"))
    team_paths = sorted((directory / "team").glob("*.json"))
    failures = run(paths, perform, lambda e: {"kind": e.kind, "file": e.file, "chunk": e.chunk})
    failures += run(team_paths, perform_team, lambda e: e.kind)
    total = len(paths) + len(team_paths)
    print(f"{total - failures}/{total} vectors pass")
    return 1 if failures or not paths or not team_paths else 0


if __name__ == "__main__":
    sys.exit(main())
