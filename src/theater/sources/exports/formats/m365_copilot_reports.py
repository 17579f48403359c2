"""Microsoft 365 Copilot usage reports (Microsoft Graph ``copilot/reports``): tenant level.

Three reports, CSV (default) or JSON (``$format=application/json``, ``{"value": [...]}``):
``getMicrosoft365CopilotUserCountTrend`` (daily active/enabled users per app),
``getMicrosoft365CopilotUserCountSummary`` (active/enabled users per app over D7/D30/D90/D180)
and ``getMicrosoft365CopilotUsageUserDetail`` (per user: last-activity date per app, no
counts). Field names: Microsoft Graph docs for these three functions.
"""

from __future__ import annotations

import datetime as dt
import re

from ..format import VendorFormat, register
from ..rows import org_day_row
from ..values import VendorRecordError, as_int, get_path, is_blank, parse_day

NAME = "m365_copilot_reports"

APPS = {
    "anyapp": "all",
    "microsoftteams": "teams",
    "teams": "teams",
    "word": "word",
    "powerpoint": "powerpoint",
    "outlook": "outlook",
    "excel": "excel",
    "onenote": "onenote",
    "loop": "loop",
    "copilotchat": "copilot_chat",
}

DOCS = """\
## m365_copilot_reports - Microsoft 365 Copilot usage reports (Graph)

Tenant-level only: no report carries a count per user, so nothing becomes `user_days`, and the
tenant id is not in the payload (`vendor_org` None). All rows are `org_days` with only
`active_users` set (every other count None); they support adoption trends, never an index.
Keys are matched after squashing case and punctuation (`Microsoft Teams Active Users` =
`microsoftTeamsActiveUsers`); app names: `anyApp` -> `all`, `microsoftTeams` -> `teams`,
`word`, `powerPoint`, `outlook`, `excel`, `oneNote`, `loop`, `copilotChat` -> `copilot_chat`
(others: squashed name).

| report (shape) | vendor field | canonical field |
|---|---|---|
| user count trend (JSON `adoptionByDate[]`, or CSV with `Report Date`) | `reportDate` | `day`, `period_days` = 1 |
| | `<app>ActiveUsers` | `active_users`, feature `<app>` |
| user count summary (JSON `adoptionByProduct[]`, or CSV without `Report Date`) | `reportRefreshDate`, `reportPeriod` (7/30/90/180) | `day` = refresh date - period + 1, `period_days` = period |
| | `<app>ActiveUsers` | `active_users`, feature `<app>` |
| usage user detail (JSON or CSV, one record per user) | `reportRefreshDate`, `copilotActivityUserDetailsByPeriod[].reportPeriod` / `Report Period` | window as for the summary |
| | `<app>CopilotLastActivityDate` (`lastActivityDate` for `all`) | `active_users` = 1 if the date falls in the window else 0, feature `<app>_last_activity` |

The user detail report is handled as an **org-level count, never per user**: each user record
gives one 0/1 row per app column present (blank date = no activity = 0); rows with the same key
are summed (`merge_rows`) into the number of enabled users whose last activity falls in the
window, which is exactly the users active in the window. `userPrincipalName` and
`displayName` are read, never output (and are often concealed hashes anyway). The
`_last_activity` suffix keeps these counts apart from the summary report's figure for the same
window.

Lost: enabled users (`<app>EnabledUsers`: no canonical field), `reportRefreshDate` of trend
rows, per-user identities and dates, prompt counts (not in these reports). Every signal is N.
"""

_SQUASH = re.compile(r"[^0-9a-z]+")


def _squash(name: str) -> str:
    return _SQUASH.sub("", str(name).lower())


def _app(prefix: str) -> str:
    return APPS.get(prefix, prefix)


