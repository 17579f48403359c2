"""``theater demo`` end to end on a small world: its seat listing and demo price table give every
published org seats, idle seats and a cost in gold/org_adoption, equal to what the listing it
wrote says (seat holders by the directory's org at the period's end; idle: last activity
before the period's last 28 days or none; cost: seats x days x the demo's price a day)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pandas as pd
import pytest

from theater.synth.seats import DEMO_PRICES, FILE

START, END = date(2026, 7, 1), date(2026, 10, 1)  # the demo's quarter (generate.quarter)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("THEATER_")}
    env["THEATER_PATHS__STATE"] = str(out / "state")
    env["THEATER_TRACKING__ENABLED"] = "false"
    env["THEATER_SPARK__SHUFFLE_PARTITIONS"] = "2"
    cmd = [sys.executable, "-m", "theater.cli", "demo", "--out", str(out)]
    cmd += ["--orgs", "3", "--users", "150"]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=900, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def _expected(out) -> pd.DataFrame:
    """Per org: the listing's seats, idle seats and seat cost, worked out from the files."""
    listing = json.loads((out / "landing" / FILE).read_text())["seats"]
    seats = pd.DataFrame(
        {
            "user_id": [s["assignee"]["login"] for s in listing],
            "last": [s["last_activity_at"] for s in listing],
            "since": [s["created_at"][:10] for s in listing],
        }
    )
    assert (seats.since < str(START)).all()  # held every day of the period
    d = out / "landing" / "directory"
    people = pd.concat(
        [pd.read_csv(d / "people.csv", dtype=str), pd.read_json(d / "transfers.jsonl", lines=True)]
    )
    people = people[people.valid_from.astype(str) < str(END)]
    org = people.sort_values("valid_from").groupby("user_id").org_id.last()
    seats["org_id"] = seats.user_id.map(org)
    recent = str(END - timedelta(days=28))
    seats["idle"] = seats["last"].isna() | (seats["last"].str[:10] < recent)
    per_day = DEMO_PRICES[0]["seat_per_month"] * 12 / 365
    want = seats.groupby("org_id").agg(seats=("user_id", "size"), idle=("idle", "sum"))
    want["cost"] = want.seats * (END - START).days * per_day
    return want


def test_demo_adoption_has_seats_idle_and_cost_per_published_org(demo):
    from deltalake import DeltaTable

    out, proc = demo
    assert "Quarterly report:" in proc.stdout and (out / "report.html").exists()
    gold = DeltaTable(str(out / "lake" / "gold" / "org_adoption")).to_pandas()
    gold = gold[gold.source_format == "all"].set_index("org_id")
    published = gold[~gold.suppressed]
    assert len(published) >= 1
    for col in ("licensed_seats", "idle_seats", "cost"):
        assert published[col].notna().all(), col
    assert (published.licensed_seats > 0).all()
    assert (published.idle_seats > 0).all()  # the planted lapsed holders
    assert (published.cost_source == "price_table").all()

    want = _expected(out).reindex(published.index)
    assert list(published.licensed_seats.astype(int)) == list(want.seats)
    assert list(published.idle_seats.astype(int)) == list(want.idle)
    assert list(published.cost.round(2)) == list(want.cost.round(2))
    # the listing as a whole: most of the 150 people hold a seat (in this small world, all of
    # them use the ide tool); the generator's summary counts the same seats and idle seats
    every = _expected(out)
    assert 75 < every.seats.sum() <= 150
    summary = json.loads((out / "truth" / "summary.json").read_text())["github_copilot_seats"]
    assert (summary["seats"], summary["idle"]) == (every.seats.sum(), every.idle.sum())

    # the report's Adoption section shows the seat figures, not the unknown mark
    html = (out / "report.html").read_text()
    section = html[html.index('id="adoption"') :]
    total = int(want.seats.sum())
    assert f">{total}<" in section.replace(",", "")
