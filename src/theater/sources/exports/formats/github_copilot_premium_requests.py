"""GitHub billing "premium requests usage report" (CSV): per user, day, product, SKU and model.

Downloaded from the billing "Premium request analytics" page (emailed link). Each row sums
``quantity``, ``gross_amount``, ``discount_amount`` and ``net_amount`` over one combination of
``date``, ``username``, ``product``, ``sku`` and ``model``. Field names: GitHub docs "Billing
reports reference" (usage report fields).
"""

from __future__ import annotations

import math

from ..format import VendorFormat, register
from ..rows import user_day_row
from ..values import as_amount, as_str, as_text, parse_day, require

NAME = "github_copilot_premium_requests"
#: the unit of a row whose ``quantity`` counts premium requests (other units, e.g. AI credits,
#: are money-like units, not requests)
REQUEST_UNIT = "requests"

DOCS = """\
## github_copilot_premium_requests - GitHub billing premium requests usage report

Grain: user x day x product x SKU x model, CSV (the report sums `quantity` and the amounts over
each combination). One `user_days` row per record; a user's models and SKUs of one day give
rows with the same key: rows are additive (summed when refined).

| vendor field | canonical field | note |
|---|---|---|
| `username` | `user_id` (`user_alias_kind` = `github_login`) | |
| `organization` | `vendor_org` | GitHub org slug, not an HR org |
| - | `org_id` | None (resolved later from the directory) |
| `date` (YYYY-MM-DD, UTC) | `day` | |
| `sku` | `feature` | `coding_agent_premium_requests` when the SKU names the coding agent (automation: counted apart, never a person's use), else `premium_requests` |
| `quantity` (when `unit_type` = `requests`) | `requests` | premium requests billed: a prompt times its model's multiplier, so not a count of prompts; a fraction (models under 1x) is rounded up, since a positive quantity is at least one prompt. Another `unit_type` (AI credits): None |
| `net_amount` | `cost_usd` | what GitHub bills for the row after the included allowance (`gross_amount - discount_amount`), US dollars; a reported 0 (inside the allowance) is a known 0; blank -> None |
| - | `suggestions_shown`, `accepted`, `rejected`, `dismissed`, lines, sessions, tokens | None: a billing report has no activity detail |
| - | `period_days` | 1 |

Lost: `product`, `model` (summed over models), `applied_cost_per_quantity`, `gross_amount`,
`discount_amount` (only the net is cost), `exceeds_quota`, `total_monthly_quota`,
`cost_center_name`, AI-credit columns. The older analytics export (`Timestamp`, `User`,
`Model`, `Requests Used`, ...) has no money column and is not read. Premium requests are part
of what GitHub's usage-metrics users report (`github_copilot_users`) already counts as
requests. With both loaded, a premium row whose person and day have a users-report row of the
same kind (own use, or automation such as the coding agent) is counted once: it keeps its
cost in `source_format = 'all'` but adds no use, request or active day there, nor a usage
unit to the signals (`theater.transforms.aggregates.counted_elsewhere`); silver and this
format's own `gold/org_adoption` row keep its requests as billed. Premium requests of a
person-day the users report does not list, or with this report alone, count.
"""


def _feature(sku: str | None) -> str:
    s = (sku or "").lower()
    return "coding_agent_premium_requests" if "coding_agent" in s else "premium_requests"


def _requests(record: dict) -> int | None:
    unit = (as_text(record.get("unit_type")) or REQUEST_UNIT).lower()
    qty = as_amount(record.get("quantity"), "quantity")
    if qty is None or unit != REQUEST_UNIT:
        return None
    return int(math.ceil(qty - 1e-9))


def map_record(record: dict) -> list[dict]:
    require(record, "date", "username")
    return [
        user_day_row(
            NAME,
            as_str(record["username"], "username"),
            "github_login",
            parse_day(record["date"]),
            _feature(as_text(record.get("sku"))),
            vendor_org=as_str(record.get("organization"), "organization"),
            requests=_requests(record),
            cost_usd=as_amount(record.get("net_amount"), "net_amount"),
        )
    ]


def looks_like(record: dict) -> bool:
    return (
        isinstance(record, dict)
        and {"date", "username", "sku", "model"} <= set(record)
        and ("net_amount" in record or "quantity" in record)
    )


FORMAT = register(
    VendorFormat(
        name=NAME,
        grain="user_day",
        summary="GitHub billing premium requests usage report (CSV): per user-day premium "
        "requests and net cost",
        required=("date", "username"),
        fills=("cost_usd", "requests", "vendor_org"),
        identity_kinds=("github_login",),
        file_kinds=("csv",),
        map_record=map_record,
        looks_like=looks_like,
        docs=DOCS,
    )
)
