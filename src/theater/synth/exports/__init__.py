"""The synthetic world delivered as vendor exports: one small writer per format in this package.

``write_vendor_delivery(native_out, out, seed)`` reads a native landing zone written by
``theater.synth.generate(native_out, ..., formats="parquet")`` and writes the SAME world as the
files enterprises actually receive from their AI vendors:

- ``out/landing/vendor/<format>/...``: per-event exports (Claude Code OTel logs, M365 audit
  records, Bedrock invocation logs, LiteLLM spend logs, Cursor usage events, OTel GenAI spans)
  and aggregates computed from the native events (GitHub Copilot users report, Cursor daily
  usage, Amazon Q user activity, Claude Code analytics, Viva person-weeks, and the org-level
  GitHub Copilot metrics and M365 Copilot usage reports). Aggregates are counts of the native
  events; nothing is expanded into invented events.
- ``out/landing/identities/identities.csv``: ``alias, alias_kind, user_id``: every vendor
  identity (email, UPN, IAM ARN, GitHub login, Identity Center id, ...) mapped to the
  directory's user_id.
- ``out/landing/{directory,work_items,policies}`` and ``out/truth/`` copied unchanged, plus
  ``out/truth/vendor_counts.json`` (expected canonical rows per format and table, and records
  quarantined) and ``out/truth/vendor_stacks.csv`` (which format carries each org's tool).

Each org gets, deterministically from ``seed``, one format per native tool (its *stack*), so that
every one of the 13 formats appears (needs >= 6 orgs). What a vendor does not carry is not
written: no dwell anywhere; a disposition only as Claude Code ``tool_decision`` events (from
used / discarded native dispositions) and as acceptance counts in the aggregates; prompt text
only where the vendor logs it (a synthetic text built from the native fingerprint: 64 words
``b<i>x``/``b<i>y``, one per fingerprint bit, so equal fingerprints give equal texts and
near-duplicates stay near). GenAI spans of one org in 50 carry no user attribute (so they are
quarantined as ``missing_required: user``).

Each module here (other than ``common``) writes one format: ``NAME`` (the format), ``BY`` (what
one call receives: a ``week`` of events, one ``org``'s events, or the whole ``world``) and
``write``; they are discovered at import, so a new format's writer is one new module (and its
place in :data:`STACK_OPTIONS`, which decides which orgs' tools it carries). A *companion*
(a module with ``COMPANION_OF``: a report the vendor delivers beside another format of the same
tool, e.g. GitHub's premium requests billing report beside its users report) is in no stack:
it is written, from the events of the format it accompanies, only when a delivery names it in
``companions``.

Vectorised with pandas/numpy over rows; Python loops only build the JSON/CSV text of each record.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from ...sources.exports.rows import ACTIONS, DISPOSITIONS
from ..steps import generate
from .common import ACCOUNT, DAY_MS, NATIVE_COLUMNS, Delivery, csv_text, digest, uuid_of, write_text

log = logging.getLogger(__name__)

STACK_OPTIONS = {
    "ide": (
        "github_copilot_users",
        "cursor_daily_usage",
        "amazon_q_user_activity",
        "cursor_usage_events",
        "github_copilot_org_metrics",
        "claude_code_otel",
    ),
    "cli": ("claude_code_otel", "claude_code_analytics"),
    "assistant": ("litellm_spend_logs", "bedrock_invocation_logs", "otel_genai"),
    "docs": ("m365_copilot_audit", "viva_person_query", "m365_copilot_reports"),
}

ALL_FORMATS = tuple(sorted({f for opts in STACK_OPTIONS.values() for f in opts}))


def _week_key(ms: np.ndarray) -> np.ndarray:
    """ISO week label (Monday weeks) of epoch ms, as 'YYYY-Www'."""
    days = (ms // DAY_MS).astype("int64")
    monday = days - ((days + 3) % 7)  # 1970-01-01 was a Thursday
    labels = {}
    out = np.empty(len(days), dtype=object)
    for d in np.unique(monday):
        y, w, _ = pd.Timestamp(int(d) * DAY_MS, unit="ms").isocalendar()
        labels[d] = f"{y}-W{w:02d}"
    for d, lab in labels.items():
        out[monday == d] = lab
    return out


def _identities(users: list[str]) -> pd.DataFrame:
    """Every vendor alias of every directory user (one row per alias kind)."""
    rows = []
    for u in users:
        local = u.split("@")[0]
        email = u if "@" in u else f"{local}@acme-corp.example"
        h = digest(u)
        rows += [
            (email, "email", u),
            (f"{local}@acmecorp.onmicrosoft.example", "upn", u),
            (f"arn:aws:sts::{ACCOUNT}:assumed-role/BedrockUsers/{local}", "iam_arn", u),
            (f"{local.split('.')[0]}-{h[:6]}", "github_login", u),
            (str(10_000_000 + int(h[:7], 16) % 89_999_999), "github_id", u),
            (uuid_of("idc|" + u), "identity_center_id", u),
            (uuid_of("anthropic|" + u), "account_uuid", u),
            (f"usr-{h[6:16]}", "user_id", u),  # internal app user id (LiteLLM, GenAI apps)
            (f"P{h[16:28].upper()}", "person_id", u),
        ]
    return pd.DataFrame(rows, columns=["alias", "alias_kind", "user_id"])


def _load(native_out: Path) -> pd.DataFrame:
    src = native_out / "landing" / "interactions"
    files = sorted(str(p) for p in src.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(
            f"{src}: no parquet interaction files (generate the native world "
            f"with formats='parquet')"
        )
    table = pads.dataset(files, format="parquet").to_table(columns=list(NATIVE_COLUMNS))
    try:  # Arrow parses RFC 3339 with Z or offsets, vectorised
        ms = pc.cast(pc.cast(table.column("event_ts"), pa.timestamp("ms", tz="UTC")), pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ts = pd.to_datetime(
            table.column("event_ts").to_pandas(), utc=True, format="ISO8601", errors="coerce"
        )
        ms = pa.array((ts.astype("int64") // 1_000_000).where(ts.notna(), None), pa.int64())
    df = table.append_column("ms", ms).to_pandas()
    n0 = len(df)
    df = df.dropna(subset=["event_id", "event_ts", "user_id", "tool", "action", "ms"])
    df = df.drop_duplicates(subset=["tool", "event_id"], keep="first")
    # records the native contract would quarantine (a --dirty world) are not delivered
    ok = df["action"].isin(ACTIONS) & (
        df["output_disposition"].isna() | df["output_disposition"].isin(DISPOSITIONS)
    )
    for c in ("prompt_tokens", "completion_tokens"):
        ok &= df[c].isna() | (df[c] >= 0)
    df = df[ok].copy()
    df["ms"] = df["ms"].astype("int64")
    if len(df) != n0:
        log.warning(
            "vendor delivery: %d native records not delivered (duplicates or records "
            "the contract rejects)",
            n0 - len(df),
        )
    truth = native_out / "truth" / "interactions.csv"
    if truth.exists():
        t = pd.read_csv(truth, usecols=["event_id", "tool", "org_id"], dtype=str)
        df = df.merge(t.rename(columns={"org_id": "org"}), on=["tool", "event_id"], how="left")
        df["org"] = df["org"].fillna(df["org_id"])
    else:
        df["org"] = df["org_id"]
    df = df[df["org"].notna()]
    for c in ("prompt_tokens", "completion_tokens"):
        df[c] = df[c].astype("Int64")
    return df.sort_values(["ms", "tool", "event_id"], kind="stable").reset_index(drop=True)


def assign_stacks(orgs: list[str], seed: int) -> dict[str, dict[str, str]]:
    """Org -> {tool: format}. Deterministic in seed; every format appears when len(orgs) >= 6."""
    if len(orgs) < max(len(v) for v in STACK_OPTIONS.values()):
        raise ValueError(
            f"vendor delivery needs at least 6 orgs to show every format, got {len(orgs)}"
        )
    rng = np.random.default_rng(seed)
    orgs = sorted(orgs)
    perm = [orgs[i] for i in rng.permutation(len(orgs))]
    stacks: dict[str, dict[str, str]] = {o: {} for o in orgs}
    for t, (tool, opts) in enumerate(sorted(STACK_OPTIONS.items())):
        for i, o in enumerate(perm):
            stacks[o][tool] = opts[(i + t) % len(opts)]
    return stacks


def _writers() -> dict[str, object]:
    """The writer modules of this package, by format name (every module but ``common``)."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name != "common":
            mod = importlib.import_module(f"{__name__}.{info.name}")
            out[mod.NAME] = mod
    return out


