"""``adoption.with_all_rows``: the events' activity with each row once more as ``all``, from
one read of the activity; the same rows as ``combined(events, None)`` (a union of the activity
with its own ``all`` rows). Small hand-made frames, expected values worked out by hand."""

from __future__ import annotations

from datetime import date

from theater.transforms import adoption as ad

EVENTS_SCHEMA = (
    "org_id string, user_key string, event_date date, action string, "
    "output_disposition string, source_format string"
)
D = date(2026, 3, 2)


def _rows(df):
    return sorted((r.asDict() for r in df.collect()), key=lambda d: repr(sorted(d.items())))


def test_events_doubled_as_all(spark):
    # u1: two requests on one day, one accepted -> one person-day row (requests 2, accepted 1);
    # u2: one request on the same day, rejected -> requests 1, accepted 0
    events = spark.createDataFrame(
        [
            ("A", "u1", D, "chat", "accepted", "cursor_usage_events"),
            ("A", "u1", D, "chat", "rejected", "cursor_usage_events"),
            ("A", "u2", D, "chat", "rejected", "cursor_usage_events"),
        ],
        EVENTS_SCHEMA,
    )
    act = ad.event_activity(events)
    got = ad.with_all_rows(act)
    assert got.columns == act.columns
    rows = _rows(got)
    assert len(rows) == 4  # two person-days, each as its source and as 'all'
    by = {(r["user_key"], r["source_format"]): r for r in rows}
    assert set(by) == {
        ("u1", "cursor_usage_events"),
        ("u1", "all"),
        ("u2", "cursor_usage_events"),
        ("u2", "all"),
    }
    for u, req, acc in (("u1", 2, 1), ("u2", 1, 0)):
        for src in ("cursor_usage_events", "all"):
            assert (by[(u, src)]["requests"], by[(u, src)]["accepted"]) == (req, acc)
            assert by[(u, src)]["active"] == 1
    assert rows == _rows(ad.combined(act, None))


def test_counted_elsewhere_kept_out_of_all(spark):
    # an activity row whose own use another source counts (own_elsewhere = 1): as its source
    # it keeps active 1 and requests 1; as 'all' it gives no use and no counts (active 0,
    # requests/accepted/offered null), auto counts untouched (auto_elsewhere = 0)
    events = spark.createDataFrame(
        [("A", "u1", D, "chat", "accepted", "cursor_usage_events")], EVENTS_SCHEMA
    )
    act = ad.event_activity(events)
    act = act.withColumn("own_elsewhere", act["own_elsewhere"] * 0 + 1)
    rows = _rows(ad.with_all_rows(act))
    by = {r["source_format"]: r for r in rows}
    assert by["cursor_usage_events"]["active"] == 1
    assert by["cursor_usage_events"]["requests"] == 1
    assert by["all"]["active"] == 0
    assert (by["all"]["requests"], by["all"]["accepted"], by["all"]["offered"]) == (
        None,
        None,
        None,
    )
    assert by["all"]["auto_active"] == by["cursor_usage_events"]["auto_active"]
    assert rows == _rows(ad.combined(act, None))
