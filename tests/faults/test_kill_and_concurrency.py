"""kill -9 in every stage, and concurrent runs on one lake: afterwards the tables equal a clean
run's (0 rows lost, 0 doubled), no staging and no lock are left, no raw identifier is outside
bronze, and killed runs are FAILED in MLflow."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import time

import pytest
from faultkit import (
    FULL,
    SEED,
    diff,
    env_for,
    kill9,
    leaks,
    raw_identifiers,
    record_figures,
    run,
    run_args,
    snapshot,
    start,
    theater,
    wait_for_line,
)
from lake_tables import INGESTED

STAGES = ("ingest", "refine", "score")
CHAINS = 10 if FULL else 1  # each chain kills once in every stage, then completes


def _no_loss(month, lake):
    d = diff(month["clean"], snapshot(lake))
    bad = {t: v for t, v in d.items() if v["lost"] or v["doubled"]}
    return d, bad


def _mlflow_statuses(state):
    db = state / "mlflow.db"
    with sqlite3.connect(db) as con:
        return dict(con.execute("select run_uuid, status from runs").fetchall())


def test_kill_9_in_every_stage_then_rerun_equals_a_clean_run(month, tmp_path):
    rng = random.Random(SEED)
    injected = survived = completed_before_kill = 0
    per_stage = {s: 0 for s in STAGES}
    totals = {"lost": 0, "doubled": 0}
    ids = raw_identifiers(month["landing"])
    for chain in range(CHAINS):
        lake, state = tmp_path / f"lake{chain}", tmp_path / f"state{chain}"
        env = env_for(state)
        for i, stage in enumerate(STAGES):
            log = tmp_path / f"kill{chain}-{stage}.log"
            p = start(run_args(month["landing"], lake), env, log)
            assert wait_for_line(log, f"stage {stage}: start", p), log.read_text()[-3000:]
            delay = rng.uniform(0, max(0.5, month["durations"].get(stage, 3.0)))
            time.sleep(delay)
            if p.poll() is not None:
                completed_before_kill += 1
                continue
            kill9(p)
            injected += 1
            per_stage[stage] += 1
            # a failed run leaves no raw identifier outside bronze (staging is the risk)
            assert not leaks(
                [lake], ids, skip=lambda x: "/bronze/" in str(x) or "/_staging/" in str(x)
            ), "raw identifier outside bronze"
        log = tmp_path / f"final{chain}.log"
        rc = run(run_args(month["landing"], lake), env, log)
        assert rc == 0, log.read_text()[-3000:]
        d, bad = _no_loss(month, lake)
        assert not bad, bad
        survived += sum(1 for _ in STAGES)
        totals["lost"] += sum(v["lost"] for v in d.values())
        totals["doubled"] += sum(v["doubled"] for v in d.values())
        # nothing left behind: no staging, no lock; killed MLflow runs marked FAILED
        assert not (lake / "ops" / "_staging").exists()
        assert not (lake / "_theater.lock").exists()
        statuses = _mlflow_statuses(state)
        assert "RUNNING" not in statuses.values(), statuses
        assert not leaks([lake], ids, skip=lambda x: "/bronze/" in str(x))
        assert not leaks([state], ids)
    record_figures(
        "kill9",
        chains=CHAINS,
        injected=injected,
        per_stage=per_stage,
        completed_before_kill=completed_before_kill,
        survived=injected,
        **totals,
    )
    assert injected >= CHAINS * 2  # most kill points land inside their stage


def test_two_runs_at_once_one_waits_out_the_other(month, tmp_path):
    """--wait 0: one run holds the lake, the other exits 1 'lake busy: run <id> since <time>'."""
    lake, state = tmp_path / "lake", tmp_path / "state"
    env = env_for(state)
    logs = [tmp_path / f"r{i}.log" for i in range(2)]
    procs = [start(run_args(month["landing"], lake), env, log) for log in logs]
    rcs = [p.wait(timeout=600) for p in procs]
    texts = [log.read_text() for log in logs]
    assert sorted(rcs) == [0, 1], (rcs, [t[-2000:] for t in texts])
    loser = texts[rcs.index(1)]
    assert "lake busy: run " in loser and " since " in loser
    d, bad = _no_loss(month, lake)
    assert not bad, bad
    record_figures("two_concurrent", exit_codes=rcs, lost=0, doubled=0)


def test_three_runs_at_once_with_wait_all_succeed_and_load_each_file_once(month, tmp_path):
    """Three ingests started together (--wait): each waits its turn; every file is recorded
    once and bronze equals the clean run's (ingest only, to keep CI short)."""
    from deltalake import DeltaTable

    lake, state = tmp_path / "lake", tmp_path / "state"
    env = env_for(state)
    logs = [tmp_path / f"r{i}.log" for i in range(3)]
    procs = [
        start(run_args(month["landing"], lake, "--wait", "900", "--stage", "ingest"), env, log)
        for log in logs
    ]
    rcs = [p.wait(timeout=1800) for p in procs]
    assert rcs == [0, 0, 0], [log.read_text()[-2000:] for log in logs]
    files = DeltaTable(str(lake / "ops" / "ingested_files")).to_pandas()
    assert not files.duplicated(["source_file", "file_sha256"]).any()
    assert len(files) == month["files"]
    d = diff({t: month["clean"][t] for t in INGESTED}, snapshot(lake, INGESTED))
    assert all(v == {"lost": 0, "doubled": 0} for v in d.values()), d
    waited = sum("lake busy" in log.read_text() for log in logs)
    assert waited == 0  # with --wait nobody gives up
    record_figures("three_concurrent", exit_codes=rcs, files=len(files), lost=0, doubled=0)


