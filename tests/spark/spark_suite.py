"""Helpers of the Apache Spark suite.

``unit_module``: a module of tests/unit, loaded again so that a tests/spark file can collect its
tests: the same functions, whose fixtures (``spark``, ``cfg``) now resolve to
tests/spark/conftest.py, a classic local-mode Apache Spark session.
``theater_cli``: the command line in a fresh process (for the Sail runs compared against);
``theater_cli_popen``: the same, in the background (the caller waits for it).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The suite's subprocess JVMs (``theater --engine spark`` runs, spark-submit jobs) live for a
# minute or two on tiny data: the C1 compiler alone and the serial collector spend much less CPU
# there than C2's optimising compiles and parallel GC threads; results do not depend on either.
# spark-submit reads SPARK_SUBMIT_OPTS. Not for this process's session: it lives through the
# whole suite, long enough for C2's code to pay back (measured: more CPU with C1 alone).
JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
UNIT = ROOT / "tests" / "unit"


def unit_module(name: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"on_apache_spark.{name}", UNIT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if not k.startswith("__")}


def clean_env(**extra) -> dict:
    """The environment for a subprocess: no THEATER_* overrides from the caller's shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") or k == "THEATER_PSEUDONYM_KEY"
    }
    env.setdefault("SPARK_SUBMIT_OPTS", JVM_OPTS)
    env.update(extra)
    return env


def theater_cli(*args: str, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """``theater ...`` in a fresh process (the Sail engine cannot live in this one)."""
    return subprocess.run(
        [sys.executable, "-m", "theater.cli", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def theater_cli_popen(*args: str, cwd: Path, out) -> subprocess.Popen:
    """``theater ...`` in a fresh process in the background, output to the file ``out``, so
    that a Sail run works while this process runs Apache Spark; in a process group of its own,
    stopped by ``stop_group`` if the caller does not wait for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "theater.cli", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a ``theater_cli_popen`` process (its whole process group, by its PID)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)
