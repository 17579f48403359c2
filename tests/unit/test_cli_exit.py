"""How the ``theater`` console script ends a process (``theater.cli.exit_process``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

CODE = """
import atexit, sys, types
atexit.register(lambda: print("|teardown ran", end=""))
if {loaded!r}:
    sys.modules[{loaded!r}] = types.ModuleType({loaded!r})  # stands for the loaded module
from theater.cli import exit_process
print("done", end="")  # unflushed: exit_process flushes it
exit_process(3)
"""


def _run(loaded: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-c", CODE.format(loaded=loaded)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_after_the_engine_client_the_exit_skips_the_teardown_and_keeps_code_and_output():
    for loaded in ("pyspark", "deltalake"):
        done = _run(loaded)
        assert done.returncode == 3, done.stderr
        assert done.stdout == "done"  # flushed, and no interpreter teardown (atexit) after it


def test_without_them_the_interpreter_ends_as_usual():
    done = _run("")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "done|teardown ran"
