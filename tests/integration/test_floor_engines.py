"""benchmarks/floor.py: the reference SQL on Sail (floor_sail.sql) and on DuckDB
(duckdb_reference.sql) over the same small dirty landing zone give the same silver rows, the
same quarantine and the same org shares; a drift between the two scripts fails here. A clean
quarter too: its quarantine is empty (an empty table must still be read back on Sail)."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from theater import synth

    root = tmp_path_factory.mktemp("floor")
    summary = synth.generate(
        root / "gen",
        seed=11,
        n_orgs=4,
        n_users=60,
        start=date(2026, 7, 1),
        end=date(2026, 10, 1),
        formats="mixed",
        dirty=True,
    )
    return root, summary


def test_both_floors_agree_on_a_dirty_mixed_format_quarter(spark, world):
    root, summary = world
    landing = str(root / "gen" / "landing")
    duck = floor.duckdb_floor(landing, str(root / "duck"), floor.DEMO_KEY)
    sail = floor.sail_floor(landing, str(root / "sail"), floor.DEMO_KEY, spark=spark)
    check = floor.check_agreement(duck, sail)
    # every format was read: the generator's unique in-period interactions all reach silver
    assert check["silver_rows"] == summary["interactions"]
    assert check["orgs"] == summary["orgs"] == 4
    # the planted bad records are quarantined by both, by kind (a re-delivered file repeats
    # some of them, hence at least as many as planted)
    q = check["quarantined"]
    for kind, n in summary["bad_records"].items():
        assert q.get(f"interactions/{kind}", 0) >= n * 0.9, (kind, q)
    assert q["interactions/malformed_line"] == summary["bad_records"]["malformed_line"]
    shares = duck["org_shares"]["theater_share"]
    assert all(0 < s < 1 for s in shares)
    for result in (duck, sail):
        assert set(result["steps_cpu_s"]) >= set(floor.STEPS)


def test_both_floors_agree_on_a_clean_quarter(spark, tmp_path):
    from theater import synth

    summary = synth.generate(
        tmp_path / "gen",
        seed=5,
        n_orgs=3,
        n_users=40,
        start=date(2026, 7, 1),
        end=date(2026, 10, 1),
        formats="mixed",
    )
    landing = str(tmp_path / "gen" / "landing")
    duck = floor.duckdb_floor(landing, str(tmp_path / "duck"), floor.DEMO_KEY)
    sail = floor.sail_floor(landing, str(tmp_path / "sail"), floor.DEMO_KEY, spark=spark)
    check = floor.check_agreement(duck, sail)
    assert check["quarantined"] == {}
    assert check["silver_rows"] == summary["interactions"]
    assert check["orgs"] == 3
