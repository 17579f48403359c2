"""Viva Insights person query (CSV, ``pq_data``): one row per person and week.

Weeks start on Sunday (``MetricDate`` is the Sunday). Column names follow the export
(``Copilot_actions_taken_in_Teams`` or, from some exports, ``Copilot actions taken in Teams``):
they are matched after normalization (lower case, punctuation to ``_``). Field names: Viva
Insights docs and the ``vivainsights`` sample ``pq_data``.
"""

from __future__ import annotations

import datetime as dt

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import VendorRecordError, as_int, as_str, is_blank, norm_keys, parse_day, sum_known

NAME = "viva_person_query"
APP_PREFIX = "copilot_actions_taken_in_"
SUMMARY_PREFIXES = ("summarise_", "summarize_")

DOCS = """\
## viva_person_query - Viva Insights person query

Grain: person x week (weeks start on Sunday), CSV. One `user_days` row per Copilot app column
with a value, `period_days` = 7 and `day` = the week's Sunday (`MetricDate`; a date that is not
a Sunday is rejected as `bad_timestamp`). Columns are matched after normalization
(`Copilot actions taken in Teams` = `Copilot_actions_taken_in_Teams`).

| vendor column | canonical field | note |
|---|---|---|
| `PersonId` | `user_id` (`user_alias_kind` = `person_id`) | Viva's pseudonymous id |
| `Organization` | `org_id` | the HR org attribute of the person query: the person's org when no directory row covers them (a directory wins) |
| - | `vendor_org` | None |
| `MetricDate` | `day` | week start (Sunday) |
| `Copilot_actions_taken_in_<App>` | `requests`, feature = `<app>` normalized (`teams`, `word`, `excel`, `outlook`, `powerpoint`, `copilot_chat_work`, `loop`, `onenote`...) | |
| `Total_Copilot_actions_taken` | `requests`, feature `all` | only when no per-app column has a value |
| `Summarise_*` / `Summarize_*` columns (sum) | `requests`, feature `summarize_subset` | a **subset** of the app actions: never add it to the other features |
| - | every other count | None (Viva reports no acceptance, lines, sessions or tokens) |

Lost: `Days_of_active_Copilot_*`, `Total_Copilot_active_days`, `Total_Copilot_enabled_days`,
`Copilot_assisted_hours`, collaboration metrics (`Collaboration_hours`, `Emails_sent`...),
survey items and every other HR attribute (`Level`, `SupervisorIndicator`...). The week grain
cannot show checkpoint bursts (a 3-day window). Summarise counts feed no signal: they are a
summarization share, not *self*-summary (authorship is unknown), and they repeat actions the
app columns already count.
"""


def map_record(record: dict) -> list[dict]:
    rec = norm_keys(record)
    if is_blank(rec.get("personid")):
        raise VendorRecordError("missing_required: PersonId")
    if is_blank(rec.get("metricdate")):
        raise VendorRecordError("missing_required: MetricDate")
    user = as_str(rec["personid"], "PersonId")
    day = parse_day(rec["metricdate"])
    if dt.date.fromisoformat(day).weekday() != 6:
        raise VendorRecordError(
            f"bad_timestamp: MetricDate {rec['metricdate']!r} is not a Sunday "
            "(Viva weeks start on Sunday)"
        )
    org = as_str(rec.get("organization"), "Organization")

    def row(feature: str, requests: int | None) -> dict:
        return user_day_row(
            NAME, user, "person_id", day, feature, org_id=org, period_days=7, requests=requests
        )

    rows = [
        row(key[len(APP_PREFIX) :], as_int(value, key))
        for key, value in rec.items()
        if key.startswith(APP_PREFIX) and not is_blank(value)
    ]
    total = rec.get("total_copilot_actions_taken")
    if not rows and not is_blank(total):
        rows.append(row("all", as_int(total, "Total_Copilot_actions_taken")))
    summaries = [
        as_int(v, k) for k, v in rec.items() if k.startswith(SUMMARY_PREFIXES) and not is_blank(v)
    ]
    if summaries:
        rows.append(row("summarize_subset", sum_known(*summaries)))
    return rows


def looks_like(record: dict) -> bool:
    rec = norm_keys(record)
    return "personid" in rec and "metricdate" in rec


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="person_week",
        summary="Viva Insights person query (CSV): Copilot actions per person-week and app",
        required=("PersonId", "MetricDate"),
        fills=("org_id", "requests"),
        identity_kinds=("person_id",),
        file_kinds=("csv",),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
