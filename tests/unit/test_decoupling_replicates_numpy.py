"""Outcome decoupling's replicate sums on the driver equal the engine's cross join, sum for sum."""

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from theater.columns import poisson_weight
from theater.signals.hash_weights import poisson_weights
from theater.signals.outcome_decoupling import replicate_sums
from theater.signals.quota_bunching import POINT, poisson_rep_weight

SEED = 20260701

# (event, grp, user_key, du_m, has_y, dy_m): changes in millionths; a user without an outcome
# change (has_y 0, dy 0), a null usage change, a null user, the same user in two events
USERS = [
    ("acme", "T", "u1", 1_500_000, 1, -250_000),
    ("acme", "T", "u2", -300_000, 1, 125_000),
    ("acme", "T", "u3", 2_000_000, 0, 0),
    ("acme", "T", None, 700_000, 1, 50_000),
    ("split-0", "C", "u4", 100_000, 1, 10_000),
    ("split-0", "C", "u5", None, 1, -20_000),
    ("split-0", "C", "u1", 400_000, 0, 0),
    ("beta", "T", "u6", 0, 1, 333_333),
]
COLS = ["event", "grp", "user_key", "du_m", "has_y", "dy_m"]
SCHEMA = "event string, grp string, user_key string, du_m long, has_y long, dy_m long"


def _engine(spark, replicates):
    """The sums as the engine computed them (the users crossed with the replicates)."""
    reps = spark.range(POINT, replicates).withColumnRenamed("id", "rep")
    w = poisson_rep_weight(SEED, F.col("user_key"), F.col("rep")).cast("long")
    rows = (
        spark.createDataFrame(USERS, SCHEMA)
        .crossJoin(F.broadcast(reps))
        .withColumn("w", w)
        .groupBy("event", "grp", "rep")
        .agg(
            F.sum("w").alias("sw"),
            F.sum(F.col("w") * F.col("du_m")).alias("swu"),
            F.sum(F.col("w") * F.col("has_y")).alias("swy_n"),
            F.sum(F.col("w") * F.col("dy_m")).alias("swy"),
            F.sum(F.when(F.col("rep") == POINT, F.col("has_y"))).alias("n_y"),
        )
        .collect()
    )
    return {(r.event, r.grp, r.rep): (r.sw, r.swu, r.swy_n, r.swy, r.n_y) for r in rows}


def test_a_null_unit_gets_the_engine_weight(spark):
    reps = [-1, 0, 1, 7, 199]
    df = spark.createDataFrame([(None, r) for r in reps], "unit string, rep long")
    got = [
        r.w for r in df.withColumn("w", poisson_weight(SEED, F.col("unit"), F.col("rep"))).collect()
    ]
    want = poisson_weights(SEED, [None, "u1"], reps)
    assert list(want[0]) == got
    # a null unit is not the empty string's hash
    assert list(want[0]) != list(poisson_weights(SEED, [""], reps)[0])


def test_replicate_sums_equal_the_engine_cross_join(spark):
    replicates = 60
    got = {
        (s.event, s.grp, s.rep): (s.sw, s.swu, s.swy_n, s.swy, s.n_y)
        for s in replicate_sums(pd.DataFrame(USERS, columns=COLS), replicates, SEED)
    }
    want = _engine(spark, replicates)
    assert set(got) == set(want)
    assert len(got) == 3 * (replicates + 1)
    for k in want:
        # the engine sums a null change as nothing: the same as adding 0
        assert got[k] == tuple(want[k]), k


def test_the_point_sums_worked_by_hand():
    got = {
        (s.event, s.grp): s
        for s in replicate_sums(pd.DataFrame(USERS, columns=COLS), 3, SEED)
        if s.rep == POINT
    }
    acme = got[("acme", "T")]
    assert (acme.sw, acme.swu, acme.swy_n, acme.swy, acme.n_y) == (
        4,
        1_500_000 - 300_000 + 2_000_000 + 700_000,
        3,
        -250_000 + 125_000 + 50_000,
        3,
    )
    ctrl = got[("split-0", "C")]
    assert (ctrl.sw, ctrl.swu, ctrl.swy_n, ctrl.swy, ctrl.n_y) == (3, 500_000, 2, -10_000, 2)
    others = [s for s in replicate_sums(pd.DataFrame(USERS, columns=COLS), 3, SEED)]
    assert all(s.n_y is None for s in others if s.rep != POINT)
    assert {s.rep for s in others} == {POINT, 0, 1, 2}


def test_no_users_no_sums():
    assert replicate_sums(pd.DataFrame(columns=COLS), 10, SEED) == []
    # weights are the Poisson draws: replicates move the sums
    many = pd.DataFrame([("e", "T", f"u{i}", 1_000_000, 1, 0) for i in range(200)], columns=COLS)
    sw = np.array([s.sw for s in replicate_sums(many, 40, SEED) if s.rep != POINT])
    assert sw.std() > 0 and abs(sw.mean() / 200 - 1.0) < 0.1
