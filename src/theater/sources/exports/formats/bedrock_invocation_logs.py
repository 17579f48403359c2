"""AWS Bedrock model invocation logs (``schemaType: ModelInvocationLog``) -> canonical interactions.

Delivered by Bedrock to S3 as JSON lines, usually gzipped (``.json.gz``), one invocation per line
(or to CloudWatch Logs, same record). ``inputBodyJson`` holds the request body when text data
delivery is on; its last user turn is fingerprinted, never stored.
"""

from __future__ import annotations

from theater.fingerprint import simhash64

from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import (
    VendorRecordError,
    as_int,
    as_text,
    last_user_text,
    required_text,
    required_ts,
)

NAME = "bedrock_invocation_logs"
TOOL = "assistant"
META_KEYS = {
    "session_id": ("session_id", "sessionId"),
    "artifact_id": ("artifact_id", "artifactId"),
    "work_item_id": ("work_item_id", "workItemId"),
}


def looks_like(record: dict) -> bool:
    if not isinstance(record, dict):
        return False
    if record.get("schemaType") == "ModelInvocationLog":
        return True
    return (
        "requestId" in record and "modelId" in record and isinstance(record.get("identity"), dict)
    )


def _obj(record: dict, key: str) -> dict:
    v = record.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise VendorRecordError(f"bad_type: {key} is not an object")
    return v


def map_record(record: dict) -> list[dict]:
    event_id = required_text(record.get("requestId"), "requestId")
    ts = required_ts(record.get("timestamp"), "timestamp")
    identity = _obj(record, "identity")
    arn = required_text(identity.get("arn"), "identity.arn")
    inp, out, meta = _obj(record, "input"), _obj(record, "output"), _obj(record, "requestMetadata")
    text = last_user_text(inp.get("inputBodyJson"))
    extras = {
        k: next((as_text(meta.get(a)) for a in aliases if as_text(meta.get(a))), None)
        for k, aliases in META_KEYS.items()
    }
    return [
        interaction_row(
            NAME,
            "iam_arn",
            event_id=event_id,
            event_ts=ts,
            user_id=arn,
            tool=TOOL,
            action="other",
            model=as_text(record.get("modelId")),
            prompt_tokens=as_int(inp.get("inputTokenCount"), "input.inputTokenCount"),
            completion_tokens=as_int(out.get("outputTokenCount"), "output.outputTokenCount"),
            prompt_fingerprint=simhash64(text) if text else None,
            **extras,
        )
    ]


DOCS = """\
## bedrock_invocation_logs - AWS Bedrock model invocation logging

Grain: one row per model invocation. Files: JSON lines, usually gzipped
(`.../AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz`).

| vendor field | canonical field | note |
|---|---|---|
| `requestId` | `event_id` | |
| `timestamp` | `event_ts` | RFC 3339 Z |
| `identity.arn` | `user_id`, `user_alias_kind` = `iam_arn` | often an assumed role shared by an application: only a person if the identities table maps the ARN (e.g. `assumed-role/<role>/<session = person>`) |
| constant | `tool` = `assistant` | |
| constant | `action` = `other` | `operation` (Converse, InvokeModel, ...) is no verb |
| `modelId` | `model` | |
| `input.inputTokenCount` | `prompt_tokens` | includes system prompt and history |
| `output.outputTokenCount` | `completion_tokens` | |
| last user turn of `input.inputBodyJson` (Converse / Messages / `prompt` / `inputText`) | `prompt_fingerprint` | text never stored; None when text delivery is off |
| `requestMetadata.session_id` / `artifact_id` / `work_item_id` | `session_id`, `artifact_id`, `work_item_id` | only if the calling application sets this metadata (a convention, not a Bedrock field) |

Lost / absent: `accountId`, `region`, `operation`, `errorCode` (a failed call is still an
interaction), disposition and dwell (no feedback at all), org (the account is not an org),
artifact author/mtime, the output text (not read).
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="AWS Bedrock model invocation logs (JSON lines, .json.gz)",
        required=("requestId", "timestamp", "identity.arn"),
        fills=(
            "action",
            "artifact_id",
            "completion_tokens",
            "model",
            "prompt_fingerprint",
            "prompt_tokens",
            "session_id",
        ),
        identity_kinds=("iam_arn",),
        file_kinds=("jsonl", "json"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