def _active_rows(block: dict, day: str, period: int, where: str) -> list[dict]:
    rows = []
    for key, value in block.items():
        sq = _squash(key)
        if sq.endswith("activeusers") and sq != "activeusers":
            rows.append(
                org_day_row(
                    NAME,
                    None,
                    day,
                    _app(sq[: -len("activeusers")]),
                    period_days=period,
                    active_users=as_int(value, f"{where}.{key}"),
                )
            )
    return rows


def _window_start(refresh: str, period: int) -> str:
    return (dt.date.fromisoformat(refresh) - dt.timedelta(days=period - 1)).isoformat()


def _period(value, where: str) -> int:
    text = str(value).strip().upper().lstrip("D") if not is_blank(value) else ""
    period = as_int(text, where)
    if not period:
        raise VendorRecordError(f"missing_required: {where}")
    return period


def map_record(record: dict) -> list[dict]:
    sq = {_squash(k): v for k, v in record.items()}
    if isinstance(record.get("adoptionByDate"), list):  # trend, JSON
        rows = []
        for i, block in enumerate(record["adoptionByDate"]):
            if not isinstance(block, dict) or is_blank(block.get("reportDate")):
                raise VendorRecordError(f"missing_required: adoptionByDate[{i}].reportDate")
            rows += _active_rows(block, parse_day(block["reportDate"]), 1, f"adoptionByDate[{i}]")
        return rows
    if is_blank(sq.get("reportrefreshdate")):
        raise VendorRecordError("missing_required: reportRefreshDate")
    refresh = parse_day(sq["reportrefreshdate"])
    if isinstance(record.get("adoptionByProduct"), list):  # summary, JSON
        rows = []
        for i, block in enumerate(record["adoptionByProduct"]):
            if not isinstance(block, dict):
                raise VendorRecordError(f"bad_type: adoptionByProduct[{i}]")
            period = _period(block.get("reportPeriod", record.get("reportPeriod")), "reportPeriod")
            rows += _active_rows(
                block, _window_start(refresh, period), period, f"adoptionByProduct[{i}]"
            )
        return rows
    if any(k.endswith("lastactivitydate") for k in sq):  # user detail
        period_value = get_path(record, "copilotActivityUserDetailsByPeriod")
        if isinstance(period_value, list) and period_value and isinstance(period_value[0], dict):
            period_value = period_value[0].get("reportPeriod")
        else:
            period_value = sq.get("reportperiod")
        period = _period(period_value, "reportPeriod")
        start = _window_start(refresh, period)
        rows = []
        for key, value in sq.items():
            if not key.endswith("lastactivitydate"):
                continue
            prefix = key[: -len("lastactivitydate")]
            prefix = (
                prefix[: -len("copilot")]
                if prefix.endswith("copilot") and prefix != "copilot"
                else prefix
            )
            app = _app(prefix) if prefix else "all"
            active = 0
            if not is_blank(value):
                last = parse_day(value)
                active = 1 if start <= last <= refresh else 0
            rows.append(
                org_day_row(
                    NAME,
                    None,
                    start,
                    f"{app}_last_activity",
                    period_days=period,
                    active_users=active,
                )
            )
        return rows
    if not is_blank(sq.get("reportdate")):  # trend, CSV
        return _active_rows(record, parse_day(sq["reportdate"]), 1, "row")
    period = _period(sq.get("reportperiod"), "Report Period")  # summary, CSV
    return _active_rows(record, _window_start(refresh, period), period, "row")


def looks_like(record: dict) -> bool:
    if "adoptionByDate" in record or "adoptionByProduct" in record:
        return True
    sq = {_squash(k) for k in record}
    return "reportrefreshdate" in sq and any(
        k.endswith(("activeusers", "lastactivitydate")) for k in sq
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="org_day",
        summary="Microsoft 365 Copilot usage reports (Graph, CSV/JSON): tenant active users per app",
        required=("reportRefreshDate",),
        fills=("active_users",),
        identity_kinds=("upn",),
        file_kinds=("json", "csv"),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