WRITERS = _writers()
#: companion format -> the stack format whose events it is written from
COMPANIONS = {
    name: w.COMPANION_OF for name, w in WRITERS.items() if getattr(w, "COMPANION_OF", None)
}


def _fresh_landing(native_out: Path, out: Path) -> tuple[Path, Path]:
    """Empty ``out/landing`` and ``out/truth``, then copy the native world's directory,
    work items, policies and truth into them; return both folders."""
    if native_out.resolve() == out.resolve():
        raise ValueError("out must differ from native_out")
    landing, truth = out / "landing", out / "truth"
    for p in (landing, truth):
        if p.exists():
            shutil.rmtree(p)
    landing.mkdir(parents=True)
    for name in ("directory", "work_items", "policies"):
        shutil.copytree(native_out / "landing" / name, landing / name)
    shutil.copytree(native_out / "truth", truth)
    return landing, truth


def _write_formats(ctx: "Delivery", df: pd.DataFrame, companions: tuple[str, ...]) -> None:
    """Each writer gets the events of its format, per week, for the whole world or per org
    as the writer's ``BY`` says; a companion writes from its host format's events."""
    for by in ("week", "world", "org"):
        for fmt, writer in WRITERS.items():
            if fmt in COMPANIONS and fmt not in companions:
                continue
            part = df[df["format"] == COMPANIONS.get(fmt, fmt)]
            if writer.BY != by or not len(part):
                continue
            if by == "world":
                writer.write(ctx, part)
            else:
                for key, kpart in part.groupby(by, sort=True):
                    writer.write(ctx, kpart, key)


