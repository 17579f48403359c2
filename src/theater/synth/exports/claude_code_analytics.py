"""Synthetic ``claude_code_analytics`` exports (read back by
:mod:`theater.sources.exports.formats.claude_code_analytics`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    Delivery,
    dump,
    prep_agg,
    records_of,
    write_text,
)

NAME = "claude_code_analytics"
BY = "week"


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    d = prep_agg(d)
    d["model"] = d["model"].fillna("claude-sonnet-4-5")
    d["pt"] = d["prompt_tokens"].fillna(0).astype("int64")
    d["ct"] = d["completion_tokens"].fillna(0).astype("int64")
    tok = d.groupby(["user_id", "day", "model"], sort=True)[["pt", "ct"]].sum().reset_index()
    # no estimated_cost: the world has no prices, and a made-up 0 would read as a known cost
    models: dict[tuple, list] = {}
    for r in records_of(tok):
        models.setdefault((r["user_id"], r["day"]), []).append(
            {
                "model": r["model"],
                "tokens": {
                    "input": int(r["pt"]),
                    "output": int(r["ct"]),
                    "cache_read": 0,
                    "cache_creation": 0,
                },
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
    for r in records_of(g):
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
    write_text(ctx.root / "claude_code_analytics" / f"claude_code_analytics_{week}.json", dump(doc))
    ctx.add("claude_code_analytics", files=1, records=len(data), user_days=len(data))
