"""Cursor admin API ``POST /teams/daily-usage-data``: one record per user and day.

Response shape: ``{"data": [...], "period": {"startDate": ms, "endDate": ms}}``; records carry
``date`` (epoch milliseconds, midnight UTC) and ``email``. Field names: Cursor Admin API docs.
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import as_int, as_str, parse_day, require

NAME = "cursor_daily_usage"

# feature -> {canonical count: vendor field}
FEATURES: dict[str, dict[str, str]] = {
    "code_completion": {"suggestions_shown": "totalTabsShown", "accepted": "totalTabsAccepted"},
    "apply": {
        "suggestions_shown": "totalApplies",
        "accepted": "totalAccepts",
        "rejected": "totalRejects",
    },
    "chat": {"requests": "chatRequests"},
    "composer": {"requests": "composerRequests"},
    "agent": {"requests": "agentRequests"},
    "cmdk": {"requests": "cmdkUsages"},
    "bugbot": {"requests": "bugbotUsages"},
    "all": {"lines_accepted": "acceptedLinesAdded"},
}

DOCS = """\
## cursor_daily_usage - Cursor admin API daily usage data

Grain: user x day, JSON (`{"data": [...], "period": {...}}`, read element by element). One
`user_days` row per feature whose fields are present in the record (a reported 0 stays 0).
The `all` row carries only `lines_accepted`, which Cursor does not split by feature; its other
counts are None, so it never double-counts the feature rows.

| vendor field | canonical field | feature |
|---|---|---|
| `email` | `user_id` (`user_alias_kind` = `email`) | |
| `date` (epoch ms) | `day` (UTC) | |
| - | `vendor_org`, `org_id` | None (the team is implied by the API key) |
| `totalTabsShown` / `totalTabsAccepted` | `suggestions_shown` / `accepted` | `code_completion` |
| `totalApplies` / `totalAccepts` / `totalRejects` | `suggestions_shown` / `accepted` / `rejected` | `apply` |
| `chatRequests` | `requests` | `chat` |
| `composerRequests` | `requests` | `composer` |
| `agentRequests` | `requests` | `agent` |
| `cmdkUsages` | `requests` | `cmdk` (inline edit) |
| `bugbotUsages` | `requests` | `bugbot` |
| `acceptedLinesAdded` | `lines_accepted` | `all` |

Lost: `totalLinesAdded`/`totalLinesDeleted` (all edits, not AI suggestions),
`acceptedLinesDeleted`, billing classes (`subscriptionIncludedReqs`, `apiKeyReqs`,
`usageBasedReqs`), `isActive`, `mostUsedModel`, `applyMostUsedExtension`,
`tabMostUsedExtension`, `clientVersion`, the `period` envelope. No sessions, tokens or
dismissals. Tab acceptance is of pushed completions (low acceptance is normal); apply
accept/reject is closer to output use, but only per user-day.
"""


def map_record(record: dict) -> list[dict]:
    require(record, "date", "email")
    user = as_str(record["email"], "email")
    day = parse_day(record["date"])
    rows = []
    for feature, spec in FEATURES.items():
        if not any(f in record for f in spec.values()):
            continue
        counts = {k: as_int(record.get(f), f) for k, f in spec.items()}
        rows.append(user_day_row(NAME, user, "email", day, feature, **counts))
    return rows


def looks_like(record: dict) -> bool:
    return (
        "date" in record
        and "email" in record
        and any(
            k in record
            for k in (
                "totalTabsShown",
                "totalApplies",
                "composerRequests",
                "agentRequests",
                "cmdkUsages",
                "acceptedLinesAdded",
            )
        )
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="Cursor admin API daily-usage-data (JSON): per user-day tabs, applies, requests",
        required=("date", "email"),
        fills=("accepted", "lines_accepted", "rejected", "requests", "suggestions_shown"),
        identity_kinds=("email",),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
