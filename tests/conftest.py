"""Shared fixtures: one Sail-backed Spark session for the whole test run, and one generated
quarter run through every stage once (``quarter``), which tests copy instead of generating
their own."""

from __future__ import annotations

import copy
import os
import shutil
import sqlite3
import sys
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
os.environ.setdefault("RUST_LOG", "warn")


#: settings of the test runs that no test of theirs looks at, switched off for their cost: GX
#: Data Docs (rendered after every gate: tests/integration/test_quality.py and
#: test_stage_processes.py turn them on and check them) and the rank bands' sensitivity grid
#: (the org index re-scored under about 15 settings: tests/e2e/test_pipeline.py checks the bands)
NO_DOCS = {"quality.data_docs": False}
NO_RANK_BANDS = {"incentives.sensitivity.enabled": False}


@pytest.fixture(scope="session")
def cfg():
    from theater.config import load_config

    return load_config(
        env="local", environ={}, overrides={"spark.shuffle_partitions": 2, **NO_DOCS}
    )


@pytest.fixture(scope="session")
def spark(cfg):
    from theater.engine import session

    with session(cfg) as s:
        yield s


# ----------------------------------------------------------------------------- shared quarter
#: The world of the shared quarter. Its users number over 400 (the report's privacy check looks
#: for that many raw identifiers); of its 6 orgs the generator plants a small and a dominated
#: one, so some orgs are suppressed and some published.
QUARTER_WORLD = {"seed": 11, "n_orgs": 6, "n_users": 480}
#: interaction files of the ISO weeks that start in 2026Q3 (2026-W28 on) are delivered after the
#: 2026Q2 run, so that the 2026Q3 run ingests a batch of its own, as weekly deliveries would
Q3_FIRST_WEEK = 28


class Quarter:
    """2026Q2 and 2026Q3 generated once and run through ingest, refine and score.

    ``landing`` and ``truth`` (the generator's output) are shared: read them, never write them.
    The lake and the MLflow store are the tests' through :meth:`copy` only, which gives each
    caller its own lake and store to read and change.
    """

    def __init__(self, root: Path, q2: dict, q3: dict):
        self.root = root
        self.landing = root / "landing"
        self.truth = root / "truth"
        self._q2, self._q3 = q2, q3
        #: 2026Q2's run (ingest, refine, score), tracked in a store of its own (not copied)
        self.run_q2 = q2["run_id"]
        #: 2026Q3's run (ingest of the later weeks, refine, score): the only run in ``state``
        self.run_q3 = q3["run_id"]

    def copy(self, dest: Path) -> Path:
        """``dest/lake`` and ``dest/state`` (the MLflow store holding the 2026Q3 run), copied,
        with every path the store keeps (the run's lake, artifact locations, logged files)
        pointing into ``dest``; returns ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("lake", "state"):
            shutil.copytree(self.root / name, dest / name)
        _relocate_store(dest / "state", str(self.root) + os.sep, str(dest) + os.sep)
        _forget_artifact_locations()
        return dest

    def results(self, dest: Path, quarter: str = "2026Q3") -> dict:
        """What ``run_pipeline`` returned for ``quarter``, its paths moved into ``dest`` (a
        :meth:`copy`): a fresh object, free to change."""
        res = self._q3 if quarter == "2026Q3" else self._q2
        return _moved(copy.deepcopy(res), str(self.root) + os.sep, str(dest) + os.sep)


def _moved(obj, old: str, new: str):
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, dict):
        return {k: _moved(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_moved(v, old, new) for v in obj]
    return obj


def _forget_artifact_locations() -> None:
    """MLflow keeps each run's artifact location in a cache of the process keyed by run id
    alone; a copied store holds the same run ids, so its artifacts would be read from and
    logged to the first store's folder. Empty that cache."""
    utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if utils is not None:
        utils._artifact_repos_cache.clear()


@pytest.fixture(autouse=True)
def _fresh_artifact_locations():
    """Every test starts with MLflow's cache of artifact locations empty (see
    ``_forget_artifact_locations``): a module's copy of the shared quarter and another test's
    copy hold the same run ids."""
    _forget_artifact_locations()


def _relocate_store(state: Path, old: str, new: str) -> None:
    """Point a copied MLflow store (SQLite and its artifact folder) at its new place: every text
    column of the database and every small text artifact that names ``old``."""
    con = sqlite3.connect(state / "mlflow.db")
    try:
        with con:
            tables = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            for t in tables:
                for col in con.execute(f'PRAGMA table_info("{t}")').fetchall():
                    name, kind = col[1], (col[2] or "").upper()
                    if "CHAR" in kind or "TEXT" in kind:
                        con.execute(
                            f'UPDATE "{t}" SET "{name}" = replace("{name}", ?, ?) '
                            f'WHERE instr("{name}", ?) > 0',
                            (old, new, old),
                        )
    finally:
        con.close()
    for p in state.rglob("*"):
        if p.is_file() and p.suffix in (".yaml", ".yml", ".json", ".txt", ".csv"):
            try:
                text = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if old in text:
                p.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="session")
def quarter(tmp_path_factory, spark) -> Quarter:
    """The shared quarter: generated and run once per session (on the session's Sail engine),
    for the tests that read a finished lake (report, tracking, audit, not measurable). Take
    ``quarter.copy(tmp)``: the lake and store under ``quarter.root`` stay as the runs left them.
    """
    from theater import synth
    from theater.config import load_config
    from theater.period import Period
    from theater.pipeline import run_pipeline

    q2, q3 = Period.quarter("2026Q2"), Period.quarter("2026Q3")
    root = tmp_path_factory.mktemp("quarter")
    synth.generate(root, start=q2.start, end=q3.end, **QUARTER_WORLD)
    landing, later = root / "landing", root / "later"
    for f in sorted((landing / "interactions").rglob("*_2026-W*.*")):
        if int(f.name.split("_2026-W", 1)[1][:2]) >= Q3_FIRST_WEEK:
            dest = later / f.relative_to(landing)
            dest.parent.mkdir(parents=True, exist_ok=True)
            f.rename(dest)
    assert any(later.rglob("*")), "no 2026Q3 interaction file to deliver later"

    def cfg(state: str):
        return load_config(
            env="local",
            environ={},
            overrides={
                "paths.state": str(root / state),
                "spark.shuffle_partitions": 2,
                **NO_DOCS,
                **NO_RANK_BANDS,
            },
        )

    lake = str(root / "lake")
    r2 = run_pipeline(cfg("state-q2"), q2, landing=str(landing), lake_root=lake)
    for f in sorted(p for p in later.rglob("*") if p.is_file()):
        f.rename(landing / f.relative_to(later))
    shutil.rmtree(later)
    r3 = run_pipeline(cfg("state"), q3, landing=str(landing), lake_root=lake)
    return Quarter(root, r2, r3)


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
