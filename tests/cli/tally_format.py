"""A reader of logtally's tally files written from docs/tally-format.md alone,
in plain Python (XXH64 here, zstd frames through the `zstd` program): the
proof that the format's description is enough to read one.

read_tally(path) -> (metadata dict, {encoded key bytes: count}, [block dicts])
decode_key(key, ncol) -> [bytes or None]
"""
import json
import struct
import subprocess

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _round(v[j], struct.unpack_from("<Q", data, i + 8 * j)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for x in v:
            h = ((h ^ _round(0, x)) * P1 + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


class FormatError(Exception):
    pass


def read_tally(path):
    b = open(path, "rb").read()
    if b[:8] != b"LOGTALLY" or struct.unpack_from("<II", b, 8) != (1, 0):
        raise FormatError("header")
    if len(b) < 64 or b[-8:] != b"TALLYEND":
        raise FormatError("no end marker")
    meta_off, meta_size, index_off, nblocks, checksum = struct.unpack_from("<5Q", b, len(b) - 48)
    if index_off + 24 * nblocks + 48 != len(b) or xxh64(b[meta_off:len(b) - 16]) != checksum:
        raise FormatError("trailer")
    meta = json.loads(b[meta_off:meta_off + meta_size].decode())
    groups, blocks = {}, []
    for k in range(nblocks):
        off, payload, raw, records, part, run = struct.unpack_from("<QIIIHH", b, index_off + 24 * k)
        blocks.append(dict(offset=off, payload=payload, partition=part, run=run))
        block = b[off:off + 24 + payload]
        if xxh64(block[8:]) != struct.unpack_from("<Q", block)[0]:
            raise FormatError(f"block {k} checksum")
        data = subprocess.run(["zstd", "-d", "-c", "-q"], input=block[24:], capture_output=True,
                              check=True).stdout
        if len(data) != raw:
            raise FormatError(f"block {k} size")
        i = 0
        for _ in range(records):
            klen, i = varint(data, i)
            key = data[i:i + klen]
            i += klen
            count, i = varint(data, i)
            groups[key] = groups.get(key, 0) + count
        if i != len(data):
            raise FormatError(f"block {k} trailing bytes")
    return meta, groups, blocks


def decode_key(key, ncol):
    out, i = [], 0
    for _ in range(ncol):
        n, i = varint(key, i)
        out.append(None if n == 0 else key[i:i + n - 1])
        i += 0 if n == 0 else n - 1
    return out
