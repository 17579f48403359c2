"""End to end on generated data (test scale): every stage on real Delta tables, then the
figures against the planted truth. Run with -s to see the printed figures."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from deltalake import DeltaTable
from lake_tables import DERIVED, TABLES
from pyspark.sql import functions as F
from scipy.stats import spearmanr

from theater import synth
from theater.lake import Lake
from theater.period import Period
from theater.stages import ingest, refine, score

pytestmark = pytest.mark.e2e
PERIOD = Period.quarter("2026Q3")


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark, cfg):
    out = tmp_path_factory.mktemp("e2e")
    summary = synth.generate(
        out, seed=7, n_orgs=24, n_users=1500, start=PERIOD.start, end=PERIOD.end, dirty=True
    )
    lake = Lake(str(out / "lake"))
    metrics = {
        "ingest": ingest.run(spark, lake, str(out / "landing"), cfg=cfg),
        "refine": refine.run(spark, cfg, lake, PERIOD),
        "score": score.run(spark, cfg, lake, PERIOD, run_id="e2e"),
    }
    return {"out": out, "lake": lake, "summary": summary, "metrics": metrics}


def _snapshot(spark, lake, table):
    df = lake.read(spark, table)
    drop = [
        c
        for c in df.columns
        if c in ("_ingested_at", "_batch_id", "batch_id", "ingested_at", "run_id")
    ]
    rows = df.drop(*drop).toPandas()
    rows = rows.astype(str).sort_values(list(rows.columns)).reset_index(drop=True)
    return rows


def test_quarantine_holds_exactly_the_planted_bad_records(spark, world):
    truth = json.loads((world["out"] / "truth" / "summary.json").read_text())
    dirty = pd.read_csv(world["out"] / "truth" / "dirty.csv")
    q = world["lake"].read(spark, "bronze/quarantine").toPandas()
    assert len(q) == len(dirty) > 0
    got = q.groupby("reason_kind").size().to_dict()
    want = dirty.groupby("kind").size().to_dict()
    assert got == want, (got, want)
    print(f"\nquarantined {len(q)} records: {got}; truth summary {truth.get('bad_records')}")


def test_silver_has_each_event_once_and_matches_truth(spark, world):
    silver = world["lake"].read(spark, "silver/interactions")
    n = silver.count()
    assert silver.select("tool", "event_id").distinct().count() == n
    truth = pd.read_csv(world["out"] / "truth" / "interactions.csv")
    assert n == len(truth)
    assert silver.where(F.col("org_id").isNull()).count() == 0  # every org resolvable here


def test_every_table_is_readable_by_delta_rs(world):
    for t in TABLES:
        assert DeltaTable(world["lake"].path(t)).to_pyarrow_table().num_rows >= 0, t


def test_no_raw_user_identifier_leaves_bronze(spark, world):
    lake = world["lake"]
    raw_ids = (
        lake.read(spark, "bronze/interactions")
        .select(F.col("user_id").alias("v"))
        .union(lake.read(spark, "bronze/interactions").select("artifact_author_id"))
        .union(lake.read(spark, "bronze/directory").select("user_id"))
        .union(lake.read(spark, "bronze/work_items").select("user_id"))
        .where(F.col("v").isNotNull())
        .distinct()
    )
    assert raw_ids.count() > 100
    for t in DERIVED:
        df = lake.read(spark, t)
        for c, typ in df.dtypes:
            if typ == "string":
                hits = df.select(F.col(c).alias("v")).join(raw_ids, on="v", how="inner").count()
                assert hits == 0, f"raw user id in {t}.{c}"


def test_rerunning_every_stage_changes_nothing(spark, cfg, world):
    lake = world["lake"]
    before = {t: _snapshot(spark, lake, t) for t in TABLES}
    versions = {t: lake.version(t) for t in ("bronze/interactions", "bronze/quarantine")}
    ingest.run(spark, lake, str(world["out"] / "landing"), cfg=cfg)
    refine.run(spark, cfg, lake, PERIOD)
    score.run(spark, cfg, lake, PERIOD, run_id="e2e-again")
    assert {t: lake.version(t) for t in versions} == versions
    for t in TABLES:
        after = _snapshot(spark, lake, t)
        assert len(after) == len(before[t]), t
        pd.testing.assert_frame_equal(after, before[t], obj=t)


def test_rescoring_another_period_leaves_the_quarter_alone(spark, cfg, world):
    lake = world["lake"]
    quarter = (
        lake.read(spark, "gold/org_theater_index")
        .where(
            (F.col("period_start") == F.lit(PERIOD.start))
            & (F.col("period_end") == F.lit(PERIOD.end))
        )
        .drop("run_id")
        .toPandas()
    )
    july = Period.parse(start="2026-07-01", end="2026-08-01")
    score.run(spark, cfg, lake, july, run_id="july")
    gold = lake.read(spark, "gold/org_theater_index")
    periods = {
        (r.period_start, r.period_end)
        for r in gold.select("period_start", "period_end").distinct().collect()
    }
    assert periods == {(PERIOD.start, PERIOD.end), (july.start, july.end)}
    again = (
        gold.where(
            (F.col("period_start") == F.lit(PERIOD.start))
            & (F.col("period_end") == F.lit(PERIOD.end))
        )
        .drop("run_id")
        .toPandas()
    )
    key = ["org_id"]
    pd.testing.assert_frame_equal(
        again.sort_values(key).reset_index(drop=True),
        quarter.sort_values(key).reset_index(drop=True),
    )
    # put the quarter's labels back for the accuracy test
    score.run(spark, cfg, lake, PERIOD, run_id="e2e")


def test_accuracy_against_planted_truth(spark, world):
    lake, out = world["lake"], world["out"]
    truth_i = pd.read_csv(out / "truth" / "interactions.csv")
    truth_o = pd.read_csv(out / "truth" / "orgs.csv")
    labels = (
        lake.read(spark, "gold/interaction_labels")
        .select("tool", "event_id", "is_theater", "flags")
        .toPandas()
    )
    m = truth_i.merge(labels, on=["tool", "event_id"], how="inner")
    assert len(m) == len(truth_i)
    # is_theater is null (NA) where nothing was measured on the interaction: not flagged
    m["is_theater_y"] = m.is_theater_y.astype("boolean").fillna(False).astype(bool)
    tp = int(((m.is_theater_x == 1) & m.is_theater_y).sum())
    fp = int(((m.is_theater_x == 0) & m.is_theater_y).sum())
    fn = int(((m.is_theater_x == 1) & ~m.is_theater_y).sum())
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    per_mech = m[m.is_theater_x == 1].groupby("mechanism").is_theater_y.mean().round(3).to_dict()

    gold = (
        lake.read(spark, "gold/org_theater_index")
        .where(
            (F.col("period_start") == F.lit(PERIOD.start))
            & (F.col("period_end") == F.lit(PERIOD.end))
        )
        .toPandas()
    )
    g = gold.merge(truth_o, on="org_id", how="inner")
    pub = g[~g.suppressed]
    rho = spearmanr(pub.theater_index, pub.theater_share).statistic
    mae = float((pub.theater_index / 100 - pub.theater_share).abs().mean())
    covered = float(
        ((pub.ci_low / 100 <= pub.theater_share) & (pub.theater_share <= pub.ci_high / 100)).mean()
    )
    print(
        f"\nE2E accuracy ({len(m):,} interactions, {len(pub)} published orgs, "
        f"{int(g.suppressed.sum())} suppressed):"
    )
    print(f"  interaction precision {precision:.3f}  recall {recall:.3f}")
    print(f"  recall by mechanism {per_mech}")
    print(f"  org Spearman {rho:.3f}  MAE {mae:.4f}  90% interval coverage {covered:.2f}")
    assert len(pub) >= 10
    assert rho >= 0.9
    assert precision >= 0.85
    assert recall >= 0.75
    assert mae <= 0.05
    assert per_mech["quota_filler"] >= 0.6 and per_mech["checkpoint_burst"] >= 0.6


def test_incentive_signals_against_planted_truth(spark, world):
    """Quota bunching, checkpoint bursts, decoupling and rank bands on the generated quarter."""
    lake, out = world["lake"], world["out"]
    truth_o = pd.read_csv(out / "truth" / "orgs.csv")
    gold = (
        lake.read(spark, "gold/org_theater_index")
        .where(
            (F.col("period_start") == F.lit(PERIOD.start))
            & (F.col("period_end") == F.lit(PERIOD.end))
        )
        .toPandas()
    )
    for c in (
        "signal_quota_bunching",
        "signal_checkpoint_burst",
        "outcome_decoupling",
        "outcome_decoupling_low",
        "outcome_decoupling_high",
        "high_confidence_theater",
        "rank_low",
        "rank_high",
    ):
        assert c in gold.columns, c
    g = gold.merge(truth_o, on="org_id", how="inner")
    # orgs without a quota: no quota weight on any interaction, and the org signal is NA
    no_quota = truth_o.org_id[truth_o.has_quota == 0].tolist()
    labels = lake.read(spark, "gold/interaction_labels")
    weighted = labels.where(
        F.col("org_id").isin(no_quota) & F.col("sig_quota_bunching").isNotNull()
    ).count()
    assert weighted == 0
    assert g[g.has_quota == 0].signal_quota_bunching.isna().all()
    # checkpoint bursts: the org's mean weight (the burst share the flags do not already explain)
    # ranks the orgs like the planted share of burst interactions; no planted bursts, ~no weight
    pub = g[~g.suppressed]
    planted = pub.n_checkpoint_burst / pub.n_interactions_y
    measured = pub.signal_checkpoint_burst.notna()
    rho = spearmanr(pub.signal_checkpoint_burst[measured], planted[measured]).statistic
    print(
        f"\ncheckpoint signal vs planted burst share: Spearman {rho:.3f} over "
        f"{int(measured.sum())} orgs; bunching measured for "
        f"{int(pub.signal_quota_bunching.notna().sum())} orgs; "
        f"decoupling for {int(pub.outcome_decoupling.notna().sum())}; "
        f"high-confidence {pub.high_confidence_theater.sum()}"
    )
    assert measured.sum() >= 10 and rho >= 0.8
    assert (pub.signal_checkpoint_burst[measured & (planted == 0)] <= 0.01).all()
    assert (pub.signal_checkpoint_burst[measured & (planted >= 0.03)] > 0).all()
    # decoupling only where there is a mandate; rank bands contain a rank for every published org
    assert g[g.has_mandate == 0].outcome_decoupling.isna().all()
    assert (pub.rank_low <= pub.rank_high).all() and pub.rank_low.min() >= 1
    assert pub.rank_high.max() <= len(pub)
    sup = g[g.suppressed]
    assert sup.rank_low.isna().all() and sup.high_confidence_theater.isna().all()
