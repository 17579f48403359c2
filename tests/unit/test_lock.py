"""The lake's writer lock (pure Python: files and processes, no engine)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time

import pytest

from theater.errors import LakeBusyError, UsageError
from theater.lock import LOCK_NAME, LakeLock, check_lake_root


def test_the_lock_records_its_owner_and_a_second_writer_is_refused(tmp_path):
    with LakeLock(str(tmp_path), "run-a") as held:
        owner = json.loads((tmp_path / LOCK_NAME).read_text())
        assert owner["run_id"] == "run-a" and owner["host"] == socket.gethostname()
        assert owner["pid"] > 0 and owner["taken_at"] == held.owner["taken_at"]
        with pytest.raises(
            LakeBusyError,
            match=r"^lake busy: run run-a since " + owner["taken_at"].replace("+", r"\+"),
        ):
            LakeLock(str(tmp_path), "run-b").acquire()
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_waiting_writer_gets_the_lock_when_it_is_released(tmp_path):
    first = LakeLock(str(tmp_path), "run-a").acquire()
    timer = threading.Timer(0.6, first.release)
    timer.start()
    t0 = time.monotonic()
    with LakeLock(str(tmp_path), "run-b", wait=10, poll=0.1):
        waited = time.monotonic() - t0
        assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == "run-b"
    assert 0.5 <= waited < 5


def test_a_dead_owners_lock_is_taken_over(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"host": socket.gethostname(), "pid": p.pid, "run_id": "dead", "taken_at": "x"})
    )
    with LakeLock(str(tmp_path), "run-b"):
        assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == "run-b"


def test_a_reused_pid_is_not_the_owner(tmp_path):
    import os

    (tmp_path / LOCK_NAME).write_text(
        json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "proc_start": "1",  # not our start
                "run_id": "old",
                "taken_at": "x",
            }
        )
    )
    with LakeLock(str(tmp_path), "run-b"):
        pass


def test_another_hosts_lock_is_alive_until_stale(tmp_path):
    (tmp_path / LOCK_NAME).write_text(
        json.dumps(
            {
                "host": "elsewhere",
                "pid": 1,
                "run_id": "remote",
                "taken_at": "t",
                "taken_at_epoch": time.time() - 100,
            }
        )
    )
    with pytest.raises(LakeBusyError, match="run remote since t"):
        LakeLock(str(tmp_path), "run-b", stale_seconds=1000).acquire()
    with LakeLock(str(tmp_path), "run-b", stale_seconds=50):
        pass


def test_staging_is_cleared_when_the_lock_is_taken_and_released(tmp_path):
    stale = tmp_path / "ops" / "_staging" / "b-old"
    stale.mkdir(parents=True)
    (stale / "x.jsonl").write_text('{"user_id": "someone@example.com"}')
    with LakeLock(str(tmp_path), "run-a"):
        assert not stale.exists()
        (tmp_path / "ops" / "_staging" / "b-new").mkdir(parents=True)
    assert not (tmp_path / "ops" / "_staging").exists()


def test_lake_paths_that_cannot_be_used_are_usage_errors(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="is a file, not a folder"):
        check_lake_root(str(f))
    with pytest.raises(UsageError, match="cannot be created"):
        check_lake_root(str(f / "lake"))


def test_a_held_lake_is_refused_before_the_run_starts_and_only_read(tmp_path):
    lock = tmp_path / LOCK_NAME
    with LakeLock(str(tmp_path), "run-a"):
        held = lock.read_text()
        with pytest.raises(LakeBusyError, match=r"^lake busy: run run-a since "):
            LakeLock(str(tmp_path), "").refuse_if_held()
        LakeLock(str(tmp_path), "", wait=5).refuse_if_held()  # a waiting run waits instead
        assert lock.read_text() == held
    LakeLock(str(tmp_path), "").refuse_if_held()  # free: nothing to refuse
    # a dead owner's lock is neither refused nor removed here: acquire takes it over
    p = subprocess.Popen(["true"])
    p.wait()
    dead = json.dumps({"host": socket.gethostname(), "pid": p.pid, "run_id": "d", "taken_at": "x"})
    lock.write_text(dead)
    LakeLock(str(tmp_path), "").refuse_if_held()
    assert lock.read_text() == dead
