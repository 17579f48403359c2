"""Seats and cost end to end: GitHub's users report (the fixture and copies under other
aliases) with a GitHub Copilot seat listing in landing/seats/, a directory putting everyone in
one org, and a seat price. ingest -> refine -> score: bronze keeps the aliases, silver/seats
only user keys, gold/org_adoption counts the seats, the idle one and their cost; the reclaim
list names only the seat nobody used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
from test_aggregate_exports_alone import COPIES, _aliases, _landing, run_alone

from theater.stages import seats as seat_stage

pytestmark = pytest.mark.e2e
FMT = "github_copilot_users"
START, END = date(2026, 3, 1), date(2026, 4, 1)


@pytest.fixture(scope="module")
def priced(small_k):
    return small_k.with_overrides(
        {
            "adoption.prices": [
                {"tool": "github_copilot", "effective_from": "2026-01-01", "seat_per_month": 36.5}
            ]
        }
    )


@pytest.fixture(scope="module")
def small_k():
    from theater.config import load_config

    return load_config(
        env="local",
        environ={},
        overrides={"spark.shuffle_partitions": 2, "privacy.min_users": 5},
    )


def test_seats_idle_seats_cost_and_the_reclaim_list(spark, priced, tmp_path):
    landing = _landing(tmp_path, FMT, directory=True)
    users = _aliases(landing / "vendor" / FMT, FMT)
    assert len(users) >= 5 * 1 and COPIES == 3
    # one more person with a seat and no use at all, in the directory
    with open(landing / "directory" / "directory.csv", "a") as f:
        f.write("nobody-gh,org-a,Org A,2020-01-01,\n")
    seats = [
        {
            "created_at": "2026-01-05T10:00:00Z",
            "pending_cancellation_date": None,
            "last_activity_at": None,
            "last_activity_editor": None,
            "plan_type": "business",
            "assignee": {"login": login, "type": "User"},
        }
        for login in [*users, "nobody-gh"]
    ]
    seats.append(
        {
            "created_at": "2026-01-05T10:00:00Z",
            "plan_type": "business",
            "assignee": {"slug": "infra", "type": "Team"},
        }
    )
    (landing / "seats").mkdir()
    (landing / "seats" / "copilot_seats.json").write_text(
        json.dumps({"total_seats": len(seats), "seats": seats})
    )
    res = run_alone(spark, priced, tmp_path, landing, START, END, report_too=False)
    assert res["ingest"]["seats"]["rows"] == len(users) + 1
    assert res["ingest"]["seats"]["not_a_person"] == 1
    lake = res["lake"]
    silver = lake.read(spark, "silver/seats")
    assert "alias" not in silver.columns and silver.count() == len(users) + 1
    raw = {r.alias for r in lake.read(spark, "bronze/seats").collect()}
    assert raw == {*users, "nobody-gh"}
    # silver holds keys, never an alias
    assert not {r.user_key for r in silver.collect()} & raw

    rows = {
        (r.org_id, r.source_format): r.asDict()
        for r in lake.read(spark, "gold/org_adoption").collect()
    }
    a = rows[("org-a", "all")]
    assert not a["suppressed"]
    assert a["licensed_seats"] == len(users) + 1
    # the fixture's users: whoever has no use in 4..31 March is idle, plus nobody-gh
    ud = lake.read(spark, "silver/user_days").where(f"source_format = '{FMT}'")
    recent = {
        r.user_key
        for r in ud.where("day >= DATE'2026-03-04' AND (requests > 0 OR suggestions_shown > 0)")
        .select("user_key")
        .distinct()
        .collect()
    }
    assert a["idle_seats"] == len(users) + 1 - len(recent)
    assert a["idle_seats"] >= 1
    # 36.5 a month = 1.2 a day, 31 days held each
    assert a["cost"] == pytest.approx((len(users) + 1) * 31 * 1.2)
    assert a["cost_per_active_user"] == pytest.approx(round(a["cost"] / a["active_users"], 2))
    assert rows[("org-a", FMT)]["licensed_seats"] == len(users) + 1
    # the first period in the lake: everyone active is new, nobody lapsed; seats were assigned
    # in January, before the period, so no time to first use is measured
    assert (a["new_users"], a["retained_users"], a["lapsed_users"]) == (a["active_users"], 0, 0)
    assert a["median_days_to_first_use"] is None

    # the reclaim list: refused without the flag; with it, only the seat nobody used
    with pytest.raises(seat_stage.ReclaimRefused):
        seat_stage.reclaim(spark, priced, lake, res["period"], confirmed=False)
    listed = seat_stage.reclaim(spark, priced, lake, res["period"], confirmed=True)
    assert list(listed.columns) == ["tool", "alias", "assigned_from"]
    assert listed["alias"].tolist() == ["nobody-gh"]

    # the CLI, as a user runs it: refused without the flag (exit 2); with it, the list is an
    # artifact of an MLflow run, and nothing else
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") and k != "MLFLOW_TRACKING_URI"
    }
    env.update(THEATER_PATHS__STATE=str(tmp_path / "state"), THEATER_SPARK__SHUFFLE_PARTITIONS="2")
    cmd = [sys.executable, "-m", "theater.cli", "seats", "reclaim", "--lake", lake.root]
    cmd += ["--start", str(START), "--end", str(END)]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "--reclaim-list" in refused.stderr
    done = subprocess.run(
        [*cmd, "--reclaim-list"], env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "seats to reclaim in" in done.stdout and ": 1 (MLflow run" in done.stdout
    from theater.config import load_config
    from theater.tracking import load_artifact_text, recent_runs

    tracked = load_config(env="local", environ={"THEATER_PATHS__STATE": str(tmp_path / "state")})
    (run,) = [r for r in recent_runs(tracked) if r.info.run_name.startswith("seats reclaim")]
    text = load_artifact_text(tracked, run.info.run_id, seat_stage.RECLAIM_ARTIFACT)
    assert text.splitlines() == ["tool,alias,assigned_from", "github_copilot,nobody-gh,2026-01-05"]
