"""``theater run`` on the embedded Sail engine gives each stage its own process
(``spark.stage_processes``, theater.pipeline): the same tables as one process, the stage's log
lines and errors in the parent, and no stage process outliving the run.

Each run is the CLI in a subprocess, as a user starts it, on a small generated period; the
period is below ``auto``'s size, so the runs set ``always`` (or ``never``) explicitly.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from deltalake import DeltaTable

from theater import synth

START, END = date(2026, 7, 6), date(2026, 7, 27)
PROCESS_LINE = re.compile(r"stage (ingest|refine|score): process (\d+)")
SERVER_LINE = "started Sail server"


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    root = tmp_path_factory.mktemp("stageproc")
    synth.generate(root, seed=9, n_orgs=6, n_users=160, start=START, end=END)
    return root


def _env(root, name: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THEATER_")}
    env.update(
        THEATER_PATHS__STATE=str(root / f"state-{name}"),
        THEATER_SPARK__SHUFFLE_PARTITIONS="2",
        THEATER_SPARK__STAGE_PROCESSES="always",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _cmd(root, name: str, *stages: str) -> list[str]:
    cmd = [sys.executable, "-m", "theater.cli", "run", "--lake", str(root / f"lake-{name}")]
    cmd += ["--landing", str(root / "landing"), "--start", str(START), "--end", str(END), "-v"]
    for s in stages:
        cmd += ["--stage", s]
    return cmd


def _run(root, name: str, *stages: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        _cmd(root, name, *stages),
        capture_output=True,
        text=True,
        env=_env(root, name, **env),
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def _table(lake, table: str, drop: tuple[str, ...] = ()):
    df = DeltaTable(str(lake / table)).to_pandas()
    df = df.drop(columns=[c for c in df.columns if c in drop or c.startswith("_")])
    return df.sort_values(list(df.columns[:2])).reset_index(drop=True)


def test_each_stage_runs_in_its_own_process_with_the_same_tables(landing):
    own = _run(landing, "own")
    assert own.returncode == 0, own.stderr[-3000:]
    one = _run(landing, "one", THEATER_SPARK__STAGE_PROCESSES="never")
    assert one.returncode == 0, one.stderr[-3000:]

    pids = {stage: int(pid) for stage, pid in PROCESS_LINE.findall(own.stderr)}
    assert set(pids) == {"ingest", "refine", "score"}, own.stderr[-3000:]
    assert len(set(pids.values())) == 3  # three processes, one engine each
    assert own.stderr.count(SERVER_LINE) == 3
    assert not PROCESS_LINE.search(one.stderr)
    assert one.stderr.count(SERVER_LINE) == 1
    # the stages' own lines reach the parent's log, in order
    for text in (own.stderr, one.stderr):
        order = [text.index(f"stage {s}: done") for s in ("ingest", "refine", "score")]
        assert order == sorted(order)
        assert "score: org index with" in text
    # the summary the parent prints comes from the score process's org rows
    table = [s.split("\norg ", 1)[1].split("\n\n", 1)[0] for s in (own.stdout, one.stdout)]
    assert table[0] == table[1] and "org-" in table[0]

    a, b = landing / "lake-own", landing / "lake-one"
    for table, drop in (
        ("silver/interactions", ()),
        ("gold/interaction_labels", ("run_id",)),
        ("gold/org_theater_index", ("run_id", "computed_at")),
    ):
        left, right = _table(a, table, drop), _table(b, table, drop)
        assert len(left) > 0
        assert left.equals(right), table
    # ingest's process starts before the MLflow run exists and receives its id when its gate
    # first asks: every stage's results carry the run's id, not a fallback
    run = re.search(r"MLflow run ([0-9a-f]{32})", own.stderr)
    assert run is not None, own.stderr[-3000:]
    results = DeltaTable(str(a / "ops" / "dq_results")).to_pandas()
    assert set(results["stage"]) == {"ingest", "refine", "score"}
    assert set(results["run_id"]) == {run.group(1)}
    # the stages' Data Docs, rendered by the parent in both modes (with stage processes the
    # earlier stages' while score's process runs, score's after it)
    from theater.quality import docs as dq_docs

    for lake in (a, b):
        site = lake / "ops" / "data_docs"
        entries = dq_docs.read_manifest(site)
        assert {e["stage"] for e in entries} == {"ingest", "refine", "score"}
        assert all((site / e["page"]).is_file() for e in entries)


def test_an_error_in_a_stage_process_is_the_runs_error(landing):
    # refine and score on a lake nobody ingested: refine fails inside its process
    own = _run(landing, "empty-own", "refine", "score")
    one = _run(landing, "empty-one", "refine", "score", THEATER_SPARK__STAGE_PROCESSES="never")
    assert PROCESS_LINE.search(own.stderr), own.stderr[-3000:]
    assert own.returncode == one.returncode != 0
    last = [ln for ln in own.stderr.splitlines() if ln.startswith("theater:")]
    same = [ln for ln in one.stderr.splitlines() if ln.startswith("theater:")]
    assert last and last == [ln.replace("lake-empty-one", "lake-empty-own") for ln in same]
    assert "run the ingest stage first" in last[-1]


def _start(root, name: str) -> tuple[subprocess.Popen, object]:
    log = open(root / f"{name}.log", "w+")
    proc = subprocess.Popen(
        _cmd(root, name),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(root, name),
        start_new_session=True,
    )
    return proc, log


def _wait_for_pid(root, name: str, proc, stage: str, timeout: float = 300) -> int:
    t0 = time.time()
    while time.time() - t0 < timeout:
        for s, pid in PROCESS_LINE.findall((root / f"{name}.log").read_text()):
            if s == stage:
                return int(pid)
        assert proc.poll() is None, (root / f"{name}.log").read_text()[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"no {stage} process within {timeout}s")


def _gone(pid: int, timeout: float = 20) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return True  # a zombie: dead, waiting for its (new) parent to reap it
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def test_a_stage_process_dies_with_its_parent(landing):
    proc, log = _start(landing, "orphan")
    child = None
    try:
        child = _wait_for_pid(landing, "orphan", proc, "ingest")
        t0 = time.time()  # into the ingest's work (a long action, no log line)
        while "ingest interactions:" not in (landing / "orphan.log").read_text():
            assert time.time() - t0 < 120 and proc.poll() is None
            time.sleep(0.05)
        proc.kill()  # the parent only, not its process group
        proc.wait()
        # at once: Linux kills it with the parent (not later, when it next writes to a pipe
        # whose reader is gone)
        assert _gone(child, timeout=1.0), "the ingest process outlived its parent"
    finally:
        for pid in (proc.pid, child):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        log.close()


def test_a_killed_stage_process_fails_the_run_and_frees_the_lake(landing):
    proc, log = _start(landing, "killed")
    try:
        child = _wait_for_pid(landing, "killed", proc, "refine")
        os.kill(child, signal.SIGKILL)  # what the out-of-memory killer does
        assert proc.wait(timeout=120) == 1
        text = (landing / "killed.log").read_text()
        assert "stage refine: its process was killed by signal 9 (SIGKILL" in text
        assert "stage score" not in text
        assert not (landing / "lake-killed" / "_theater.lock").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_auto_isolates_runs_that_read_enough_data(tmp_path, monkeypatch):
    """``auto``: stage processes for runs of several stages on Sail that read at least
    AUTO_MIN_BYTES of landing files (when ingesting) and bronze interactions."""
    from theater import engine, pipeline
    from theater.config import load_config

    monkeypatch.setattr(engine._SailServer, "_server", None)  # no server in this process
    cfg = load_config(env="local", environ={})
    land, lake = tmp_path / "landing", tmp_path / "lake"
    (land / "interactions").mkdir(parents=True)
    (lake / "bronze" / "interactions" / "_delta_log").mkdir(parents=True)
    half = pipeline.AUTO_MIN_BYTES // 2

    def sized(path, n):
        with open(path, "wb") as fh:
            fh.truncate(n)  # sparse: the size counts, no disk used

    def isolated(stages=("ingest", "refine", "score"), c=cfg, **kw):
        return pipeline.stage_processes(c, stages, landing=str(land), lake_root=str(lake), **kw)

    sized(land / "interactions" / "a.jsonl", half)
    sized(lake / "bronze" / "interactions" / "_delta_log" / "00.json", half)  # not data
    assert not isolated()
    sized(lake / "bronze" / "interactions" / "part-0.parquet", half)
    assert isolated()  # landing + bronze reach the threshold
    assert not isolated(("refine", "score"))  # bronze alone does not
    assert not isolated(("ingest",))  # one stage: nothing to isolate
    assert not isolated(c=cfg.with_overrides({"spark.stage_processes": "never"}))
    assert isolated(("refine", "score"), c=cfg.with_overrides({"spark.stage_processes": "always"}))
    assert not isolated(c=cfg.with_overrides({"engine": "remote"}))
    assert not isolated(progress=print)  # a caller's own callback stays in this process
    monkeypatch.setattr(engine._SailServer, "_server", object())  # nested use: reuse it
    assert not isolated()
