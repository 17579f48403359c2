"""The synthetic world delivered as vendor exports.

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

Vectorised with pandas/numpy over rows; Python loops only build the JSON/CSV text of each record.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

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
USED = ("accepted", "inserted", "copied", "edited")
DISPOSITIONS = USED + ("discarded", "ignored", "unknown")
ACTIONS = (
    "chat",
    "summarize",
    "rewrite",
    "generate",
    "complete",
    "code_edit",
    "agent",
    "review",
    "search",
    "other",
)
DAY_MS = 86_400_000
ACCOUNT = "480213579246"
REGION = "eu-west-1"
SHAREPOINT = "https://acme.sharepoint.example/docs"
CHATTY = ("chat", "summarize", "rewrite", "generate", "search", "review", "other")
APP_OF_ACTION = {
    "summarize": "Word",
    "rewrite": "Word",
    "generate": "Word",
    "chat": "Teams",
    "search": "BizChat",
    "review": "Outlook",
    "other": "Excel",
    "complete": "Word",
    "code_edit": "Word",
    "agent": "BizChat",
}
VIVA_APPS = {
    "Word": "Word",
    "Teams": "Teams",
    "BizChat": "Copilot_chat_work",
    "Outlook": "Outlook",
    "Excel": "Excel",
}
BEDROCK_MODELS = (
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "amazon.nova-pro-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
)
GENAI_OP = {
    "chat": "chat",
    "complete": "text_completion",
    "generate": "generate_content",
    "agent": "invoke_agent",
}
GH_FEATURE = {
    "complete": "code_completion",
    "code_edit": "chat_panel_edit_mode",
    "agent": "chat_panel_agent_mode",
}  # everything else: chat_panel_ask_mode
UUID_NS = "theater-vendor-delivery"


# ----------------------------------------------------------------------------- small helpers


def _h(text: str, n: int = 32) -> str:
    return hashlib.sha256(f"{UUID_NS}|{text}".encode()).hexdigest()[:n]


def _uuid(text: str) -> str:
    x = _h(text)
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-8{x[17:20]}-{x[20:32]}"


def _iso_ms(ms: int) -> str:
    s, r = divmod(int(ms), 1000)
    t = str(np.datetime64(s, "s"))
    return f"{t}.{r:03d}Z"


def _iso_s(ms: int) -> str:
    return str(np.datetime64(int(ms) // 1000, "s"))


def _day(ms) -> str:
    return str(np.datetime64(int(ms) // DAY_MS, "D"))


# words for each byte of the fingerprint: _BYTE_WORDS[k][b] spells bits 8k..8k+7 of byte value b
_BYTE_WORDS = [
    [" ".join(f"b{8 * k + i}{'x' if (b >> i) & 1 else 'y'}" for i in range(8)) for b in range(256)]
    for k in range(8)
]


def prompt_text(fingerprint: str | None) -> str | None:
    """Synthetic prompt text standing for a native fingerprint (see the module docstring)."""
    if not fingerprint:
        return None
    v = int(fingerprint, 16)
    return " ".join(_BYTE_WORDS[k][(v >> (8 * k)) & 0xFF] for k in range(8))


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _write_text(path: Path, text: str, *, gz: bool = False, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    if gz:
        with open(path, "wb") as fh:  # mtime 0: same seed -> same bytes
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="", compresslevel=1) as gzf:
                gzf.write(data)
    else:
        path.write_bytes(data)


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()


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


# ----------------------------------------------------------------------------- identities


def _identities(users: list[str]) -> pd.DataFrame:
    """Every vendor alias of every directory user (one row per alias kind)."""
    rows = []
    for u in users:
        local = u.split("@")[0]
        email = u if "@" in u else f"{local}@acme-corp.example"
        h = _h(u)
        rows += [
            (email, "email", u),
            (f"{local}@acmecorp.onmicrosoft.example", "upn", u),
            (f"arn:aws:sts::{ACCOUNT}:assumed-role/BedrockUsers/{local}", "iam_arn", u),
            (f"{local.split('.')[0]}-{h[:6]}", "github_login", u),
            (str(10_000_000 + int(h[:7], 16) % 89_999_999), "github_id", u),
            (_uuid("idc|" + u), "identity_center_id", u),
            (_uuid("anthropic|" + u), "account_uuid", u),
            (f"usr-{h[6:16]}", "user_id", u),  # internal app user id (LiteLLM, GenAI apps)
            (f"P{h[16:28].upper()}", "person_id", u),
        ]
    return pd.DataFrame(rows, columns=["alias", "alias_kind", "user_id"])


# ----------------------------------------------------------------------------- loading


def _load(native_out: Path) -> pd.DataFrame:
    src = native_out / "landing" / "interactions"
    files = sorted(str(p) for p in src.rglob("*.parquet"))
    if not files:
        raise FileNotFoundError(
            f"{src}: no parquet interaction files (generate the native world "
            f"with formats='parquet')"
        )
    cols = [
        "event_id",
        "event_ts",
        "user_id",
        "org_id",
        "tool",
        "action",
        "session_id",
        "prompt_fingerprint",
        "prompt_tokens",
        "completion_tokens",
        "model",
        "output_disposition",
        "artifact_id",
    ]
    table = pads.dataset(files, format="parquet").to_table(columns=cols)
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


# ----------------------------------------------------------------------------- per-event writers


class _Ctx:
    def __init__(self, out: Path, alias: dict[str, dict[str, str]], seed: int):
        self.root = out / "landing" / "vendor"
        self.alias = alias  # kind -> {user_id: alias}
        self.seed = seed
        self._flags: dict[tuple, bool] = {}
        self.counts: dict[str, dict[str, int]] = {
            f: {
                "files": 0,
                "records": 0,
                "interactions": 0,
                "interaction_updates": 0,
                "user_days": 0,
                "org_days": 0,
                "quarantined": 0,
            }
            for f in ALL_FORMATS
        }

    def a(self, kind: str, user: str) -> str:
        return self.alias[kind][user]

    def flag(self, org: str, what: str, share: float = 0.5) -> bool:
        """A deterministic per-org yes/no (e.g. 'logs prompts')."""
        key = (org, what, share)
        if key not in self._flags:
            self._flags[key] = int(_h(f"{self.seed}|{org}|{what}", 8), 16) / 0xFFFFFFFF < share
        return self._flags[key]

    def add(self, fmt: str, **kw: int) -> None:
        for k, v in kw.items():
            self.counts[fmt][k] += int(v)


def _lists(d: pd.DataFrame, cols) -> list[list]:
    """Columns as Python lists, missing values as None (no per-value pandas access)."""
    out = []
    for c in cols:
        s = d[c]
        if s.dtype == object:
            out.append([None if v is None or v != v else v for v in s.tolist()])
        else:
            out.append(s.astype(object).where(s.notna(), None).tolist())
    return out


ROW_COLS = (
    "event_id",
    "ms",
    "user_id",
    "org",
    "tool",
    "action",
    "session_id",
    "prompt_fingerprint",
    "prompt_tokens",
    "completion_tokens",
    "model",
    "output_disposition",
    "artifact_id",
)


def _rows(d: pd.DataFrame) -> list[dict]:
    return [dict(zip(ROW_COLS, vals)) for vals in zip(*_lists(d, ROW_COLS))]


def _records(g: pd.DataFrame) -> list[dict]:
    cols = list(g.columns)
    return [dict(zip(cols, vals)) for vals in zip(*_lists(g, cols))]


def _runs(recs: list[dict], keys: tuple) -> list[list[dict]]:
    """Consecutive records with the same key values (input sorted by those keys)."""
    out: list[list[dict]] = []
    last = object()
    for r in recs:
        k = tuple(r[x] for x in keys)
        if k != last:
            out.append([])
            last = k
        out[-1].append(r)
    return out


def _claude_code_otel(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    recs, n_prompt, n_upd = [], 0, 0
    for r in _rows(d):
        org, user = r["org"], r["user_id"]
        pid = _uuid("prompt|" + r["event_id"])
        oauth = ctx.flag(org, "claude_oauth", 0.7)
        common = [
            ("prompt.id", pid),
            ("session.id", r["session_id"]),
            ("user.account_uuid", ctx.a("account_uuid", user)),
            ("user.email", ctx.a("email", user) if oauth else None),
            ("terminal.type", _terminal(r["tool"], user)),
        ]
        text = prompt_text(r["prompt_fingerprint"]) if ctx.flag(org, "log_prompts") else None
        ms = r["ms"]

        def rec(event, at, seq, extra):
            attrs = (
                [("event.name", event), ("event.timestamp", _iso_ms(at)), ("event.sequence", seq)]
                + common
                + extra
            )
            return {
                "timeUnixNano": str(at * 1_000_000),
                "observedTimeUnixNano": str((at + 40) * 1_000_000),
                "body": {"stringValue": f"claude_code.{event}"},
                "attributes": [_kv(k, v) for k, v in attrs if v is not None],
            }

        recs.append(
            rec(
                "user_prompt",
                ms,
                0,
                [
                    ("prompt_length", len(text) if text else 8 * (r["prompt_tokens"] or 1)),
                    ("prompt", text),
                ],
            )
        )
        n_prompt += 1
        recs.append(
            rec(
                "api_request",
                ms + 1500,
                1,
                [
                    ("model", r["model"]),
                    ("input_tokens", r["prompt_tokens"]),
                    ("output_tokens", r["completion_tokens"]),
                    ("cost_usd", 0.0),
                    ("duration_ms", 1400),
                ],
            )
        )
        n_upd += 1
        disp = r["output_disposition"]
        if disp in USED or disp == "discarded":
            recs.append(
                rec(
                    "tool_decision",
                    ms + 3000,
                    2,
                    [
                        ("tool_name", "Edit"),
                        ("decision", "accept" if disp in USED else "reject"),
                        ("source", "user_temporary" if disp in USED else "user_reject"),
                    ],
                )
            )
            n_upd += 1
    doc = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [
                        _kv("service.name", "claude-code"),
                        _kv("service.version", "2.1.4"),
                    ]
                },
                "scopeLogs": [
                    {
                        "scope": {"name": "com.anthropic.claude_code.events", "version": "2.1.4"},
                        "logRecords": recs,
                    }
                ],
            }
        ]
    }
    _write_text(ctx.root / "claude_code_otel" / f"claude_code_logs_{week}.json", _dump(doc))
    ctx.add(
        "claude_code_otel",
        files=1,
        records=len(recs),
        interactions=n_prompt,
        interaction_updates=n_upd,
    )


def _terminal(tool: str, user: str) -> str:
    """IDE-originated prompts come from an IDE terminal, CLI ones from a terminal emulator."""
    pick = int(_h("term|" + user, 2), 16)
    return ("vscode", "cursor")[pick % 2] if tool == "ide" else ("iTerm.app", "tmux")[pick % 2]


def _kv(key: str, value) -> dict:
    if type(value) is str:
        return {"key": key, "value": {"stringValue": value}}
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


PURVIEW_COLS = [
    "RecordId",
    "CreationDate",
    "RecordType",
    "Operation",
    "UserId",
    "AuditData",
    "AssociatedAdminUnits",
    "AssociatedAdminUnitsNames",
]


def _m365_audit(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    by_kind: dict[bool, list] = {True: [], False: []}
    for r in _rows(d):
        eid = _uuid("m365|" + r["event_id"])
        app = APP_OF_ACTION.get(r["action"], "Teams")
        data = {
            "AppHost": app,
            "Contexts": (
                [{"Id": f"{SHAREPOINT}/{r['artifact_id']}.docx", "Type": "docx"}]
                if r["artifact_id"]
                else []
            ),
            "Messages": [
                {"Id": str(r["ms"]), "isPrompt": True},
                {"Id": str(r["ms"] + 2000), "isPrompt": False},
            ],
        }
        if r["session_id"]:
            data["ThreadId"] = f"19:{r['session_id']}@thread.v2"
        audit = {
            "CreationTime": _iso_s(r["ms"]),
            "Id": eid,
            "Operation": "CopilotInteraction",
            "OrganizationId": "7c1d2e3f-0000-4000-8000-00000000acme",
            "RecordType": 261,
            "UserKey": _h("key|" + r["user_id"], 16).upper(),
            "UserType": 0,
            "Version": 1,
            "Workload": "Copilot",
            "UserId": ctx.a("upn", r["user_id"]),
            "CopilotEventData": data,
        }
        by_kind[ctx.flag(r["org"], "purview_csv")].append(audit)
    for is_csv, audits in by_kind.items():
        if not audits:
            continue
        if is_csv:
            rows = [
                [
                    a["Id"],
                    a["CreationTime"] + ".0000000Z",
                    "CopilotInteraction",
                    "CopilotInteraction",
                    a["UserId"],
                    _dump(a),
                    "",
                    "",
                ]
                for a in audits
            ]
            text = _csv_text(PURVIEW_COLS, rows)
            _write_text(
                ctx.root / "m365_copilot_audit" / f"purview_audit_{week}.csv", text, bom=True
            )
        else:
            _write_text(
                ctx.root / "m365_copilot_audit" / f"copilot_interactions_{week}.jsonl",
                "".join(_dump(a) + "\n" for a in audits),
            )
        ctx.add("m365_copilot_audit", files=1, records=len(audits), interactions=len(audits))


def _bedrock(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    lines = []
    for r in _rows(d):
        text = prompt_text(r["prompt_fingerprint"]) or "hello"
        model = BEDROCK_MODELS[int(_h("model|" + str(r["model"]), 4), 16) % len(BEDROCK_MODELS)]
        rec = {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": _iso_s(r["ms"]) + "Z",
            "accountId": ACCOUNT,
            "identity": {"arn": ctx.a("iam_arn", r["user_id"])},
            "region": REGION,
            "requestId": _uuid("bedrock|" + r["event_id"]),
            "operation": "Converse",
            "modelId": model,
            "input": {
                "inputContentType": "application/json",
                "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": text}]}]},
                "inputTokenCount": r["prompt_tokens"],
            },
            "output": {
                "outputContentType": "application/json",
                "outputBodyJson": {"stopReason": "end_turn"},
                "outputTokenCount": r["completion_tokens"],
            },
        }
        if r["session_id"]:
            rec["requestMetadata"] = {"session_id": r["session_id"]}
        lines.append(_dump(rec))
    name = f"{ACCOUNT}_BedrockModelInvocationLogs_{REGION}_{week}.json.gz"
    _write_text(ctx.root / "bedrock_invocation_logs" / name, "\n".join(lines) + "\n", gz=True)
    ctx.add("bedrock_invocation_logs", files=1, records=len(lines), interactions=len(lines))


LITELLM_COLS = [
    "request_id",
    "call_type",
    "api_key",
    "spend",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "startTime",
    "endTime",
    "completionStartTime",
    "model",
    "model_id",
    "model_group",
    "api_base",
    "user",
    "metadata",
    "cache_hit",
    "cache_key",
    "request_tags",
    "team_id",
    "end_user",
    "requester_ip_address",
    "messages",
    "response",
    "session_id",
    "status",
]


def _litellm(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    rows = []
    for r in _rows(d):
        ms = r["ms"]
        start = _iso_ms(ms).replace("T", " ").rstrip("Z") + "000"
        end = _iso_ms(ms + 1800).replace("T", " ").rstrip("Z") + "000"
        stored = ctx.flag(r["org"], "store_prompts")
        text = prompt_text(r["prompt_fingerprint"]) if stored else None
        pt, ct = r["prompt_tokens"], r["completion_tokens"]
        rows.append(
            [
                f"chatcmpl-{_h('litellm|' + r['event_id'], 24)}",
                "acompletion",
                _h("key|" + r["user_id"], 64),
                "0.0",
                (pt or 0) + (ct or 0),
                pt,
                ct,
                start,
                end,
                "",
                r["model"],
                "",
                r["model"],
                "https://llm.internal.example/v1",
                ctx.a("user_id", r["user_id"]),
                "{}",
                "False",
                "",
                "[]",
                f"team-{r['org']}",
                "",
                "10.0.0.1",
                _dump([{"role": "user", "content": text}]) if text else "{}",
                "{}",
                r["session_id"] or "",
                "success",
            ]
        )
    _write_text(
        ctx.root / "litellm_spend_logs" / f"LiteLLM_SpendLogs_{week}.csv",
        _csv_text(LITELLM_COLS, rows),
    )
    ctx.add("litellm_spend_logs", files=1, records=len(rows), interactions=len(rows))


def _cursor_events(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    events = []
    for r in _rows(d):
        ev = {
            "timestamp": str(r["ms"]),
            "model": r["model"] or "auto",
            "kind": "Included in Business",
            "maxMode": False,
            "requestsCosts": 1,
            "isTokenBasedCall": r["prompt_tokens"] is not None,
        }
        if r["prompt_tokens"] is not None:
            ev["tokenUsage"] = {
                "inputTokens": r["prompt_tokens"],
                "outputTokens": r["completion_tokens"] or 0,
                "cacheWriteTokens": 0,
                "cacheReadTokens": 0,
                "totalCents": 0.1,
            }
        ev["isFreeBugbot"] = False
        ev["userEmail"] = ctx.a("email", r["user_id"])
        events.append(ev)
    lo, hi = int(d["ms"].min()) // DAY_MS * DAY_MS, (int(d["ms"].max()) // DAY_MS + 1) * DAY_MS
    doc = {
        "totalUsageEventsCount": len(events),
        "pagination": {
            "numPages": 1,
            "currentPage": 1,
            "pageSize": len(events),
            "hasNextPage": False,
            "hasPreviousPage": False,
        },
        "usageEvents": events,
        "period": {"startDate": lo, "endDate": hi},
    }
    _write_text(ctx.root / "cursor_usage_events" / f"filtered_usage_events_{week}.json", _dump(doc))
    ctx.add("cursor_usage_events", files=1, records=len(events), interactions=len(events))


def _otel_genai(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    spans, quarantined = [], 0
    for r in _rows(d):
        x = _h("span|" + r["event_id"], 48)
        start = r["ms"] * 1_000_000
        attrs = [
            ("gen_ai.operation.name", GENAI_OP.get(r["action"], "chat")),
            ("gen_ai.system", "openai"),
            ("gen_ai.request.model", r["model"]),
            ("gen_ai.usage.input_tokens", r["prompt_tokens"]),
            ("gen_ai.usage.output_tokens", r["completion_tokens"]),
            ("gen_ai.conversation.id", r["session_id"]),
        ]
        if int(x[:4], 16) % 50 == 0:  # the app forgot the user attribute
            quarantined += 1
        else:
            attrs.append(("user.id", ctx.a("user_id", r["user_id"])))
        if ctx.flag(r["org"], "capture_content"):
            text = prompt_text(r["prompt_fingerprint"])
            if text:
                parts = [{"type": "text", "content": text}]
                attrs.append(("gen_ai.input.messages", _dump([{"role": "user", "parts": parts}])))
        spans.append(
            {
                "traceId": x[:32],
                "spanId": x[32:48],
                "parentSpanId": "",
                "name": f"chat {r['model'] or ''}".strip(),
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 1_500_000_000),
                "attributes": [_kv(k, v) for k, v in attrs if v is not None],
                "status": {},
            }
        )
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        _kv("service.name", "assistant-gateway"),
                        _kv("deployment.environment", "prod"),
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {
                            "name": "opentelemetry.instrumentation.openai_v2",
                            "version": "2.1b0",
                        },
                        "spans": spans,
                    }
                ],
            }
        ]
    }
    _write_text(ctx.root / "otel_genai" / f"traces_{week}.json", _dump(doc))
    ctx.add(
        "otel_genai",
        files=1,
        records=len(spans),
        interactions=len(spans) - quarantined,
        quarantined=quarantined,
    )


# ----------------------------------------------------------------------------- aggregates


def _prep_agg(d: pd.DataFrame) -> pd.DataFrame:
    d = d.copy()
    d["day"] = [_day(v) for v in (d["ms"] // DAY_MS * DAY_MS)]
    disp = d["output_disposition"]
    d["used"] = disp.isin(USED).astype("int64")
    d["discarded"] = (disp == "discarded").astype("int64")
    d["ignored"] = (disp == "ignored").astype("int64")
    d["lines"] = (d["completion_tokens"].fillna(0).astype("int64") // 12).astype("int64")
    d["lines_used"] = d["lines"] * d["used"]
    d["n"] = 1
    return d


def _github_users(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    d = _prep_agg(d)
    d["feature"] = d["action"].map(GH_FEATURE).fillna("chat_panel_ask_mode")
    g = (
        d.groupby(["user_id", "day", "feature"], sort=True)
        .agg(
            n=("n", "sum"),
            used=("used", "sum"),
            lines=("lines", "sum"),
            lines_used=("lines_used", "sum"),
        )
        .reset_index()
    )
    lines, n_rows = [], 0
    for part in _runs(_records(g), ("user_id", "day")):
        user, day = part[0]["user_id"], part[0]["day"]
        feats = []
        for r in part:
            feats.append(
                {
                    "feature": r["feature"],
                    "user_initiated_interaction_count": 0
                    if r["feature"] == "code_completion"
                    else int(r["n"]),
                    "code_generation_activity_count": int(r["n"]),
                    "code_acceptance_activity_count": int(r["used"]),
                    "loc_suggested_to_add_sum": int(r["lines"]),
                    "loc_suggested_to_delete_sum": 0,
                    "loc_added_sum": int(r["lines_used"]),
                    "loc_deleted_sum": 0,
                }
            )
        tot = {k: sum(f[k] for f in feats) for k in feats[0] if k != "feature"}
        rec = {
            "report_start_day": day,
            "report_end_day": day,
            "day": day,
            "enterprise_id": "51234",
            "user_id": int(ctx.a("github_id", user)),
            "user_login": ctx.a("github_login", user),
            **tot,
            "used_agent": any(f["feature"] == "chat_panel_agent_mode" for f in feats),
            "used_chat": any(f["feature"] != "code_completion" for f in feats),
            "totals_by_ide": [{"ide": "vscode", **tot}],
            "totals_by_feature": feats,
        }
        lines.append(_dump(rec))
        n_rows += len(feats)
    _write_text(
        ctx.root / "github_copilot_users" / f"copilot_users_{week}.ndjson",
        "".join(x + "\n" for x in lines),
    )
    ctx.add("github_copilot_users", files=1, records=len(lines), user_days=n_rows)


def _cursor_daily(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    d = _prep_agg(d)
    for name, mask in (
        ("tab", d["action"] == "complete"),
        ("apply", d["action"] == "code_edit"),
        ("agent", d["action"] == "agent"),
        ("chat", ~d["action"].isin(["complete", "code_edit", "agent"])),
    ):
        d[f"{name}_n"] = mask.astype("int64")
        d[f"{name}_used"] = d[f"{name}_n"] * d["used"]
        d[f"{name}_rej"] = d[f"{name}_n"] * d["discarded"]
    cols = [
        c
        for c in d.columns
        if c.split("_")[0] in ("tab", "apply", "agent", "chat")
        and c.split("_")[-1] in ("n", "used", "rej")
    ]
    g = d.groupby(["user_id", "day"], sort=True)[cols + ["lines", "lines_used"]].sum().reset_index()
    mc = (
        d.assign(model=d["model"].fillna("auto"))
        .groupby(["user_id", "day", "model"], sort=True)
        .size()
        .reset_index(name="k")
    )
    mc = mc.sort_values(
        ["user_id", "day", "k", "model"], ascending=[True, True, False, True], kind="stable"
    ).drop_duplicates(["user_id", "day"])
    top = dict(zip(zip(mc["user_id"], mc["day"]), mc["model"]))
    data = []
    for r in _records(g):
        day_ms = int(np.datetime64(r["day"], "D").astype("int64")) * DAY_MS
        data.append(
            {
                "date": day_ms,
                "isActive": True,
                "totalLinesAdded": int(r["lines"]),
                "totalLinesDeleted": 0,
                "acceptedLinesAdded": int(r["lines_used"]),
                "acceptedLinesDeleted": 0,
                "totalApplies": int(r["apply_n"]),
                "totalAccepts": int(r["apply_used"]),
                "totalRejects": int(r["apply_rej"]),
                "totalTabsShown": int(r["tab_n"]),
                "totalTabsAccepted": int(r["tab_used"]),
                "composerRequests": 0,
                "chatRequests": int(r["chat_n"]),
                "agentRequests": int(r["agent_n"]),
                "cmdkUsages": 0,
                "subscriptionIncludedReqs": int(r["chat_n"] + r["agent_n"] + r["apply_n"]),
                "apiKeyReqs": 0,
                "usageBasedReqs": 0,
                "bugbotUsages": 0,
                "mostUsedModel": top[(r["user_id"], r["day"])],
                "applyMostUsedExtension": ".py",
                "tabMostUsedExtension": ".py",
                "clientVersion": "1.4.2",
                "email": ctx.a("email", r["user_id"]),
            }
        )
    lo = int(np.datetime64(g["day"].min(), "D").astype("int64")) * DAY_MS
    doc = {"data": data, "period": {"startDate": lo, "endDate": lo + 7 * DAY_MS}}
    _write_text(ctx.root / "cursor_daily_usage" / f"daily_usage_{week}.json", _dump(doc))
    # one row per feature present: code_completion, apply, chat, composer, agent, cmdk, bugbot, all
    ctx.add("cursor_daily_usage", files=1, records=len(data), user_days=8 * len(data))


AMAZON_Q_COLS = [
    "UserId",
    "Date",
    "Chat_AICodeLines",
    "Chat_MessagesInteracted",
    "Chat_MessagesSent",
    "Inline_AICodeLines",
    "Inline_AcceptanceCount",
    "Inline_SuggestionsCount",
    "InlineChat_AcceptanceEventCount",
    "InlineChat_DismissalEventCount",
    "InlineChat_RejectionEventCount",
    "InlineChat_TotalEventCount",
    "Dev_AcceptanceEventCount",
    "Dev_GenerationEventCount",
]


def _amazon_q(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    d = _prep_agg(d)
    fam = np.select(
        [d["action"] == "complete", d["action"] == "code_edit", d["action"] == "agent"],
        ["inline", "inlinechat", "dev"],
        "chat",
    )
    d["fam"] = fam
    g = (
        d.groupby(["user_id", "day", "fam"], sort=True)
        .agg(
            n=("n", "sum"),
            used=("used", "sum"),
            rej=("discarded", "sum"),
            dis=("ignored", "sum"),
            lines_used=("lines_used", "sum"),
        )
        .reset_index()
    )
    rows, n_rows = [], 0
    for part in _runs(_records(g), ("user_id", "day")):
        user, day = part[0]["user_id"], part[0]["day"]
        f = {r["fam"]: r for r in part}
        row = {c: None for c in AMAZON_Q_COLS}
        row["UserId"] = ctx.a("identity_center_id", user)
        row["Date"] = f"{day[5:7]}-{day[8:10]}-{day[:4]}"
        if "chat" in f:
            c = f["chat"]
            row.update(
                Chat_AICodeLines=int(c["lines_used"]),
                Chat_MessagesInteracted=int(c["used"]),
                Chat_MessagesSent=2 * int(c["n"]),
            )  # prompts and responses
        if "inline" in f:
            c = f["inline"]
            row.update(
                Inline_AICodeLines=int(c["lines_used"]),
                Inline_AcceptanceCount=int(c["used"]),
                Inline_SuggestionsCount=int(c["n"]),
            )
        if "inlinechat" in f:
            c = f["inlinechat"]
            row.update(
                InlineChat_AcceptanceEventCount=int(c["used"]),
                InlineChat_DismissalEventCount=int(c["dis"]),
                InlineChat_RejectionEventCount=int(c["rej"]),
                InlineChat_TotalEventCount=int(c["n"]),
            )
        if "dev" in f:
            c = f["dev"]
            row.update(
                Dev_AcceptanceEventCount=int(c["used"]), Dev_GenerationEventCount=int(c["n"])
            )
        rows.append([row[c] for c in AMAZON_Q_COLS])
        n_rows += len(f)
    _write_text(
        ctx.root / "amazon_q_user_activity" / f"{ACCOUNT}_user_activity_{week}.csv",
        _csv_text(AMAZON_Q_COLS, rows),
    )
    ctx.add("amazon_q_user_activity", files=1, records=len(rows), user_days=n_rows)


def _claude_analytics(ctx: _Ctx, d: pd.DataFrame, week: str) -> None:
    d = _prep_agg(d)
    d["model"] = d["model"].fillna("claude-sonnet-4-5")
    d["pt"] = d["prompt_tokens"].fillna(0).astype("int64")
    d["ct"] = d["completion_tokens"].fillna(0).astype("int64")
    tok = d.groupby(["user_id", "day", "model"], sort=True)[["pt", "ct"]].sum().reset_index()
    models: dict[tuple, list] = {}
    for r in _records(tok):
        models.setdefault((r["user_id"], r["day"]), []).append(
            {
                "model": r["model"],
                "tokens": {
                    "input": int(r["pt"]),
                    "output": int(r["ct"]),
                    "cache_read": 0,
                    "cache_creation": 0,
                },
                "estimated_cost": {"currency": "USD", "amount": 0},
            }
        )
    g = (
        d.groupby(["user_id", "day"], sort=True)
        .agg(
            sessions=("session_id", "nunique"),
            used=("used", "sum"),
            rej=("discarded", "sum"),
            lines_used=("lines_used", "sum"),
        )
        .reset_index()
    )
    data = []
    for r in _records(g):
        user, day = r["user_id"], r["day"]
        data.append(
            {
                "date": f"{day}T00:00:00Z",
                "actor": {"type": "user_actor", "email_address": ctx.a("email", user)},
                "organization_id": "5f1e2d3c-0000-4000-8000-0000000acme0",
                "customer_type": "api",
                "terminal_type": "vscode",
                "core_metrics": {
                    "num_sessions": int(r["sessions"]),
                    "lines_of_code": {"added": int(r["lines_used"]), "removed": 0},
                    "commits_by_claude_code": 0,
                    "pull_requests_by_claude_code": 0,
                },
                "tool_actions": {
                    "edit_tool": {"accepted": int(r["used"]), "rejected": int(r["rej"])}
                },
                "model_breakdown": models[(user, day)],
            }
        )
    doc = {"data": data, "has_more": False, "next_page": None}
    _write_text(
        ctx.root / "claude_code_analytics" / f"claude_code_analytics_{week}.json", _dump(doc)
    )
    ctx.add("claude_code_analytics", files=1, records=len(data), user_days=len(data))


def _viva(ctx: _Ctx, d: pd.DataFrame) -> None:
    """Person-weeks (Sunday weeks) of the orgs' docs activity, one CSV for the whole period."""
    d = d.copy()
    days = d["ms"] // DAY_MS
    d["week"] = days - ((days + 4) % 7)  # 1970-01-04 was a Sunday
    d["app"] = d["action"].map(APP_OF_ACTION).fillna("Teams").map(VIVA_APPS)
    d["summ"] = (d["action"] == "summarize").astype("int64")
    apps = list(dict.fromkeys(VIVA_APPS.values()))
    header = (
        ["PersonId", "MetricDate", "Organization", "Total_Copilot_actions_taken"]
        + [f"Copilot_actions_taken_in_{a}" for a in apps]
        + ["Summarise_Word_document_actions_taken_using_Copilot", "Collaboration_hours"]
    )
    per_app = d.groupby(["user_id", "week", "app"], sort=True).size().reset_index(name="k")
    counts: dict[tuple, dict] = {}
    for r in _records(per_app):
        counts.setdefault((r["user_id"], r["week"]), {})[r["app"]] = int(r["k"])
    g = (
        d.groupby(["user_id", "week"], sort=True)
        .agg(n=("summ", "size"), summ=("summ", "sum"), org=("org", "first"))
        .reset_index()
    )
    rows, n_rows = [], 0
    for r in _records(g):
        c = counts[(r["user_id"], r["week"])]
        summ = int(r["summ"])
        y, m, dd = str(np.datetime64(int(r["week"]), "D")).split("-")
        row = [ctx.a("person_id", r["user_id"]), f"{m}/{dd}/{y}", r["org"], int(r["n"])]
        row += [c.get(a) for a in apps]
        row += [summ or None, "12.5"]
        rows.append(row)
        n_rows += len(c) + (1 if summ else 0)
    _write_text(
        ctx.root / "viva_person_query" / "person_query_copilot_weekly.csv",
        _csv_text(header, rows),
        bom=True,
    )
    ctx.add("viva_person_query", files=1, records=len(rows), user_days=n_rows)


