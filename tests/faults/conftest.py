"""Fixtures of the fault-injection suite (helpers in faultkit.py)."""

from __future__ import annotations

import time

import pytest
from faultkit import END, START, env_for, run, run_args, snapshot


@pytest.fixture(scope="session")
def month(tmp_path_factory):
    """A small generated month (dirty: duplicates and malformed records) and a clean run's
    tables, the reference every fault is compared with."""
    from theater import synth

    root = tmp_path_factory.mktemp("faults")
    synth.generate(root / "gen", seed=11, n_orgs=4, n_users=60, start=START, end=END, dirty=True)
    landing = root / "gen" / "landing"
    lake, state = root / "clean-lake", root / "clean-state"
    log = root / "clean.log"
    t0 = time.time()
    rc = run(run_args(landing, lake), env_for(state), log)
    assert rc == 0, log.read_text()[-3000:]
    text = log.read_text()
    durations = {}
    for stage in ("ingest", "refine", "score"):
        for line in text.splitlines():
            if f"stage {stage}: done in " in line:
                durations[stage] = float(line.rsplit("done in ", 1)[1].rstrip("s"))
    return {
        "root": root,
        "landing": landing,
        "clean": snapshot(lake),
        "lake": lake,
        "durations": durations,
        "seconds": time.time() - t0,
        "files": sum(1 for p in landing.rglob("*") if p.is_file()),
    }
