"""Family B (``theater.synth.family_b``): the planted mechanisms are what its truth says, read
back from the landing files the pipeline sees (local dates from the ``event_ts`` offsets)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest

from theater.synth.family_b import generate_b

START, END = date(2026, 7, 1), date(2026, 8, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("fam_b")
    s = generate_b(d, seed=11, n_teams=3, users_scale=0.15, start=START, end=END)
    files = sorted((d / "landing" / "interactions").rglob("*.parquet"))
    land = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    truth = pd.read_csv(d / "truth" / "interactions.csv", dtype={"event_id": str})
    m = truth.merge(land, on=["tool", "event_id"], how="inner", suffixes=("", "_sent"))
    assert len(m) == len(truth) == len(land)  # every planted row landed once
    m["local_day"] = pd.to_datetime(m["event_ts"].str[:10]).dt.date
    users = pq.read_table(d / "landing" / "directory" / "people.parquet").to_pandas()
    m = m.merge(users[["user_id", "org_id"]].rename(columns={"org_id": "team"}), on="user_id")
    return d, s, m


def test_same_seed_same_world(world, tmp_path):
    d, _, _ = world
    generate_b(tmp_path, seed=11, n_teams=3, users_scale=0.15, start=START, end=END)
    for rel in ("truth/interactions.csv", "truth/hard_negatives.csv", "truth/teams.json"):
        assert (tmp_path / rel).read_bytes() == (d / rel).read_bytes()


def test_fillers_top_the_local_week_up_to_the_quota(world):
    _, s, m = world
    teams = {t["org_id"]: t for t in s["teams"]}
    fill = m[m["mechanism"] == "quota_filler"]
    assert len(fill) > 50
    m = m.assign(week=[x - timedelta(days=x.weekday()) for x in m["local_day"]])
    fill = m[m["mechanism"] == "quota_filler"]
    counts = m.groupby(["user_id", "week"]).size()
    for (user, week), g in fill.groupby(["user_id", "week"]):
        t = teams[g["team"].iloc[0]]
        q = t["quota"] or s["world"]["company_quota"]
        if t["quota_change"] and week >= date.fromisoformat(t["quota_change"][0]):
            q = t["quota_change"][1]
        # the top-up reaches the quota plus an overshoot of 0-2
        assert q <= counts[(user, week)] <= q + 2
        if t["topup"] == "end_burst":  # one run, on one of the last two working days
            assert g["local_day"].nunique() == 1
            assert g["local_day"].iloc[0].weekday() in (3, 4)


def test_bursts_fall_in_the_lead_before_a_review(world):
    _, s, m = world
    burst = m[m["mechanism"] == "checkpoint_burst"]
    assert len(burst) > 100
    company = s["world"]["company_review"]
    for team, g in burst.groupby("team"):
        t = next(x for x in s["teams"] if x["org_id"] == team)
        allowed = set()
        for rv in t["reviews"] + ([company] if company else []):
            d, k = date.fromisoformat(rv) - timedelta(days=1), 0
            while k < t["burst_lead"]:
                if d.weekday() < 5:
                    allowed.add(d)
                    k += 1
                d -= timedelta(days=1)
        assert set(g["local_day"]) <= allowed, team


def test_hard_negatives_and_policies(world):
    d, s, m = world
    hard = pd.read_csv(d / "truth" / "hard_negatives.csv", dtype={"event_id": str})
    assert set(hard["kind"]) >= {"heavy_user", "on_call"}
    h = hard.merge(m, on=["tool", "event_id"])
    assert (h["is_theater"] == 0).all()  # hard negatives are genuine
    # an honest failure never reports a used output
    used = h["output_disposition"].isin(["accepted", "edited", "inserted", "copied"])
    assert not (used & (h["honest_failure"] == 1)).any()
    pol = pq.read_table(d / "landing" / "policies" / "policies.parquet").to_pandas()
    quota_teams = {t["org_id"] for t in s["teams"] if t["quota"] is not None}
    assert set(pol.loc[(pol["kind"] == "quota") & (pol["org_id"] != "*"), "org_id"]) == (
        quota_teams
    )
    reviews = {(t["org_id"], r) for t in s["teams"] for r in t["reviews"]}
    got = pol[(pol["kind"] == "checkpoint") & (pol["org_id"] != "*")]
    assert set(zip(got["org_id"], got["start_date"])) == reviews
    assert json.loads((d / "truth" / "teams.json").read_text())["family"] == "B"
