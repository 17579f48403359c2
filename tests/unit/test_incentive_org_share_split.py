"""The org-level incentive share's review-window part split by evidence of use
(``stages.incentives.org_shares``): the excess backed by unused outputs is its lower end, the
whole excess its upper end, so that a team-wide crunch on review days (used work, counted as
excess) is carried by the interval; and the user-day counts read a user bucket at a time give
the same figures as read at once."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from theater.signals import checkpoint_burst as cb
from theater.stages.incentives import Incentives, org_shares

START, END = date(2026, 7, 1), date(2026, 10, 1)


def _calendar(window_days, ordinary_days):
    cal = {d: ("window", 1) for d in window_days}
    cal.update({d: ("ordinary", None) for d in ordinary_days})
    return cal


def test_lower_end_from_unused_excess_by_hand():
    # two users; three ordinary days at 2 a day each, 1 of them unused (g = 6 / 12 = 0.5);
    # window (2 days): user 0 10 (6 unused), user 1 4 (2 unused).
    # E = 14 - 2 * 4 = 6; E_unused = 8 - 2 * 2 = 4; lower end (4 - 0.5 * 6) / (1 - 0.5) = 2
    w = [date(2026, 8, 3), date(2026, 8, 4)]
    o = [date(2026, 8, 10), date(2026, 8, 11), date(2026, 8, 12)]
    rows = [("o1", "u0", w[0], 5.0, 3.0), ("o1", "u0", w[1], 5.0, 3.0)]
    rows += [("o1", "u1", w[0], 2.0, 1.0), ("o1", "u1", w[1], 2.0, 1.0)]
    rows += [("o1", u, d, 2.0, 1.0) for u in ("u0", "u1") for d in o]
    dc = pd.DataFrame(rows, columns=["org_id", "user_key", "event_date", "n", "n_unused"])
    usage = pd.DataFrame(
        {"org_id": "o1", "user_key": ["u0", "u1"], "usage": [16.0, 10.0], "filler": np.nan}
    )
    (s,) = org_shares(
        Incentives(calendar={"o1": _calendar(w, o)}, day_counts=dc), usage, 200, 0.9, 1
    )
    assert s.share == pytest.approx(6 / 26, abs=1e-6) and s.burst == s.share
    assert s.burst_low == pytest.approx(2 / 26, abs=1e-6)
    # the interval reaches below the lower end's point, not only below E's
    assert s.low < 4 / 26 < s.share <= s.high
    # without the unused counts the lower end is E itself (two users: the user resampling
    # alone takes the interval to 0, so the lower end's own replicates are compared)
    (t,) = org_shares(
        Incentives(calendar={"o1": _calendar(w, o)}, day_counts=dc.drop(columns="n_unused")),
        usage,
        200,
        0.9,
        1,
    )
    assert t.burst_low == t.burst == s.burst
    assert t.parts["burst_lower_end"] == t.parts["burst"]
    assert s.parts["burst_lower_end"][1] < t.parts["burst_lower_end"][1]


def _org(seed: int, users: int = 80, crunch_on_window: bool = True):
    """One org-quarter with bursts over a 1-5 day lead (half their outputs unused) and a
    team-wide crunch (used work like the genuine, 20% unused) on two of the window days."""
    rng = np.random.default_rng(seed)
    review = date(2026, 8, 20 + int(rng.integers(0, 8)))
    cal = cb.lead_calendar(["o1"], [("o1", review)], START, END, 3, cb.MAX_LEAD_DAYS)["o1"]
    days = sorted(cal)
    lead = int(rng.integers(1, 6))
    lam = np.exp(rng.normal(np.log(3.0), 0.6, users))
    counts = rng.poisson(lam[:, None] * np.ones(len(days)))
    win = [i for i, d in enumerate(days) if cal[d][0] == "window"]
    if crunch_on_window:
        for i in win[:2]:
            counts[:, i] += rng.poisson(lam)
    unused = rng.binomial(counts, 0.2)
    bursts = np.zeros_like(counts)
    who = rng.random(users) < 0.5
    lead_days = [i for i in win if cal[days[i]][1] <= lead]
    for i in lead_days:
        bursts[who, i] = rng.poisson(lam[who] * 2.5 / len(lead_days))
    b_unused = rng.binomial(bursts, 0.5)
    total, total_u = counts + bursts, unused + b_unused
    keys = [f"u{u:02d}" for u in range(users)]
    rows = [
        ("o1", keys[u], days[i], float(total[u, i]), float(total_u[u, i]))
        for u in range(users)
        for i in range(len(days))
        if total[u, i]
    ]
    dc = pd.DataFrame(rows, columns=["org_id", "user_key", "event_date", "n", "n_unused"])
    usage = pd.DataFrame(
        {"org_id": "o1", "user_key": keys, "usage": total.sum(1).astype(float), "filler": np.nan}
    )
    return cal, dc, usage, bursts.sum() / total.sum()


def test_crunch_on_review_days_is_carried_by_the_interval():
    split, whole = [], []
    for seed in range(30):
        cal, dc, usage, planted = _org(seed)
        (s,) = org_shares(Incentives(calendar={"o1": cal}, day_counts=dc), usage, 200, 0.9, seed)
        (t,) = org_shares(
            Incentives(calendar={"o1": cal}, day_counts=dc.drop(columns="n_unused")),
            usage,
            200,
            0.9,
            seed,
        )
        split.append(s.low <= planted <= s.high)
        whole.append(t.low <= planted <= t.high)
    # the crunch is counted as burst excess: the whole-excess interval misses most orgs, the
    # split one covers them
    assert np.mean(whole) <= 0.5, f"whole-excess coverage {np.mean(whole):.2f}"
    assert np.mean(split) >= 0.85, f"split coverage {np.mean(split):.2f}"


def test_user_buckets_give_the_same_figures():
    cal, dc, usage, _ = _org(7)
    other, dc2, usage2, _ = _org(8)
    dc2["org_id"], usage2["org_id"] = "o2", "o2"
    dc = pd.concat([dc, dc2], ignore_index=True)
    usage = pd.concat([usage, usage2], ignore_index=True)
    cals = {"o1": cal, "o2": other}
    once = org_shares(Incentives(calendar=cals, day_counts=dc), usage, 200, 0.9, 5)
    # three user buckets (every user's days in one of them), read in another order
    bucket = dc["user_key"].map(lambda u: int(u[1:]) % 3)
    parts = [dc[bucket == b].sample(frac=1.0, random_state=b) for b in (2, 0, 1)]
    chunked = org_shares(
        Incentives(calendar=cals, day_chunks=lambda: iter(parts)), usage, 200, 0.9, 5
    )
    assert [vars(s) for s in chunked] == [vars(s) for s in once]
    # an org's figures do not depend on the other orgs (one random stream per org)
    alone = org_shares(
        Incentives(calendar={"o2": other}, day_counts=dc[dc["org_id"] == "o2"]),
        usage[usage["org_id"] == "o2"],
        200,
        0.9,
        5,
    )
    assert vars(alone[0]) == vars(once[1])


def test_engine_user_buckets_give_the_same_figures(spark):
    """``compute_org_shares`` reads the user-day counts from the engine a user bucket at a time
    (``scoring.bucket_rows`` user-days each): one bucket or several, the same figures, and the
    same as the counts collected at once."""
    from pyspark.sql import functions as F

    from theater.stages.incentives import compute_org_shares

    cal, dc, usage, _ = _org(11, users=40)
    boot = type("Boot", (), {"replicates": 200, "confidence": 0.9, "seed": 4})()
    # one row per interaction (n = 1), the unused ones explained, as checkpoint_rows gives
    rows = [
        (r.org_id, r.user_key, r.event_date, 1.0, k < r.n_unused)
        for r in dc.itertuples()
        for k in range(int(r.n))
    ]
    day_rows = spark.createDataFrame(
        rows, "org_id string, user_key string, event_date date, _n double, _explained boolean"
    )
    units = spark.createDataFrame(
        [(r.org_id, r.user_key, float(r.usage), None) for r in usage.itertuples()],
        "org_id string, user_key string, n double, w_q double",
    )
    from theater.buckets import bucket_count

    assert bucket_count(40 * len(cal), 400) >= 5
    got = []
    for bucket_rows in (0, 400):  # 40 users x 60-odd days: one bucket, then about seven
        inc = Incentives(calendar={"o1": cal}, day_rows=day_rows, bucket_rows=bucket_rows)
        compute_org_shares(units.where(F.col("n") > 0), inc, boot)
        got.append([vars(s) for s in inc.org_shares])
    once = org_shares(Incentives(calendar={"o1": cal}, day_counts=dc), usage, 200, 0.9, 4)
    assert got[0] == got[1] == [vars(s) for s in once]
