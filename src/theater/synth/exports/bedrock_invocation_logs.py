"""Synthetic ``bedrock_invocation_logs`` exports (read back by
:mod:`theater.sources.exports.formats.bedrock_invocation_logs`): :func:`write` is called with
one week of the native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    ACCOUNT,
    Delivery,
    digest,
    dump,
    iso_s,
    prompt_text,
    rows_of,
    uuid_of,
    write_text,
)

NAME = "bedrock_invocation_logs"
BY = "week"


REGION = "eu-west-1"


BEDROCK_MODELS = (
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "amazon.nova-pro-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
)


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    lines = []
    for r in rows_of(d):
        text = prompt_text(r["prompt_fingerprint"]) or "hello"
        model = BEDROCK_MODELS[int(digest("model|" + str(r["model"]), 4), 16) % len(BEDROCK_MODELS)]
        rec = {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": iso_s(r["ms"]) + "Z",
            "accountId": ACCOUNT,
            "identity": {"arn": ctx.a("iam_arn", r["user_id"])},
            "region": REGION,
            "requestId": uuid_of("bedrock|" + r["event_id"]),
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
        lines.append(dump(rec))
    name = f"{ACCOUNT}_BedrockModelInvocationLogs_{REGION}_{week}.json.gz"
    write_text(ctx.root / "bedrock_invocation_logs" / name, "\n".join(lines) + "\n", gz=True)
    ctx.add("bedrock_invocation_logs", files=1, records=len(lines), interactions=len(lines))
