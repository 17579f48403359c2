"""Claude Code Analytics Admin API (``GET /v1/organizations/usage_report/claude_code``): one
record per actor, day and terminal.

Response shape: ``{"data": [...], "has_more": bool, "next_page": str|null}``. Field names:
Anthropic "Claude Code Analytics API" docs.
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import (
    VendorRecordError,
    as_amount,
    as_int,
    as_str,
    get_path,
    is_blank,
    parse_day,
    require,
    sum_known,
)

NAME = "claude_code_analytics"
TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")

DOCS = """\
## claude_code_analytics - Claude Code Analytics API

Grain: actor x day x terminal, JSON (`{"data": [...], "has_more", "next_page"}`). One
`user_days` row per record, feature `agent`. A user with two terminals on one day gives two
records and so two rows with the same key: rows are additive, sum them
(`theater.sources.exports.rows.merge_rows`).

| vendor field | canonical field | note |
|---|---|---|
| `actor.email_address` (`actor.type` = `user_actor`) | `user_id` (`user_alias_kind` = `email`) | |
| `actor.api_key_name` (`actor.type` = `api_actor`) | `user_id` (`user_alias_kind` = `api_key`) | a key, maybe shared |
| `organization_id` | `vendor_org` | the Anthropic org, not a department |
| - | `org_id` | None |
| `date` (RFC 3339, midnight Z) | `day` | |
| - | `feature` | `agent` |
| `core_metrics.num_sessions` | `sessions` | |
| `tool_actions.{edit_tool,multi_edit_tool,write_tool,notebook_edit_tool}.accepted` (sum) | `accepted` | proposed edits accepted |
| same `.rejected` (sum) | `rejected` | |
| accepted + rejected | `suggestions_shown` | proposals shown (None if neither reported) |
| `core_metrics.lines_of_code.added` | `lines_accepted` | lines Claude Code added |
| `model_breakdown[].tokens.input + cache_read + cache_creation` (sum) | `prompt_tokens` | whole prompt incl. cached context |
| `model_breakdown[].tokens.output` (sum) | `output_tokens` | |
| - | `requests` | None: no prompt count is reported |
| - | `dismissed`, `lines_suggested` | None |
| `model_breakdown[].estimated_cost.amount` (sum, cents) | `cost_usd` | the vendor's own estimate, cents / 100; None when no model reports one, or when a currency other than USD is given (never converted) |

Lost: `terminal_type` (summed away), `customer_type`, `subscription_type`, the per-tool split,
`lines_of_code.removed`, `commits_by_claude_code` and `pull_requests_by_claude_code` (usage,
not outcomes), per-model split (cost and tokens are summed over models). No prompt count, so padding is N.
"""


def map_record(record: dict) -> list[dict]:
    require(record, "date")
    actor = record.get("actor")
    if not isinstance(actor, dict):
        raise VendorRecordError("missing_required: actor")
    if not is_blank(actor.get("email_address")):
        user, kind = as_str(actor["email_address"], "actor.email_address"), "email"
    elif not is_blank(actor.get("api_key_name")):
        user, kind = as_str(actor["api_key_name"], "actor.api_key_name"), "api_key"
    else:
        raise VendorRecordError("missing_required: actor.email_address")
    day = parse_day(record["date"])
    tools = record.get("tool_actions") or {}
    if not isinstance(tools, dict):
        raise VendorRecordError("bad_type: tool_actions")
    accepted = sum_known(
        *(as_int(get_path(tools, f"{t}.accepted"), f"tool_actions.{t}.accepted") for t in TOOLS)
    )
    rejected = sum_known(
        *(as_int(get_path(tools, f"{t}.rejected"), f"tool_actions.{t}.rejected") for t in TOOLS)
    )
    models = record.get("model_breakdown")
    if models is not None and not isinstance(models, list):
        raise VendorRecordError("bad_type: model_breakdown")
    prompt, output, cents = [], [], []
    for i, m in enumerate(models or []):
        tokens = m.get("tokens") if isinstance(m, dict) else None
        if not isinstance(tokens, dict):
            raise VendorRecordError(f"bad_type: model_breakdown[{i}].tokens")
        prompt += [
            as_int(tokens.get(k), f"model_breakdown[{i}].tokens.{k}")
            for k in ("input", "cache_read", "cache_creation")
        ]
        output.append(as_int(tokens.get("output"), f"model_breakdown[{i}].tokens.output"))
        cost = m.get("estimated_cost")
        if isinstance(cost, dict) and str(cost.get("currency") or "USD").upper() == "USD":
            # Anthropic reports the estimate in US cents
            cents.append(
                as_amount(cost.get("amount"), f"model_breakdown[{i}].estimated_cost.amount")
            )
    total_cents = sum_known(*cents)
    return [
        user_day_row(
            NAME,
            user,
            kind,
            day,
            "agent",
            vendor_org=as_str(record.get("organization_id"), "organization_id"),
            sessions=as_int(
                get_path(record, "core_metrics.num_sessions"), "core_metrics.num_sessions"
            ),
            accepted=accepted,
            rejected=rejected,
            suggestions_shown=sum_known(accepted, rejected),
            lines_accepted=as_int(
                get_path(record, "core_metrics.lines_of_code.added"),
                "core_metrics.lines_of_code.added",
            ),
            prompt_tokens=sum_known(*prompt),
            output_tokens=sum_known(*output),
            cost_usd=None if total_cents is None else total_cents / 100.0,
        )
    ]


def looks_like(record: dict) -> bool:
    actor = record.get("actor")
    return "date" in record and (
        (isinstance(actor, dict) and actor.get("type") in ("user_actor", "api_actor"))
        or "core_metrics" in record
        or "tool_actions" in record
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="Claude Code Analytics API (JSON): per actor-day sessions, edit accepts/rejects, tokens",
        required=("date", "actor.email_address"),
        fills=(
            "accepted",
            "cost_usd",
            "lines_accepted",
            "output_tokens",
            "prompt_tokens",
            "rejected",
            "sessions",
            "suggestions_shown",
            "vendor_org",
        ),
        identity_kinds=("email", "api_key"),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
