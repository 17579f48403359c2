"""Claude Code OpenTelemetry events (OTLP JSON logs) -> canonical interactions.

Claude Code (``CLAUDE_CODE_ENABLE_TELEMETRY=1``, ``OTEL_LOGS_EXPORTER=otlp``) emits one OTLP log
record per event; ``iter_records`` flattens ``resourceLogs[].scopeLogs[].logRecords[]`` and
attaches the resource attributes under ``_resource``. Three events matter here, all carrying
``prompt.id`` (one UUID per user prompt, shared by every event the prompt causes):

- ``user_prompt`` -> one ``interactions`` row per prompt (event_id = ``prompt.id``).
- ``api_request`` -> an ``interaction_updates`` row for that prompt (tokens, model, cost).
- ``tool_decision`` -> an ``interaction_updates`` row for that prompt (output_disposition).

Other events (``tool_result``, ``api_error``, ...) carry nothing the contract needs and map to no
row. ``fold_updates`` (pure) applies the updates to the prompt rows; see ``DOCS``.
"""

from __future__ import annotations

from theater.fingerprint import simhash64

from ...stream import otlp_attributes
from ..format import VendorFormat, register
from ..rows import interaction_row
from ..values import (
    VendorRecordError,
    as_amount,
    as_int,
    as_text,
    instant_us,
    parse_ts,
    required_text,
)

NAME = "claude_code_otel"
#: ``terminal.type`` of IDE-integrated terminals: prompts typed there are tool ``ide``, else ``cli``.
IDE_TERMINALS = frozenset(
    {
        "vscode",
        "cursor",
        "windsurf",
        "jetbrains",
        "pycharm",
        "intellij",
        "webstorm",
        "goland",
        "rider",
        "zed",
    }
)
EVENTS = (
    "user_prompt",
    "api_request",
    "tool_decision",
    "tool_result",
    "api_error",
    "api_request_body",
    "api_response_body",
)
DECISION = {"accept": "accepted", "reject": "discarded"}


def _event_name(record: dict, attrs: dict) -> str | None:
    name = attrs.get("event.name")
    if not name:
        body = record.get("body")
        name = body.get("stringValue") if isinstance(body, dict) else body
    if not isinstance(name, str):
        return None
    return name[len("claude_code.") :] if name.startswith("claude_code.") else name


def looks_like(record: dict) -> bool:
    if not isinstance(record, dict) or "attributes" not in record:
        return False
    if "spanId" in record and "startTimeUnixNano" in record:  # a span, not a log record
        return False
    attrs = otlp_attributes(record.get("attributes"))
    body = record.get("body")
    body_s = body.get("stringValue") if isinstance(body, dict) else body
    if isinstance(body_s, str) and body_s.startswith("claude_code."):
        return True
    return attrs.get("event.name") in EVENTS and "prompt.id" in attrs


def _ts(record: dict, attrs: dict) -> str:
    value = attrs.get("event.timestamp") or record.get("timeUnixNano")
    if value in (None, "", "0", 0):
        raise VendorRecordError("missing_required: event.timestamp")
    try:
        return parse_ts(value)
    except VendorRecordError:
        raise
    except (ValueError, TypeError, OverflowError):
        raise VendorRecordError(f"bad_timestamp: {value!r}") from None


