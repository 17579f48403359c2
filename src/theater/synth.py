"""Synthetic landing zone with planted AI-adoption theater, and its ground truth.

``generate(out, ...)`` writes ``out/landing/`` (interactions, directory, work_items, policies in
the five landing formats, obeying ``shared/contract``) and ``out/truth/`` (``interactions.csv``,
``orgs.csv``, ``dirty.csv``, ``summary.json``). Pure numpy + pyarrow, vectorised over rows:
per-org / per-file loops only. Same seed and parameters -> byte-identical files.

How the data is made
--------------------
Users belong to orgs (type-2 directory; ~3% move org on a Monday inside the period). Each user
has a weekly rate of *episodes*; an episode is one interaction or a short chain of them. An
episode is theater with a per-user propensity (org intensity x user factor, lower before an
org's mandate date), and then gets a mechanism from the org's own mix:

==================  =========================================================================
discard             normal prompt, output unused (discarded/ignored, or dwell < 5 s and no use)
self_summary        summarize, author == user, artifact unchanged 8-60 days, output unused
repeat              a discard followed by 1-3 re-sends within 6 days: same artifact (or both
                    none), fingerprint within 0-3 bits of the original, output unused
fragment            5-8 prompts of 2-8 tokens on one artifact, 1-5 min apart, inside 30 min
padding             prompt tokens 4-10x the action's median (above its 90th pct), output unused
checkpoint_burst    extra usage in the 3 working days before a checkpoint (org or ``*``)
quota_filler        users short of their org's weekly quota top the ISO week up to Q or Q+1
==================  =========================================================================

Fillers and bursts are 75% detectably unused, 25% with neither disposition nor dwell.
Genuine episodes: single requests (about 87% used, 10% read without a disposition for >= 5 s,
2.5% honest failures), and hard negatives: heavy users, shared prompt templates (one
fingerprint, many users, fresh artifacts, used), iterative chats (3-6 turns on one artifact,
fingerprints far apart, middle turns read, last accepted), long documents summarized (used;
own documents only when changed within 7 days), and users with exactly 10 or 20 interactions
a week in orgs without a quota.
"""
from __future__ import annotations

import datetime
import gzip
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TOOLS = ("assistant", "ide", "docs", "cli")
ACTIONS = ("chat", "summarize", "rewrite", "generate", "complete", "code_edit", "agent", "review",
           "search", "other")
MECHANISMS = ("none", "discard", "self_summary", "repeat", "fragment", "padding", "quota_filler",
              "checkpoint_burst")
DISPOSITIONS = (None, "accepted", "inserted", "copied", "edited", "discarded", "ignored", "unknown")
USED = ("accepted", "inserted", "copied", "edited")
FORMATS = ("parquet", "jsonl", "jsonl.gz", "json", "csv")
BAD_KINDS = ("malformed_line", "missing_required", "bad_enum", "negative_number", "bad_timestamp")

A_, I_, D_, C_ = range(4)  # tool codes
(CHAT, SUMMARIZE, REWRITE, GENERATE, COMPLETE, CODE_EDIT, AGENT, REVIEW, SEARCH,
 OTHER) = range(10)
NONE, DISCARD, SELF_SUMMARY, REPEAT, FRAGMENT, PADDING, QUOTA_FILLER, CHECKPOINT_BURST = range(8)
# genuine episode kinds
G_SINGLE, G_ITER, G_TEMPLATE, G_LONGSUM, G_HEAP, G_THEATER = range(6)
# outcome classes -> disposition / dwell
O_USED, O_READ, O_GEN_UNUSED, O_TH_UNUSED, O_TH_NULL, O_ITER_MID = range(6)

# action mix per tool (rows: TOOLS, cols: ACTIONS)
_TOOL_ACTIONS = np.array([
    [.45, .14, .12, .12, 0, 0, 0, 0, .13, .04],      # assistant
    [.12, 0, 0, 0, .45, .25, .08, .10, 0, 0],        # ide
    [.10, .35, .25, .20, 0, 0, 0, .10, 0, 0],        # docs
    [0, 0, 0, .20, 0, .20, .35, 0, .15, .10],        # cli
])
# prompt tokens: 24 + lognormal(median - 24, sigma) -> 10th percentile > 30 for every action
_TOK_MEDIAN = np.array([80, 600, 150, 120, 45, 200, 400, 500, 50, 60], dtype=float)
_TOK_SIGMA = np.array([.6, .7, .6, .7, .5, .7, .7, .7, .5, .6])
_COMP_MEDIAN = np.array([300, 250, 200, 450, 30, 250, 1200, 350, 150, 120], dtype=float)
_GENUINE_MIN_TOKENS = 24

# (suffix, offset minutes)
_TZ = (("Z", 0), ("+00:00", 0), ("+01:00", 60), ("+02:00", 120), ("+05:30", 330),
       ("+05:45", 345), ("+09:00", 540), ("+10:00", 600), ("-03:00", -180), ("-04:00", -240),
       ("-05:00", -300), ("-07:00", -420))
_TZ_OFF = np.array([m for _, m in _TZ], dtype=np.int64)
_REGION_OF_TZ = ("eu-west-1", "eu-west-1", "eu-west-1", "eu-central-1", "ap-south-1",
                 "ap-south-1", "ap-northeast-1", "ap-southeast-2", "sa-east-1", "us-east-1",
                 "us-east-1", "us-west-2")
_HOME_TZ = ((2, 3, 3, 1), (9, 10, 9, 11), (4, 4, 5, 6), (3, 9, 7, 8))  # per org "home region"

_MODELS = (("gpt-4.1", "claude-sonnet-4", "gemini-2.5-pro"),
           ("codex-1", "claude-sonnet-4", "gpt-4.1-mini"),
           ("gpt-4.1-mini", "claude-haiku-4"),
           ("claude-sonnet-4", "gpt-4.1", "o4-mini"))
_VERSIONS = (("5.2.0", "5.3.1", "5.4.0"), ("1.98.2", "1.99.0", "1.100.3"), ("2026.6", "2026.7"),
             ("0.9.4", "0.10.0", "0.10.2"))
_SDKS = ("web", "desktop", "vscode", "jetbrains", "python", "node")
# columns a tool never sends (absent from its files)
_ABSENT = {"assistant": (), "ide": ("artifact_author_id",), "docs": ("session_id",),
           "cli": ("output_disposition", "dwell_ms", "artifact_author_id", "artifact_modified_ts")}
_ORG_ID_NULL = np.array([.12, .08, .15, .35])  # share of rows without org_id, per tool

_FIRST = ("ana", "ben", "chen", "dana", "eli", "fatima", "george", "hana", "ivan", "julia", "kofi",
          "lena", "marco", "nina", "omar", "priya", "quinn", "rosa", "sam", "tara", "umar",
          "vera", "wei", "xena", "yusuf", "zoe")
_LAST = ("silva", "berg", "wang", "kowalski", "haddad", "okafor", "novak", "tanaka", "garcia",
         "müller", "rossi", "smith", "singh", "ivanova", "dubois", "kim", "larsen", "mensah")
_DEPTS = ("Platform Engineering", "Payments", "Mobile Apps", "Data Science", "Customer Support",
          "Sales EMEA", "Sales Americas", "Marketing", "Finance", "Legal", "People Operations",
          "Security", "Infrastructure", "Search", "Growth", "Design", "Procurement",
          "Risk & Compliance", "Developer Experience", "Claims Processing", "Underwriting",
          "Research", "Partnerships", "Internal Tools")
_ENG_DEPTS = {"Platform Engineering", "Payments", "Mobile Apps", "Data Science", "Security",
              "Infrastructure", "Search", "Developer Experience", "Internal Tools", "Research"}
_DIVISIONS = ("div-engineering", "div-go-to-market", "div-corporate")
_ROLES_ENG = ("engineer", "senior engineer", "staff engineer", "engineering manager", "data scientist")
_ROLES_BIZ = ("analyst", "specialist", "manager", "associate", "account executive")

_U64 = np.uint64
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


# ----------------------------------------------------------------------------- small helpers

def _mix(x) -> np.ndarray:
    """splitmix64 finalizer: a bijection on uint64 (unique in, unique out)."""
    x = np.asarray(x).astype(np.uint64, copy=True)
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


def _hex(x: np.ndarray, digits: int = 16) -> pa.Array:
    """uint64 -> lowercase hex strings (the last ``digits`` digits)."""
    b = np.ascontiguousarray(np.asarray(x, dtype=np.uint64).astype(">u8")).view(np.uint8)
    b = b.reshape(-1, 8)
    out = np.empty((len(x), 16), np.uint8)
    out[:, 0::2] = _HEX[b >> 4]
    out[:, 1::2] = _HEX[b & 15]
    out = np.ascontiguousarray(out[:, 16 - digits:])
    return pa.array(out.view(f"S{digits}").ravel()).cast(pa.string())


