"""The measured bases of the incentive users: one integer flag per basis, not a set aggregate."""

from pyspark.sql import functions as F

from theater.transforms import aggregates as agg

SCHEMA = (
    "org_id string, user_key string, n double, w_q double, w_cp double, acceptance double, "
    "basis string"
)


def test_measured_bases_by_hand(spark):
    units = spark.createDataFrame(
        [
            # u1: both bases measured (quota weight on events, acceptance on aggregates), the
            # events row first: listed sorted all the same
            ("o1", "u1", 1.0, 0.5, None, None, "events"),
            ("o1", "u1", 3.0, None, None, 0.25, "aggregates"),
            ("o1", "u1", 1.0, 0.5, None, None, "events"),
            # u2: an aggregates row without a measured component, an events row with one
            ("o1", "u2", 2.0, None, None, None, "aggregates"),
            ("o1", "u2", 1.0, None, 0.0, None, "events"),
            # u3: nothing measured -> no basis
            ("o1", "u3", 1.0, None, None, None, "events"),
            # u4: the only measured row has no usage (n = 0): not a unit -> no basis
            ("o1", "u4", 0.0, 0.9, None, None, "aggregates"),
            ("o1", "u4", 5.0, None, None, None, "aggregates"),
            # the same user in another org: its own group
            ("o2", "u1", 2.0, None, None, 0.5, "aggregates"),
        ],
        SCHEMA,
    )
    got = {
        (r.org_id, r.user_key): (list(r._bases), r.inc_rows, r.usage)
        for r in agg.incentive_users(units).collect()
    }
    assert got == {
        ("o1", "u1"): (["aggregates", "events"], 3, 5.0),
        ("o1", "u2"): (["events"], 1, 3.0),
        ("o1", "u3"): ([], 0, 1.0),
        ("o1", "u4"): ([], 0, 5.0),
        ("o2", "u1"): (["aggregates"], 1, 2.0),
    }


def test_measured_bases_equal_the_set_aggregate(spark):
    rows = [
        (
            f"o{i % 3}",
            f"u{i % 7}",
            float(i % 4),
            (i % 5) / 10 if i % 3 == 0 else None,
            None,
            None,
            b,
        )
        for i in range(60)
        for b in agg.BASES[i % 2 :: 1 + i % 2]
    ]
    units = spark.createDataFrame(rows, SCHEMA)
    ours = {(r.org_id, r.user_key): list(r._bases) for r in agg.incentive_users(units).collect()}
    p = agg.explained()
    sets = (
        units.where(F.col("n") > 0)
        .withColumn("_p", p)
        .groupBy("org_id", "user_key")
        .agg(F.collect_set(F.when(F.col("_p").isNotNull(), F.col("basis"))).alias("s"))
        .collect()
    )
    assert ours == {(r.org_id, r.user_key): sorted(r.s) for r in sets}
    assert any(len(v) == 2 for v in ours.values()) and any(not v for v in ours.values())