def _github_org_metrics(ctx: _Ctx, d: pd.DataFrame, org: str) -> None:
    d = _prep_agg(d)
    out = []
    for day, part in d.groupby("day", sort=True):
        rec = {
            "date": day,
            "total_active_users": int(part["user_id"].nunique()),
            "total_engaged_users": int(part["user_id"].nunique()),
        }
        cc = part[part["action"] == "complete"]
        if len(cc):
            engaged = int(cc["user_id"].nunique())
            language = {
                "name": "python",
                "total_engaged_users": engaged,
                "total_code_suggestions": int(len(cc)),
                "total_code_acceptances": int(cc["used"].sum()),
                "total_code_lines_suggested": int(cc["lines"].sum()),
                "total_code_lines_accepted": int(cc["lines_used"].sum()),
            }
            model = {
                "name": "default",
                "is_custom_model": False,
                "custom_model_training_date": None,
                "total_engaged_users": engaged,
                "languages": [language],
            }
            rec["copilot_ide_code_completions"] = {
                "total_engaged_users": engaged,
                "editors": [{"name": "vscode", "total_engaged_users": engaged, "models": [model]}],
            }
        ch = part[part["action"] != "complete"]
        if len(ch):
            rec["copilot_ide_chat"] = {
                "total_engaged_users": int(ch["user_id"].nunique()),
                "editors": [
                    {
                        "name": "vscode",
                        "total_engaged_users": int(ch["user_id"].nunique()),
                        "models": [
                            {
                                "name": "default",
                                "is_custom_model": False,
                                "custom_model_training_date": None,
                                "total_engaged_users": int(ch["user_id"].nunique()),
                                "total_chats": int(len(ch)),
                                "total_chat_insertion_events": int(ch["used"].sum()),
                                "total_chat_copy_events": 0,
                            }
                        ],
                    }
                ],
            }
        out.append(rec)
        ctx.add(
            "github_copilot_org_metrics",
            org_days=1 + ("copilot_ide_code_completions" in rec) + ("copilot_ide_chat" in rec),
        )
    _write_text(ctx.root / "github_copilot_org_metrics" / org / "copilot_metrics.json", _dump(out))
    ctx.add("github_copilot_org_metrics", files=1, records=len(out))


