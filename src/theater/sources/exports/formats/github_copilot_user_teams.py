"""GitHub Copilot usage metrics, user-teams report: one record per user, team and day.

Delivered as NDJSON from the signed download links of
``GET /orgs/{org}/copilot/metrics/reports/user-teams-1-day`` (organization teams) or
``GET /enterprises/{e}/copilot/metrics/reports/user-teams-1-day`` (enterprise and organization
teams). It carries no usage: it says which teams a user belonged to that day, which is what
GitHub's own team-level metrics join to the users report. Field names: GitHub docs "Copilot
usage metrics", team-level metrics.
"""

from __future__ import annotations

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import VendorRecordError, as_str, is_blank, parse_day, require
from ._github_metrics import github_account, github_user

NAME = "github_copilot_user_teams"
#: the feature of a membership row (``theater.transforms.vendor.MEMBERSHIP_FEATURE``)
MEMBERSHIP = "team_membership"

DOCS = """\
## github_copilot_user_teams - GitHub Copilot usage metrics, user-teams report

Grain: user x team x day, NDJSON (one record per line; a user in several teams has one record
per team). One `user_days` row per record with feature `team_membership` and no counts: it
gives the user's org (the team) when no directory row covers that user, and is never usage.
A directory, when present, wins.

| vendor field | canonical field | note |
|---|---|---|
| `user_login` (else `user_id`) | `user_id` | `user_alias_kind` = `github_login` (else `github_id`), as in the users report, so the two join |
| `slug` (else `team_id`) | `org_id` | the team: the org a Viva-less, directory-less team gets |
| `organization_id` (else `enterprise_id`) | `vendor_org` | GitHub org/enterprise id |
| `day` | `day` | YYYY-MM-DD |
| - | `feature` | `team_membership` |
| - | every count | None (the report has no usage) |

A user in several teams on one day gets the first team slug in sort order (a directory decides
better). Lost: `team_id` when `slug` is given.
"""


def map_record(record: dict) -> list[dict]:
    require(record, "day")
    user, kind = github_user(record)
    if not is_blank(record.get("slug")):
        team = as_str(record["slug"], "slug")
    elif not is_blank(record.get("team_id")):
        team = as_str(record["team_id"], "team_id")
    else:
        raise VendorRecordError("missing_required: slug")
    vendor_org = github_account(record)
    return [
        user_day_row(
            NAME,
            user,
            kind,
            parse_day(record["day"]),
            MEMBERSHIP,
            vendor_org=vendor_org,
            org_id=team,
        )
    ]


def looks_like(record: dict) -> bool:
    return (
        "day" in record
        and ("user_login" in record or "user_id" in record)
        and ("slug" in record or "team_id" in record)
        and not any(k in record for k in ("totals_by_feature", "code_generation_activity_count"))
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="GitHub Copilot user-teams report (NDJSON): a user's teams per day (the org)",
        required=("day", "user_login", "slug"),
        fills=("org_id", "vendor_org"),
        identity_kinds=("github_login", "github_id"),
        file_kinds=("json", "jsonl"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
