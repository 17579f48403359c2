"""Synthetic ``claude_code_otel`` exports (read back by
:mod:`theater.sources.exports.formats.claude_code_otel`): :func:`write` is called with one week
of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    USED,
    Delivery,
    digest,
    dump,
    iso_ms,
    kv,
    otlp_doc,
    prompt_text,
    rows_of,
    uuid_of,
    write_text,
)

NAME = "claude_code_otel"
BY = "week"


def _terminal(tool: str, user: str) -> str:
    """IDE-originated prompts come from an IDE terminal, CLI ones from a terminal emulator."""
    pick = int(digest("term|" + user, 2), 16)
    return ("vscode", "cursor")[pick % 2] if tool == "ide" else ("iTerm.app", "tmux")[pick % 2]


def _log_record(event: str, at: int, seq: int, attrs: list[tuple]) -> dict:
    """One OTLP log record of a Claude Code event at ``at`` (epoch ms)."""
    attrs = [
        ("event.name", event),
        ("event.timestamp", iso_ms(at)),
        ("event.sequence", seq),
    ] + attrs
    return {
        "timeUnixNano": str(at * 1_000_000),
        "observedTimeUnixNano": str((at + 40) * 1_000_000),
        "body": {"stringValue": f"claude_code.{event}"},
        "attributes": [kv(k, v) for k, v in attrs if v is not None],
    }


def _events(ctx: Delivery, r: dict) -> list[dict]:
    """The log records of one native event: its prompt, the API request, and a tool decision
    when the output was used or discarded (the only disposition Claude Code logs)."""
    org, user, ms = r["org"], r["user_id"], r["ms"]
    oauth = ctx.flag(org, "claude_oauth", 0.7)
    common = [
        ("prompt.id", uuid_of("prompt|" + r["event_id"])),
        ("session.id", r["session_id"]),
        ("user.account_uuid", ctx.a("account_uuid", user)),
        ("user.email", ctx.a("email", user) if oauth else None),
        ("terminal.type", _terminal(r["tool"], user)),
    ]
    text = prompt_text(r["prompt_fingerprint"]) if ctx.flag(org, "log_prompts") else None
    length = len(text) if text else 8 * (r["prompt_tokens"] or 1)
    out = [
        _log_record("user_prompt", ms, 0, common + [("prompt_length", length), ("prompt", text)]),
        _log_record(
            "api_request",
            ms + 1500,
            1,
            common
            + [
                ("model", r["model"]),
                ("input_tokens", r["prompt_tokens"]),
                ("output_tokens", r["completion_tokens"]),
                # no cost_usd: the world has no prices, and a made-up 0 would read as a known
                # cost
                ("duration_ms", 1400),
            ],
        ),
    ]
    disp = r["output_disposition"]
    if disp in USED or disp == "discarded":
        used = disp in USED
        decision = [
            ("tool_name", "Edit"),
            ("decision", "accept" if used else "reject"),
            ("source", "user_temporary" if used else "user_reject"),
        ]
        out.append(_log_record("tool_decision", ms + 3000, 2, common + decision))
    return out


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    recs, n_prompt = [], 0
    for r in rows_of(d):
        recs += _events(ctx, r)
        n_prompt += 1
    doc = otlp_doc(
        "resourceLogs",
        [kv("service.name", "claude-code"), kv("service.version", "2.1.4")],
        {"name": "com.anthropic.claude_code.events", "version": "2.1.4"},
        recs,
    )
    write_text(ctx.root / "claude_code_otel" / f"claude_code_logs_{week}.json", dump(doc))
    ctx.add(
        "claude_code_otel",
        files=1,
        records=len(recs),
        interactions=n_prompt,
        interaction_updates=len(recs) - n_prompt,
    )
