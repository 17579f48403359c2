"""GitHub Copilot usage metrics, enterprise report (1-day and 28-day NDJSON): enterprise-day
aggregates -> ``org_days`` (mapping in :mod:`._github_usage_report`)."""

from __future__ import annotations

from ._github_usage_report import report_format

NAME = "github_copilot_enterprise_usage"
FORMAT = report_format(
    NAME,
    "enterprise",
    "enterprise_id",
    "organization_id",
    "GET /enterprises/{enterprise}/copilot/metrics/reports/enterprise-1-day (and -28-day)",
)
