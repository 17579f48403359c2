"""Apache Spark suite: classic Apache Spark in local mode with Delta Lake (the jars of the
install step, ``make install``: .theater/jars/), tables through the same ``theater.lake``
interface as on Sail.

Runs only when asked for by path, in its own pytest process:

    .venv/bin/python -m pytest tests/spark

PySpark refuses a Spark Connect session (the embedded Sail engine) and a classic session in one
Python process, so the main test run (Sail) skips this folder, and this suite runs Sail for its
comparisons in subprocesses (``python -m theater.cli run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from opt_in import asked_for

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    if not asked_for(config, HERE):
        return True  # the main (Sail) run: this folder needs a process of its own
    return None


#: Apache Spark with Delta tables, two shuffle partitions, no data docs
SPARK_OVERRIDES = {
    "engine": "spark",
    "table_format": "delta",
    "spark.shuffle_partitions": 2,
    "quality.data_docs": False,
}


@pytest.fixture(scope="session")
def cfg():
    from theater.config import load_config

    return load_config(env="local", environ={}, overrides=SPARK_OVERRIDES)


@pytest.fixture(scope="session")
def loose():
    """``cfg`` with the quarantine-share gate loosened, for hand-made zones of bad records."""
    from landing_batch import LOOSE_OVERRIDES

    from theater.config import load_config

    return load_config(env="local", environ={}, overrides={**SPARK_OVERRIDES, **LOOSE_OVERRIDES})


@pytest.fixture(scope="session")
def spark(cfg):
    """A classic (JVM) Apache Spark session, local[2]: overrides the Sail fixture of tests/."""
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    from theater.engine import session

    with session(cfg) as s:
        assert "connect" not in type(s).__module__, f"not classic Apache Spark: {type(s)}"
        yield s
