"""Where a local Apache Spark session finds the Delta jars (no JVM started here)."""

from __future__ import annotations

import pytest

from theater.config import ConfigError
from theater.engine import delta_jars, delta_spark_conf


def test_the_named_folder_gives_every_jar_sorted(tmp_path, monkeypatch):
    for name in ("delta-storage-4.4.0.jar", "delta-spark_4.2_2.13-4.4.0.jar", "notes.txt"):
        (tmp_path / name).write_text("x")
    monkeypatch.setenv("THEATER_DELTA_JARS", str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in delta_jars()] == [
        "delta-spark_4.2_2.13-4.4.0.jar",
        "delta-storage-4.4.0.jar",
    ]


def test_a_folder_without_delta_spark_says_what_to_run(tmp_path, monkeypatch):
    (tmp_path / "delta-storage-4.4.0.jar").write_text("x")
    monkeypatch.setenv("THEATER_DELTA_JARS", str(tmp_path))
    with pytest.raises(ConfigError, match=r"no delta-spark jar: run `make install`"):
        delta_jars()


def test_the_protocol_pin_and_snapshot_tasks():
    conf = delta_spark_conf(4)
    assert conf["spark.databricks.delta.properties.defaults.minReaderVersion"] == "1"
    assert conf["spark.databricks.delta.properties.defaults.minWriterVersion"] == "2"
    assert conf["spark.databricks.delta.snapshotPartitions"] == "4"
    assert delta_spark_conf(200)["spark.databricks.delta.snapshotPartitions"] == "50"
