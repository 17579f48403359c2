"""Shared fixtures: one Sail-backed Spark session for the whole test run."""
from __future__ import annotations

import os
import warnings

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
os.environ.setdefault("RUST_LOG", "warn")


@pytest.fixture(scope="session")
def cfg():
    from theater.config import load_config

    return load_config(env="local", environ={}, overrides={"spark.shuffle_partitions": 2})


@pytest.fixture(scope="session")
def spark(cfg):
    from theater.engine import session

    with session(cfg) as s:
        yield s
