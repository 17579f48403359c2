"""Viva enabled days as seats through the real stages: a Viva Insights person query with
``Total_Copilot_enabled_days`` in landing/seats/ (values of our own), the Viva usage fixture in
landing/vendor/, a directory. ingest -> bronze/seats (raw PersonIds), refine -> silver/seats
(user keys only), and the seat figures of gold/org_adoption from silver.

By hand (file's last week: 15 Mar; March's last 28 days: 4..31 Mar):
- p-0001: enabled 7, 7, 7 from 1 Mar -> open span from 1 Mar; active days in the weeks of 1 and
  8 Mar -> the vendor's last use 14 Mar. Viva usage: actions in both weeks -> not idle.
- p-0002: enabled 7, 7, 0 -> [1 Mar, 15 Mar); no active day; Viva usage rows of 0 -> idle.
- p-0005: enabled 4, 7 from 8 Mar -> open from 11 Mar; no use anywhere -> idle.
licensed 3, idle 2 for org-a.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from vendor_lake import ingest_and_refine, one_org_directory

from theater.period import Period
from theater.transforms import adoption as ad

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "viva_person_query"
PERIOD = Period(date(2026, 3, 1), date(2026, 4, 1))
D = date.fromisoformat
ENABLED = """PersonId,MetricDate,Total_Copilot_enabled_days,Total_Copilot_active_days
p-0001,2026-03-01,7,3
p-0001,2026-03-08,7,2
p-0001,2026-03-15,7,0
p-0002,2026-03-01,7,0
p-0002,2026-03-08,7,0
p-0002,2026-03-15,0,0
p-0005,2026-03-08,4,0
p-0005,2026-03-15,7,0
"""


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("viva_seats")
    landing = root / "landing"
    shutil.copytree(FIX, landing / "vendor" / "viva_person_query")
    (landing / "seats").mkdir()
    (landing / "seats" / "pq_enabled_days.csv").write_text(ENABLED)
    one_org_directory(landing, (f"p-000{i}" for i in range(1, 6)))
    # the usage fixture holds a bad record on purpose (a Monday): let its good ones load
    return ingest_and_refine(spark, root, landing, PERIOD, warn=0.7, fail=0.75)


def test_enabled_days_reach_silver_seats_as_spans(spark, lake):
    lake, metrics = lake
    assert metrics["ingest"]["seats"]["rows"] == 3
    bronze = {
        (r.alias, r.source_format, r.tool, r.assigned_from, r.assigned_to, r.last_activity)
        for r in lake.read(spark, "bronze/seats").collect()
    }
    assert bronze == {
        ("p-0001", "viva_enabled_days", "m365_copilot", D("2026-03-01"), None, D("2026-03-14")),
        ("p-0002", "viva_enabled_days", "m365_copilot", D("2026-03-01"), D("2026-03-15"), None),
        ("p-0005", "viva_enabled_days", "m365_copilot", D("2026-03-11"), None, None),
    }
    silver = lake.read(spark, "silver/seats")
    assert "alias" not in silver.columns  # raw PersonIds stay in bronze
    assert sorted((r.assigned_from, str(r.assigned_to)) for r in silver.collect()) == [
        (D("2026-03-01"), "2026-03-15"),
        (D("2026-03-01"), "None"),
        (D("2026-03-11"), "None"),
    ]


def test_licensed_and_idle_from_viva_seats(spark, lake):
    lake, _ = lake
    usage = lake.read(spark, "silver/user_days")
    activity = ad.combined(None, ad.aggregate_activity(usage, PERIOD.start, PERIOD.end))
    fig = ad.seat_figures(
        lake.read(spark, "silver/seats"),
        activity,
        PERIOD.start,
        PERIOD.end,
        directory=lake.read(spark, "silver/directory"),
    )
    got = {(r.org_id, r.source_format): (r.licensed_seats, r.idle_seats) for r in fig.collect()}
    assert got[("org-a", "all")] == (3, 2)
    assert got[("org-a", "viva_person_query")] == (3, 2)


def test_both_seat_tables_pass_their_gate(spark, lake):
    lake, _ = lake
    rows = lake.read(spark, "ops/dq_results").where(
        "table_name in ('bronze/seats', 'silver/seats')"
    )
    got = {(r.table_name, r.expectation, r.success) for r in rows.collect()}
    assert {t for t, _, _ in got} == {"bronze/seats", "silver/seats"}
    assert all(ok for _, _, ok in got), got
    assert ("silver/seats", "user_key_pseudonymized", True) in got