M365_APPS = {
    "Word": "wordActiveUsers",
    "Teams": "microsoftTeamsActiveUsers",
    "BizChat": "copilotChatActiveUsers",
    "Outlook": "outlookActiveUsers",
    "Excel": "excelActiveUsers",
}


def _m365_reports(ctx: _Ctx, d: pd.DataFrame, org: str) -> None:
    d = _prep_agg(d)
    d["app"] = d["action"].map(APP_OF_ACTION).fillna("Teams")
    trend = []
    for day, part in d.groupby("day", sort=True):
        rec = {"reportDate": day, "anyAppActiveUsers": int(part["user_id"].nunique())}
        for app, key in M365_APPS.items():
            rec[key] = int(part.loc[part["app"] == app, "user_id"].nunique())
        trend.append(rec)
    refresh = _day(int(d["ms"].max()) + DAY_MS)
    doc = {
        "value": [
            {
                "reportRefreshDate": refresh,
                "tenantDisplayName": org,
                "reportPeriod": "D180",
                "adoptionByDate": trend,
            }
        ]
    }
    _write_text(
        ctx.root / "m365_copilot_reports" / org / "copilot_user_count_trend.json", _dump(doc)
    )
    ctx.add("m365_copilot_reports", files=1, records=1, org_days=len(trend) * (1 + len(M365_APPS)))


