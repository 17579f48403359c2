"""Ingest takes no period (it loads every new landing file); refine and score need one.

The daily DAG runs ``theater run --stage ingest`` without ``--start/--end``; this is the CLI it
calls, end to end on a small generated fortnight.
"""

from __future__ import annotations

from datetime import date

from theater import synth
from theater.cli import main
from theater.lake import Lake


def test_ingest_alone_needs_no_period_and_refine_does(tmp_path, spark, monkeypatch):
    monkeypatch.setenv("THEATER_TRACKING__ENABLED", "false")
    synth.generate(
        tmp_path / "w", seed=3, n_orgs=3, n_users=60, start=date(2026, 7, 6), end=date(2026, 7, 20)
    )
    landing, lake = str(tmp_path / "w" / "landing"), str(tmp_path / "lake")
    assert main(["run", "--stage", "ingest", "--landing", landing, "--lake", lake]) == 0
    loaded = Lake(lake).read(spark, "bronze/interactions").count()
    assert loaded > 0
    # without a period, refine is a usage error (exit 2), and nothing is written to silver
    assert main(["run", "--stage", "refine", "--lake", lake]) == 2
    assert not Lake(lake).exists("silver/interactions")
    # a period given to ingest alone is not an error, and a second ingest loads nothing new
    assert (
        main(
            [
                "run",
                "--stage",
                "ingest",
                "--landing",
                landing,
                "--lake",
                lake,
                "--start",
                "2026-07-06",
                "--end",
                "2026-07-07",
            ]
        )
        == 0
    )
    assert Lake(lake).read(spark, "bronze/interactions").count() == loaded
    assert (
        main(
            [
                "run",
                "--stage",
                "refine",
                "--lake",
                lake,
                "--start",
                "2026-07-06",
                "--end",
                "2026-07-20",
            ]
        )
        == 0
    )
    assert Lake(lake).read(spark, "silver/interactions").count() > 0
