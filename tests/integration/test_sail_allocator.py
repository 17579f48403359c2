"""The embedded Sail engine's allocator (mimalloc, inside pysail's native library) reads its
settings from the environment once, when the library loads: the engine must put its defaults
there before that, and keep a value the user set. Checked in a fresh process with mimalloc's
own report of the values it read (``MIMALLOC_VERBOSE=1`` prints every option at load)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from theater.engine import SAIL_ALLOCATOR_ENV

SRC = str(Path(__file__).resolve().parents[2] / "src")
START = "from theater.engine import _SailServer; _SailServer.url(); _SailServer.stop()"


def _options_read(extra_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MIMALLOC_")}
    env.update({"PYTHONPATH": SRC, "MIMALLOC_VERBOSE": "1", **extra_env})
    proc = subprocess.run(
        [sys.executable, "-c", START],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = dict(re.findall(r"option '(\w+)': (-?\d+)", proc.stderr))
    assert found, "mimalloc printed no options: " + proc.stderr[-2000:]
    return found


def test_engine_sets_allocator_defaults_before_the_library_loads():
    found = _options_read({})
    for key, value in SAIL_ALLOCATOR_ENV.items():
        assert found[key.removeprefix("MIMALLOC_").lower()] == value


def test_a_users_own_value_is_kept():
    found = _options_read({"MIMALLOC_PURGE_DELAY": "250"})
    assert found["purge_delay"] == "250"
