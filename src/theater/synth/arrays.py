"""Vectorised helpers: uint64 mixing, Arrow string building, RFC 3339 text, draws."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .vocab import GENUINE_MIN_TOKENS, TOK_MEDIAN, TOK_SIGMA, TZ, TZ_OFF

U64 = np.uint64
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# ----------------------------------------------------------------------------- small helpers


def mix(x) -> np.ndarray:
    """splitmix64 finalizer: a bijection on uint64 (unique in, unique out)."""
    x = np.asarray(x).astype(np.uint64, copy=True)
    x ^= x >> U64(30)
    x *= U64(0xBF58476D1CE4E5B9)
    x ^= x >> U64(27)
    x *= U64(0x94D049BB133111EB)
    x ^= x >> U64(31)
    return x


def hex_digits(x: np.ndarray, digits: int = 16) -> pa.Array:
    """uint64 -> lowercase hex strings (the last ``digits`` digits)."""
    b = np.ascontiguousarray(np.asarray(x, dtype=np.uint64).astype(">u8")).view(np.uint8)
    b = b.reshape(-1, 8)
    out = np.empty((len(x), 16), np.uint8)
    out[:, 0::2] = _HEX[b >> 4]
    out[:, 1::2] = _HEX[b & 15]
    out = np.ascontiguousarray(out[:, 16 - digits :])
    return pa.array(out.view(f"S{digits}").ravel()).cast(pa.string())


def cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def num_text(x: np.ndarray, width: int = 0) -> pa.Array:
    s = pa.array(np.asarray(x, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(s, width=width, padding="0") if width else s


def with_nulls(arr: pa.Array, null: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(~null), arr, pa.scalar(None, arr.type))


def take_str(values: tuple, codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(list(values), type=pa.string()).take(pa.array(np.asarray(codes, np.int64)))
    return with_nulls(arr, null) if null is not None else arr


def int_col(x: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(x, np.int64), mask=null, type=pa.int64())


def rfc3339(secs: np.ndarray, tz: np.ndarray, ms: np.ndarray | None = None) -> pa.Array:
    """UTC epoch seconds -> RFC 3339 text in the offset ``TZ[tz]`` (same instant)."""
    local = np.asarray(secs, np.int64) + TZ_OFF[tz] * 60
    base = pa.array(np.datetime_as_string(local.astype("datetime64[s]"), unit="s"))
    suffix = take_str(tuple(s for s, _ in TZ), tz)
    if ms is None:
        return cat(base, suffix)
    frac = cat(".", num_text(ms, 3))
    frac = with_nulls(frac, np.asarray(ms) < 0)
    return pc.binary_join_element_wise(
        base, frac, suffix, "", null_handling="replace", null_replacement=""
    )


def pick(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw from cumulative probabilities ``cum`` (n x k, last col ~1)."""
    r = rng.random(len(cum))
    return np.minimum((r[:, None] > cum).sum(1), cum.shape[1] - 1)


def lognormal_tokens(rng, action: np.ndarray) -> np.ndarray:
    med, sig = TOK_MEDIAN[action], TOK_SIGMA[action]
    return (
        GENUINE_MIN_TOKENS
        + np.exp(np.log(med - GENUINE_MIN_TOKENS) + sig * rng.standard_normal(len(action)))
    ).astype(np.int64)
