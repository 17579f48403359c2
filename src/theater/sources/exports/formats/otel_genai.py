"""OpenTelemetry GenAI semantic-convention spans (OTLP JSON traces) -> canonical interactions.

``iter_records`` flattens ``resourceSpans[].scopeSpans[].spans[]``; a span is a GenAI call when
it has a ``gen_ai.operation.name`` attribute (other spans of the trace map to no row). The
semantic conventions carry no user: only spans whose application adds ``user.id`` or
``enduser.id`` (span or resource attribute) can be attributed; others are quarantined with
``missing_required: user``.
"""

from __future__ import annotations

import json

from theater.fingerprint import simhash64

from ...stream import otlp_attributes
from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import VendorRecordError, as_int, as_text, last_user_text, parse_ts, required_text

NAME = "otel_genai"
TOOL = "assistant"
ACTION = {
    "chat": "chat",
    "text_completion": "complete",
    "generate_content": "generate",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "execute_tool": "agent",
    "embeddings": "other",
}
USER_KEYS = ("user.id", "enduser.id")


def looks_like(record: dict) -> bool:
    """Any OTLP span (the only span format): the first span of a GenAI trace file is often an
    HTTP or app span, and non-GenAI spans map to no row."""
    return (
        isinstance(record, dict)
        and "spanId" in record
        and "traceId" in record
        and "startTimeUnixNano" in record
    )


def _prompt_text(attrs: dict) -> str | None:
    for key in ("gen_ai.input.messages", "gen_ai.prompt"):
        if key in attrs and attrs[key] not in (None, ""):
            return last_user_text(
                attrs[key] if not isinstance(attrs[key], (list, dict)) else json.dumps(attrs[key])
            )
    return None


def map_record(record: dict) -> list[dict]:
    attrs = otlp_attributes(record.get("attributes"))
    op = as_text(attrs.get("gen_ai.operation.name"))
    if op is None:
        return []
    trace = required_text(record.get("traceId"), "traceId")
    span = required_text(record.get("spanId"), "spanId")
    start = record.get("startTimeUnixNano")
    if start in (None, "", "0", 0):
        raise VendorRecordError("missing_required: startTimeUnixNano")
    ts = parse_ts(start)
    resource = otlp_attributes(record.get("_resource"))
    user = next(
        (
            as_text(src.get(k))
            for src in (attrs, resource)
            for k in USER_KEYS
            if as_text(src.get(k))
        ),
        None,
    )
    if user is None:
        raise VendorRecordError("missing_required: user (no user.id / enduser.id attribute)")
    text = _prompt_text(attrs)
    return [
        interaction_row(
            NAME,
            "user_id",
            event_id=f"{trace}:{span}",
            event_ts=ts,
            user_id=user,
            tool=TOOL,
            action=ACTION.get(op, "other"),
            model=(
                as_text(attrs.get("gen_ai.request.model"))
                or as_text(attrs.get("gen_ai.response.model"))
            ),
            prompt_tokens=as_int(
                attrs.get("gen_ai.usage.input_tokens"), "gen_ai.usage.input_tokens"
            ),
            completion_tokens=as_int(
                attrs.get("gen_ai.usage.output_tokens"), "gen_ai.usage.output_tokens"
            ),
            session_id=as_text(attrs.get("gen_ai.conversation.id"))
            or as_text(attrs.get("session.id")),
            prompt_fingerprint=simhash64(text) if text else None,
        )
    ]


DOCS = """\
## otel_genai - OpenTelemetry GenAI spans (OTLP JSON traces)

Grain: one row per GenAI span (one model call). Files: OTLP JSON trace export
(`resourceSpans[].scopeSpans[].spans[]`), `.json` or `.jsonl` (one export request per line).
Spans without `gen_ai.operation.name` map to no row.

| vendor field | canonical field | note |
|---|---|---|
| `traceId` + `spanId` | `event_id` = `<traceId>:<spanId>` | unique per span; `gen_ai.response.id` is optional and not used |
| `startTimeUnixNano` | `event_ts` | epoch ns |
| `user.id`, else `enduser.id` (span, then resource attributes) | `user_id`, `user_alias_kind` = `user_id` | **not in the GenAI semantic conventions**: a span without either is quarantined as `missing_required: user` |
| constant | `tool` = `assistant` | `service.name` not used |
| `gen_ai.operation.name` | `action` | chat->chat, text_completion->complete, generate_content->generate, invoke_agent/create_agent/execute_tool->agent, else other |
| `gen_ai.request.model` (else `gen_ai.response.model`) | `model` | |
| `gen_ai.usage.input_tokens`, `output_tokens` | `prompt_tokens`, `completion_tokens` | |
| `gen_ai.conversation.id` (else `session.id`) | `session_id` | |
| last user turn of `gen_ai.input.messages` (or legacy `gen_ai.prompt`) | `prompt_fingerprint` | only with content capture on; text never stored |

Lost / absent: disposition, dwell, artifact, org; latency, finish reasons and the output.
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="OpenTelemetry GenAI semantic-convention spans (OTLP JSON traces)",
        required=("traceId", "spanId", "startTimeUnixNano", "user.id|enduser.id"),
        fills=(
            "action",
            "completion_tokens",
            "model",
            "prompt_fingerprint",
            "prompt_tokens",
            "session_id",
        ),
        identity_kinds=("user_id",),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
