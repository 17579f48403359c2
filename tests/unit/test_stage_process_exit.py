"""How a stage process ends (``theater.pipeline._stage_main``): once its outcome is sent, without
the interpreter's teardown, with its output flushed and exit code 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

# _stage_main run in this interpreter with the engine and the stage stood in for; the pipe's
# send end prints what the parent would receive (unflushed, as a process's last output may be)
CODE = """
import atexit, multiprocessing, os
from contextlib import contextmanager
import theater.engine as E
import theater.pipeline as P
from theater import logs

@contextmanager
def session(cfg):
    yield "spark"

E.session = session
def run_stage(*a, **k):
    if {STAGE_RESULT!r} is None:
        raise ValueError("the stage broke")
    return {STAGE_RESULT!r}, None

P.run_stage = run_stage
P.return_freed_memory = lambda *a: False
P._die_with = lambda parent: None
atexit.register(lambda: print("|teardown ran", end=""))

class Send:
    def send(self, outcome):
        print(outcome[0], outcome[1]["rows"] if outcome[0] == "ok" else outcome[2], end="")
    def close(self):
        pass

records = multiprocessing.Queue()
P._stage_main(Send(), records, logs.settings(), os.getppid(), "ingest", None, "lake", "landing",
              None, "run-id", 0.0)
print("|returned", end="")
"""


def _run(stage_result) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-c", CODE.replace("{STAGE_RESULT!r}", repr(stage_result))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_stage_process_ends_once_its_outcome_is_sent_without_the_teardown():
    done = _run({"rows": 7})
    assert done.returncode == 0, done.stderr
    # the outcome went out and was flushed; neither the code after _stage_main nor the
    # interpreter's teardown (atexit) ran
    assert done.stdout == "ok 7"


def test_a_failed_stage_process_sends_its_error_and_ends_the_same_way():
    done = _run(None)  # the stage raises
    assert done.returncode == 0, done.stderr
    assert done.stdout == "error ValueError: the stage broke", done.stdout
    assert "teardown ran" not in done.stdout and "returned" not in done.stdout
