"""The cluster suite: a standalone Apache Spark cluster (Master, two Workers, Spark Connect
server) on 127.0.0.1, started once per session and stopped by PID at the end.

Runs only when asked for by path (``make test-cluster``); the main run skips this folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_suite import start_cluster
from opt_in import asked_for

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    if not asked_for(config, HERE):
        return True  # starts a cluster: only when asked for (make test-cluster)
    return None


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    c = start_cluster(tmp_path_factory.mktemp("spark_cluster"))
    try:
        yield c
    finally:
        c.stop()
