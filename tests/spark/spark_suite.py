"""Helpers of the Apache Spark suite.

``unit_module``: a module of tests/unit, loaded again so that a tests/spark file can collect its
tests: the same functions, whose fixtures (``spark``, ``cfg``) now resolve to
tests/spark/conftest.py, a classic local-mode Apache Spark session.
``theater_cli``: the command line in a fresh process (for the Sail runs compared against).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