def test_a_dead_owners_lock_is_taken_over_and_a_live_one_is_not(month, tmp_path):
    import json
    import socket

    lake, state = tmp_path / "lake", tmp_path / "state"
    lake.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (lake / "_theater.lock").write_text(
        json.dumps(
            {
                "host": socket.gethostname(),
                "pid": dead.pid,
                "run_id": "old",
                "taken_at": "then",
                "taken_at_epoch": time.time(),
            }
        )
    )
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        log = tmp_path / "busy.log"
        other = tmp_path / "lake2"
        other.mkdir()
        from theater.lock import _proc_start

        (other / "_theater.lock").write_text(
            json.dumps(
                {
                    "host": socket.gethostname(),
                    "pid": sleeper.pid,
                    "proc_start": _proc_start(sleeper.pid),
                    "run_id": "live-run",
                    "taken_at": "2026-11-30T10:00:00+00:00",
                    "taken_at_epoch": time.time(),
                }
            )
        )
        rc = run(run_args(month["landing"], other, "--stage", "ingest"), env_for(state), log)
        assert rc == 1
        assert "lake busy: run live-run since 2026-11-30T10:00:00+00:00" in log.read_text()
        assert not (other / "bronze").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    log = tmp_path / "takeover.log"
    rc = run(run_args(month["landing"], lake, "--stage", "ingest"), env_for(state), log)
    assert rc == 0, log.read_text()[-2000:]
    assert "taking over the lock of run old" in log.read_text()


@pytest.mark.parametrize("case", ["quarter", "lake_is_file", "lake_unwritable", "rescore"])
def test_usage_errors_exit_2_and_name_what_to_fix(month, tmp_path, case):
    import os

    env = env_for(tmp_path / "state")
    if case == "quarter":
        cmd = theater(
            "run",
            "--landing",
            str(month["landing"]),
            "--lake",
            str(tmp_path / "l"),
            "--quarter",
            "9999Q4",
        )
        want = "--quarter 9999Q4"
    elif case == "lake_is_file":
        f = tmp_path / "afile"
        f.write_text("x")
        cmd = run_args(month["landing"], f)
        want = "is a file, not a folder"
    elif case == "lake_unwritable":
        if os.geteuid() == 0:
            d = tmp_path / "ro"
            d.write_text("")  # root can write anywhere: a path under a file cannot be created
            cmd = run_args(month["landing"], d / "lake")
            want = "cannot be created"
        else:
            d = tmp_path / "ro"
            d.mkdir(mode=0o555)
            cmd = run_args(month["landing"], d / "lake")
            want = "cannot be created"
    else:
        cmd = theater("rescore", "--run-id", "0" * 32)
        want = "not found in"
    log = tmp_path / "u.log"
    rc = run(cmd, env, log)
    assert rc == 2, log.read_text()[-2000:]
    assert want in log.read_text()
