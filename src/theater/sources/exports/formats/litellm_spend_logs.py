"""LiteLLM proxy ``LiteLLM_SpendLogs`` rows -> canonical interactions.

Delivered as a table export (CSV or JSON lines of the Postgres table, or the ``/spend/logs``
API's JSON array). ``messages`` is only filled when the proxy runs with
``store_prompts_in_spend_logs``; it is fingerprinted, never stored.
"""

from __future__ import annotations

from theater.fingerprint import simhash64

from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import (
    VendorRecordError,
    as_amount,
    as_int,
    as_text,
    last_user_text,
    required_text,
    required_ts,
)

NAME = "litellm_spend_logs"
TOOL = "assistant"


def looks_like(record: dict) -> bool:
    return (
        isinstance(record, dict)
        and "request_id" in record
        and "startTime" in record
        and ("call_type" in record or "spend" in record)
    )


def map_record(record: dict) -> list[dict]:
    event_id = required_text(record.get("request_id"), "request_id")
    ts = required_ts(record.get("startTime"), "startTime")
    for key, kind in (("user", "user_id"), ("end_user", "user_id"), ("api_key", "api_key")):
        user = as_text(record.get(key))
        if user:
            break
    else:
        raise VendorRecordError("missing_required: user (user, end_user and api_key are empty)")
    text = last_user_text(record.get("messages"))
    return [
        interaction_row(
            NAME,
            kind,
            event_id=event_id,
            event_ts=ts,
            user_id=user,
            tool=TOOL,
            action="other",
            model=as_text(record.get("model_group")) or as_text(record.get("model")),
            prompt_tokens=as_int(record.get("prompt_tokens"), "prompt_tokens"),
            completion_tokens=as_int(record.get("completion_tokens"), "completion_tokens"),
            session_id=as_text(record.get("session_id")),
            prompt_fingerprint=simhash64(text) if text else None,
            # the proxy's own cost of the request, in US dollars (its model cost map)
            cost_usd=as_amount(record.get("spend"), "spend"),
        )
    ]


DOCS = """\
## litellm_spend_logs - LiteLLM proxy SpendLogs rows

Grain: one row per proxied request. Files: CSV export of `LiteLLM_SpendLogs` or JSON lines /
JSON array (`/spend/logs`). Timestamps without an offset are UTC (the proxy writes UTC).

| vendor field | canonical field | note |
|---|---|---|
| `request_id` | `event_id` | |
| `startTime` | `event_ts` | |
| `user`, else `end_user`, else `api_key` | `user_id`, `user_alias_kind` = `user_id` (user or end_user) / `api_key` | `user` is the key owner (internal user id), `end_user` the `user` param of the request; an api_key (hashed token) is a person only if the identities table says so |
| constant | `tool` = `assistant` | `api_base` not used |
| constant | `action` = `other` | `call_type` (completion, acompletion, embedding...) is no verb |
| `model_group`, else `model` | `model` | |
| `prompt_tokens`, `completion_tokens` | same | |
| `session_id` (newer proxies) | `session_id` | |
| last user turn of `messages` | `prompt_fingerprint` | only with `store_prompts_in_spend_logs`; text never stored |
| `spend` | `cost_usd` | the proxy's own cost of the request in US dollars; blank = None (not 0) |

Lost / absent: `team_id` (a LiteLLM team is not a directory org), `request_tags`, `call_type`,
disposition, dwell, artifact (only via tags/metadata conventions), cache fields, the response.
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="LiteLLM proxy SpendLogs rows (CSV or JSON lines)",
        required=("request_id", "startTime", "user|end_user|api_key"),
        fills=(
            "action",
            "completion_tokens",
            "cost_usd",
            "model",
            "prompt_fingerprint",
            "prompt_tokens",
            "session_id",
        ),
        identity_kinds=("user_id", "api_key"),
        file_kinds=("csv", "jsonl", "json"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
