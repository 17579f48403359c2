"""Cursor Admin API ``filtered-usage-events`` -> canonical interactions.

The API answers ``{"totalUsageEventsCount", "pagination", "usageEvents": [...], "period"}``;
``iter_records`` streams ``usageEvents[]`` (a wrapper key), so ``map_record`` sees one usage
event. Events have no id: ``event_id`` is a deterministic hash (see ``event_id_of``).
"""

from __future__ import annotations

import hashlib

from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import (
    VendorRecordError,
    as_amount,
    as_int,
    as_text,
    instant_us,
    required_text,
    required_ts,
)

NAME = "cursor_usage_events"
TOOL = "ide"


def looks_like(record: dict) -> bool:
    return (
        isinstance(record, dict)
        and "userEmail" in record
        and "date" not in record
        and any(
            k in record
            for k in ("tokenUsage", "kind", "requestsCosts", "isTokenBasedCall", "timestamp")
        )
    )


def event_id_of(user: str, ts: object, model: str | None, tokens: dict) -> str:
    """``cur-`` + first 24 hex of SHA-256 over the lower-cased user, the instant as integer epoch
    milliseconds (Cursor's precision; any unit or notation of the same instant gives the same
    number), model and the four token counts as integers (input, output, cache write, cache
    read), ``|``-separated, blanks empty. Built from values, not text: a page re-delivered with
    microsecond or seconds timestamps, or ``"1520"`` for ``1520``, gives the same ids."""
    ms = (instant_us(ts) + 500) // 1000
    parts = [user.strip().lower(), str(ms), model or ""]
    for k in ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens"):
        n = as_int(tokens.get(k), f"tokenUsage.{k}")
        parts.append("" if n is None else str(n))
    return "cur-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def map_record(record: dict) -> list[dict]:
    user = required_text(record.get("userEmail"), "userEmail")
    raw_ts = record.get("timestamp")
    ts = required_ts(raw_ts, "timestamp")
    usage = record.get("tokenUsage") or {}
    if not isinstance(usage, dict):
        raise VendorRecordError("bad_type: tokenUsage is not an object")
    tokens = {
        k: as_int(usage.get(k), f"tokenUsage.{k}")
        for k in ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")
    }
    model = as_text(record.get("model"))
    # Cursor reports a token-priced request's model cost in US cents; a request-priced one
    # gives only ``requestsCosts`` (request units, not money): its cost stays unknown
    cents = as_amount(usage.get("totalCents"), "tokenUsage.totalCents")
    return [
        interaction_row(
            NAME,
            "email",
            event_id=event_id_of(user, raw_ts, model, tokens),
            event_ts=ts,
            user_id=user,
            tool=TOOL,
            action="other",
            model=model,
            prompt_tokens=tokens["inputTokens"],
            completion_tokens=tokens["outputTokens"],
            cost_usd=None if cents is None else cents / 100.0,
        )
    ]


DOCS = """\
## cursor_usage_events - Cursor Admin API filtered usage events

Grain: one row per billed request. Files: the API's JSON answer (one page per file:
`{"totalUsageEventsCount", "pagination", "usageEvents": [...], "period"}`), streamed by
`iter_records` through the `usageEvents` wrapper key; or the events as JSON lines.

| vendor field | canonical field | note |
|---|---|---|
| (none) | `event_id` | **Cursor gives no event id**: `cur-` + 24 hex of SHA-256(`lower(userEmail)`, the instant of `timestamp` as integer epoch milliseconds, `model`, `inputTokens`, `outputTokens`, `cacheWriteTokens`, `cacheReadTokens` as integers). Built from values, not text, so a re-delivered page deduplicates even in another unit or notation (microseconds, seconds with a fraction, RFC 3339); two requests of one user in the same millisecond with the same model and tokens collapse into one (documented limit) |
| `timestamp` (epoch milliseconds as a string) | `event_ts` | |
| `userEmail` | `user_id`, `user_alias_kind` = `email` | |
| constant | `tool` = `ide` | |
| constant | `action` = `other` | `kind` ("Included in Business", "Usage-based", ...) is a billing class, not a verb |
| `model` | `model` | |
| `tokenUsage.inputTokens` | `prompt_tokens` | cache read/write tokens not added (they are context, not prompt) |
| `tokenUsage.outputTokens` | `completion_tokens` | |
| `tokenUsage.totalCents` | `cost_usd` | the vendor's own cost, cents / 100; None when absent (request-priced calls): such events are priced by the configured price table, if any |

Lost / absent: session, prompt text, artifact, disposition, dwell; `kind`, `maxMode`,
`requestsCosts` (request units, not money) and cache tokens are dropped when the event is
mapped (bronze keeps the canonical fields and `cost_usd`; the raw record only for a quarantined
event). Events without `tokenUsage` (request-priced calls) have null token counts and cost, not
0.
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="Cursor Admin API filtered-usage-events (per billed request, no event id)",
        required=("timestamp", "userEmail"),
        fills=("action", "completion_tokens", "cost_usd", "model", "prompt_tokens"),
        identity_kinds=("email",),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
