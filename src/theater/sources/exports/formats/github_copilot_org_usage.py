"""GitHub Copilot usage metrics, organization report (1-day and 28-day NDJSON): organization-day
aggregates -> ``org_days`` (mapping in :mod:`._github_usage_report`)."""

from __future__ import annotations

from ._github_usage_report import report_format

NAME = "github_copilot_org_usage"
FORMAT = report_format(
    NAME,
    "organization",
    "organization_id",
    None,
    "GET /orgs/{org}/copilot/metrics/reports/organization-1-day (and -28-day)",
)