EVENT_WRITERS = {
    "claude_code_otel": _claude_code_otel,
    "m365_copilot_audit": _m365_audit,
    "bedrock_invocation_logs": _bedrock,
    "litellm_spend_logs": _litellm,
    "cursor_usage_events": _cursor_events,
    "otel_genai": _otel_genai,
    "github_copilot_users": _github_users,
    "cursor_daily_usage": _cursor_daily,
    "amazon_q_user_activity": _amazon_q,
    "claude_code_analytics": _claude_analytics,
}
ORG_WRITERS = {
    "github_copilot_org_metrics": _github_org_metrics,
    "m365_copilot_reports": _m365_reports,
}


# ----------------------------------------------------------------------------- entry point


def write_vendor_delivery(native_out: Path, out: Path, seed: int) -> dict:
    """Write ``out/landing/vendor``, ``out/landing/identities``, copies of the native
    directory/work_items/policies and truth, and ``out/truth/vendor_counts.json``; return the
    counts (``{"formats": {format: {files, records, interactions, interaction_updates,
    user_days, org_days, quarantined}}, "stacks": {org: {tool: format}}, ...}``)."""
    native_out, out = Path(native_out), Path(out)
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

    df = _load(native_out)
    directory = (
        pads.dataset(str(native_out / "landing" / "directory"), format="parquet")
        .to_table(columns=["user_id", "org_id"])
        .to_pandas()
    )
    users = sorted(set(directory["user_id"].dropna()) | set(df["user_id"]))
    ids = _identities(users)
    (landing / "identities").mkdir(parents=True)
    _write_text(
        landing / "identities" / "identities.csv", _csv_text(list(ids.columns), ids.values.tolist())
    )
    alias = {k: dict(zip(g["user_id"], g["alias"])) for k, g in ids.groupby("alias_kind")}

    orgs = sorted(set(directory["org_id"].dropna()) | set(df["org"]))
    stacks = assign_stacks(orgs, seed)
    df["format"] = [stacks[o][t] for o, t in zip(df["org"], df["tool"])]
    df["week"] = _week_key(df["ms"].to_numpy())
    ctx = _Ctx(out, alias, seed)
    for fmt, writer in EVENT_WRITERS.items():
        part = df[df["format"] == fmt]
        for week, wpart in part.groupby("week", sort=True):
            writer(ctx, wpart, week)
    viva = df[df["format"] == "viva_person_query"]
    if len(viva):
        _viva(ctx, viva)
    for fmt, writer in ORG_WRITERS.items():
        part = df[df["format"] == fmt]
        for org, opart in part.groupby("org", sort=True):
            writer(ctx, opart, org)
    missing = [f for f in ALL_FORMATS if ctx.counts[f]["files"] == 0]
    if missing:
        raise ValueError(f"vendor delivery: no data for formats {missing} (too few events?)")

    native_by_format = df.groupby("format").size().to_dict()
    result = {
        "seed": seed,
        "native_interactions": int(len(df)),
        "formats": ctx.counts,
        "native_events_by_format": {f: int(native_by_format.get(f, 0)) for f in ALL_FORMATS},
        "stacks": stacks,
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
        len(ALL_FORMATS),
    )
    return {**result, "landing": str(landing), "truth": str(truth)}


def generate_vendor(out, *, seed: int, progress=log.info, **world) -> dict:
    """Generate a native world (``theater.synth.generate``, ``world``: n_orgs, n_users, start,
    end, rate_scale) in a temporary folder and write it to ``out`` as vendor exports
    (:func:`write_vendor_delivery`); return its counts."""
    import tempfile

    from . import synth

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".native-", dir=out) as tmp:
        # the delivery reads the native world as Parquet
        synth.generate(tmp, seed=seed, dirty=False, formats="parquet", progress=progress, **world)
        return write_vendor_delivery(Path(tmp), out, seed)
