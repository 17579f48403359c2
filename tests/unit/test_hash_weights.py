"""The bootstrap's Poisson weights computed in numpy equal the engine's column, draw for draw."""

import numpy as np
import pytest
from pyspark.sql import functions as F

from theater.columns import poisson_weight
from theater.signals.hash_weights import poisson_weights, xxh64

# strings of every length class of XXH64's loops (<4, 4-7, 8-31, >=32 bytes), a multi-byte
# UTF-8 one and the separator the callers use
UNITS = ["", "a", "abc", "abcd", "o1|u7", "org-0012|pseudo-3f9a1c", "ö|ü€", "x" * 31, "y" * 32]
UNITS += ["org_7|" + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
REPS = [-1, 0, 1, 2, 199, 2**40]


def test_xxh64_matches_the_reference_vectors():
    # XXH64 of the empty input with seed 0 and of "a" with seed 0 (the algorithm's published
    # values), and the engine's xxhash64 of the int 42 checked below through the weights
    empty = xxh64(np.zeros((1, 0), dtype=np.uint8), np.array([0], dtype=np.uint64))[0]
    a = xxh64(np.frombuffer(b"a", dtype=np.uint8).reshape(1, 1), np.array([0], dtype=np.uint64))
    assert int(empty) == 0xEF46DB3751D8E999
    assert int(a[0]) == 0xD24EC4F1A98C6E5B


@pytest.mark.parametrize("seed", [20260701, 7, -5])
def test_numpy_weights_equal_the_engine_column(spark, seed):
    rows = [(u, r) for u in UNITS for r in REPS]
    df = spark.createDataFrame(rows, "unit string, rep long")
    got = {
        (r.unit, r.rep): r.w
        for r in df.withColumn("w", poisson_weight(seed, F.col("unit"), F.col("rep"))).collect()
    }
    want = poisson_weights(seed, UNITS, REPS)
    assert want.shape == (len(UNITS), len(REPS))
    for i, u in enumerate(UNITS):
        for j, r in enumerate(REPS):
            assert want[i, j] == got[(u, r)], (u, r)


def test_many_units_and_replicates_equal_the_engine_and_are_poisson(spark):
    units = [f"o{i % 7}|user-{i:05d}" for i in range(300)]
    df = spark.createDataFrame([(u,) for u in units], "unit string").crossJoin(
        spark.range(0, 50).withColumnRenamed("id", "rep")
    )
    got = np.zeros((300, 50), dtype=int)
    pos = {u: i for i, u in enumerate(units)}
    for r in df.withColumn("w", poisson_weight(11, F.col("unit"), F.col("rep"))).collect():
        got[pos[r.unit], r.rep] = r.w
    want = poisson_weights(11, units, np.arange(50))
    np.testing.assert_array_equal(want, got)
    assert abs(want.mean() - 1.0) < 0.05 and abs(want.var() - 1.0) < 0.1


def test_a_seed_beyond_32_bits_is_refused():
    with pytest.raises(ValueError, match="32-bit"):
        poisson_weights(2**31, ["a"], [0])
