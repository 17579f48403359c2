"""Interaction rows (integer codes) -> the Arrow table of contract and extra fields."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import U64, cat, hex_digits, int_col, mix, num_text, rfc3339, take_str, with_nulls
from .vocab import (
    A_,
    ACCEPTED,
    ACTIONS,
    C_,
    COMP_MEDIAN,
    COPIED,
    D_,
    DISCARDED,
    DISPOSITIONS,
    EDITED,
    G_ITER,
    G_SINGLE,
    I_,
    IGNORED,
    INSERTED,
    NOT_REPORTED,
    O_GEN_UNUSED,
    O_ITER_MID,
    O_READ,
    O_TH_UNUSED,
    O_USED,
    REGION_OF_TZ,
    TOOLS,
    UNKNOWN,
)
from .world import World

_MODELS = (
    ("gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"),
    ("codex-1", "claude-sonnet-4", "gpt-4.1-mini"),
    ("gpt-4.1-mini", "claude-haiku-4"),
    ("claude-sonnet-4", "gpt-4.1", "o4-mini"),
)
_VERSIONS = (
    ("5.2.0", "5.3.1", "5.4.0"),
    ("1.98.2", "1.99.0", "1.100.3"),
    ("2026.6", "2026.7"),
    ("0.9.4", "0.10.0", "0.10.2"),
)
_SDKS = ("web", "desktop", "vscode", "jetbrains", "python", "node")
_ORG_ID_NULL = np.array([0.12, 0.08, 0.15, 0.35])  # share of rows without org_id, per tool


def interaction_table(world: World, rng, rows: dict) -> tuple[pa.Table, dict]:
    """Final interaction rows as an Arrow table (all contract + extra fields).

    The helpers draw from ``rng`` in a fixed order (the order of the columns below): a world
    is reproduced from its seed only while that order holds."""
    R = len(rows["ts"])
    user, tool, ts, action, out = (rows[k] for k in ("user", "tool", "ts", "action", "out"))
    day = ts // 86400
    org = world.org_at(user, day)
    # event ids, sequential in time per tool
    seq = np.zeros(R, np.int64)
    for t in range(4):
        sel = tool == t
        seq[sel] = np.arange(sel.sum())
    event_ts = _event_ts(world, rng, user, tool, ts)
    disp, dwell, r = _dispositions(rng, tool, out, rows["gk"])
    # prompt fingerprint: a few old assistant clients do not send it (genuine singles only)
    fp_null = (tool == A_) & (rows["gk"] == G_SINGLE) & (rng.random(R) < 0.03)
    art, auth, mod = _artifacts(world, tool, ts, rows)
    sess = _sessions(rng, rows["sess"], user, day, tool)
    # org_id on the row (null for some; else the directory org at the UTC date)
    org_null = rng.random(R) < _ORG_ID_NULL[tool]
    comp = np.maximum(1, np.exp(np.log(COMP_MEDIAN[action]) + 0.6 * rng.standard_normal(R))).astype(
        np.int64
    )
    comp_null = (tool == C_) & (rng.random(R) < 0.2)
    model = _models(rng, tool, r)
    table = pa.table(
        {
            "event_id": event_ids(tool, seq),
            "event_ts": event_ts,
            "user_id": world.ident_arr.take(pa.array(user)),
            "org_id": take_str(tuple(world.org_ids), org, org_null),
            "tool": take_str(TOOLS, tool),
            "action": take_str(ACTIONS, action),
            "session_id": sess,
            "prompt_fingerprint": with_nulls(hex_digits(rows["fp"]), fp_null),
            "prompt_tokens": int_col(rows["tokens"]),
            "completion_tokens": int_col(comp, comp_null),
            "model": model,
            "output_disposition": take_str(DISPOSITIONS, disp, disp == NOT_REPORTED),
            "dwell_ms": int_col(dwell, dwell < 0),
            "artifact_id": art,
            "artifact_author_id": auth,
            "artifact_modified_ts": mod,
            "work_item_id": pa.nulls(R, pa.string()),
            **_extras(world, rng, user, tool),
        }
    )
    return table, dict(org=org, seq=seq, day=day)


def _event_ts(world: World, rng, user, tool, ts) -> pa.Array:
    """RFC 3339 timestamps: the assistant in UTC, some CLI rows too, the docs tool never;
    milliseconds from the assistant and the IDE."""
    R = len(ts)
    tzc = world.tz[user].copy()
    tzc[tool == A_] = 0
    cz = (tool == C_) & (rng.random(R) < 0.3)
    tzc[cz] = 0
    tzc[(tool == D_) & (tzc == 0)] = 1
    ms = np.where(np.isin(tool, (A_, I_)), rng.integers(0, 1000, R), -1)
    return rfc3339(ts, tzc, ms)


def _dispositions(rng, tool, out, gk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output disposition code, dwell ms or -1, the uniform draw ``r`` the models reuse) of
    each row from its true outcome ``out``, as each tool reports it."""
    R = len(tool)
    disp = np.full(R, NOT_REPORTED, np.int64)
    dwell = np.full(R, -1, np.int64)
    r = rng.random(R)
    used_by_tool = np.array(
        [
            [COPIED, ACCEPTED, EDITED, INSERTED],  # assistant
            [ACCEPTED, INSERTED, INSERTED, ACCEPTED],  # ide
            [INSERTED, EDITED, ACCEPTED, EDITED],  # docs
            [NOT_REPORTED] * 4,
        ]
    )  # cli
    sel = out == O_USED
    disp[sel] = used_by_tool[tool[sel], (r[sel] * 4).astype(np.int64)]
    dwell[sel] = np.where(
        tool[sel] == I_, rng.integers(600, 20000, sel.sum()), rng.integers(3000, 120000, sel.sum())
    )
    a_null = sel & (tool == A_) & (r < 0.1)
    dwell[a_null] = -1
    sel = out == O_READ
    disp[sel] = np.where(r[sel] < 0.6, NOT_REPORTED, UNKNOWN)
    dwell[sel] = rng.integers(5000, 180000, sel.sum())
    sel = out == O_GEN_UNUSED
    disp[sel] = np.where(r[sel] < 0.6, DISCARDED, IGNORED)
    dwell[sel] = rng.integers(1000, 60000, sel.sum())
    sel = out == O_TH_UNUSED
    hard = r < 0.7
    s1 = sel & hard
    disp[s1] = np.where(rng.random(s1.sum()) < 0.6, DISCARDED, IGNORED)
    dwell[s1] = np.where(rng.random(s1.sum()) < 0.3, -1, rng.integers(300, 4900, s1.sum()))
    s2 = sel & ~hard
    disp[s2] = np.where(rng.random(s2.sum()) < 0.5, NOT_REPORTED, UNKNOWN)
    dwell[s2] = rng.integers(200, 4900, s2.sum())
    sel = out == O_ITER_MID
    disp[sel] = NOT_REPORTED
    dwell[sel] = rng.integers(10000, 120001, sel.sum())
    last_iter = (gk == G_ITER) & (out == O_USED)
    disp[last_iter] = ACCEPTED
    disp[tool == C_] = NOT_REPORTED
    dwell[tool == C_] = -1
    return disp, dwell, r


