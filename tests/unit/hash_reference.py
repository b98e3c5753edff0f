# SPDX-License-Identifier: LGPL-2.1-or-later
"""Expected values of the hash, tokenize and email-domain methods, computed
without spotfs or libsodium: SipHash-2-4 from its paper (Aumasson and
Bernstein, 2012; checked against the paper's test vector) and the key
derivation with Python's hashlib BLAKE2b. test_methods.c holds the output.

  /usr/bin/python3 tests/unit/hash_reference.py
"""
import hashlib
import struct

M64 = (1 << 64) - 1


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key, msg):
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rnd():
        v[0] = (v[0] + v[1]) & M64; v[1] = rotl(v[1], 13); v[1] ^= v[0]
        v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64; v[3] = rotl(v[3], 16); v[3] ^= v[2]
        v[0] = (v[0] + v[3]) & M64; v[3] = rotl(v[3], 21); v[3] ^= v[0]
        v[2] = (v[2] + v[1]) & M64; v[1] = rotl(v[1], 17); v[1] ^= v[2]
        v[2] = rotl(v[2], 32)

    tail = len(msg) % 8
    for i in range(0, len(msg) - tail, 8):
        m = struct.unpack("<Q", msg[i:i + 8])[0]
        v[3] ^= m
        rnd(); rnd()
        v[0] ^= m
    last = msg[len(msg) - tail:] + bytes(7 - tail) + bytes([len(msg) & 0xFF])
    m = struct.unpack("<Q", last)[0]
    v[3] ^= m
    rnd(); rnd()
    v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        rnd()
    return struct.pack("<Q", v[0] ^ v[1] ^ v[2] ^ v[3])


# The paper's test vector (Appendix A): key 00..0f, message 00..0e gives
# the 64-bit value 0xa129ca6149be45e5 (bytes in little-endian order).
assert struct.unpack("<Q", siphash24(bytes(range(16)), bytes(range(15))))[0] \
    == 0xA129CA6149BE45E5


def master(secret):
    return hashlib.blake2b(secret, key=b"spotfs masking master key v1",
                           digest_size=32).digest()


def subkey(mk, ident, n=16):
    # libsodium's crypto_kdf_derive_from_key: BLAKE2b keyed with the master
    # key, salt = the id (8 bytes little-endian, zero-padded to 16),
    # personal = the 8-byte context, zero-padded to 16.
    return hashlib.blake2b(b"", key=mk, digest_size=n,
                           salt=struct.pack("<Q", ident) + bytes(8),
                           person=b"spotmask" + bytes(8)).digest()


def keyed_hex(mk, base, value, hex_len):
    out = ""
    for b in range((hex_len + 15) // 16):
        out += siphash24(subkey(mk, base + b), value).hex()
    return out[:hex_len]


HASH, TOKEN = 16, 32
mk = master(b"0123456789abcdef-test-secret")
print("hash 16   ", keyed_hex(mk, HASH, b"alice@example.com", 16))
print("hash 40   ", keyed_hex(mk, HASH, b"alice@example.com", 40))
print("hash empty-ish 1 byte", keyed_hex(mk, HASH, b"x", 16))
print("hash 23 B ", keyed_hex(mk, HASH, b"a value of 23 bytes ok.", 16))
print("tokenize  ", "tok_" + keyed_hex(mk, TOKEN, b"alice@example.com", 16))
print("email     ", "j***@" + keyed_hex(mk, HASH, b"example.com", 8)
      + ".invalid")