def _cat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _num(x: np.ndarray, width: int = 0) -> pa.Array:
    s = pa.array(np.asarray(x, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(s, width=width, padding="0") if width else s


def _with_nulls(arr: pa.Array, null: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(~null), arr, pa.scalar(None, arr.type))


def _take_str(values: tuple, codes: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(list(values), type=pa.string()).take(pa.array(np.asarray(codes, np.int64)))
    return _with_nulls(arr, null) if null is not None else arr


def _int_col(x: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(x, np.int64), mask=null, type=pa.int64())


def _rfc3339(secs: np.ndarray, tz: np.ndarray, ms: np.ndarray | None = None) -> pa.Array:
    """UTC epoch seconds -> RFC 3339 text in the offset ``_TZ[tz]`` (same instant)."""
    local = np.asarray(secs, np.int64) + _TZ_OFF[tz] * 60
    base = pa.array(np.datetime_as_string(local.astype("datetime64[s]"), unit="s"))
    suffix = _take_str(tuple(s for s, _ in _TZ), tz)
    if ms is None:
        return _cat(base, suffix)
    frac = _cat(".", _num(ms, 3))
    frac = _with_nulls(frac, np.asarray(ms) < 0)
    return pc.binary_join_element_wise(base, frac, suffix, "", null_handling="replace",
                                       null_replacement="")


def _pick(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw from cumulative probabilities ``cum`` (n x k, last col ~1)."""
    r = rng.random(len(cum))
    return np.minimum((r[:, None] > cum).sum(1), cum.shape[1] - 1)


def _lognormal_tokens(rng, action: np.ndarray) -> np.ndarray:
    med, sig = _TOK_MEDIAN[action], _TOK_SIGMA[action]
    return (_GENUINE_MIN_TOKENS + np.exp(np.log(med - _GENUINE_MIN_TOKENS)
                                         + sig * rng.standard_normal(len(action)))).astype(np.int64)


# ----------------------------------------------------------------------------- file writers

def _json_lines(table: pa.Table, explicit_null: bool) -> list[str]:
    """Each row as one JSON object (vectorised; values are plain ASCII-safe text)."""
    frags = []
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        frags.append(_json_value(col, f'"{name}":', explicit_null))
    if not frags:
        return ["{}"] * table.num_rows
    body = pc.binary_join_element_wise(*frags, ",", null_handling="skip")
    return _cat("{", body, "}").to_pylist()


def _json_value(col: pa.Array, key: str, explicit_null: bool) -> pa.Array:
    t = col.type
    if pa.types.is_string(t):
        v = _cat(key + '"', col, '"')
    elif pa.types.is_integer(t):
        v = _cat(key, col.cast(pa.string()))
    elif pa.types.is_boolean(t):
        v = _cat(key, pc.if_else(col, "true", "false"))
    elif pa.types.is_struct(t):
        inner = [_json_value(pc.struct_field(col, i), f'"{t.field(i).name}":', False)
                 for i in range(t.num_fields)]
        v = _cat(key + "{", pc.binary_join_element_wise(*inner, ",", null_handling="skip"), "}")
        v = _with_nulls(v, col.is_null().to_numpy(zero_copy_only=False))
    else:
        raise TypeError(f"no JSON writer for {t}")
    if explicit_null:
        v = pc.if_else(col.is_null(), key + "null", v)
    return v


def _write(table: pa.Table, path: Path, fmt: str, *, explicit_null: bool = False,
           malformed: list[tuple[int, str]] | None = None) -> None:
    """Write ``table`` as ``fmt``; ``malformed`` inserts raw broken lines (jsonl only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd", row_group_size=1 << 20,
                       write_statistics=True, store_schema=True)
        return
    if fmt == "csv":
        keep = [n for n in table.column_names if not pa.types.is_struct(table.schema.field(n).type)]
        with open(path, "wb") as fh:
            pacsv.write_csv(table.select(keep), fh, pacsv.WriteOptions(include_header=True))
        return
    lines = _json_lines(table, explicit_null)
    for pos, text in sorted(malformed or [], reverse=True):
        lines.insert(pos, text)
    if fmt == "json":
        data = ("[\n" + ",\n".join(lines) + "\n]\n").encode()
        path.write_bytes(data)
    elif fmt == "jsonl":
        path.write_bytes(("\n".join(lines) + "\n").encode())
    elif fmt == "jsonl.gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    compresslevel=6, mtime=0) as gz:
            gz.write(("\n".join(lines) + "\n").encode())
    else:
        raise ValueError(fmt)


# ----------------------------------------------------------------------------- the world

class _World:
    """Orgs, users, calendar and policies: everything but the interactions."""

    def __init__(self, rng, n_orgs, n_users, start, end, rate_scale):
        if n_orgs < 2:
            raise ValueError("n_orgs must be >= 2")
        if n_users < 8 * n_orgs:
            raise ValueError(f"n_users must be >= 8 * n_orgs ({8 * n_orgs}), got {n_users}")
        if (end - start).days < 7:
            raise ValueError("period must be at least 7 days")
        self.rng = rng
        self.start, self.end = start, end
        epoch = date(1970, 1, 1)
        self.sd, self.ed = (start - epoch).days, (end - epoch).days
        self.t0, self.t1 = self.sd * 86400, self.ed * 86400
        first_monday = self.sd - (self.sd + 3) % 7
        self.n_weeks = -(-(self.ed - first_monday) // 7)
        self.week_start = first_monday + 7 * np.arange(self.n_weeks)
        d = self.week_start[:, None] + np.arange(7)[None, :]
        self.week_mask = (d >= self.sd) & (d < self.ed)
        self.full_week = self.week_mask.all(1)
        self._orgs(n_orgs, n_users)
        self._users(n_users, rate_scale)
        self._policies()

    # -- orgs
    def _orgs(self, n_orgs, n_users):
        rng = self.rng
        n_small = max(1, round(n_orgs / 8))
        small = rng.integers(6, 13, n_small)
        small[0] = rng.integers(6, 10)          # below k = 10 for sure
        dom = int(rng.integers(10, 13))
        n_rest = n_orgs - n_small - 1
        if n_rest < 1:
            raise ValueError("n_orgs too small for the org mix")
        left = n_users - small.sum() - dom
        floor = min(14, left // n_rest)
        w = np.exp(rng.normal(0, .6, n_rest))
        rest = floor + np.floor(w / w.sum() * (left - floor * n_rest)).astype(int)
        rest[np.argmax(w)] += left - rest.sum()
        sizes = np.concatenate([small, [dom], rest])
        role = np.array(["small"] * n_small + ["dominated"] + ["regular"] * n_rest)
        perm = rng.permutation(n_orgs)
        self.org_size, self.org_role = sizes[perm], role[perm]
        self.n_orgs = n_orgs
        self.org_ids = [f"org-{i + 1:03d}" for i in range(n_orgs)]
        names, eng = [], []
        for i in range(n_orgs):
            dept = _DEPTS[i % len(_DEPTS)]
            names.append(dept if i < len(_DEPTS) else f"{dept} {i // len(_DEPTS) + 1}")
            eng.append(dept in _ENG_DEPTS)
        self.org_names, self.org_eng = names, np.array(eng)
        self.org_parent = [_DIVISIONS[0] if e else _DIVISIONS[1 + i % 2] for i, e in enumerate(eng)]
        self.org_home = rng.integers(0, len(_HOME_TZ), n_orgs)
        tw = np.where(self.org_eng[:, None], [[.30, .40, .10, .20]], [[.55, .02, .40, .03]])
        self.org_tools = tw
        # theater intensity: a few near zero, the rest spread geometrically 0.02 .. 0.45
        n_zero = 2 if n_orgs >= 8 else 1
        spread = np.geomspace(.02, .55, n_orgs - n_zero)
        target = np.concatenate([rng.uniform(.002, .008, n_zero), spread])
        order = rng.permutation(n_orgs)
        self.org_target = target[order]
        self.org_quiet = np.zeros(n_orgs, bool)
        self.org_quiet[order < n_zero] = True
        # mechanism mix over discard, self_summary, repeat, fragment, padding
        mix = rng.dirichlet(np.full(5, .8), n_orgs) * np.array([1, 1, .6, .15, .8])
        self.org_mix = mix / mix.sum(1, keepdims=True)
        rows_per_ep = np.array([1, 1, 3, 6.5, 1])
        l_th = self.org_mix @ rows_per_ep
        l_g = 1.3
        t = self.org_target
        self.org_p = t * l_g / (l_th * (1 - t) + t * l_g)

    # -- users
    def _users(self, n_users, rate_scale):
        rng = self.rng
        U = n_users
        org = np.repeat(np.arange(self.n_orgs), self.org_size)
        org = org[rng.permutation(U)]
        self.n_users = U
        self.org1 = org.copy()
        home = self.org_home[org]
        tzc = np.array(_HOME_TZ)[home, rng.integers(0, 4, U)]
        other = rng.random(U) < .15
        tzc[other] = rng.integers(1, len(_TZ), other.sum())
        self.tz = tzc
        is_mail = rng.random(U) < .35
        first = rng.integers(0, len(_FIRST), U)
        last = rng.integers(0, len(_LAST), U)
        ident = []
        for u in range(U):
            if is_mail[u]:
                ident.append(f"{_FIRST[first[u]]}.{_LAST[last[u]].replace('ü', 'ue')}"
                             f".{u + 1:05d}@acme-corp.example")
            else:
                ident.append(f"u{u + 1:06d}")
        self.ident = np.array(ident, dtype=object)
        self.ident_arr = pa.array(ident, type=pa.string())
        # activity
        rate = np.exp(rng.normal(np.log(12), .45, U)) * rate_scale
        heavy = rng.random(U) < .05
        rate[heavy] *= rng.uniform(3, 5, heavy.sum())
        self.heavy = heavy
        role = self.org_role[org]
        # the dominated org: one user does most of the work
        self.dominant = -1
        dom_org = np.flatnonzero(self.org_role == "dominated")
        if len(dom_org):
            members = np.flatnonzero(org == dom_org[0])
            rate[members] = np.minimum(rate[members], 14 * rate_scale)
            heavy[members] = False
            self.dominant = int(members[0])
            rate[self.dominant] = 2.4 * rate[members[1:]].sum()
            heavy[self.dominant] = True
        # movers: ~3%, among regular orgs, on a Monday after the first week
        mondays = self.week_start[(self.week_start > self.sd) & (self.week_start < self.ed - 6)]
        regular = np.flatnonzero(self.org_role == "regular")
        cand = np.flatnonzero((role == "regular") & ~heavy)
        n_move = int(round(.03 * U)) if len(mondays) and len(regular) > 1 else 0
        movers = rng.choice(cand, min(n_move, len(cand)), replace=False) if n_move else np.array([], int)
        self.mover = np.zeros(U, bool)
        self.mover[movers] = True
        self.move_day = np.full(U, np.iinfo(np.int64).max // 4, np.int64)
        self.org2 = org.copy()
        if len(movers):
            self.move_day[movers] = rng.choice(mondays, len(movers))
            dest = regular[rng.integers(0, len(regular), len(movers))]
            same = dest == org[movers]
            dest[same] = regular[(np.searchsorted(regular, dest[same]) + 1) % len(regular)]
            self.org2[movers] = dest
        self.rate = rate
        # tools per user
        alpha = self.org_tools[org] * 12 + .05
        g = rng.gamma(alpha)
        self.tool_cum = np.cumsum(g / g.sum(1, keepdims=True), 1)
        # theater propensity
        gfac = rng.gamma(2.0, 1 / 2.0, U)
        p = np.minimum(.9, self.org_p[org] * gfac)
        p[heavy] = 0.0
        self.p = p
        self.heap = np.zeros(U, np.int64)  # filled once policies are known
        self.hire_day = self.sd - rng.integers(30, 2500, U)

    def org_at(self, user: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(self.mover[user] & (day >= self.move_day[user]), self.org2[user],
                        self.org1[user])

    # -- policies
    def _policies(self):
        rng, n = self.rng, self.n_orgs
        full_idx = np.flatnonzero(self.full_week)
        active = np.flatnonzero(~self.org_quiet)
        self.quota_rows: list[tuple[int, int, int | None, int]] = []  # org, start, end, Q
        self.quota_wk = np.zeros((n, self.n_weeks), np.int64)
        n_quota = max(1, round(.3 * n))
        q_orgs = np.sort(rng.choice(active, min(n_quota, len(active)), replace=False))
        for j, o in enumerate(q_orgs):
            q = int(rng.choice([10, 15, 20, 25], p=[.3, .35, .25, .1]))
            if j % 2 == 1 and len(full_idx) >= 3:        # starts mid-period: pre-quota weeks
                w = int(full_idx[rng.integers(1, max(2, len(full_idx) - 1))])
                s = int(self.week_start[w])
            else:
                s = int(self.week_start[0] - 7 * rng.integers(2, 10))
            if j == 2 and len(full_idx) >= 4:             # a raised quota: two rows
                w = int(full_idx[len(full_idx) // 2])
                mid = int(self.week_start[w])
                s = min(s, mid - 7)
                self.quota_rows.append((int(o), s, mid, 10))
                self.quota_rows.append((int(o), mid, None, 15))
            else:
                self.quota_rows.append((int(o), s, None, q))
        for o, s, e, q in self.quota_rows:
            on = (self.week_start >= s) & ((self.week_start < e) if e is not None else True)
            self.quota_wk[o, on] = q
        self.has_quota = np.zeros(n, bool)
        self.has_quota[[r[0] for r in self.quota_rows]] = True
        # checkpoints: company-wide (*) and org-specific; dates are weekdays inside the period
        span = self.ed - self.sd

        def weekday_on_or_after(day):
            return day + np.where((day + 3) % 7 >= 5, 7 - (day + 3) % 7, 0)

        n_star = 2 if span >= 60 else 1
        star = [int(weekday_on_or_after(self.sd + int(span * f)))
                for f in ((.45, .9) if n_star == 2 else (.6,))]
        self.star_ck = [d for d in star if self.sd + 5 <= d < self.ed]
        self.org_ck: list[list[int]] = [[] for _ in range(n)]
        n_ck = max(1, round(.25 * n))
        for o in np.sort(rng.choice(active, min(n_ck, len(active)), replace=False)):
            k = int(rng.integers(1, 3))
            days = sorted({int(weekday_on_or_after(self.sd + int(rng.integers(6, max(7, span - 1)))))
                           for _ in range(k)})
            self.org_ck[o] = [d for d in days if d < self.ed]
        self.has_org_ck = np.array([bool(c) for c in self.org_ck])
        self.burst_org = self.has_org_ck | (rng.random(n) < .4)
        self.burst_org &= ~self.org_quiet
        self.burst_share = rng.uniform(.3, .8, n)
        # mandates
        self.mandate_day = np.full(n, -(np.iinfo(np.int64).max // 4), np.int64)
        self.has_mandate = np.zeros(n, bool)
        n_m = max(1, round(.35 * n))
        for o in np.sort(rng.choice(active, min(n_m, len(active)), replace=False)):
            self.has_mandate[o] = True
            self.mandate_day[o] = (self.sd - int(rng.integers(10, 60)) if rng.random() < .4
                                   else self.sd + int(rng.integers(7, max(8, span // 2))))
        self.filler_rate = rng.uniform(.5, .95, n)
        # heaping: exact 10 or 20 a week, genuine, in orgs without any quota
        org = self.org1
        cand = (~self.has_quota[org] & ~self.heavy & ~self.mover & (self.org_role[org] == "regular"))
        pick = cand & (self.rng.random(self.n_users) < .06)
        self.heap[pick] = np.where(self.rng.random(pick.sum()) < .6, 10, 20)
        self.p[pick] = 0.0

    def checkpoints_of(self, o: int) -> list[int]:
        return sorted(set(self.star_ck) | set(self.org_ck[o]))


# ----------------------------------------------------------------------------- interactions

def _episodes(world: _World, rng) -> dict:
    """Base activity as episodes (one interaction or a chain)."""
    W, U = world.n_weeks, world.n_users
    dow_w = np.array([.19, .19, .19, .19, .19, .025, .025])
    avail = (world.week_mask * dow_w).sum(1) / dow_w.sum()
    lam = world.rate[:, None] * avail[None, :]
    counts = rng.poisson(lam)
    heap_users = np.flatnonzero(world.heap > 0)
    if len(heap_users):
        counts[np.ix_(heap_users, np.flatnonzero(world.full_week))] = world.heap[heap_users, None]
    uw = np.repeat(np.arange(U * W), counts.ravel())
    user, week = uw // W, uw % W
    E = len(user)
    cw = np.cumsum(world.week_mask * dow_w, 1)
    cw = cw / cw[:, -1:]
    dow = _pick(rng, cw[week])
    is_heap = world.heap[user] > 0
    hf = is_heap & world.full_week[week]
    dow[hf] = rng.integers(0, 5, hf.sum())
    day = world.week_start[week] + dow
    org = world.org_at(user, day)
    # theater or not
    p = world.p[user] * np.where(day < world.mandate_day[org], .35, 1.0)
    th = rng.random(E) < p
    mech = np.zeros(E, np.int64)
    mcum = np.cumsum(world.org_mix, 1)
    mech[th] = 1 + _pick(rng, mcum[org[th]])
    gk = np.full(E, G_THEATER)
    gen = ~th
    gk[gen] = np.array([G_SINGLE, G_ITER, G_TEMPLATE, G_LONGSUM])[
        _pick(rng, np.tile(np.cumsum([.895, .03, .06, .015]), (gen.sum(), 1)))]
    gk[is_heap] = G_HEAP
    tool = _pick(rng, world.tool_cum[user])
    r = rng.random(E)
    needs_unused = np.isin(mech, (DISCARD, SELF_SUMMARY, REPEAT, PADDING))
    tool[needs_unused & (tool == C_)] = A_
    tool[mech == SELF_SUMMARY] = np.where(r[mech == SELF_SUMMARY] < .7, D_, A_)
    tool[gk == G_LONGSUM] = np.where(r[gk == G_LONGSUM] < .7, D_, A_)
    tool[(gk == G_ITER) & (tool == C_)] = A_
    tool[(gk == G_ITER) & (tool == D_)] = A_
    action = _pick(rng, np.cumsum(_TOOL_ACTIONS, 1)[tool])
    action[(mech == SELF_SUMMARY) | (gk == G_LONGSUM)] = SUMMARIZE
    action[gk == G_ITER] = CHAT
    fm = (mech == FRAGMENT) & (action == SUMMARIZE)   # fragments keep the tool's action mix
    action[fm] = np.array([REWRITE, GENERATE, CHAT])[rng.integers(0, 3, fm.sum())]
    pad_bad = (mech == PADDING) & np.isin(action, (SEARCH, OTHER))
    action[pad_bad] = CHAT
    length = np.ones(E, np.int64)
    length[gk == G_ITER] = rng.integers(3, 7, (gk == G_ITER).sum())
    length[mech == REPEAT] = 1 + rng.integers(1, 4, (mech == REPEAT).sum())
    length[mech == FRAGMENT] = rng.integers(5, 9, (mech == FRAGMENT).sum())
    return dict(user=user, day=day, tool=tool, action=action, mech=mech, gk=gk, length=length)


def _start_seconds(world: _World, rng, user: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """Second of the UTC day: working hours in the user's zone, kept inside the UTC day."""
    h = np.clip(rng.normal(13.0, 2.6, len(user)), 7, 20.9)
    sec = ((h * 3600).astype(np.int64) - _TZ_OFF[world.tz[user]] * 60) % 86400
    return np.where(sec > 86399 - reserve, sec - reserve, sec)


def _expand(world: _World, rng, ep: dict) -> dict:
    """Episodes -> rows, with times, artifacts, fingerprints, outcomes."""
    E = len(ep["user"])
    length = ep["length"]
    multi = (ep["gk"] == G_ITER) | (ep["mech"] == FRAGMENT)
    sec = _start_seconds(world, rng, ep["user"], np.where(multi, 1800, 0))
    ep_ts = ep["day"] * 86400 + sec
    # -- episode-level artifact
    tool, user, day, mech, gk, action = (ep[k] for k in ("tool", "user", "day", "mech", "gk",
                                                          "action"))
    org = world.org_at(user, day)
    has_art = np.select([tool == D_, tool == I_, tool == A_], [True, True, rng.random(E) < .35],
                        rng.random(E) < .5)
    has_art |= np.isin(mech, (SELF_SUMMARY, FRAGMENT)) | np.isin(gk, (G_TEMPLATE, G_LONGSUM))
    doc_ns = (tool == A_) | (tool == D_)
    # authors: self (40%) or another member of the org (at that day, approx. by home org)
    members = np.argsort(world.org1, kind="stable")
    offs = np.concatenate([[0], np.cumsum(world.org_size)])
    other = members[offs[org] + (rng.random(E) * world.org_size[org]).astype(np.int64)]
    own = rng.random(E) < .4
    own |= mech == SELF_SUMMARY
    author = np.where(own, user, other)
    key = np.where(doc_ns, author.astype(np.int64) * 1024 + rng.integers(0, 24, E),
                   org.astype(np.int64) * 65536 + rng.integers(0, 400, E))
    # templates and fragment bursts work on an artifact nothing else touches
    fresh = (gk == G_TEMPLATE) | (mech == FRAGMENT)
    key[fresh] = (1 << 40) + np.flatnonzero(fresh)
    key[~has_art] = -1
    author = np.where(doc_ns & has_art, author, -1)
    own = author == user
    day_s = 86400.0
    age = np.where(tool == I_, rng.uniform(.01, 30, E), rng.uniform(.02, 90, E)) * day_s
    gen_sum_own = own & (action == SUMMARIZE) & (mech != SELF_SUMMARY)
    age[gen_sum_own] = rng.uniform(.1, 6.5, gen_sum_own.sum()) * day_s
    ss = mech == SELF_SUMMARY
    age[ss] = rng.uniform(8, 60, ss.sum()) * day_s
    age = age.astype(np.int64)
    age[~has_art | (tool == C_)] = -1
    # -- rows
    R = int(length.sum())
    row_ep = np.repeat(np.arange(E), length)
    first = np.concatenate([[0], np.cumsum(length)[:-1]])
    k = np.arange(R) - first[row_ep]
    m = mech[row_ep]
    g = gk[row_ep]
    gap = np.zeros(R, np.int64)
    nxt = k > 0
    n_ep = length[row_ep]
    it = nxt & (g == G_ITER)
    gap[it] = rng.integers(60, 241, it.sum())
    fr = nxt & (m == FRAGMENT)
    hi = np.minimum(300, 1740 // np.maximum(n_ep[fr] - 1, 1))
    gap[fr] = (60 + rng.random(fr.sum()) * (hi - 60)).astype(np.int64)
    rp = nxt & (m == REPEAT)
    gap[rp] = rng.integers(600, 172800, rp.sum())
    cs = np.cumsum(gap)
    ts = ep_ts[row_ep] + cs - cs[first[row_ep]]
    rmech = m.copy()
    rmech[(m == REPEAT) & (k == 0)] = DISCARD
    # fingerprints
    fp = rng.bit_generator.random_raw(R).astype(np.uint64)
    tpl = g == G_TEMPLATE
    n_tpl = 40
    tpl_pool = _mix(np.arange(n_tpl, dtype=np.uint64) + _U64(0x7E3A1D))
    zipf = 1.0 / np.arange(1, n_tpl + 1) ** .8
    fp[tpl] = tpl_pool[_pick(rng, np.tile(np.cumsum(zipf / zipf.sum()), (tpl.sum(), 1)))]
    rep = (m == REPEAT) & (k > 0)
    orig = fp[first[row_ep[rep]]]
    nbits = rng.integers(0, 4, rep.sum())
    flips = np.zeros(rep.sum(), np.uint64)
    for j in range(3):
        pos = rng.integers(0, 64, rep.sum()).astype(np.uint64)
        flips ^= np.where(nbits > j, _U64(1) << pos, _U64(0))
    fp[rep] = orig ^ flips
    # tokens
    ract = action[row_ep]
    tokens = _lognormal_tokens(rng, ract)
    fr_all = m == FRAGMENT
    tokens[fr_all] = rng.integers(2, 9, fr_all.sum())
    pd = m == PADDING
    tokens[pd] = (_TOK_MEDIAN[ract[pd]] * rng.uniform(4, 10, pd.sum())).astype(np.int64)
    ls = g == G_LONGSUM
    tokens[ls] = rng.integers(2500, 9000, ls.sum())
    gi = g == G_ITER
    tokens[gi] = np.maximum(tokens[gi], _TOK_MEDIAN[ract[gi]].astype(np.int64))
    # outcomes
    out = np.full(R, O_USED)
    genuine_plain = np.isin(g, (G_SINGLE, G_HEAP))
    r = rng.random(R)
    out[genuine_plain & (r >= .875)] = O_READ
    out[genuine_plain & (r >= .975)] = O_GEN_UNUSED
    out[(g == G_ITER) & (k < n_ep - 1)] = O_ITER_MID
    out[np.isin(rmech, (DISCARD, SELF_SUMMARY, REPEAT, PADDING))] = O_TH_UNUSED
    out[fr_all] = np.where(rng.random(fr_all.sum()) < .5, O_USED, O_TH_UNUSED)
    # sessions
    sess = np.where(multi[row_ep], _mix(row_ep.astype(np.uint64) + _U64(1 << 50)), _U64(0))
    rows = dict(user=user[row_ep], ts=ts, tool=tool[row_ep], action=ract, mech=rmech, gk=g,
                out=out, tokens=tokens, fp=fp, art_key=key[row_ep], art_author=author[row_ep],
                art_age=age[row_ep], sess=sess)
    keep = rows["ts"] < world.t1
    return {k2: v[keep] for k2, v in rows.items()}


def _extra_rows(world: _World, rng, user, day, mech) -> dict:
    """Single theater interactions (bursts, fillers) for given users and days."""
    n = len(user)
    tool = _pick(rng, world.tool_cum[user])
    tool[tool == C_] = A_        # junk usage goes where it is counted and seen: not the cli
    action = _pick(rng, np.cumsum(_TOOL_ACTIONS, 1)[tool])
    ts = day * 86400 + _start_seconds(world, rng, user, np.zeros(n, np.int64))
    org = world.org_at(user, day)
    has_art = np.select([tool == D_, tool == I_, tool == A_], [True, True, rng.random(n) < .35],
                        rng.random(n) < .5)
    doc_ns = (tool == A_) | (tool == D_)
    key = np.where(doc_ns, user.astype(np.int64) * 1024 + rng.integers(0, 24, n),
                   org.astype(np.int64) * 65536 + rng.integers(0, 400, n))
    key[~has_art] = -1
    author = np.where(doc_ns & has_art, user, -1)
    age = (rng.uniform(.02, 6.5, n) * 86400).astype(np.int64)
    age[~has_art | (tool == C_)] = -1
    out = np.where(rng.random(n) < .75, O_TH_UNUSED, O_TH_NULL)
    return dict(user=user, ts=ts, tool=tool, action=action, mech=np.full(n, mech),
                gk=np.full(n, G_THEATER), out=out, tokens=_lognormal_tokens(rng, action),
                fp=rng.bit_generator.random_raw(n).astype(np.uint64), art_key=key,
                art_author=author, art_age=age, sess=np.zeros(n, np.uint64))


def _bursts(world: _World, rng) -> dict | None:
    users_all, days_all = [], []
    eligible = ~world.heavy & (world.heap == 0)
    for o in range(world.n_orgs):
        if not world.burst_org[o]:
            continue
        for c in world.checkpoints_of(o):
            wdays, d = [], c - 1
            while len(wdays) < 3:
                if (d + 3) % 7 < 5:
                    wdays.append(d)
                d -= 1
            wdays = [d for d in wdays if world.sd <= d < world.ed]
            if not wdays:
                continue
            members = np.flatnonzero(eligible & (world.org_at(np.arange(world.n_users),
                                                              np.full(world.n_users, wdays[0])) == o))
            burst = members[rng.random(len(members)) < world.burst_share[o]]
            if not len(burst):
                continue
            mult = rng.uniform(1, 2.5, len(burst))
            for d in sorted(wdays):
                same = world.org_at(burst, np.full(len(burst), d)) == o
                n = rng.poisson(world.rate[burst] / 5 * mult) * same
                users_all.append(np.repeat(burst, n))
                days_all.append(np.full(n.sum(), d, np.int64))
    if not users_all:
        return None
    user, day = np.concatenate(users_all), np.concatenate(days_all)
    return _extra_rows(world, rng, user, day, CHECKPOINT_BURST)


def _fillers(world: _World, rng, rows: dict) -> dict | None:
    W = world.n_weeks
    wk = (rows["ts"] // 86400 - world.week_start[0]) // 7
    counts = np.bincount(rows["user"] * W + wk, minlength=world.n_users * W).reshape(-1, W)
    fills_u, fills_d = [], []
    filler_user = rng.random(world.n_users) < world.filler_rate[world.org1]
    filler_user &= ~world.heavy
    for w in np.flatnonzero(world.full_week):
        monday = int(world.week_start[w])
        org = world.org_at(np.arange(world.n_users), np.full(world.n_users, monday))
        q = world.quota_wk[org, w]
        c = counts[:, w]
        short = (q > 0) & (c < q) & (c >= 2) & filler_user
        u = np.flatnonzero(short)
        if not len(u):
            continue
        n = q[u] - c[u] + (rng.random(len(u)) < .35)
        uu = np.repeat(u, n)
        dow = _pick(rng, np.tile(np.cumsum([.05, .08, .15, .27, .35, .05, .05]), (len(uu), 1)))
        fills_u.append(uu)
        fills_d.append(monday + dow)
    if not fills_u:
        return None
    return _extra_rows(world, rng, np.concatenate(fills_u), np.concatenate(fills_d), QUOTA_FILLER)


def _concat(parts: list[dict]) -> dict:
    parts = [p for p in parts if p is not None]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _fix_token_extremes(rows: dict) -> None:
    """Padding above each action's 90th percentile (with margin); check fragments stay short."""
    for _ in range(6):
        changed = False
        for a in range(len(ACTIONS)):
            sel = rows["action"] == a
            if not sel.any():
                continue
            p90 = np.quantile(rows["tokens"][sel], .9, method="inverted_cdf")
            low = sel & (rows["mech"] == PADDING) & (rows["tokens"] <= 1.3 * p90)
            if low.any():
                rows["tokens"][low] = (p90 * (1.5 + (rows["fp"][low] % _U64(150)).astype(float)
                                              / 100)).astype(np.int64)
                changed = True
        if not changed:
            break


# ----------------------------------------------------------------------------- columns

def _columns(world: _World, rng, rows: dict) -> tuple[pa.Table, dict]:
    """Final interaction rows as an Arrow table (all contract + extra fields)."""
    R = len(rows["ts"])
    user, tool, ts, action, out = (rows[k] for k in ("user", "tool", "ts", "action", "out"))
    day = ts // 86400
    org = world.org_at(user, day)
    # event ids, sequential in time per tool
    seq = np.zeros(R, np.int64)
    for t in range(4):
        sel = tool == t
        seq[sel] = np.arange(sel.sum())
    eid = _event_ids(tool, seq)
    # timestamps
    tzc = world.tz[user].copy()
    tzc[tool == A_] = 0
    cz = (tool == C_) & (rng.random(R) < .3)
    tzc[cz] = 0
    tzc[(tool == D_) & (tzc == 0)] = 1
    ms = np.where(np.isin(tool, (A_, I_)), rng.integers(0, 1000, R), -1)
    event_ts = _rfc3339(ts, tzc, ms)
    # dispositions / dwell
    disp = np.zeros(R, np.int64)
    dwell = np.full(R, -1, np.int64)
    r = rng.random(R)
    used_by_tool = np.array([[3, 1, 4, 2], [1, 2, 2, 1], [2, 4, 1, 4], [0, 0, 0, 0]])
    sel = out == O_USED
    disp[sel] = used_by_tool[tool[sel], (r[sel] * 4).astype(np.int64)]
    dwell[sel] = np.where(tool[sel] == I_, rng.integers(600, 20000, sel.sum()),
                          rng.integers(3000, 120000, sel.sum()))
    a_null = sel & (tool == A_) & (r < .1)
    dwell[a_null] = -1
    sel = out == O_READ
    disp[sel] = np.where(r[sel] < .6, 0, 7)
    dwell[sel] = rng.integers(5000, 180000, sel.sum())
    sel = out == O_GEN_UNUSED
    disp[sel] = np.where(r[sel] < .6, 5, 6)
    dwell[sel] = rng.integers(1000, 60000, sel.sum())
    sel = out == O_TH_UNUSED
    hard = r < .7
    s1 = sel & hard
    disp[s1] = np.where(rng.random(s1.sum()) < .6, 5, 6)
    dwell[s1] = np.where(rng.random(s1.sum()) < .3, -1, rng.integers(300, 4900, s1.sum()))
    s2 = sel & ~hard
    disp[s2] = np.where(rng.random(s2.sum()) < .5, 0, 7)
    dwell[s2] = rng.integers(200, 4900, s2.sum())
    sel = out == O_ITER_MID
    disp[sel] = 0
    dwell[sel] = rng.integers(10000, 120001, sel.sum())
    last_iter = (rows["gk"] == G_ITER) & (out == O_USED)
    disp[last_iter] = 1
    disp[tool == C_] = 0
    dwell[tool == C_] = -1
    # prompt fingerprint: a few old assistant clients do not send it (genuine singles only)
    fp_null = (tool == A_) & (rows["gk"] == G_SINGLE) & (rng.random(R) < .03)
    # artifacts
    key, author, age = rows["art_key"], rows["art_author"], rows["art_age"]
    doc_ns = (tool == A_) | (tool == D_)
    has_art = key >= 0
    kk = np.maximum(key, 0)
    hx = _hex(_mix(kk.astype(np.uint64) ^ _U64(0xD0C)), 12)
    art_doc = _cat("doc-", hx)
    art_code = pc.if_else(pa.array(kk >= (1 << 40)), _cat("gh:acme/scratch/", hx, ".py"),
                          _cat("gh:acme/svc-", _num(kk // 65536 % 1000, 3), "/src/mod_",
                               _num(kk % 65536, 4), ".py"))
    art = pc.if_else(pa.array(doc_ns), art_doc, art_code)
    art = _with_nulls(art, ~has_art)
    auth = world.ident_arr.take(pa.array(np.maximum(author, 0)))
    auth = _with_nulls(auth, author < 0)
    mod = _rfc3339(ts - np.maximum(age, 0), np.zeros(R, np.int64))
    mod = _with_nulls(mod, age < 0)
    # session
    sess_key = np.where(rows["sess"] != 0, rows["sess"],
                        _mix(user.astype(np.uint64) * _U64(1 << 20) + day.astype(np.uint64) * _U64(8)
                             + tool.astype(np.uint64)))
    sess = _cat("s-", _hex(sess_key, 12))
    sess = _with_nulls(sess, (tool == D_) | (rng.random(R) < .04))
    # org_id on the row (null for some; else the directory org at the UTC date)
    org_null = rng.random(R) < _ORG_ID_NULL[tool]
    org_col = _take_str(tuple(world.org_ids), org, org_null)
    comp = np.maximum(1, np.exp(np.log(_COMP_MEDIAN[action]) + .6 * rng.standard_normal(R))).astype(np.int64)
    comp_null = (tool == C_) & (rng.random(R) < .2)
    model_code = (r * 97).astype(np.int64)
    model_names = [m for ms_ in _MODELS for m in ms_]
    model_off = np.cumsum([0] + [len(m) for m in _MODELS])[:-1]
    model_idx = model_off[tool] + model_code % np.array([len(m) for m in _MODELS])[tool]
    model = _take_str(tuple(model_names), model_idx, (tool == C_) & (rng.random(R) < .05))
    # extras
    hv = _mix(user.astype(np.uint64) * _U64(7) + tool.astype(np.uint64))
    ver_names = [v for vs in _VERSIONS for v in vs]
    ver_off = np.cumsum([0] + [len(v) for v in _VERSIONS])[:-1]
    ver_idx = ver_off[tool] + (hv % _U64(3)).astype(np.int64) % np.array([len(v) for v in _VERSIONS])[tool]
    client_version = _take_str(tuple(ver_names), ver_idx)
    region = _take_str(_REGION_OF_TZ, world.tz[user])
    sdk = _take_str(_SDKS, (hv >> _U64(8)).astype(np.int64) % len(_SDKS))
    retries = pa.array(rng.choice([0, 0, 0, 0, 0, 0, 1, 2], R), type=pa.int64())
    meta = pa.StructArray.from_arrays([sdk, retries], names=["sdk", "retries"])
    table = pa.table({
        "event_id": eid,
        "event_ts": event_ts,
        "user_id": world.ident_arr.take(pa.array(user)),
        "org_id": org_col,
        "tool": _take_str(TOOLS, tool),
        "action": _take_str(ACTIONS, action),
        "session_id": sess,
        "prompt_fingerprint": _with_nulls(_hex(rows["fp"]), fp_null),
        "prompt_tokens": _int_col(rows["tokens"]),
        "completion_tokens": _int_col(comp, comp_null),
        "model": model,
        "output_disposition": _take_str(DISPOSITIONS, disp, disp == 0),
        "dwell_ms": _int_col(dwell, dwell < 0),
        "artifact_id": art,
        "artifact_author_id": auth,
        "artifact_modified_ts": mod,
        "work_item_id": pa.nulls(R, pa.string()),
        "client_version": client_version,
        "region": region,
        "meta": meta,
    })
    return table, dict(org=org, seq=seq, day=day)


def _event_ids(tool: np.ndarray, seq: np.ndarray) -> pa.Array:
    a = _cat("a-", _num(seq, 10))
    i = _hex(_mix(seq.astype(np.uint64) ^ _U64(0x1DE0000000000000)))
    d = _cat("DOCEVT-", _num(seq, 9))
    c = _cat("cli:", _num(seq + 1))
    out = pc.if_else(pa.array(tool == A_), a, pc.if_else(pa.array(tool == I_), i,
                                                          pc.if_else(pa.array(tool == D_), d, c)))
    return out


# ----------------------------------------------------------------------------- side datasets

def _directory_rows(world: _World) -> tuple[pa.Table, pa.Table]:
    """(rows of users who never moved, rows of movers) as tables."""
    U = world.n_users
    epoch = np.datetime64("1970-01-01")

    def d2s(d):
        return pa.array(np.datetime_as_string(epoch + np.asarray(d).astype("timedelta64[D]"),
                                              unit="D"))

    role_eng = np.array(_ROLES_ENG)[np.arange(U) % len(_ROLES_ENG)]
    role_biz = np.array(_ROLES_BIZ)[(np.arange(U) * 7) % len(_ROLES_BIZ)]
    role = np.where(world.org_eng[world.org1], role_eng, role_biz)

    def table(users, org, vfrom, vto):
        return pa.table({
            "user_id": world.ident_arr.take(pa.array(users, type=pa.int64())),
            "org_id": _take_str(tuple(world.org_ids), org),
            "org_name": _take_str(tuple(world.org_names), org),
            "parent_org_id": _take_str(tuple(world.org_parent), org),
            "role": pa.array(role[users].tolist(), type=pa.string()),
            "valid_from": d2s(vfrom),
            "valid_to": _with_nulls(d2s(np.where(vto < 0, 0, vto)), vto < 0),
        })

    stay = np.flatnonzero(~world.mover)
    base = table(stay, world.org1[stay], world.hire_day[stay], np.full(len(stay), -1))
    mv = np.flatnonzero(world.mover)
    users = np.repeat(mv, 2)
    org = np.ravel(np.column_stack([world.org1[mv], world.org2[mv]]))
    vfrom = np.ravel(np.column_stack([world.hire_day[mv], world.move_day[mv]]))
    vto = np.ravel(np.column_stack([world.move_day[mv], np.full(len(mv), -1)]))
    return base, table(users, org, vfrom, vto)


def _work_items(world: _World, rng) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """Work items; returns (table, user, opened_ts, closed_ts) sorted by (user, opened)."""
    U = world.n_users
    span = world.t1 - world.t0
    n = rng.poisson(world.n_weeks * 1.2 * np.minimum(world.rate / 12, 3), U)
    user = np.repeat(np.arange(U), n)
    N = len(user)
    opened = world.t0 - 14 * 86400 + (rng.random(N) * (span + 13 * 86400)).astype(np.int64)
    order = np.lexsort((opened, user))
    user, opened = user[order], opened[order]
    dur = (np.exp(rng.normal(np.log(3), 1, N)) * 86400).astype(np.int64)
    closed = opened + dur
    still_open = closed >= world.t1
    org = world.org_at(user, opened // 86400)
    eng = world.org_eng[org]
    r = rng.random(N)
    kind = np.where(eng, np.select([r < .5, r < .9], [1, 0], 4), np.select([r < .4, r < .8], [2, 3], 0))
    th = world.p[user]
    reopened = rng.poisson(.15 + 1.2 * th)
    escalated = rng.random(N) < .04 + .25 * th
    tz = world.tz[user]
    table = pa.table({
        "work_item_id": _cat("WI-", _num(np.arange(N) + 1, 7)),
        "user_id": world.ident_arr.take(pa.array(user)),
        "org_id": _take_str(tuple(world.org_ids), org, rng.random(N) < .1),
        "kind": _take_str(("ticket", "pull_request", "case", "document", "other"), kind),
        "opened_ts": _rfc3339(opened, tz),
        "closed_ts": _with_nulls(_rfc3339(closed, tz), still_open),
        "reopened_count": _int_col(reopened, rng.random(N) < .05),
        "escalated": pa.array(escalated, mask=rng.random(N) < .05),
    })
    return table, user, opened, closed


def _link_work_items(rng, table: pa.Table, rows: dict, wi_user, wi_open, wi_id) -> pa.Table:
    R = table.num_rows
    share = np.array([.35, .5, .2, .4])[rows["tool"]]
    want = rng.random(R) < share
    big = np.int64(1) << 36
    keys = wi_user.astype(np.int64) * big + wi_open
    q = rows["user"].astype(np.int64) * big + rows["ts"]
    idx = np.searchsorted(keys, q, side="right") - 1
    ok = want & (idx >= 0)
    idx = np.maximum(idx, 0)
    ok &= wi_user[idx] == rows["user"] if len(wi_user) else False
    col = wi_id.take(pa.array(idx)) if len(wi_user) else pa.nulls(R, pa.string())
    col = _with_nulls(col, ~ok)
    return table.set_column(table.schema.get_field_index("work_item_id"), "work_item_id", col)


def _policies_tables(world: _World) -> tuple[pa.Table, pa.Table]:
    epoch = np.datetime64("1970-01-01")

    def ds(d):
        return None if d is None else str(epoch + np.timedelta64(int(d), "D"))

    rows = []
    for o, s, e, q in world.quota_rows:
        rows.append({"org_id": world.org_ids[o], "kind": "quota", "start_date": ds(s),
                     "end_date": ds(e), "weekly_quota": q,
                     "note": f"AI adoption target: {q} interactions per person per week"})
    for o in np.flatnonzero(world.has_mandate):
        rows.append({"org_id": world.org_ids[o], "kind": "mandate",
                     "start_date": ds(world.mandate_day[o]), "end_date": None,
                     "weekly_quota": None, "note": "AI-first mandate announced"})
    rows.sort(key=lambda r: (r["org_id"], r["kind"], r["start_date"]))
    ck = [{"org_id": "*", "kind": "checkpoint", "start_date": ds(d), "end_date": None,
           "weekly_quota": None, "note": "company-wide quarterly review"} for d in world.star_ck]
    for o in range(world.n_orgs):
        for d in world.org_ck[o]:
            ck.append({"org_id": world.org_ids[o], "kind": "checkpoint", "start_date": ds(d),
                       "end_date": None, "weekly_quota": None, "note": "team AI usage review"})
    schema = pa.schema([("org_id", pa.string()), ("kind", pa.string()),
                        ("start_date", pa.string()), ("end_date", pa.string()),
                        ("weekly_quota", pa.int64()), ("note", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema), pa.Table.from_pylist(ck, schema=schema)


# ----------------------------------------------------------------------------- dirty records

_BAD_TS = ("2026-13-45T10:00:00Z", "yesterday", "2026-07-03 10:00:00", "07/03/2026 10:00",
           "2026-02-30T08:00:00+02:00")


def _bad_rows(rng, template: list[dict], kinds: list[str], tool: str, next_seq: int,
              schema: pa.Schema) -> tuple[list[dict], list[tuple[str, str]], list[str], int]:
    """Bad copies of template rows: (rows for the table, [(kind, event_id)], malformed lines)."""
    rows, listed, malformed = [], [], []
    for rec, kind in zip(template, kinds):
        rec = dict(rec)
        rec["event_id"] = _event_ids(np.array([TOOLS.index(tool)]), np.array([next_seq]))[0].as_py()
        next_seq += 1
        eid = rec["event_id"]
        variant = int(rng.integers(0, 4))
        if kind == "malformed_line":
            line = _json_lines(pa.Table.from_pylist([rec], schema=schema), False)[0]
            malformed.append(line[: max(20, int(len(line) * (.3 + .4 * rng.random())))])
            listed.append((kind, eid))
            continue
        if kind == "missing_required":
            if variant == 0:
                rec["event_id"] = ""
                eid = ""
            else:
                rec["user_id"] = None
        elif kind == "bad_enum":
            if variant == 0 and "output_disposition" in rec:
                rec["output_disposition"] = "loved_it"
            else:
                rec["action"] = ("dance", "Chat", "brainstorm")[variant % 3]
        elif kind == "negative_number":
            if variant == 0 and rec.get("dwell_ms") is not None:
                rec["dwell_ms"] = -120
            elif variant == 1 and rec.get("completion_tokens") is not None:
                rec["completion_tokens"] = -1
            else:
                rec["prompt_tokens"] = -5
        elif kind == "bad_timestamp":
            if variant == 0 and rec.get("artifact_modified_ts") is not None:
                rec["artifact_modified_ts"] = "not-a-date"
            else:
                rec["event_ts"] = _BAD_TS[int(rng.integers(0, len(_BAD_TS)))]
        rows.append(rec)
        listed.append((kind, eid))
    return rows, listed, malformed, next_seq


# ----------------------------------------------------------------------------- main entry

def generate(out: str | Path, *, seed: int = 7, n_orgs: int = 24, n_users: int = 1500,
             start: datetime.date = date(2026, 7, 1), end: datetime.date = date(2026, 10, 1),
             dirty: bool = False, formats: str = "mixed", rate_scale: float = 1.0,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write ``out/landing`` and ``out/truth``; return a summary of what was written."""
    if formats not in ("mixed", "parquet"):
        raise ValueError(f"formats must be 'mixed' or 'parquet', got {formats!r}")
    say = progress or (lambda msg: None)
    out = Path(out)
    landing, truth = out / "landing", out / "truth"
    for p in (landing, truth):
        if p.exists():
            shutil.rmtree(p)
        p.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    world = _World(rng, n_orgs, n_users, start, end, rate_scale)
    say(f"synth: {n_orgs} orgs, {n_users} users, {world.n_weeks} weeks")

    ep = _episodes(world, rng)
    rows = _expand(world, rng, ep)
    say(f"synth: {len(rows['ts']):,} base interactions")
    rows = _concat([rows, _bursts(world, rng)])
    rows = _concat([rows, _fillers(world, rng, rows)])
    order = np.lexsort((rows["user"], rows["ts"], rows["tool"]))
    rows = {k: v[order] for k, v in rows.items()}
    _fix_token_extremes(rows)
    R = len(rows["ts"])
    say(f"synth: {R:,} interactions in total; building columns")
    table, info = _columns(world, rng, rows)
    wi_table, wi_user, wi_open, _ = _work_items(world, rng)
    table = _link_work_items(rng, table, rows, wi_user, wi_open, wi_table.column("work_item_id"))

    # ---- truth
    is_th = (rows["mech"] != NONE).astype(np.int64)
    truth_tab = pa.table({
        "event_id": table.column("event_id"), "tool": table.column("tool"),
        "is_theater": pa.array(is_th), "mechanism": _take_str(MECHANISMS, rows["mech"]),
        "org_id": _take_str(tuple(world.org_ids), info["org"]),
    }).sort_by([("tool", "ascending"), ("event_id", "ascending")])
    _truth_csv(truth_tab, truth / "interactions.csv")
    org = info["org"]
    n_int = np.bincount(org, minlength=n_orgs)
    n_th = np.bincount(org, weights=is_th, minlength=n_orgs)
    pair = np.unique(org.astype(np.int64) * n_users + rows["user"])
    n_usr = np.bincount(pair // n_users, minlength=n_orgs)
    per_user = np.bincount(org.astype(np.int64) * n_users + rows["user"], minlength=n_orgs * n_users)
    top = per_user.reshape(n_orgs, n_users).max(1) / np.maximum(n_int, 1)
    mech_counts = np.zeros((n_orgs, len(MECHANISMS)), np.int64)
    np.add.at(mech_counts, (org, rows["mech"]), 1)
    org_rows = []
    for o in range(n_orgs):
        org_rows.append({
            "org_id": world.org_ids[o],
            "theater_share": round(float(n_th[o] / n_int[o]) if n_int[o] else 0.0, 6),
            "n_users": int(n_usr[o]), "n_interactions": int(n_int[o]),
            "has_quota": int(world.has_quota[o]),
            "has_checkpoint": int(bool(world.checkpoints_of(o))),
            "has_org_checkpoint": int(world.has_org_ck[o]),
            "has_mandate": int(world.has_mandate[o]),
            "top_user_share": round(float(top[o]), 6),
            **{f"n_{m}": int(mech_counts[o, i]) for i, m in enumerate(MECHANISMS)},
        })
    _truth_csv(pa.Table.from_pylist(org_rows), truth / "orgs.csv")

    # ---- interaction files
    say("synth: writing interaction files")
    week_of = (info["day"] - world.week_start[0]) // 7
    rot = ("parquet", "jsonl", "parquet", "jsonl.gz", "csv", "parquet", "json", "jsonl")
    files = []  # (tool, week, fmt, row indices)
    bounds = np.flatnonzero(np.diff(rows["tool"].astype(np.int64) * 1000 + week_of)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [R]])
    for s, e in zip(starts, ends):
        t, w = int(rows["tool"][s]), int(week_of[s])
        fmt = "parquet" if formats == "parquet" else rot[(w + 3 * t) % len(rot)]
        files.append([t, w, fmt, np.arange(s, e)])
    if formats == "mixed":   # every format at least once
        have = {f[2] for f in files}
        for fmt in FORMATS:
            if fmt not in have:
                cand = [f for f in files if f[2] == "parquet"] or files
                cand[len(cand) // 2][2] = fmt
                have = {f[2] for f in files}
    dirty_rows: list[dict] = []
    dup_files, resent = [], 0
    extra_idx = [[] for _ in files]
    bad_for_file: list[tuple[list[dict], list[str]]] = [([], []) for _ in files]
    dup_fi = len(files) // 2     # re-delivered whole (kept free of other dirt)
    if dirty:
        # re-sent single events, identical content, inside the next file of the same tool
        n_resend = int(min(300, max(20, R // 1000)))
        cand = rng.choice(R, min(n_resend, R), replace=False)
        file_of = np.searchsorted(starts, cand, side="right") - 1
        for i, f in zip(cand, file_of):
            j = f + 1
            if j < len(files) and files[j][0] == files[f][0] and j != dup_fi:
                extra_idx[j].append(int(i))
                resent += 1
        # malformed records: each kind, spread over files and formats
        counter = 0
        next_seq = {t: int((rows["tool"] == t).sum()) for t in range(4)}
        for fi, (t, w, fmt, idx) in enumerate(files):
            k = int(rng.integers(0, 5))
            if fi < 2 * len(FORMATS):
                k = max(k, 2)
            if fi == dup_fi:
                k = 0
            allowed = BAD_KINDS if fmt in ("jsonl", "jsonl.gz") else BAD_KINDS[1:]
            kinds = []
            for _ in range(k):
                kinds.append(allowed[counter % len(allowed)])
                counter += 1
            tmpl_idx = np.sort(rng.choice(idx, min(k, len(idx)), replace=False))
            tt = _tool_table(table, TOOLS[t], fmt, w)
            tmpl = tt.take(pa.array(tmpl_idx, type=pa.int64())).to_pylist()
            bad, listed, malformed, next_seq[t] = _bad_rows(rng, tmpl, kinds[:len(tmpl)], TOOLS[t],
                                                            next_seq[t], tt.schema)
            bad_for_file[fi] = (bad, malformed)
            for kind, eid in listed:
                dirty_rows.append({"dataset": "interactions", "file": _file_rel(TOOLS[t], w, world, fmt),
                                   "kind": kind, "event_id": eid})
    counts_fmt = {f: 0 for f in FORMATS}
    written = 0
    for fi, (t, w, fmt, idx) in enumerate(files):
        tool = TOOLS[t]
        base = _tool_table(table, tool, fmt, w)
        part = base.take(pa.array(np.concatenate([idx, np.array(extra_idx[fi], np.int64)])))
        bad, malformed = bad_for_file[fi]
        if bad:
            bad_t = pa.Table.from_pylist(bad, schema=part.schema)
            part = pa.concat_tables([part, bad_t])
            # put the bad ones somewhere inside the file, deterministically
            perm = np.argsort(_mix(np.arange(part.num_rows, dtype=np.uint64) + _U64(fi)))
            keep_order = np.arange(part.num_rows - len(bad))
            pos = np.sort(perm[: len(bad)] % max(1, part.num_rows - len(bad)))
            order = np.insert(keep_order, pos, np.arange(part.num_rows - len(bad), part.num_rows))
            part = part.take(pa.array(order))
        mal = [(int(p), m) for p, m in zip(rng.integers(0, part.num_rows + 1, len(malformed)),
                                           malformed)]
        path = landing / _file_rel(tool, w, world, fmt)
        _write(part, path, fmt, explicit_null=(t + w) % 3 == 0, malformed=mal)
        counts_fmt[fmt] += 1
        written += part.num_rows
        if fi % 10 == 0:
            say(f"synth: wrote {fi + 1}/{len(files)} interaction files")
    dup_records = 0
    if dirty:
        t, w, fmt, idx = files[dup_fi]
        src = landing / _file_rel(TOOLS[t], w, world, fmt)
        dst = src.with_name(src.name.split(".")[0] + "-redelivered." + fmt)
        shutil.copyfile(src, dst)
        dup_files.append(str(dst.relative_to(landing)))
        dup_records = len(idx)
        counts_fmt[fmt] += 1

    # ---- directory, work items, policies
    say("synth: writing directory, work items, policies")
    base_dir, movers_dir = _directory_rows(world)
    mixed = formats == "mixed"
    if dirty:
        bad_dir = {"user_id": "c900001", "org_id": world.org_ids[0],
                   "org_name": world.org_names[0], "parent_org_id": world.org_parent[0],
                   "role": "contractor", "valid_from": "2026-02-30", "valid_to": None}
        base_dir = pa.concat_tables([base_dir, pa.Table.from_pylist([bad_dir], schema=base_dir.schema)])
        f = "directory/people.csv" if mixed else "directory/people.parquet"
        dirty_rows.append({"dataset": "directory", "file": f, "kind": "bad_timestamp", "event_id": ""})
    _write(base_dir, landing / ("directory/people.csv" if mixed else "directory/people.parquet"),
           "csv" if mixed else "parquet")
    _write(movers_dir, landing / ("directory/transfers.jsonl" if mixed else "directory/transfers.parquet"),
           "jsonl" if mixed else "parquet")
    kinds = wi_table.column("kind").to_numpy(zero_copy_only=False)
    wi_fmt = {"ticket": "jsonl", "pull_request": "parquet", "case": "csv", "document": "json",
              "other": "jsonl.gz"}
    wi_files = 0
    for kind in ("ticket", "pull_request", "case", "document", "other"):
        part = wi_table.filter(pa.array(kinds == kind))
        if part.num_rows == 0:
            continue
        fmt = wi_fmt[kind] if mixed else "parquet"
        rel = f"work_items/{kind}s.{fmt}"
        if dirty and kind == "ticket":
            rec = part.slice(0, 1).to_pylist()[0]
            rec["work_item_id"] = "WI-BAD-0000001"
            rec["kind"] = "meeting"
            part = pa.concat_tables([part, pa.Table.from_pylist([rec], schema=part.schema)])
            dirty_rows.append({"dataset": "work_items", "file": rel, "kind": "bad_enum",
                               "event_id": ""})
        _write(part, landing / rel, fmt)
        wi_files += 1
    pol, ck = _policies_tables(world)
    _write(pol, landing / ("policies/org_policies.csv" if mixed else "policies/org_policies.parquet"),
           "csv" if mixed else "parquet")
    _write(ck, landing / ("policies/review_calendar.json" if mixed else "policies/review_calendar.parquet"),
           "json" if mixed else "parquet")

    # ---- dirty list and summary
    dirty_rows.sort(key=lambda r: (r["dataset"], r["file"], r["kind"], r["event_id"]))
    dschema = pa.schema([(c, pa.string()) for c in ("dataset", "file", "kind", "event_id")])
    _truth_csv(pa.Table.from_pylist(dirty_rows, schema=dschema), truth / "dirty.csv")
    bad_counts = {k: sum(1 for r in dirty_rows if r["kind"] == k) for k in BAD_KINDS}
    summary = {
        "seed": seed,
        "params": {"n_orgs": n_orgs, "n_users": n_users, "start": start.isoformat(),
                   "end": end.isoformat(), "dirty": dirty, "formats": formats,
                   "rate_scale": rate_scale},
        "interactions": R,
        "interaction_records_written": written + dup_records,
        "theater_interactions": int(is_th.sum()),
        "theater_share": round(float(is_th.mean()), 6) if R else 0.0,
        "mechanisms": {m: int((rows["mech"] == i).sum()) for i, m in enumerate(MECHANISMS)},
        "users": int(len(np.unique(rows["user"]))),
        "directory_users": n_users,
        "orgs": n_orgs,
        "files": counts_fmt,
        "work_item_files": wi_files,
        "work_items": wi_table.num_rows,
        "bad_records": bad_counts,
        "bad_total": len(dirty_rows),
        "duplicates": {"files": dup_files, "records_in_duplicate_files": dup_records,
                       "resent_events": resent, "total": dup_records + resent},
    }
    (truth / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    say(f"synth: done, {R:,} interactions ({summary['theater_share']:.1%} theater)")
    return {**summary, "landing": str(landing), "truth": str(truth)}


def _truth_csv(table: pa.Table, path: Path) -> None:
    """Plain CSV (no quoting: the values hold no commas or quotes), header first."""
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _file_rel(tool: str, week: int, world: _World, fmt: str) -> str:
    monday = np.datetime64("1970-01-01") + np.timedelta64(int(world.week_start[week]), "D")
    y, w, _ = date.fromisoformat(str(monday)).isocalendar()
    return f"interactions/{tool}/{tool}_{y}-W{w:02d}.{fmt}"


def _tool_table(table: pa.Table, tool: str, fmt: str, week: int) -> pa.Table:
    """Columns this tool's file carries: minus the fields it never sends, plus its extras."""
    drop = set(_ABSENT[tool])
    if tool == "assistant":
        drop |= {"region"}
    elif tool == "ide":
        drop |= {"meta"}
    elif tool == "docs":
        drop |= {"client_version", "meta"} | ({"region"} if week % 2 else set())
    elif tool == "cli":
        drop |= {"region"}
    return table.select([c for c in table.column_names if c not in drop])
