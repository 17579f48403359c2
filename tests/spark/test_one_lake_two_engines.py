"""One lake, two engines: Delta written by Sail is continued by Apache Spark, and the other way
round, with Delta's promises holding across the hand-over.

Two clean ISO weeks (W37, W38) are generated; the second week's interaction files arrive only
before the second run, as a team's next delivery would. Two lakes, each run by the command line
in processes of their own (tracked in MLflow):

- ``sail_then_spark``: week 1 on Sail, week 2 on Apache Spark (``--engine spark``, local mode,
  the install step's Delta jars);
- ``spark_then_sail``: week 1 on Apache Spark, week 2 on Sail.

Checked: while week 1 runs, the lake lock refuses a run on the other engine ("lake busy");
week 1's org index is the same on both engines, row for row, and so is week 2's; each engine's
week 2 reads, replaces and appends to the other's tables; every table keeps the protocol both
engines share (reader 1, writer 2, no table features); ``theater rescore`` of week 1 on the
other engine reproduces it from the logged versions, both ways (time travel to versions the
other engine wrote). On the way, the first attempt of week 2 on Apache Spark is killed (-9)
inside refine: afterwards every table is as before the run or as after a complete one, never
in between (no half-written version), and the re-run completes.

Sail continues a lake Apache Spark started because ``theater.lake`` creates the gold tables
with list columns on Apache Spark with the NOT NULL columns Sail gives them (Sail 0.7.2's
replaceWhere fails on a table with a list column and no NOT NULL column;
tests/spark/test_list_columns_across_engines.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from spark_suite import JVM_OPTS, ROOT

sys.path.insert(0, str(ROOT / "tests" / "faults"))
from faultkit import (  # noqa: E402
    TABLES,
    _canon,
    env_for,
    kill9,
    snapshot,
    start,
    theater,
    wait_for_line,
)

from theater import synth  # noqa: E402
from theater.period import Period  # noqa: E402

WEEK1 = Period.parse(start="2026-09-07", end="2026-09-14")
WEEK2 = Period.parse(start="2026-09-14", end="2026-09-21")
SEED, ORGS, USERS = 17, 5, 300
ENGINES = {"sail_then_spark": ("sail", "spark"), "spark_then_sail": ("spark", "sail")}
# A run on Apache Spark: a JVM to start, every stage a few Spark jobs
TIMEOUT = 1800


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    out = tmp_path_factory.mktemp("two_weeks")
    synth.generate(
        out, seed=SEED, n_orgs=ORGS, n_users=USERS, start=WEEK1.start, end=WEEK2.end, dirty=False
    )
    later = sorted((out / "landing" / "interactions").rglob("*2026-W38*"))
    assert later and not any("W39" in p.name for p in (out / "landing").rglob("*"))
    for p in later:  # the second delivery waits outside the landing zone
        dest = out / "later" / p.relative_to(out / "landing")
        dest.parent.mkdir(parents=True, exist_ok=True)
        p.rename(dest)
    return out


def _env(state: Path) -> dict:
    return {
        **env_for(state),
        "THEATER_QUALITY__DATA_DOCS": "false",
        "SPARK_SUBMIT_OPTS": JVM_OPTS,  # short-lived JVMs: see spark_suite
    }


def _run(engine: str, landing: Path, lake: Path, period: Period, *extra: str) -> list[str]:
    return theater(
        "run",
        "--engine",
        engine,
        "--landing",
        str(landing),
        "--lake",
        str(lake),
        "--start",
        str(period.start),
        "--end",
        str(period.end),
        *extra,
    )


def _finish(cmd, env, log: Path) -> tuple[int, str]:
    p = start(cmd, env, log)
    try:
        rc = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            kill9(p)
    return rc, log.read_text(errors="replace")


def _run_id(text: str) -> str:
    m = re.search(r"MLflow run (\w+)", text)
    assert m, text[-3000:]
    return m.group(1)


def _chain(name: str, weeks: Path) -> dict:
    """Week 1 on the first engine, week 2 on the other, rescore of week 1 on the other."""
    first, second = ENGINES[name]
    work = weeks / name
    landing, lake, state = work / "landing", work / "lake", work / "state"
    shutil.copytree(weeks / "landing", landing)
    env = _env(state)
    res: dict = {"lake": lake}

    # week 1; a run on the other engine meanwhile finds the lake busy
    log1 = work / "week1.log"
    p = start(_run(first, landing, lake, WEEK1), env, log1)
    try:
        assert wait_for_line(log1, "stage ingest: start", p, timeout=TIMEOUT), log1.read_text()
        rc, text = _finish(
            _run(second, landing, lake, WEEK1, "--stage", "ingest"), env, work / "busy.log"
        )
        res["busy"] = (rc, text, p.poll() is None)
        rc1 = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            kill9(p)
    res["week1"] = (rc1, log1.read_text(errors="replace"))
    assert rc1 == 0, res["week1"][1][-4000:]

    # the second delivery
    for f in (weeks / "later").rglob("*"):
        if f.is_file():
            dest = landing / f.relative_to(weeks / "later")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)

    if second == "spark":  # killed inside refine first
        before = snapshot(lake)
        log = work / "killed.log"
        p = start(_run(second, landing, lake, WEEK2), env, log)
        reached = wait_for_line(log, "stage refine: start", p, timeout=TIMEOUT)
        time.sleep(3)
        alive = p.poll() is None
        kill9(p)
        res["killed"] = {
            "reached_refine": reached,
            "alive_at_kill": alive,
            "before": before,
            "after_kill": snapshot(lake),
            "log": log.read_text(errors="replace"),
        }

    res["week2"] = _finish(_run(second, landing, lake, WEEK2), env, work / "week2.log")
    res["rescore"] = _finish(
        theater("rescore", "--engine", second, "--run-id", _run_id(res["week1"][1])),
        env,
        work / "rescore.log",
    )
    res["final"] = snapshot(lake)
    return res


@pytest.fixture(scope="module")
def chains(weeks):
    # the two lakes side by side: one JVM and one Sail server at a time, mostly
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_chain, name, weeks) for name in ENGINES}
        return {name: f.result() for name, f in futures.items()}


def test_the_lake_lock_holds_across_engines(chains):
    for name, res in chains.items():
        rc, text, owner_alive = res["busy"]
        assert owner_alive, f"{name}: week 1 ended before the other engine tried"
        assert rc == 1 and "lake busy: run " in text, f"{name}: {rc}\n{text[-3000:]}"


def _index_rows(lake: Path, period: Period) -> Counter:
    from deltalake import DeltaTable

    df = DeltaTable(str(lake / "gold/org_theater_index")).to_pandas()
    df = df[df["period_start"].astype(str) == str(period.start)].drop(columns=["run_id"])
    assert len(df) == ORGS, df
    return Counter(
        json.dumps({k: _canon(v) for k, v in r.items()}, sort_keys=True)
        for r in df.to_dict("records")
    )


def test_week_one_gives_the_same_org_index_on_both_engines(chains):
    a = _index_rows(chains["sail_then_spark"]["lake"], WEEK1)
    b = _index_rows(chains["spark_then_sail"]["lake"], WEEK1)
    assert a == b


def test_apache_spark_continues_a_lake_sail_started(chains):
    res = chains["sail_then_spark"]
    rc, text = res["week2"]
    assert rc == 0, text[-5000:]
    assert "engine spark (delta)" in text, text[-3000:]
    for t in TABLES:
        assert sum(res["final"][t].values()) > 0 or t == "bronze/quarantine", t
    _index_rows(res["lake"], WEEK2)  # five orgs for week 2 beside week 1's
    _index_rows(res["lake"], WEEK1)


def test_sail_continues_a_lake_apache_spark_started(chains):
    res = chains["spark_then_sail"]
    rc, text = res["week2"]
    assert rc == 0, text[-5000:]
    assert "engine sail (delta)" in text, text[-3000:]
    for t in TABLES:
        assert sum(res["final"][t].values()) > 0 or t == "bronze/quarantine", t
    _index_rows(res["lake"], WEEK2)
    _index_rows(res["lake"], WEEK1)


def test_week_two_gives_the_same_org_index_whichever_engine_ran_it(chains):
    a = _index_rows(chains["sail_then_spark"]["lake"], WEEK2)  # week 2 on Apache Spark
    b = _index_rows(chains["spark_then_sail"]["lake"], WEEK2)  # week 2 on Sail
    assert a == b


def test_both_lakes_end_with_the_same_gold(chains):
    """Both weeks, every label and user-week, whichever engine wrote which week."""
    for t in ("gold/interaction_labels", "gold/user_weeks", "gold/org_theater_index"):
        a, b = chains["sail_then_spark"]["final"][t], chains["spark_then_sail"]["final"][t]
        assert sum(a.values()) > 0 and a == b, t


def test_rescore_of_week_one_on_the_other_engine_reproduces_it(chains):
    for name, res in chains.items():
        rc, text = res["rescore"]
        assert rc == 0 and "identical" in text, f"{name}: {rc}\n{text[-4000:]}"


def test_every_table_keeps_the_protocol_both_engines_share(chains):
    from deltalake import DeltaTable

    seen = {}
    for name, res in chains.items():
        for log in sorted(res["lake"].rglob("_delta_log")):
            p = DeltaTable(str(log.parent)).protocol()
            seen[(name, str(log.parent.relative_to(res["lake"])))] = (
                p.min_reader_version,
                p.min_writer_version,
                p.reader_features,
                p.writer_features,
            )
    assert len(seen) >= 2 * len(TABLES), seen
    assert set(seen.values()) == {(1, 2, None, None)}, seen


def test_a_killed_spark_run_leaves_no_half_written_version(chains):
    res = chains["sail_then_spark"]
    k = res["killed"]
    assert k["reached_refine"] and k["alive_at_kill"], k["log"][-3000:]
    changed = []
    for t in TABLES:
        now = k["after_kill"][t]
        assert now in (k["before"][t], res["final"][t]), f"{t}: neither before nor after the run"
        if now != k["before"][t]:
            changed.append(t)
    # the kill came after ingest's commits (week 2 is in bronze) and before score's
    assert "bronze/interactions" in changed, changed
    assert "gold/org_theater_index" not in changed, changed
    assert "taking over the lock of run" in res["week2"][1]
