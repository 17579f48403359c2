"""Synthetic ``litellm_spend_logs`` exports (read back by
:mod:`theater.sources.exports.formats.litellm_spend_logs`): :func:`write` is called with one
week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    Delivery,
    csv_text,
    digest,
    dump,
    iso_ms,
    prompt_text,
    rows_of,
    write_text,
)

NAME = "litellm_spend_logs"
BY = "week"


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


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    rows = []
    for r in rows_of(d):
        ms = r["ms"]
        start = iso_ms(ms).replace("T", " ").rstrip("Z") + "000"
        end = iso_ms(ms + 1800).replace("T", " ").rstrip("Z") + "000"
        stored = ctx.flag(r["org"], "store_prompts")
        text = prompt_text(r["prompt_fingerprint"]) if stored else None
        pt, ct = r["prompt_tokens"], r["completion_tokens"]
        rows.append(
            [
                f"chatcmpl-{digest('litellm|' + r['event_id'], 24)}",
                "acompletion",
                digest("key|" + r["user_id"], 64),
                # no planted cost: a made-up 0.0 would read as a known zero spend
                "",
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
                dump([{"role": "user", "content": text}]) if text else "{}",
                "{}",
                r["session_id"] or "",
                "success",
            ]
        )
    write_text(
        ctx.root / "litellm_spend_logs" / f"LiteLLM_SpendLogs_{week}.csv",
        csv_text(LITELLM_COLS, rows),
    )
    ctx.add("litellm_spend_logs", files=1, records=len(rows), interactions=len(rows))
