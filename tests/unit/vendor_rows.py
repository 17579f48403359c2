"""Expected canonical rows for the vendor tests, written out field by field (independent of the
row builders under test): every count not given is None (not reported)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

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
ORG_DAY_COUNTS = (
    "active_users",
    "engaged_users",
    "requests",
    "suggestions_shown",
    "accepted",
    "lines_suggested",
    "lines_accepted",
)


def U(
    fmt,
    user,
    kind,
    day,
    feature,
    vendor_org=None,
    org_id=None,
    period_days=1,
    cost_usd=None,
    **counts,
):
    assert set(counts) <= set(USER_DAY_COUNTS), counts
    row = {
        "_table": "user_days",
        "source_format": fmt,
        "user_id": user,
        "user_alias_kind": kind,
        "vendor_org": vendor_org,
        "org_id": org_id,
        "day": day,
        "feature": feature,
    }
    row.update({c: counts.get(c) for c in USER_DAY_COUNTS})
    row["period_days"] = period_days
    row["cost_usd"] = cost_usd
    return row


def O(fmt, day, feature, vendor_org=None, period_days=1, **counts):
    assert set(counts) <= set(ORG_DAY_COUNTS), counts
    row = {
        "_table": "org_days",
        "source_format": fmt,
        "vendor_org": vendor_org,
        "day": day,
        "feature": feature,
    }
    row.update({c: counts.get(c) for c in ORG_DAY_COUNTS})
    row["period_days"] = period_days
    return row


def read_all(fmt, path):
    """(line, rows or error) for every record of ``path`` mapped with ``fmt``."""
    from theater.sources.exports import VendorRecordError
    from theater.sources.stream import iter_records

    out = []
    for rec in iter_records(str(path)):
        if rec.record is None:
            out.append((rec.line, rec.error))
            continue
        try:
            out.append((rec.line, fmt.map_record(rec.record)))
        except VendorRecordError as exc:
            out.append((rec.line, str(exc)))
    return out
