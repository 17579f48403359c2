"""Quota bunching's replicate table, computed on the driver from the collected binned
user-weeks, equals the engine's cross join of the same rows with the replicates, cell for
cell (the same user-clustered Poisson weights; integer sums)."""

from datetime import date, timedelta

import numpy as np
from pyspark.sql import functions as F

from theater.config import QuotaBunching
from theater.signals import quota_bunching as qb

S = QuotaBunching(
    enabled=True,
    bin_width=2,  # wider bins: a bin whose start falls below 1 is left out
    window=5,
    poly_order=2,
    exclude_below=2,
    exclude_above=1,
    choose_exclusion=False,
    max_exclude_below=4,
    bootstrap_replicates=30,
    min_user_weeks=20,
    min_users=5,
    min_z=1.645,
    min_pre_user_weeks=5,
)


def _weeks(spark):
    """Two orgs: o1 with quota 6 (and pre-quota weeks, a null user among them), o2 with quota
    4 (one week cut by the period: not counted), o3 too small for the sample rule."""
    rows = []
    for u in range(12):
        for k in range(4):
            n = 1 + (u * 3 + k * 5) % 13
            rows.append(("o1", f"u{u}", date(2026, 7, 6) + timedelta(weeks=k), n, 6, True))
        rows.append(("o1", f"u{u}", date(2026, 6, 1), 2 + u % 7, None, True))
    rows.append(("o1", None, date(2026, 6, 8), 5, None, True))
    rows.append(("o1", None, date(2026, 6, 15), 5, None, True))
    for u in range(9):
        for k in range(3):
            rows.append(
                ("o2", f"v{u}", date(2026, 7, 6) + timedelta(weeks=k), 1 + (u + k) % 8, 4, True)
            )
    rows.append(("o2", "v0", date(2026, 9, 28), 3, 4, False))
    rows.append(("o3", "w0", date(2026, 7, 6), 3, 5, True))
    return spark.createDataFrame(
        rows,
        "org_id string, user_key string, week_start date, n_interactions long, "
        "weekly_quota long, full_week boolean",
    )


def _engine_table(spark, uw, s, seed, regimes):
    """The reference: the binned rows crossed with the replicates in the engine."""
    full = uw.where(F.col("full_week"))
    q = full.where(F.col("weekly_quota").isNotNull()).select(
        "org_id",
        "user_key",
        "n_interactions",
        F.col("weekly_quota").alias("z_star"),
        F.lit("q").alias("sample"),
    )
    reg = q.select("org_id", "z_star").distinct()
    pre = (
        full.where(F.col("weekly_quota").isNull())
        .select("org_id", "user_key", "n_interactions")
        .join(reg, on="org_id")
        .withColumn("sample", F.lit("pre"))
    )
    rows = q.unionByName(pre.select(*q.columns))
    rel = F.floor((F.col("n_interactions") - F.col("z_star")) / F.lit(s.bin_width))
    binned = (
        rows.withColumn("bin", rel.cast("int"))
        .where((rel >= -s.window) & (rel <= s.window))
        .groupBy("org_id", "z_star", "sample", "user_key", "bin")
        .agg(F.count("*").alias("c"))
    )
    reps = spark.range(-1, s.bootstrap_replicates).withColumnRenamed("id", "rep")
    w = qb.poisson_rep_weight(seed, F.concat_ws("|", "org_id", "user_key"), F.col("rep"))
    agg = (
        binned.crossJoin(reps)
        .withColumn("w", w)
        .groupBy("org_id", "z_star", "sample", "rep", "bin")
        .agg(F.sum(F.col("w") * F.col("c")).alias("wc"))
    )
    out = {}
    for r in agg.collect():
        key = (r.org_id, int(r.z_star))
        if key not in regimes:
            continue
        edges = qb.bin_edges(key[1], s.window, s.bin_width)
        cell = out.setdefault(key, {}).setdefault((r.sample, int(r.rep)), np.zeros(len(edges)))
        start = key[1] + s.bin_width * int(r.bin)
        if start in edges:
            cell[list(edges).index(start)] += float(r.wc)
    return out


def test_the_driver_table_equals_the_engine_cross_join(spark):
    uw = _weeks(spark)
    table, sizes, regimes = qb.binned_replicates(spark, uw, S, seed=20260701)
    assert regimes == [("o1", 6), ("o2", 4), ("o3", 5)]
    # sizes: full weeks in the window only; the null user is a user-week but not a user
    assert sizes[("o1", 6)]["q"] == (48, 12)
    assert sizes[("o1", 6)]["pre"][1] == 12
    assert sizes[("o2", 4)]["q"] == (27, 9)
    assert sizes[("o3", 5)]["q"] == (1, 1)
    assert set(table) == {("o1", 6), ("o2", 4)}  # o3 is below the sample rule: no replicates
    ref = _engine_table(spark, uw, S, 20260701, set(table))
    assert set(ref) == set(table)
    for key, cells in table.items():
        assert set(cells) == set(ref[key])
        for k, v in cells.items():
            np.testing.assert_array_equal(v, ref[key][k], err_msg=str((key, k)))
    # both samples of o1 and the quota sample of o2, every replicate (-1: the point estimate)
    assert len(table[("o1", 6)]) == 2 * (S.bootstrap_replicates + 1)
    assert len(table[("o2", 4)]) == S.bootstrap_replicates + 1
    # the point estimate is the plain count per bin (starts 2, 4, .., 16): o1's quota weeks with
    # n = 1 fall in a bin starting at 0, left out
    ns = [1 + (u * 3 + k * 5) % 13 for u in range(12) for k in range(4)]
    want = [sum(1 for n in ns if n >= 2 and (n - 6) // 2 == b) for b in range(-2, 6)]
    np.testing.assert_array_equal(table[("o1", 6)][("q", -1)], want)
    assert not np.array_equal(table[("o1", 6)][("q", -1)], table[("o1", 6)][("q", 0)])
