"""GitHub Copilot usage metrics, organization report (1-day and 28-day NDJSON): organization-day
aggregates -> ``org_days`` (mapping in :mod:`._github_usage_report`)."""

from __future__ import annotations

from ._github_usage_report import docs, looks_like_report, map_report_record
from .base import VendorFormat, register

NAME = "github_copilot_org_usage"
DOCS = docs(
    NAME,
    "GitHub Copilot usage metrics, organization report (1-day / 28-day)",
    "organization",
    "organization_id",
    "GET /orgs/{org}/copilot/metrics/reports/organization-1-day (and -28-day)",
)


def map_record(record: dict) -> list[dict]:
    return map_report_record(NAME, record)


def looks_like(record: dict) -> bool:
    return looks_like_report(record, "organization_id", None)


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="org_day",
        summary="GitHub Copilot usage metrics, organization report (1-day / 28-day): organization-day active users, generations, acceptances, lines",
        required=("day",),
        signals={
            "unused_output": "N",
            "self_summary": "N",
            "repeat_prompt": "N",
            "fragmentation": "N",
            "padding": "N",
            "quota_bunching": "N",
            "checkpoint_burst": "N",
            "outcome_decoupling": "N",
        },
        identity_kinds=(),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
