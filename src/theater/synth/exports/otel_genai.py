"""Synthetic ``otel_genai`` exports (read back by
:mod:`theater.sources.exports.formats.otel_genai`): :func:`write` is called with one week of the
native events of the orgs whose stack carries it."""

from __future__ import annotations

import pandas as pd

from .common import (
    Delivery,
    digest,
    dump,
    kv,
    otlp_doc,
    prompt_text,
    rows_of,
    write_text,
)

NAME = "otel_genai"
BY = "week"


GENAI_OP = {
    "chat": "chat",
    "complete": "text_completion",
    "generate": "generate_content",
    "agent": "invoke_agent",
}


def write(ctx: Delivery, d: pd.DataFrame, week: str) -> None:
    spans, quarantined = [], 0
    for r in rows_of(d):
        x = digest("span|" + r["event_id"], 48)
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
                attrs.append(("gen_ai.input.messages", dump([{"role": "user", "parts": parts}])))
        spans.append(
            {
                "traceId": x[:32],
                "spanId": x[32:48],
                "parentSpanId": "",
                "name": f"chat {r['model'] or ''}".strip(),
                "kind": 3,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 1_500_000_000),
                "attributes": [kv(k, v) for k, v in attrs if v is not None],
                "status": {},
            }
        )
    doc = otlp_doc(
        "resourceSpans",
        [kv("service.name", "assistant-gateway"), kv("deployment.environment", "prod")],
        {"name": "opentelemetry.instrumentation.openai_v2", "version": "2.1b0"},
        spans,
    )
    write_text(ctx.root / "otel_genai" / f"traces_{week}.json", dump(doc))
    ctx.add(
        "otel_genai",
        files=1,
        records=len(spans),
        interactions=len(spans) - quarantined,
        quarantined=quarantined,
    )
