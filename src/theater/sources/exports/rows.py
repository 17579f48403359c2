"""Canonical rows of the export formats, and their field lists.

Canonical rows are plain dicts whose ``"_table"`` is one of:

``interactions``
    every field of the landing contract ``contract/interaction.schema.json`` (read from it:
    :data:`INTERACTION_FIELDS`) plus ``source_format``, ``user_alias_kind`` and ``cost_usd``
    (the vendor's own cost of the event in US dollars, float; ``None`` when the export gives
    none: the landing contract has no cost, so native events never carry one). Build them with
    :func:`interaction_row`.
``user_days``
    :data:`USER_DAY_FIELDS`; counts are ``int`` or ``None`` when the source does not report
    them (never 0 for unknown); ``cost_usd`` (float) is the vendor's own cost of the row in US
    dollars, ``None`` when the export gives none. Build them with :func:`user_day_row`.
``org_days``
    :data:`ORG_DAY_FIELDS`, same rule. Build them with :func:`org_day_row`.

The count lists here are the one definition: the refine transforms and the synthetic writers
import them.
"""

from __future__ import annotations

from typing import Any

from ...contracts import contract
from .values import sum_known

TABLES = ("interactions", "user_days", "org_days")

_INTERACTIONS = contract("interactions")
#: Fields of the landing interaction contract, in contract order.
INTERACTION_FIELDS = _INTERACTIONS.names
ACTIONS = _INTERACTIONS.field("action").enum
DISPOSITIONS = _INTERACTIONS.field("output_disposition").enum
USER_DAY_COUNTS = (
    "requests",
    "suggestions_shown",
    "accepted",
    "rejected",
    "dismissed",
    "lines_suggested",
    "lines_accepted",
    "sessions",
    "prompt_tokens",
    "output_tokens",
)
#: the text fields that say whose figure a ``user_days`` row is (with ``period_days``: its key)
USER_DAY_LABELS = (
    "source_format",
    "user_id",
    "user_alias_kind",
    "vendor_org",
    "org_id",
    "day",
    "feature",
)
USER_DAY_FIELDS = USER_DAY_LABELS + USER_DAY_COUNTS + ("period_days", "cost_usd")
#: the vendor-reported cost of a user_days or interactions row (US dollars, float; None = not
#: reported)
USER_DAY_COST = "cost_usd"
ORG_DAY_COUNTS = (
    "active_users",
    "engaged_users",
    "requests",
    "suggestions_shown",
    "accepted",
    "lines_suggested",
    "lines_accepted",
)
#: the text fields that say whose figure an ``org_days`` row is (with ``period_days``: its key)
ORG_DAY_LABELS = ("source_format", "vendor_org", "day", "feature")
ORG_DAY_FIELDS = ORG_DAY_LABELS + ORG_DAY_COUNTS + ("period_days",)


def interaction_row(
    source_format: str,
    user_alias_kind: str | None,
    *,
    cost_usd: float | None = None,
    **fields: Any,
) -> dict:
    """A canonical ``interactions`` row: every contract field (None unless given), and
    ``cost_usd``: the vendor's own cost in US dollars, None when it gives none."""
    unknown = set(fields) - set(INTERACTION_FIELDS)
    if unknown:
        raise TypeError(f"not interaction fields: {sorted(unknown)}")
    row: dict[str, Any] = {"_table": "interactions"}
    row.update({k: fields.get(k) for k in INTERACTION_FIELDS})
    if row["action"] is None:
        row["action"] = "other"
    if row["action"] not in ACTIONS:
        raise ValueError(f"action {row['action']!r} not in the contract enum")
    if row["output_disposition"] is not None and row["output_disposition"] not in DISPOSITIONS:
        raise ValueError(f"output_disposition {row['output_disposition']!r} not in the enum")
    row["source_format"] = source_format
    row["user_alias_kind"] = user_alias_kind
    row["cost_usd"] = None if cost_usd is None else float(cost_usd)
    return row


def user_day_row(
    source_format: str,
    user_id: str,
    user_alias_kind: str,
    day: str,
    feature: str,
    *,
    vendor_org: str | None = None,
    org_id: str | None = None,
    period_days: int = 1,
    cost_usd: float | None = None,
    **counts: int | None,
) -> dict:
    """A canonical ``user_days`` row; counts not given are None (not reported); ``cost_usd``:
    the vendor's own cost in US dollars, None when it gives none."""
    unknown = set(counts) - set(USER_DAY_COUNTS)
    if unknown:
        raise TypeError(f"not user_day counts: {sorted(unknown)}")
    if period_days not in (1, 7):
        raise ValueError(f"period_days must be 1 or 7, got {period_days}")
    row: dict[str, Any] = {
        "_table": "user_days",
        "source_format": source_format,
        "user_id": user_id,
        "user_alias_kind": user_alias_kind,
        "vendor_org": vendor_org,
        "org_id": org_id,
        "day": day,
        "feature": feature,
    }
    row.update({k: counts.get(k) for k in USER_DAY_COUNTS})
    row["period_days"] = period_days
    row["cost_usd"] = None if cost_usd is None else float(cost_usd)
    return row


def org_day_row(
    source_format: str,
    vendor_org: str | None,
    day: str,
    feature: str,
    *,
    period_days: int = 1,
    **counts: int | None,
) -> dict:
    """A canonical ``org_days`` row; counts not given are None (not reported)."""
    unknown = set(counts) - set(ORG_DAY_COUNTS)
    if unknown:
        raise TypeError(f"not org_day counts: {sorted(unknown)}")
    row: dict[str, Any] = {
        "_table": "org_days",
        "source_format": source_format,
        "vendor_org": vendor_org,
        "day": day,
        "feature": feature,
    }
    row.update({k: counts.get(k) for k in ORG_DAY_COUNTS})
    row["period_days"] = period_days
    return row


#: Key columns of each canonical table: rows with equal keys are parts of one figure.
ROW_KEYS = {
    "user_days": USER_DAY_LABELS + ("period_days",),
    "org_days": ORG_DAY_LABELS + ("period_days",),
}


def merge_rows(rows: list[dict]) -> list[dict]:
    """Sum ``user_days`` / ``org_days`` rows that share a key (:data:`ROW_KEYS`), in first-seen
    order; other rows pass through unchanged. Pure.

    Aggregate rows are additive: a source may report one figure in several records (Claude Code
    analytics has one record per user, day *and terminal*; the M365 user-detail report gives one
    0/1 active-user row per user and app). Counts add with unknown kept unknown: None + None is
    None, None + 3 is 3 (a part that is not reported adds nothing; the whole is unknown only when
    no part reports it).
    """
    out: list[dict] = []
    index: dict[tuple, dict] = {}
    for row in rows:
        table = row.get("_table")
        if table not in ROW_KEYS:
            out.append(row)
            continue
        key = (table,) + tuple(row.get(k) for k in ROW_KEYS[table])
        if key not in index:
            index[key] = dict(row)
            out.append(index[key])
            continue
        acc = index[key]
        counts = USER_DAY_COUNTS if table == "user_days" else ORG_DAY_COUNTS
        for c in counts:
            acc[c] = sum_known(acc.get(c), row.get(c))
        if table == "user_days":
            acc["cost_usd"] = sum_known(acc.get("cost_usd"), row.get("cost_usd"))
    return out
