"""The aggregated GitHub Copilot usage-metrics reports (organization and enterprise, 1-day and
28-day), shared by ``github_copilot_org_usage`` and ``github_copilot_enterprise_usage``.

These reports replaced the old metrics endpoint (closed 2026-04-02). They are NDJSON files
downloaded from the signed links that ``GET /orgs/{org}/copilot/metrics/reports/...-1-day`` and
``...-28-day`` (or the enterprise routes) return. A 1-day report holds one aggregated record
for the organization (or enterprise) and ``day``; a 28-day report holds one record that wraps
the daily aggregated records in ``day_totals`` with the window (``report_start_day``,
``report_end_day``). Field names: GitHub docs "Copilot usage metrics API and export fields"
and its example schema.

Pure functions; the org of every row is the landing folder's (``vendor_org`` None): GitHub's
``organization_id`` / ``enterprise_id`` is a GitHub account, not a department.
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import org_day_row
from ..values import VendorRecordError, as_int, is_blank, parse_day
from ._github_metrics import block_counts, feature_counts

#: Fields only the aggregated reports carry (the users reports have none of them).
AGGREGATE_MARKS = (
    "daily_active_users",
    "weekly_active_users",
    "monthly_active_users",
    "monthly_active_chat_users",
    "monthly_active_agent_users",
    "day_totals",
    "totals_by_ai_adoption_phase",
    "pull_requests",
)
USER_FIELDS = ("user_login", "user_id", "user")


def _day_rows(name: str, rec: dict, where: str) -> list[dict]:
    if not isinstance(rec, dict):
        raise VendorRecordError(f"bad_type: {where or 'record'} is not an object")
    if is_blank(rec.get("day")):
        raise VendorRecordError(f"missing_required: {where}day")
    day = parse_day(rec["day"])
    by_feature = feature_counts(rec, where)
    # the org's own row: its daily active users; its counts only when no feature split is
    # given (the features partition the totals, so both would count twice)
    total = block_counts(rec, where) if not by_feature else {}
    rows = [
        org_day_row(
            name,
            None,
            day,
            "all",
            active_users=as_int(rec.get("daily_active_users"), f"{where}daily_active_users"),
            **total,
        )
    ]
    rows += [org_day_row(name, None, day, feat, **c) for feat, c in by_feature.items()]
    return rows


def map_report_record(name: str, record: dict) -> list[dict]:
    """One record of a 1-day report (the day's aggregate) or of a 28-day report (``day_totals``
    of daily aggregates) -> ``org_days`` rows, one ``all`` row and one per feature per day."""
    if any(not is_blank(record.get(k)) for k in USER_FIELDS):
        raise VendorRecordError(
            "wrong_report: a per-user record (user_login/user_id): put the users report under "
            "landing/vendor/github_copilot_users/"
        )
    if "day_totals" in record:
        days = record["day_totals"]
        if not isinstance(days, list):
            raise VendorRecordError("bad_type: day_totals")
        rows: list[dict] = []
        for i, rec in enumerate(days):
            rows += _day_rows(name, rec, f"day_totals[{i}].")
        return rows
    return _day_rows(name, record, "")


def looks_like_report(record: dict, id_field: str, other_id: str | None) -> bool:
    """An aggregated usage-metrics record holding ``id_field`` (and, when given, not
    ``other_id``): an aggregate-only field and no user (a record without its day is still
    recognised, so that it is quarantined as ``missing_required: day`` by the right reader)."""
    return (
        isinstance(record, dict)
        and id_field in record
        and (other_id is None or other_id not in record)
        and not any(k in record for k in USER_FIELDS)
        and any(k in record for k in AGGREGATE_MARKS)
    )


def docs(name: str, title: str, scope: str, id_field: str, endpoint: str) -> str:
    return f"""\
## {name} - {title}

Grain: {scope} x day; descriptive only (no user appears). Files: NDJSON as downloaded from the
report links of `{endpoint}` (1-day: one aggregated record with `day`; 28-day: one record with
`report_start_day`, `report_end_day` and the daily aggregated records in `day_totals`), saved
as `.ndjson`, `.jsonl` or `.json`. Put each {scope}'s files under
`landing/vendor/{name}/<org>/`: **the folder names the org** (`vendor_org` is None in the rows;
`{id_field}` is a GitHub account, not a department). One `org_days` row `all` per day, plus one
per entry of `totals_by_feature`.

| vendor field | canonical field | feature |
|---|---|---|
| `day` (each entry of `day_totals` in a 28-day report) | `day` | |
| `daily_active_users` | `active_users` | `all` |
| `user_initiated_interaction_count` | `requests` | `all` only without `totals_by_feature`; else each feature's |
| `code_generation_activity_count` | `suggestions_shown` | as above |
| `code_acceptance_activity_count` | `accepted` | as above |
| `loc_suggested_to_add_sum` / `loc_added_sum` | `lines_suggested` / `lines_accepted` | as above |
| `totals_by_feature[].feature` | `feature` | e.g. `code_completion`, `chat_panel_agent_mode` |
| - | `engaged_users` | None (no daily engaged count) |
| - | `period_days` | 1 (a 28-day report gives 28 daily rows, not one 28-day row) |

The feature entries partition the totals, so the `all` row carries counts only when a record
has no feature split (never both). A record with `user_login` or `user_id` is a per-user
record: quarantined as `wrong_report` (the users reports are `github_copilot_users`).

Lost: `{id_field}`, `weekly_active_users` and `monthly_active_*` (not additive over days),
`report_start_day`/`report_end_day` (the days are in `day_totals`), the IDE, language and model
splits (`totals_by_ide`, `totals_by_language_feature`, `totals_by_language_model`,
`totals_by_model_feature`), lines deleted, `pull_requests`, `totals_by_ai_adoption_phase`,
code review user counts and the CLI block. Not measurable at this grain: any per-user signal.
"""


def report_format(
    name: str, scope: str, id_field: str, other_id: str | None, endpoint: str
) -> VendorFormat:
    """Register the format of one level of the usage-metrics reports (``scope``: organization
    or enterprise, whose records carry ``id_field`` and not ``other_id``)."""
    title = f"GitHub Copilot usage metrics, {scope} report (1-day / 28-day)"
    return register(
        VendorFormat(
            name=name,
            grain="org_day",
            summary=f"{title}: {scope}-day active users, generations, acceptances, lines",
            required=("day",),
            fills=(
                "accepted",
                "active_users",
                "lines_accepted",
                "lines_suggested",
                "requests",
                "suggestions_shown",
            ),
            identity_kinds=(),
            file_kinds=("json", "jsonl"),
            map_record=lambda record: map_report_record(name, record),
            looks_like=lambda record: looks_like_report(record, id_field, other_id),
            docs=docs(name, title, scope, id_field, endpoint),
        )
    )