def write_vendor_delivery(
    native_out: Path, out: Path, seed: int, companions: tuple[str, ...] = ()
) -> dict:
    """Write ``out/landing/vendor``, ``out/landing/identities``, copies of the native
    directory/work_items/policies and truth, and ``out/truth/vendor_counts.json``; return the
    counts (``{"formats": {format: {files, records, interactions, interaction_updates,
    user_days, org_days, quarantined}}, "stacks": {org: {tool: format}}, ...}``).
    ``companions``: companion formats (:data:`COMPANIONS`) written too."""
    unknown = sorted(set(companions) - set(COMPANIONS))
    if unknown:
        raise ValueError(f"not a companion format: {unknown} (known: {sorted(COMPANIONS)})")
    companions = tuple(sorted(set(companions)))
    native_out, out = Path(native_out), Path(out)
    landing, truth = _fresh_landing(native_out, out)

    df = _load(native_out)
    directory = (
        pads.dataset(str(native_out / "landing" / "directory"), format="parquet")
        .to_table(columns=["user_id", "org_id"])
        .to_pandas()
    )
    users = sorted(set(directory["user_id"].dropna()) | set(df["user_id"]))
    ids = _identities(users)
    (landing / "identities").mkdir(parents=True)
    write_text(
        landing / "identities" / "identities.csv", csv_text(list(ids.columns), ids.values.tolist())
    )
    alias = {k: dict(zip(g["user_id"], g["alias"])) for k, g in ids.groupby("alias_kind")}

    orgs = sorted(set(directory["org_id"].dropna()) | set(df["org"]))
    stacks = assign_stacks(orgs, seed)
    df["format"] = [stacks[o][t] for o, t in zip(df["org"], df["tool"])]
    df["week"] = _week_key(df["ms"].to_numpy())
    ctx = Delivery(out, alias, seed, ALL_FORMATS + companions)
    _write_formats(ctx, df, companions)
    missing = [f for f in ALL_FORMATS + companions if ctx.counts[f]["files"] == 0]
    if missing:
        raise ValueError(f"vendor delivery: no data for formats {missing} (too few events?)")

    native_by_format = df.groupby("format").size().to_dict()
    result = {
        "seed": seed,
        "native_interactions": int(len(df)),
        "formats": ctx.counts,
        "native_events_by_format": {f: int(native_by_format.get(f, 0)) for f in ALL_FORMATS},
        "stacks": stacks,
        "companions": {f: COMPANIONS[f] for f in companions},
        "note": (
            "rows = canonical rows map_record yields (before any dedup or fold); "
            "quarantined = records map_record rejects; interaction_updates are "
            "claude_code_otel api_request/tool_decision rows folded into their prompt"
        ),
    }
    (truth / "vendor_counts.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    st = pd.DataFrame(
        [(o, t, f) for o, s in stacks.items() for t, f in sorted(s.items())],
        columns=["org_id", "tool", "format"],
    )
    st.to_csv(truth / "vendor_stacks.csv", index=False)
    log.info(
        "vendor delivery: %d native interactions -> %d files in %d formats",
        len(df),
        sum(c["files"] for c in ctx.counts.values()),
        len(ctx.counts),
    )
    return {**result, "landing": str(landing), "truth": str(truth)}


def generate_vendor(
    out, *, seed: int, progress=log.info, companions: tuple[str, ...] = (), **world
) -> dict:
    """Generate a native world (``theater.synth.generate``, ``world``: n_orgs, n_users, start,
    end, rate_scale) in a temporary folder and write it to ``out`` as vendor exports
    (:func:`write_vendor_delivery`, with ``companions``); return its counts."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".native-", dir=out) as tmp:
        # the delivery reads the native world as Parquet
        generate(tmp, seed=seed, dirty=False, formats="parquet", progress=progress, **world)
        return write_vendor_delivery(Path(tmp), out, seed, companions)
