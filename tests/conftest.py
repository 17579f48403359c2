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


def pytest_sessionstart(session):
    """CI sets REQUIRE_BROWSER_TESTS=1: the browser tests must run there, not skip."""
    if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
        try:
            from theater.report.render import find_chromium
        except ImportError:  # the Airflow suite's own venv: no theater, no browser tests
            return

        if find_chromium() is None:
            raise pytest.UsageError(
                "REQUIRE_BROWSER_TESTS=1 but no Chromium is installed "
                "(make browser installs Debian's chromium)"
            )


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """delta-rs can abort the interpreter at shutdown (delta-io/delta-rs#2184), after every
    test has run and the summary is printed; exit with pytest's own status instead."""
    import sys

    if "deltalake" in sys.modules and _EXIT_STATUS:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(_EXIT_STATUS[-1])
