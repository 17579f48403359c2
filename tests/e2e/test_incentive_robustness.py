"""Quota-filler recall on one varied, held-out-style world (CI version of
benchmarks/incentive_robustness.py).

The world varies every knob at once (quota levels 8/12/18, quotas changing mid-period, half the
orgs without a quota, wide activity heterogeneity, a holiday week) and only 40% of the fillers'
outputs are detectably unused, so the unused-output signal alone finds about 0.4 of them: the
recall above 0.6 has to come from the bunching signal. Seed 4101 is in neither of the
benchmark's seed sets and was not used to tune anything. The world goes through the real
pipeline (ingest, refine, score on Sail + Delta).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import functions as F
from quick_pipeline import score_world

from theater import synth
from theater.lake import Lake
from theater.period import Period

pytestmark = pytest.mark.e2e
Q3 = Period.quarter("2026Q3")
VARIATION = synth.Variation(
    quota_levels=(8, 12, 18),
    quota_share=0.5,
    quota_change=0.5,
    rate_sigma=0.8,
    holiday_weeks=1,
    holiday_away=0.7,
    filler_unused=0.4,
)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, spark):
    d = tmp_path_factory.mktemp("robust")
    synth.generate(
        d,
        seed=4101,
        n_orgs=4,
        n_users=800,
        start=Q3.start,
        end=Q3.end,
        formats="parquet",
        variation=VARIATION,
    )
    score_world(d, Q3)
    labels = (
        Lake(str(d / "lake"))
        .read(spark, "gold/interaction_labels")
        .select(
            "tool",
            "event_id",
            F.col("is_theater").alias("flag"),
            F.coalesce(F.col("sig_unused_output"), F.lit(False)).alias("unused"),
        )
        .toPandas()
    )
    truth = pd.read_csv(d / "truth" / "interactions.csv", dtype={"event_id": str})
    hard = pd.read_csv(d / "truth" / "hard_negatives.csv", dtype={"event_id": str})
    m = truth.merge(labels, on=["tool", "event_id"], how="left")
    m["flag"] = m["flag"].astype("boolean").fillna(False).astype(bool)
    m["unused"] = m["unused"].astype("boolean").fillna(False).astype(bool)
    return m, hard.merge(m[["tool", "event_id", "flag"]], on=["tool", "event_id"], how="left")


def test_quota_filler_recall_on_a_varied_world(scored):
    m, _ = scored
    fill = m[m["mechanism"] == "quota_filler"]
    assert len(fill) >= 300
    by_unused_alone = fill["unused"].mean()
    recall = fill["flag"].mean()
    assert by_unused_alone < 0.5  # the knob did hide the fillers from the unused-output signal
    assert recall >= 0.6, (
        f"quota-filler recall {recall:.3f} (unused output alone {by_unused_alone:.3f})"
    )


def test_hard_negatives_stay_unflagged(scored):
    _, hard = scored
    flagged = hard["flag"].fillna(False).astype(bool)
    assert len(hard) > 1000
    # honest failures (genuinely unused outputs) are the unused-output signal's known error
    clean = hard["honest_failure"] == 0
    assert flagged[clean].mean() <= 0.01
    assert flagged[hard["kind"] == "heaping"][clean].mean() <= 0.01  # exact 10/20 without quota
