"""The engine's bootstrap weights (:func:`theater.columns.poisson_weight`) computed in numpy.

``poisson_weight(seed, unit, rep)`` draws a Poisson(1) weight per (unit, replicate) from
``xxhash64(seed, unit, rep)`` (Spark's XXH64, seed 42, each argument hashed with the previous
hash as its seed: the int seed as 4 bytes, the unit string's UTF-8 bytes, the replicate as 8
bytes, little-endian). Small per-user tables are cheaper to replicate on the driver than by a
cross join in the engine; this gives the very same weights, so the replicates, and every figure
read from them, do not change with where they are computed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..columns import _POISSON_MAX, _poisson1_cdf

_P1 = np.uint64(0x9E3779B185EBCA87)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_P3 = np.uint64(0x165667B19E3779F9)
_P4 = np.uint64(0x85EBCA77C2B2AE63)
_P5 = np.uint64(0x27D4EB2F165667C5)
_SPARK_SEED = 42


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


def _round(acc: np.ndarray, lane: np.ndarray) -> np.ndarray:
    return _rotl(acc + lane * _P2, 31) * _P1


def _fmix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _P2
    h = h ^ (h >> np.uint64(29))
    h = h * _P3
    return h ^ (h >> np.uint64(32))


def xxh64(data: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """XXH64 of each row of ``data`` (uint8, shape (n, length): rows of one byte length) with
    its own ``seed`` (uint64, shape (n,)). Vectorized over rows."""
    data = np.ascontiguousarray(data, dtype=np.uint8)
    n, length = data.shape
    seed = np.asarray(seed, dtype=np.uint64)
    with np.errstate(over="ignore"):
        off = 0
        if length >= 32:
            v1, v2, v3, v4 = seed + _P1 + _P2, seed + _P2, seed.copy(), seed - _P1
            while off + 32 <= length:
                lanes = data[:, off : off + 32].copy().view("<u8").astype(np.uint64)
                v1 = _round(v1, lanes[:, 0])
                v2 = _round(v2, lanes[:, 1])
                v3 = _round(v3, lanes[:, 2])
                v4 = _round(v4, lanes[:, 3])
                off += 32
            h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
            for v in (v1, v2, v3, v4):
                h = (h ^ _round(np.zeros_like(v), v)) * _P1 + _P4
        else:
            h = seed + _P5
        h = h + np.uint64(length)
        while off + 8 <= length:
            k = data[:, off : off + 8].copy().view("<u8").astype(np.uint64)[:, 0]
            h = _rotl(h ^ _round(np.zeros_like(k), k), 27) * _P1 + _P4
            off += 8
        if off + 4 <= length:
            k = data[:, off : off + 4].copy().view("<u4").astype(np.uint64)[:, 0]
            h = _rotl(h ^ (k * _P1), 23) * _P2 + _P3
            off += 4
        while off < length:
            h = _rotl(h ^ (data[:, off].astype(np.uint64) * _P5), 11) * _P1
            off += 1
        return _fmix(h)


def _hash_strings(units: Sequence[str], seed: np.uint64) -> np.ndarray:
    """XXH64 of each string's UTF-8 bytes with the same ``seed``; strings grouped by length."""
    raw = [u.encode("utf-8") for u in units]
    out = np.zeros(len(raw), dtype=np.uint64)
    lengths = np.array([len(b) for b in raw], dtype=int)
    for length in np.unique(lengths):
        idx = np.flatnonzero(lengths == length)
        buf = np.frombuffer(b"".join(raw[i] for i in idx), dtype=np.uint8).reshape(
            len(idx), int(length)
        )
        out[idx] = xxh64(buf, np.full(len(idx), seed, dtype=np.uint64))
    return out


def _int_bytes(values: np.ndarray, dtype: str) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(values).astype(dtype))
    return v.view(np.uint8).reshape(len(v), -1)


def poisson_weights(seed: int, units: Sequence[str | None], reps: Sequence[int]) -> np.ndarray:
    """(len(units), len(reps)) int array: ``poisson_weight(seed, unit, rep)`` for each pair,
    equal to the engine's column (``seed`` a 32-bit int literal, ``unit`` a string, ``rep`` a
    long). A None unit is a null column value: the engine's hash skips it."""
    if not -(2**31) <= int(seed) < 2**31:
        raise ValueError(f"poisson_weights: seed {seed} is not a 32-bit int (the engine's lit)")
    reps = np.asarray(reps, dtype=np.int64)
    with np.errstate(over="ignore"):
        h0 = xxh64(_int_bytes([int(seed)], "<i4"), np.array([_SPARK_SEED], dtype=np.uint64))[0]
        # a null argument leaves the running hash as it is
        known = [i for i, u in enumerate(units) if u is not None]
        hu = np.full(len(units), h0, dtype=np.uint64)
        if known:
            hu[known] = _hash_strings([units[i] for i in known], h0)
        nu, nr = len(hu), len(reps)
        # XXH64 of the replicate's 8 bytes seeded by the unit's hash (``xxh64`` with length 8,
        # unrolled): the lane depends on the replicate only, so it is computed once per
        # replicate and the (units, replicates) work is a few operations on one array
        lane = _round(np.zeros(nr, dtype=np.uint64), reps.view(np.uint64))
        h = (hu[:, None] + _P5 + np.uint64(8)) ^ lane[None, :]
        h = _fmix(_rotl(h, 27) * _P1 + _P4)
    # pmod(h, 2^52) of the signed hash is its low 52 bits
    u = (h & np.uint64((1 << 52) - 1)).astype(np.float64) / float(1 << 52)
    cdf = np.array(_poisson1_cdf())
    k = np.searchsorted(cdf, u, side="right")  # the first k with u < cdf[k]
    return np.where(k < len(cdf), k, _POISSON_MAX).reshape(nu, nr)