def _sequence(value) -> str | None:
    """``event.sequence`` as a value: an integer in any notation (3, "3", 3.0) is its decimal
    text; other text is kept as is."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        n = as_int(value, "event.sequence")
    except VendorRecordError:
        return as_text(value)
    return str(n)


def map_record(record: dict) -> list[dict]:
    attrs = otlp_attributes(record.get("attributes"))
    event = _event_name(record, attrs)
    if event not in ("user_prompt", "api_request", "tool_decision"):
        return []
    prompt_id = required_text(attrs.get("prompt.id"), "prompt.id")
    ts = _ts(record, attrs)
    terminal = as_text(attrs.get("terminal.type"))
    tool = "ide" if terminal and terminal.lower() in IDE_TERMINALS else "cli"
    if event == "user_prompt":
        email = as_text(attrs.get("user.email"))
        uuid = as_text(attrs.get("user.account_uuid"))
        if email is None and uuid is None:
            raise VendorRecordError("missing_required: user.email or user.account_uuid")
        prompt = as_text(attrs.get("prompt"))
        if prompt == "<REDACTED>":
            prompt = None
        return [
            interaction_row(
                NAME,
                "email" if email else "account_uuid",
                event_id=prompt_id,
                event_ts=ts,
                user_id=email or uuid,
                tool=tool,
                action="agent",
                session_id=as_text(attrs.get("session.id")),
                prompt_fingerprint=simhash64(prompt) if prompt else None,
            )
        ]
    seq = _sequence(attrs.get("event.sequence"))
    update = {
        "_table": "interaction_updates",
        "source_format": NAME,
        "tool": tool,
        "event_id": prompt_id,
        # from values, not text: sequence 3, "3" and 3.0 are one update; so is one instant in
        # any unit or notation
        "update_id": (
            f"{prompt_id}#{seq}" if seq is not None else f"{prompt_id}#{event}@{instant_us(ts)}"
        ),
        "update_kind": event,
        "update_ts": ts,
        "prompt_tokens": None,
        "completion_tokens": None,
        "model": None,
        "output_disposition": None,
        "tool_name": None,
        "cost_usd": None,
    }
    if event == "api_request":
        update["prompt_tokens"] = as_int(attrs.get("input_tokens"), "input_tokens")
        update["completion_tokens"] = as_int(attrs.get("output_tokens"), "output_tokens")
        update["model"] = as_text(attrs.get("model"))
        # Claude Code's own estimate of the request's cost, in US dollars
        update["cost_usd"] = as_amount(attrs.get("cost_usd"), "cost_usd")
    else:
        decision = as_text(attrs.get("decision"))
        if decision is None:
            raise VendorRecordError("missing_required: decision")
        if decision not in DECISION:
            raise VendorRecordError(f"bad_enum: decision = {decision!r}")
        update["output_disposition"] = DECISION[decision]
        update["tool_name"] = as_text(attrs.get("tool_name"))
    return [update]


def fold_updates(rows: list[dict], updates: list[dict]) -> tuple[list[dict], list[dict]]:
    """Apply ``interaction_updates`` to the prompt rows with the same event_id (pure).

    Updates are deduplicated on ``update_id`` first (a re-delivered file adds nothing).
    prompt_tokens / completion_tokens: sum over the prompt's api_requests (None if none);
    model: the model of the earliest api_request; cost_usd: sum of the api_requests' known
    costs (None when none reports one); output_disposition: ``accepted`` if any
    tool_decision accepted, else ``discarded`` if any rejected, else None. An update whose prompt
    has no user_prompt row is returned in the second list (orphans, for quarantine).
    """
    seen: dict[str, dict] = {}
    for u in updates:
        seen.setdefault(u["update_id"], u)
    by_prompt: dict[str, list[dict]] = {}
    for u in seen.values():
        by_prompt.setdefault(u["event_id"], []).append(u)
    out = []
    for r in rows:
        ups = sorted(
            by_prompt.pop(r["event_id"], []), key=lambda u: (u["update_ts"], u["update_id"])
        )
        r = dict(r)
        reqs = [u for u in ups if u["update_kind"] == "api_request"]
        if reqs:
            pt = [u["prompt_tokens"] for u in reqs if u["prompt_tokens"] is not None]
            ct = [u["completion_tokens"] for u in reqs if u["completion_tokens"] is not None]
            r["prompt_tokens"] = sum(pt) if pt else None
            r["completion_tokens"] = sum(ct) if ct else None
            r["model"] = next((u["model"] for u in reqs if u["model"]), None)
            costs = [u["cost_usd"] for u in reqs if u.get("cost_usd") is not None]
            r["cost_usd"] = float(sum(costs)) if costs else None
        decisions = {u["output_disposition"] for u in ups if u["update_kind"] == "tool_decision"}
        if "accepted" in decisions:
            r["output_disposition"] = "accepted"
        elif "discarded" in decisions:
            r["output_disposition"] = "discarded"
        out.append(r)
    orphans = [u for us in by_prompt.values() for u in us]
    return out, orphans


DOCS = """\
## claude_code_otel - Claude Code OpenTelemetry events (OTLP JSON logs)

Grain: one row per **user prompt** (`prompt.id`); `api_request` and `tool_decision` events of
the same prompt become `interaction_updates` rows that `claude_code_otel.fold_updates` applies.
Files: OTLP JSON (`resourceLogs[].scopeLogs[].logRecords[]`), `.json` or `.jsonl` (one export
request per line); the event name is the `event.name` attribute (or the body
`claude_code.<event>`).

| vendor field | canonical field | note |
|---|---|---|
| `prompt.id` (user_prompt) | `event_id` | UUID v4 per prompt; updates carry it too |
| `event.timestamp` (fallback: `timeUnixNano`) | `event_ts` | ISO 8601 -> UTC `Z`; missing -> `missing_required: event.timestamp` |
| `user.email`, else `user.account_uuid` | `user_id`, `user_alias_kind` = `email` / `account_uuid` | email only with OAuth login |
| `terminal.type` | `tool` = `ide` for IDE terminals (vscode, cursor, windsurf, JetBrains IDEs, zed), else `cli` | the same on every event of a prompt |
| constant | `action` = `agent` | Claude Code gives no verb per prompt |
| `session.id` | `session_id` | |
| `prompt` (only with `OTEL_LOG_USER_PROMPTS=1`) | `prompt_fingerprint` = simhash64(prompt) | text never stored; `<REDACTED>` -> None |
| api_request `input_tokens`, `output_tokens` | `prompt_tokens`, `completion_tokens` | summed over the prompt's API requests; input includes context (not cache tokens) |
| api_request `model` | `model` | model of the first API request |
| api_request `cost_usd` | `cost_usd` | Claude Code's own estimate in US dollars, summed over the prompt's API requests; None when none reports one (a reported 0 is a known 0) |
| tool_decision `decision` accept / reject | `output_disposition` accepted / discarded | any accept -> accepted; only rejects -> discarded; no decision -> None (never invented) |
| tool_decision `tool_name` | `tool_name` on the update | |
| update dedupe key | `update_id` = `prompt.id#event.sequence` | |

Lost / absent: dwell (never reported), artifact (file paths exist only in tool parameters with
`OTEL_LOG_TOOL_DETAILS=1`; not used), org (resource attributes such as `department` are not
directory org ids; org is resolved from the directory), `prompt_length` (characters of the user's own prompt; padding falls back to
prompt tokens, which include context), durations, cache tokens,
`tool_result`/`api_error` events (no row). Disposition exists only for prompts that asked for a
tool permission.
"""

FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="event",
        summary="Claude Code OpenTelemetry events (user_prompt, api_request, tool_decision), "
        "OTLP JSON logs",
        required=("prompt.id", "event.timestamp", "user.email|user.account_uuid"),
        fills=(
            "action",
            "completion_tokens",
            "cost_usd",
            "model",
            "output_disposition",
            "prompt_fingerprint",
            "prompt_tokens",
            "session_id",
        ),
        identity_kinds=("email", "account_uuid"),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
