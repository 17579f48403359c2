"""theater.lake's writes on Apache Spark, Delta and Parquet, on a hand-made table: overwrite,
replaceWhere, MERGE (conditional update, insert, delete of unmatched target rows) and DELETE
give the same rows in both formats, worked out by hand. Delta also keeps one version per
write and reads an older one back (what ``rescore`` relies on); the Parquet emulation (a
rewrite swapped in) has no versions and says so."""

from __future__ import annotations

import pytest

from theater.lake import Lake, LakeError

SCHEMA = "k INT, v STRING, day INT"


def _rows(spark, lake: Lake, version=None) -> set[tuple]:
    return {
        tuple(r) for r in lake.read(spark, "silver/t", version).select("k", "v", "day").collect()
    }


@pytest.mark.parametrize("fmt", ["delta", "parquet"])
def test_writes_give_the_hand_worked_rows(spark, tmp_path, fmt):
    lake = Lake(str(tmp_path / "lake"), fmt)
    lake.overwrite(
        spark.createDataFrame([(1, "a", 1), (2, "b", 1), (3, "c", 2)], SCHEMA), "silver/t"
    )
    lake.replace_where(spark.createDataFrame([(4, "d", 2)], SCHEMA), "silver/t", "day = 2")
    assert _rows(spark, lake) == {(1, "a", 1), (2, "b", 1), (4, "d", 2)}
    # 1 changed -> updated; 5 new -> inserted; 2 not in the source and day 1 -> deleted;
    # 4 not in the source but day 2 -> kept
    lake.merge(
        spark.createDataFrame([(1, "A", 1), (5, "e", 1)], SCHEMA),
        "silver/t",
        on=["k"],
        update_condition="s.v <> t.v",
        delete_unmatched_condition="t.day = 1",
    )
    assert _rows(spark, lake) == {(1, "A", 1), (4, "d", 2), (5, "e", 1)}
    lake.delete(spark, "silver/t", "k = 4")
    assert _rows(spark, lake) == {(1, "A", 1), (5, "e", 1)}
    if fmt == "delta":
        assert lake.version("silver/t") == 3  # one commit per write
        assert _rows(spark, lake, version=1) == {(1, "a", 1), (2, "b", 1), (4, "d", 2)}
    else:
        assert lake.version("silver/t") is None
        with pytest.raises(LakeError, match="time travel"):
            lake.read(spark, "silver/t", version=1)
