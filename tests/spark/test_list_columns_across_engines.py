"""Why Sail could not continue a lake Apache Spark started, on a hand-made table, and the fix.

Sail 0.7.2 replaces rows (replaceWhere) in a Delta table with a list column only when that
column is NOT NULL in the table's schema (the Delta log's ``schemaString``): with a nullable
one it reads the kept rows as ``List(element)``, the new ones as ``List(item)``, and stops
("UnionExec/InterleaveExec requires all inputs to have the same data type per column"),
whoever wrote the files. Delta on Apache Spark makes every column nullable when a DataFrame
write creates the table (and reads every Parquet column as nullable); Sail keeps the frame's
NOT NULL. So on Apache Spark ``theater.lake`` creates such a table from the frame's schema
first, with the columns the writer names as never null (``not_null``) NOT NULL (DDL keeps it).

Checked here, with Apache Spark in this process and Sail in a subprocess on the same table:
the table ``Lake`` creates has the frame's NOT NULL list column and the shared protocol
(reader 1, writer 2, no features); Sail replaces a day's rows in it, and Apache Spark reads
Sail's result, row for row. And the cause: a table a plain Delta write created (nullable list
column) makes Sail fail with the error above, so the test fails if Sail learns to handle it
(and the extra create can go).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from pyspark.sql import functions as F
from spark_suite import ROOT

from theater.lake import Lake

SCHEMA = "k INT, day INT, tags ARRAY<STRING>"
ROWS = [(1, 1, ["a", "b"]), (2, 1, None), (3, 2, ["c"])]
NEW = [(4, 2, ["x"]), (5, 2, None)]

# Sail, as score publishes the org index: a nullable list column (null for none)
SAIL_REPLACE = textwrap.dedent(
    """
    import sys
    from pyspark.sql import SparkSession, functions as F
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    new = spark.createDataFrame(%r, %r)
    try:
        new.write.format("delta").mode("overwrite").option("replaceWhere", "day = 2").save(
            sys.argv[1]
        )
    except Exception as e:
        print("FAILED", e)
        sys.exit(1)
    finally:
        spark.stop()
        server.stop()
    """
    % (NEW, SCHEMA)
)


def _frame(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def _log(path) -> tuple[dict, dict]:
    """(the first commit's protocol, each column's nullable in its schemaString)."""
    first = sorted((path / "_delta_log").glob("*.json"))[0]
    actions = [json.loads(line) for line in first.read_text().splitlines() if line.strip()]
    proto = next(a["protocol"] for a in actions if "protocol" in a)
    schema = json.loads(next(a["metaData"] for a in actions if "metaData" in a)["schemaString"])
    return proto, {f["name"]: f["nullable"] for f in schema["fields"]}


def _sail(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SAIL_REPLACE, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "RUST_LOG": "error"},
    )


def _rows(spark, path) -> set:
    return {
        (r.k, r.day, None if r.tags is None else tuple(r.tags))
        for r in spark.read.format("delta").load(str(path)).collect()  # fresh snapshot
    }


def test_a_table_apache_spark_creates_is_continued_by_sail(spark, tmp_path):
    # as score publishes: the frame read back from a staged Parquet copy, where Apache Spark
    # reads every column as nullable; the writer names the column it never leaves null
    _frame(spark).write.parquet(str(tmp_path / "staged"))
    staged = spark.read.parquet(str(tmp_path / "staged"))
    assert staged.schema["day"].nullable
    lake = Lake(str(tmp_path / "lake"))
    lake.replace_where(staged, "gold/t", "day = 2", not_null=("day",))  # creates it
    path = tmp_path / "lake" / "gold" / "t"
    proto, field = _log(path)
    assert proto == {"minReaderVersion": 1, "minWriterVersion": 2}, proto
    assert field == {"k": True, "day": False, "tags": True}, field
    assert _rows(spark, path) == {(1, 1, ("a", "b")), (2, 1, None), (3, 2, ("c",))}

    done = _sail(path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert _rows(spark, path) == {(1, 1, ("a", "b")), (2, 1, None), (4, 2, ("x",)), (5, 2, None)}
    # and Apache Spark goes on after Sail: the next day replaced again
    lake.replace_where(staged.where("k = 3").withColumn("day", F.lit(3)), "gold/t", "day = 3")
    assert (3, 3, ("c",)) in _rows(spark, path)


def test_sail_0_7_2_fails_on_a_nullable_list_column_a_plain_write_leaves(spark, tmp_path):
    path = tmp_path / "plain"
    _frame(spark).write.format("delta").save(str(path))  # Delta on Spark: all nullable
    assert set(_log(path)[1].values()) == {True}
    done = _sail(path)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "UnionExec/InterleaveExec requires all inputs to have the same data type" in (
        done.stdout
    ), (done.stdout + done.stderr)[-3000:]
    assert "List(Utf8, field: 'element')" in done.stdout
