"""GitHub Copilot metrics API, old (``GET /orgs/{org}/copilot/metrics``): one record per org
and day, nested editor x model x language. The endpoint closed on 2026-04-02; saved responses
(a JSON array of day records) remain. Field names: GitHub REST docs "Copilot metrics".
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import org_day_row
from ..values import VendorRecordError, as_int, is_blank, parse_day, sum_known

NAME = "github_copilot_org_metrics"

DOCS = """\
## github_copilot_org_metrics - GitHub Copilot metrics API (old, org-day)

Grain: org x day, JSON array of day records with nested editors -> models -> languages. No
user appears anywhere, and the org is only in the request URL, so `vendor_org` is None. Org-day
figures support adoption trends only: no theater index can be computed from them. One
`org_days` row per block present in the record; sums run over every editor, model and
language (None when no leaf reports the count).

| vendor field | canonical field | feature |
|---|---|---|
| `date` | `day` | |
| `total_active_users` / `total_engaged_users` | `active_users` / `engaged_users` | `all` |
| `copilot_ide_code_completions.total_engaged_users` | `engaged_users` | `code_completion` |
| `...editors[].models[].languages[].total_code_suggestions` (sum) | `suggestions_shown` | `code_completion` |
| `...total_code_acceptances` (sum) | `accepted` | `code_completion` |
| `...total_code_lines_suggested` / `total_code_lines_accepted` (sum) | `lines_suggested` / `lines_accepted` | `code_completion` |
| `copilot_ide_chat.total_engaged_users` | `engaged_users` | `ide_chat` |
| `...editors[].models[].total_chats` (sum) | `requests` | `ide_chat` |
| `...total_chat_insertion_events + total_chat_copy_events` (sum) | `accepted` | `ide_chat` |
| `copilot_dotcom_chat.total_engaged_users` / `models[].total_chats` (sum) | `engaged_users` / `requests` | `dotcom_chat` |
| `copilot_dotcom_pull_requests.total_engaged_users` / `repositories[].models[].total_pr_summaries_created` (sum) | `engaged_users` / `requests` | `pull_requests` |
| - | `period_days` | 1 |

Lost: the editor, model (incl. custom models) and language split, per-editor engaged users,
repository names of PR summaries. `active_users` exists only for `all`.
"""


def _list(block: dict, key: str, where: str) -> list:
    value = block.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise VendorRecordError(f"bad_type: {where}.{key}")
    return [v for v in value if isinstance(v, dict)]


def _block(record: dict, key: str) -> dict | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise VendorRecordError(f"bad_type: {key}")
    return value


def _engaged(block: dict) -> int | None:
    return as_int(block.get("total_engaged_users"), "total_engaged_users")


def _code_completion(cc: dict) -> dict:
    """Counts of the IDE code-completion block, summed over editors, models and languages."""
    langs = [
        lang
        for ed in _list(cc, "editors", "copilot_ide_code_completions")
        for m in _list(ed, "models", "editors[]")
        for lang in _list(m, "languages", "models[]")
    ]

    def total(field: str) -> int | None:
        return sum_known(*(as_int(lang.get(field), field) for lang in langs))

    return dict(
        engaged_users=_engaged(cc),
        suggestions_shown=total("total_code_suggestions"),
        accepted=total("total_code_acceptances"),
        lines_suggested=total("total_code_lines_suggested"),
        lines_accepted=total("total_code_lines_accepted"),
    )


def _ide_chat(chat: dict) -> dict:
    """Chats, and insertions or copies of their answers (accepted), over editors and models."""
    models = [
        m
        for ed in _list(chat, "editors", "copilot_ide_chat")
        for m in _list(ed, "models", "editors[]")
    ]
    return dict(
        engaged_users=_engaged(chat),
        requests=sum_known(*(as_int(m.get("total_chats"), "total_chats") for m in models)),
        accepted=sum_known(
            *(
                as_int(m.get(f), f)
                for m in models
                for f in ("total_chat_insertion_events", "total_chat_copy_events")
            )
        ),
    )


def _dotcom_chat(dot: dict) -> dict:
    models = _list(dot, "models", "copilot_dotcom_chat")
    return dict(
        engaged_users=_engaged(dot),
        requests=sum_known(*(as_int(m.get("total_chats"), "total_chats") for m in models)),
    )


def _pull_requests(prs: dict) -> dict:
    """Pull-request summaries created, over repositories and models."""
    field = "total_pr_summaries_created"
    return dict(
        engaged_users=_engaged(prs),
        requests=sum_known(
            *(
                as_int(m.get(field), field)
                for r in _list(prs, "repositories", "copilot_dotcom_pull_requests")
                for m in _list(r, "models", "repositories[]")
            )
        ),
    )


#: vendor block -> (canonical feature, its counts)
BLOCKS = (
    ("copilot_ide_code_completions", "code_completion", _code_completion),
    ("copilot_ide_chat", "ide_chat", _ide_chat),
    ("copilot_dotcom_chat", "dotcom_chat", _dotcom_chat),
    ("copilot_dotcom_pull_requests", "pull_requests", _pull_requests),
)


def map_record(record: dict) -> list[dict]:
    if is_blank(record.get("date")):
        if "day" in record or "day_totals" in record:
            # a record of the usage-metrics reports that replaced this endpoint
            raise VendorRecordError(
                "wrong_format: a Copilot usage-metrics report record (day, not date): put "
                "organization reports under landing/vendor/github_copilot_org_usage/<org>/, "
                "enterprise reports under landing/vendor/github_copilot_enterprise_usage/<org>/"
            )
        raise VendorRecordError("missing_required: date")
    day = parse_day(record["date"])
    rows = [
        org_day_row(
            NAME,
            None,
            day,
            "all",
            active_users=as_int(record.get("total_active_users"), "total_active_users"),
            engaged_users=_engaged(record),
        )
    ]
    for key, feature, counts in BLOCKS:
        block = _block(record, key)
        if block is not None:
            rows.append(org_day_row(NAME, None, day, feature, **counts(block)))
    return rows


def looks_like(record: dict) -> bool:
    return "date" in record and any(
        k in record
        for k in (
            "copilot_ide_code_completions",
            "copilot_ide_chat",
            "copilot_dotcom_chat",
            "copilot_dotcom_pull_requests",
            "total_engaged_users",
        )
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="org_day",
        summary="GitHub Copilot metrics API, old (JSON): org-day completions, chats, PR summaries",
        required=("date",),
        fills=(
            "accepted",
            "active_users",
            "engaged_users",
            "lines_accepted",
            "lines_suggested",
            "requests",
            "suggestions_shown",
        ),
        identity_kinds=(),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
