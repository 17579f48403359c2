"""Viva Insights enabled days as a seat source (theater.sources.seats, ``viva_enabled_days``):
person-weeks of ``Total_Copilot_enabled_days`` -> seat spans, worked out by hand, and the seat
figures they give in gold/org_adoption."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from theater.sources import seats as src
from theater.transforms import adoption as ad
from theater.transforms.aggregates import USER_DAYS_SCHEMA
from theater.transforms.vendor import USER_DAY_COUNTS

D = date.fromisoformat
# Sundays of March 2026: 1, 8, 15, 22, 29
W = [D("2026-03-01") + timedelta(days=7 * i) for i in range(5)]


def test_enabled_weeks_become_spans():
    last = W[4]
    # every week enabled whole, to the file's last week: one open span from the first Sunday
    assert src.enabled_spans([(w, 7) for w in W], last) == [(W[0], None)]
    # the licence arrives mid-week (3 days of the week of 8 Mar: 12..14 Mar), the week of
    # 15 Mar is held whole, 2 days of the week of 22 Mar (22, 23), none the week of 29 Mar:
    # [12 Mar, 24 Mar)
    weeks = [(W[0], 0), (W[1], 3), (W[2], 7), (W[3], 2), (W[4], 0)]
    assert src.enabled_spans(weeks, last) == [(D("2026-03-12"), D("2026-03-24"))]
    # a gap (the week of 15 Mar missing) ends a span; a lone week that ends holds its days from
    # the week's start: [1 Mar, 5 Mar); the second run reaches the file's end: open, from
    # 22 Mar + 7 - 5 = 24 Mar
    weeks = [(W[0], 4), (W[1], 0), (W[3], 5), (W[4], 7)]
    assert src.enabled_spans(weeks, last) == [
        (D("2026-03-01"), D("2026-03-05")),
        (D("2026-03-24"), None),
    ]
    assert src.enabled_spans([(W[0], 0)], last) == []


def test_person_query_file_gives_seats_and_last_use(tmp_path):
    f = tmp_path / "pq_enabled.csv"
    f.write_text(
        "PersonId,MetricDate,Total_Copilot_enabled_days,Total_Copilot_active_days,Organization\n"
        "p-1,2026-03-01,7,2,Fin\n"
        "p-1,2026-03-08,7,0,Fin\n"
        "p-1,2026-03-15,7,0,Fin\n"
        "p-2,2026-03-01,0,0,Ops\n"
        "p-2,2026-03-08,5,1,Ops\n"
        "p-2,2026-03-15,0,0,Ops\n"
    )
    fmt, seats, skipped = src.read_file(f)
    assert (fmt, skipped) == (src.VIVA, 0)
    got = [
        (s.alias, s.alias_kind, s.tool, s.assigned_from, s.assigned_to, s.last_activity)
        for s in seats
    ]
    assert got == [
        # held every week to the file's end: open; used in the week of 1 Mar -> its last day
        ("p-1", "person_id", "m365_copilot", D("2026-03-01"), None, D("2026-03-07")),
        # one week of 5 days that ends: [8 Mar, 13 Mar); used that week -> 14 Mar
        ("p-2", "person_id", "m365_copilot", D("2026-03-08"), D("2026-03-13"), D("2026-03-14")),
    ]


@pytest.mark.parametrize(
    "row, needle",
    [
        (",2026-03-01,7", "record 1: PersonId is blank"),
        ("p-1,2026-03-02,7", "record 1: MetricDate 2026-03-02 is not a Sunday"),
        ("p-1,2026-03-01,", "record 1: Total_Copilot_enabled_days is blank"),
        ("p-1,2026-03-01,9", "record 1: Total_Copilot_enabled_days: not a number of days"),
        ("p-1,2026-03-01,2.5", "record 1: Total_Copilot_enabled_days: not a number of days"),
    ],
)
def test_a_bad_person_query_is_refused_by_record(tmp_path, row, needle):
    f = tmp_path / "pq.csv"
    f.write_text("PersonId,MetricDate,Total_Copilot_enabled_days\n" + row + "\n")
    with pytest.raises(src.SeatsFileError) as err:
        src.read_file(f)
    assert "pq.csv" in str(err.value) and needle in str(err.value)


SEATS_SCHEMA = (
    "source_format string, tool string, user_key string, alias string, plan string, "
    "assigned_from date, assigned_to date, seen_on date, last_activity date"
)


def _ud(user, day, **counts):
    counted = [counts.get(n) for n in USER_DAY_COUNTS]
    return ("viva_person_query", user, "A", None, D(day), "teams", *counted, 7)


def test_viva_seats_licensed_idle_and_cost_by_hand(spark):
    # March 2026 (31 days; the last 28: 4..31 Mar). Viva seats (user_key = alias here):
    #   v1 held all month (open), Viva usage in the week of 22 Mar -> used, not idle
    #   v2 held all month, no usage, Viva's own last use 7 Mar (inside the last 28 days) ->
    #      not idle
    #   v3 held all month, no usage, no vendor use -> idle, reclaim
    #   v4 held 1..5 Mar only (ended before most of the last 28 days, but held on 4 Mar) ->
    #      held recently, no use -> idle
    # By hand: licensed 4, idle 2 (v3, v4). Seat price 31 a month = 31 x 12 / 365 a day:
    # v1..v3 31 days each, v4 4 days -> (93 + 4) x 372 / 365 = 98.86
    from theater.config import Adoption

    start, end = D("2026-03-01"), D("2026-04-01")
    viva = "viva_enabled_days"
    seats = spark.createDataFrame(
        [
            (viva, "m365_copilot", "v1", "v1", None, W[0], None, None, None),
            (viva, "m365_copilot", "v2", "v2", None, W[0], None, None, D("2026-03-07")),
            (viva, "m365_copilot", "v3", "v3", None, W[0], None, None, None),
            (viva, "m365_copilot", "v4", "v4", None, W[0], D("2026-03-05"), None, None),
        ],
        SEATS_SCHEMA,
    )
    usage = spark.createDataFrame([_ud("v1", "2026-03-22", requests=4)], USER_DAYS_SCHEMA)
    prices = Adoption(
        "USD", ({"tool": "m365_copilot", "effective_from": "2026-01-01", "seat_per_month": 31},)
    ).prices_on(start)
    activity = ad.combined(None, ad.aggregate_activity(usage, start, end, prices))
    directory = spark.createDataFrame(
        [(f"v{i}", "A", D("2025-01-01"), None) for i in range(1, 5)],
        "user_key string, org_id string, valid_from date, valid_to date",
    )
    fig = ad.seat_figures(seats, activity, start, end, directory=directory)
    got = {(r.org_id, r.source_format): (r.licensed_seats, r.idle_seats) for r in fig.collect()}
    assert got[("A", "all")] == (4, 2)
    assert got[("A", "viva_person_query")] == (4, 2)
    reclaim = ad.reclaim_list(seats, activity, start, end).collect()
    assert [r.alias for r in reclaim] == ["v3", "v4"]
    costs = ad.seat_costs(seats, activity, start, end, prices, directory=directory)
    out = ad.org_adoption(
        activity,
        start,
        end,
        min_users=1,
        dominance_share=1.0,
        run_id="r",
        seats=fig,
        seat_costs=costs,
    )
    a = {r.source_format: r for r in out.collect()}["all"]
    assert a.cost == pytest.approx(round(97 * 31 * 12 / 365, 2)) and a.cost_source == "price_table"
