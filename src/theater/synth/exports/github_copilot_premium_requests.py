"""Synthetic ``github_copilot_premium_requests`` reports (read back by
:mod:`theater.sources.exports.formats.github_copilot_premium_requests`): GitHub's billing usage
report of premium requests, a companion of the users report (``COMPANION_OF``): written only
when a delivery asks for it, from the same native events as ``github_copilot_users``, so both
reports of one org bill and count the same requests.

What is billed, per user, day and model: each requested event (any action but ``complete``:
inline completions are not premium requests) is one prompt, times its model's multiplier
(``MULTIPLIER``; a model at 0x is included in the plan and gives no row). Each user has
``MONTHLY_QUOTA`` premium requests a calendar month included: the month's rows consume it in
day order (models by name within a day); ``gross_amount`` = quantity x ``PRICE``,
``discount_amount`` = the part inside the allowance, ``net_amount`` = the rest. One CSV per
calendar month (``BY = "world"``: the allowance runs across weeks).
"""

from __future__ import annotations

import pandas as pd

from .common import Delivery, csv_text, prep_agg, write_text

NAME = "github_copilot_premium_requests"
BY = "world"
#: the format whose events this report bills (written beside it, never instead of it)
COMPANION_OF = "github_copilot_users"
#: US dollars per premium request
PRICE_CENTS = 4
#: premium requests included per user and calendar month (a Business plan)
MONTHLY_QUOTA = 300
#: premium requests per prompt, by native model; models not listed are included (0x)
#: (the IDE's ``gpt-4.1-mini`` is one)
MULTIPLIER = {"claude-sonnet-4": 1, "codex-1": 1}
#: the model names the report prints
DISPLAY = {"claude-sonnet-4": "Claude Sonnet 4", "codex-1": "Codex"}
ORGANIZATION = "acme-corp"
HEADER = [
    "date",
    "username",
    "product",
    "sku",
    "model",
    "quantity",
    "unit_type",
    "applied_cost_per_quantity",
    "gross_amount",
    "discount_amount",
    "net_amount",
    "exceeds_quota",
    "total_monthly_quota",
    "organization",
    "cost_center_name",
]


def billed(d: pd.DataFrame) -> pd.DataFrame:
    """Native events -> (user_id, day, month, model, quantity, gross, discount, net) in cents,
    one row per user, day and billed model, in billing order (see module)."""
    d = prep_agg(d)
    d = d[d["action"] != "complete"]
    mult = d["model"].map(MULTIPLIER).fillna(0).astype("int64")
    d = d.assign(q=mult)[mult > 0]
    g = (
        d.groupby(["user_id", "day", "model"], sort=True)["q"]
        .sum()
        .rename("quantity")
        .reset_index()
    )
    g["month"] = g["day"].str[:7]
    g["gross"] = g["quantity"] * PRICE_CENTS
    # requests of the user's month before this row (rows are in day, model order)
    before = g.groupby(["user_id", "month"], sort=False)["quantity"].cumsum() - g["quantity"]
    inside = (MONTHLY_QUOTA - before).clip(lower=0).clip(upper=g["quantity"])
    g["discount"] = inside * PRICE_CENTS
    g["net"] = g["gross"] - g["discount"]
    g["exceeds"] = before + g["quantity"] > MONTHLY_QUOTA
    return g


def _money(cents: int) -> str:
    return f"{int(cents) // 100}.{int(cents) % 100:02d}"


def write(ctx: Delivery, d: pd.DataFrame) -> None:
    g = billed(d)
    for month, part in g.groupby("month", sort=True):
        rows = [
            [
                r.day,
                ctx.a("github_login", r.user_id),
                "copilot",
                "copilot_premium_request",
                DISPLAY.get(r.model, r.model),
                int(r.quantity),
                "requests",
                _money(PRICE_CENTS),
                _money(r.gross),
                _money(r.discount),
                _money(r.net),
                "True" if r.exceeds else "False",
                MONTHLY_QUOTA,
                ORGANIZATION,
                "",
            ]
            for r in part.sort_values(["day", "user_id", "model"], kind="stable").itertuples()
        ]
        write_text(
            ctx.root / NAME / f"premium_request_usage_report_{month}.csv", csv_text(HEADER, rows)
        )
        ctx.add(NAME, files=1, records=len(rows), user_days=len(rows))