def _artifacts(world: World, tool, ts, rows: dict) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(artifact id, its author's raw id, its modification time), null where a row has none:
    documents for the assistant and docs tools, code files for the others."""
    key, author, age = rows["art_key"], rows["art_author"], rows["art_age"]
    doc_ns = (tool == A_) | (tool == D_)
    has_art = key >= 0
    kk = np.maximum(key, 0)
    hx = hex_digits(mix(kk.astype(np.uint64) ^ U64(0xD0C)), 12)
    art_doc = cat("doc-", hx)
    art_code = pc.if_else(
        pa.array(kk >= (1 << 40)),
        cat("gh:acme/scratch/", hx, ".py"),
        cat(
            "gh:acme/svc-",
            num_text(kk // 65536 % 1000, 3),
            "/src/mod_",
            num_text(kk % 65536, 4),
            ".py",
        ),
    )
    art = pc.if_else(pa.array(doc_ns), art_doc, art_code)
    art = with_nulls(art, ~has_art)
    auth = world.ident_arr.take(pa.array(np.maximum(author, 0)))
    auth = with_nulls(auth, author < 0)
    mod = rfc3339(ts - np.maximum(age, 0), np.zeros(len(ts), np.int64))
    mod = with_nulls(mod, age < 0)
    return art, auth, mod


def _sessions(rng, sess_codes, user, day, tool) -> pa.Array:
    """Session ids: the episode's session, else one per user, day and tool; null for the docs
    tool and a few others."""
    sess_key = np.where(
        sess_codes != 0,
        sess_codes,
        mix(
            user.astype(np.uint64) * U64(1 << 20)
            + day.astype(np.uint64) * U64(8)
            + tool.astype(np.uint64)
        ),
    )
    sess = cat("s-", hex_digits(sess_key, 12))
    return with_nulls(sess, (tool == D_) | (rng.random(len(tool)) < 0.04))


def _models(rng, tool, r) -> pa.Array:
    """A model name of the tool's own list (from the draw ``r``); a few CLI rows without."""
    model_code = (r * 97).astype(np.int64)
    model_names = [m for ms_ in _MODELS for m in ms_]
    model_off = np.cumsum([0] + [len(m) for m in _MODELS])[:-1]
    model_idx = model_off[tool] + model_code % np.array([len(m) for m in _MODELS])[tool]
    return take_str(tuple(model_names), model_idx, (tool == C_) & (rng.random(len(tool)) < 0.05))


def _extras(world: World, rng, user, tool) -> dict[str, pa.Array]:
    """The fields beyond the contract: client version, region, a nested ``meta`` struct."""
    hv = mix(user.astype(np.uint64) * U64(7) + tool.astype(np.uint64))
    ver_names = [v for vs in _VERSIONS for v in vs]
    ver_off = np.cumsum([0] + [len(v) for v in _VERSIONS])[:-1]
    ver_idx = (
        ver_off[tool] + (hv % U64(3)).astype(np.int64) % np.array([len(v) for v in _VERSIONS])[tool]
    )
    sdk = take_str(_SDKS, (hv >> U64(8)).astype(np.int64) % len(_SDKS))
    retries = pa.array(rng.choice([0, 0, 0, 0, 0, 0, 1, 2], len(tool)), type=pa.int64())
    return {
        "client_version": take_str(tuple(ver_names), ver_idx),
        "region": take_str(REGION_OF_TZ, world.tz[user]),
        "meta": pa.StructArray.from_arrays([sdk, retries], names=["sdk", "retries"]),
    }


def event_ids(tool: np.ndarray, seq: np.ndarray) -> pa.Array:
    a = cat("a-", num_text(seq, 10))
    i = hex_digits(mix(seq.astype(np.uint64) ^ U64(0x1DE0000000000000)))
    d = cat("DOCEVT-", num_text(seq, 9))
    c = cat("cli:", num_text(seq + 1))
    out = pc.if_else(
        pa.array(tool == A_),
        a,
        pc.if_else(pa.array(tool == I_), i, pc.if_else(pa.array(tool == D_), d, c)),
    )
    return out
