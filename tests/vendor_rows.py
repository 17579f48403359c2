"""Expected canonical rows for the vendor tests, written out field by field (independent of the
row builders under test): every count not given is None (not reported)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "vendor"

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
INTERACTION_FIELDS = (
    "event_id",
    "event_ts",
    "user_id",
    "org_id",
    "tool",
    "action",
    "session_id",
    "prompt_fingerprint",
    "prompt_tokens",
    "completion_tokens",
    "model",
    "output_disposition",
    "dwell_ms",
    "artifact_id",
    "artifact_author_id",
    "artifact_modified_ts",
    "work_item_id",
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


def I(fmt, kind, cost_usd=None, **fields):
    """An ``interactions`` row of format ``fmt`` whose user is of alias kind ``kind``: every
    contract field not given is None; ``cost_usd`` None when the export gives no cost."""
    assert set(fields) <= set(INTERACTION_FIELDS), fields
    row = {"_table": "interactions"}
    row.update({f: fields.get(f) for f in INTERACTION_FIELDS})
    row["source_format"] = fmt
    row["user_alias_kind"] = kind
    row["cost_usd"] = cost_usd
    return row


def event(
    fmt,
    kind,
    event_id,
    ts,
    user,
    model=None,
    pt=None,
    ct=None,
    fp=None,
    session=None,
    *,
    tool="assistant",
    action="other",
    cost_usd=None,
    **fields,
):
    """An ``interactions`` row of one event of an event export (``I`` with the fields most of
    them give: id, time, user, model, prompt and completion tokens, fingerprint, session)."""
    return I(
        fmt,
        kind,
        cost_usd,
        event_id=event_id,
        event_ts=ts,
        user_id=user,
        tool=tool,
        action=action,
        session_id=session,
        prompt_fingerprint=fp,
        prompt_tokens=pt,
        completion_tokens=ct,
        model=model,
        **fields,
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


def read_rows(fmt, path, *, detail=True):
    """(rows, errors) of every record of ``path`` mapped with ``fmt`` (a format or its module),
    each record read asserted recognised by ``fmt.looks_like``. errors: (line, reason) of the
    records not read or not mapped; ``detail=False`` cuts a reason to its code and field
    (``malformed_line``, ``missing_required: user``), leaving out what follows."""
    from theater.sources.exports import VendorRecordError
    from theater.sources.stream import iter_records

    rows, errors = [], []
    for rec in iter_records(str(path)):
        if rec.error:
            errors.append((rec.line, rec.error if detail else rec.error.split(":")[0]))
            continue
        assert fmt.looks_like(rec.record), rec.record
        try:
            rows.extend(fmt.map_record(rec.record))
        except VendorRecordError as exc:
            errors.append((rec.line, str(exc) if detail else str(exc).split(" (")[0]))
    return rows, errors
