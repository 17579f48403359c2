"""NA is not zero, end to end, on a small Sail/Delta lake.

One synthetic quarter, ingested and refined (a copy of the session's shared quarter), is scored
with this module's settings (baseline). Then the lake is changed the way vendor data changes
it, and scored again:
(a) org GW: its silver interactions keep only tokens and prompt fingerprints (a gateway log: no
    disposition, dwell or artifact) -> null theater_index with a reason, never 0.0 [0.0, 0.0];
(b) org AGG: only silver/user_days rows (Amazon Q style: requests, accepted, rejected per
    user-day) with a weekly quota its users bunch at -> incentive_index with an interval, from
    aggregates, equal to the value worked out from the bunching weight;
(c) every other (native) org: the same index, interval and signals as the baseline.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F

from theater.config import load_config
from theater.lake import Lake
from theater.period import Period
from theater.stages import score
from theater.transforms.aggregates import USER_DAYS_SCHEMA

Q3 = Period.quarter("2026Q3")
AGG, QUOTA = "AGG", 10
# the shared quarter's company-wide checkpoint in 2026Q3 (2026-09-14; the other, 2026-06-22, is
# before AGG's first week) has this 3-working-day window; AGG's users are away on it, so no
# checkpoint weight enters the hand computation
WINDOW_DAYS = {
    date(2026, 9, 9),
    date(2026, 9, 10),
    date(2026, 9, 11),
}
STRIPPED = (
    "output_disposition",
    "dwell_ms",
    "artifact_id",
    "artifact_author_key",
    "artifact_modified_ts",
)


def _cfg(tmp):
    return load_config(
        env="local",
        environ={},
        overrides={
            "paths.state": str(tmp / "state"),
            "spark.shuffle_partitions": 2,
            "tracking.enabled": False,
            "scoring.bootstrap.replicates": 100,
            # the guards stay on, sized for a test org: 80 users x 12 full weeks
            "incentives.quota_bunching.min_user_weeks": 600,
            "incentives.quota_bunching.min_users": 60,
            "incentives.quota_bunching.bootstrap_replicates": 60,
            "incentives.sensitivity.enabled": False,
            "quality.data_docs": False,  # the gate's results are checked, not its pages
        },
    )


def _user_days(rng) -> tuple[list[tuple], dict]:
    """80 users x 12 full ISO weeks (2026-07-06 .. 2026-09-27); weekly requests ~ NB(mean 14);
    a user-week that would land at 5..9 complies with the quota and lands at 10 or 11. Each
    week's requests are spread over Mon-Fri (but checkpoint-window days); every day row also reports 9 accepted and 1 rejected
    chat output (unused share 0.1)."""
    rows, weekly = [], {}
    monday = date(2026, 7, 6)
    for u in range(80):
        for w in range(12):
            c = int(rng.negative_binomial(7, 7 / 21))  # mean 14
            c = max(c, 1)
            if 5 <= c < QUOTA:
                c = QUOTA + int(rng.integers(0, 2))
            weekly[(f"agg-u{u}", monday + timedelta(weeks=w))] = c
            days = [monday + timedelta(weeks=w, days=d) for d in range(5)]
            days = [d for d in days if d not in WINDOW_DAYS]
            per_day = [c // len(days) + (1 if i < c % len(days) else 0) for i in range(len(days))]
            for day, r in zip(days, per_day):
                rows.append(
                    (
                        "amazon_q_user_activity",
                        f"agg-u{u}",
                        AGG,
                        "acct-1",
                        day,
                        "chat",
                        r,
                        None,
                        9,
                        1,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        1,
                    )
                )
    return rows, weekly


@pytest.fixture(scope="module")
def world(quarter, tmp_path_factory, spark):
    tmp = quarter.copy(tmp_path_factory.mktemp("na"))
    cfg = _cfg(tmp)
    lake = Lake(str(tmp / "lake"), cfg.table_format)
    checkpoints = {
        r.start_date
        for r in lake.read(spark, "silver/policies").where(F.col("kind") == "checkpoint").collect()
        if r.org_id == "*"
    }
    assert checkpoints == {date(2026, 6, 22), date(2026, 9, 14)}, "WINDOW_DAYS is of another world"
    # the baseline: the copied lake scored with this module's settings, before any change
    inputs = score.read_inputs(spark, lake, Q3, cfg)
    # each computation stages its labels (as the score stage and rescore do), so that the
    # index, user-weeks and the tests read them instead of recomputing every signal
    base = {
        r.org_id: r.asDict()
        for r in score.compute_gold(
            spark, inputs, Q3, cfg, "na-base", staging=str(tmp / "staging-base")
        ).index.collect()
    }
    # (a) one org's interactions become a gateway log
    silver = lake.read(spark, "silver/interactions")
    gw = sorted(o for o, r in base.items() if not r["suppressed"])[0]
    stripped = silver
    for c in STRIPPED:
        stripped = stripped.withColumn(
            c,
            F.when(F.col("org_id") == gw, F.lit(None).cast(silver.schema[c].dataType)).otherwise(
                F.col(c)
            ),
        )
    lake.overwrite(stripped, "tmp/interactions")  # a copy first: never overwrite what is read
    lake.overwrite(lake.read(spark, "tmp/interactions"), "silver/interactions")
    # (b) an aggregate-only org with a weekly quota
    ud_rows, weekly = _user_days(np.random.default_rng(5))
    lake.overwrite(spark.createDataFrame(ud_rows, USER_DAYS_SCHEMA), "silver/user_days")
    pol = lake.read(spark, "silver/policies")
    quota = spark.createDataFrame(
        [(AGG, "quota", date(2026, 6, 1), None, QUOTA, "test")], score.POLICY_SCHEMA
    )
    merged = pol.unionByName(quota, allowMissingColumns=True).collect()
    lake.overwrite(spark.createDataFrame(merged, pol.schema), "silver/policies")
    inputs = score.read_inputs(spark, lake, Q3, cfg)
    gold = score.compute_gold(spark, inputs, Q3, cfg, "na-test", staging=str(tmp / "staging"))
    after = {r.org_id: r.asDict() for r in gold.index.collect()}
    return dict(
        cfg=cfg, lake=lake, base=base, after=after, gw=gw, gold=gold, inputs=inputs, weekly=weekly
    )


def test_user_days_read_pinned(world):
    assert "silver/user_days" in world["inputs"].read


def test_gateway_org_is_not_measurable_never_zero(world):
    r = world["after"][world["gw"]]
    assert world["base"][world["gw"]]["theater_index"] is not None  # measurable before
    assert r["suppressed"] is False and r["n_interactions"] > 0
    assert (r["theater_index"], r["ci_low"], r["ci_high"]) == (None, None, None)
    assert r["not_measurable_reason"].startswith("no per-interaction signal measurable")
    assert r["signal_coverage"] == 0.0 and r["index_basis"] != "interactions"
    for n in ("unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding"):
        assert r[f"coverage_{n}"] == 0.0, n
        assert r[f"signal_{n}"] is None, n
    labels = world["gold"].labels.where(F.col("org_id") == world["gw"])
    for n in ("unused_output", "self_summary", "repeat_prompt", "fragmentation", "padding"):
        assert labels.where(F.col(f"sig_{n}").isNotNull()).count() == 0, n


def test_aggregate_only_org_gets_incentive_index_with_interval(world):
    r = world["after"][AGG]
    assert r["suppressed"] is False and r["n_users"] == 80 and r["n_interactions"] == 0
    # accepted/rejected counts give the acceptance-excess estimate of the theater share
    assert r["not_measurable_reason"] is None and r["acceptance_users"] == 80
    assert r["index_basis"] == "acceptance" and r["incentive_basis"] == "aggregates"
    assert r["sources"] == ["amazon_q_user_activity"]
    est = [e for e in world["gold"].incentives.bunching if e.org_id == AGG]
    assert len(est) == 1 and est[0].status == "ok" and est[0].weight > 0, est
    w, hi = est[0].weight, est[0].z_high
    # by hand: every request has unused share 0.1 (9 accepted, 1 rejected per row, one
    # component); requests in bunched user-weeks (10..z_high) also carry w:
    # share = sum n (1 - 0.9 (1 - w 1[bunched])) / sum n = 0.1 + 0.9 w (bunched requests / all)
    # (checkpoints: NA for AGG, nobody active in the windows; weeks are all full, so every
    # request has both components)
    cps = [e for e in world["gold"].incentives.checkpoints if e.org_id == AGG]
    assert cps and cps[0].status == "insufficient_sample" and cps[0].n_users == 0
    total = sum(world["weekly"].values())
    bunched = sum(c for c in world["weekly"].values() if QUOTA <= c <= hi)
    expected = 100 * (0.1 + 0.9 * w * bunched / total)
    assert r["incentive_index"] == pytest.approx(round(expected, 2), abs=0.011)
    assert r["incentive_ci_low"] < r["incentive_index"] < r["incentive_ci_high"]
    assert r["incentive_ci_low"] > 10.0  # above the acceptance-only 10%
    # theater index: every user's unused share is the same 0.1, so 0.1 is the feature's baseline
    # and nobody has an excess; a user's share is then the incentive weight alone,
    # i_u = w x bunched_u / requests_u, weighted by the user's outputs: a day row counts
    # max(requests, 10 decisions) outputs (never fewer outputs than decisions)
    num = den = 0.0
    for u in {k[0] for k in world["weekly"]}:
        weeks = {m: c for (uu, m), c in world["weekly"].items() if uu == u}
        req = sum(weeks.values())
        b_u = sum(c for c in weeks.values() if QUOTA <= c <= hi)
        outputs = 0
        for m, c in weeks.items():
            days = [m + timedelta(days=d) for d in range(5)]
            days = [d for d in days if d not in WINDOW_DAYS]
            per_day = [c // len(days) + (1 if i < c % len(days) else 0) for i in range(len(days))]
            outputs += sum(max(x, 10) for x in per_day)
        num += outputs * w * b_u / req
        den += outputs
    assert r["theater_index"] == pytest.approx(100 * num / den, abs=0.02)
    assert r["ci_low"] <= r["theater_index"] < r["ci_high"]


def test_native_orgs_unchanged(world):
    keys = (
        "theater_index",
        "ci_low",
        "ci_high",
        "n_users",
        "n_interactions",
        "suppressed",
        "signal_unused_output",
        "signal_self_summary",
        "signal_repeat_prompt",
        "signal_quota_bunching",
        "signal_checkpoint_burst",
    )
    native = [o for o in world["base"] if o != world["gw"]]
    assert len(native) >= 3
    for o in native:
        a, b = world["base"][o], world["after"][o]
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}, o
        # suppressed orgs publish no figures, not even their basis (blank_suppressed)
        assert b["index_basis"] == (None if b["suppressed"] else "interactions")
        assert b["suppressed"] or b["sources"] == ["native"]


def test_quality_gate_accepts_the_new_rows(world, spark):
    """The GX suite passes on the gold rows with a not-measurable and an aggregate-only org."""
    from theater import quality

    dq = quality.Gate(spark, world["lake"], world["cfg"], "score", run_id="na-test", period=Q3)
    dq.check(
        "gold/org_theater_index",
        world["gold"].index,
        related={"expected_orgs": world["inputs"].interactions.where(Q3.ts_col("event_ts"))},
    )
    res = dq.finish()
    assert len(res["dq"]) > 20
    failed = [(r["expectation"], r["observed_value"]) for r in res["dq"] if not r["success"]]
    assert not failed, failed
