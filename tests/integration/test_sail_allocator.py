"""The embedded Sail engine's allocator (mimalloc, inside pysail's native library) reads its
settings from the environment once, when the library loads. ``spark.return_freed_memory`` asks
it to give freed memory back at once, for large inputs only: checked in fresh processes with
mimalloc's own report of the values it read (``MIMALLOC_VERBOSE=1`` prints every option at
load), and the decision on hand-made lakes of known size."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from theater import pipeline
from theater.config import load_config

SRC = str(Path(__file__).resolve().parents[2] / "src")
START = "from theater.engine import _SailServer; _SailServer.url(); _SailServer.stop()"
ASKED = "from theater.engine import return_freed_memory; assert return_freed_memory(); " + START


def _options_read(code: str, extra_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("MIMALLOC_")}
    env.update({"PYTHONPATH": SRC, "MIMALLOC_VERBOSE": "1", **extra_env})
    proc = subprocess.run(
        [sys.executable, "-c", code],
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


def test_the_engine_keeps_the_allocators_delay_unless_asked():
    assert _options_read(START, {})["purge_delay"] != "0"


def test_asked_before_the_library_loads_the_allocator_purges_at_once():
    assert _options_read(ASKED, {})["purge_delay"] == "0"


def test_a_users_own_value_is_kept():
    assert _options_read(ASKED, {"MIMALLOC_PURGE_DELAY": "250"})["purge_delay"] == "250"


@pytest.fixture
def decide(tmp_path, monkeypatch):
    # the variable as it was is restored after each case (set, then removed, both undone)
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "unset")
    monkeypatch.delenv("MIMALLOC_PURGE_DELAY")
    monkeypatch.setattr(pipeline, "RETURN_FREED_MIN_BYTES", 1000)
    lake = tmp_path / "lake"
    bronze = lake / "bronze" / "interactions"
    (bronze / "_delta_log").mkdir(parents=True)
    (bronze / "_delta_log" / "00000.json").write_bytes(b"x" * 5000)  # not data: not counted

    def run(setting: str, stages: tuple[str, ...], data_bytes: int) -> str | None:
        (bronze / "part-0.parquet").write_bytes(b"\0" * data_bytes)
        cfg = load_config().with_overrides({"spark.return_freed_memory": setting})
        pipeline.return_freed_memory(cfg, stages, str(lake))
        return os.environ.get("MIMALLOC_PURGE_DELAY")

    return run


def test_auto_returns_freed_memory_for_refine_and_score_on_a_large_bronze(decide):
    assert decide("auto", ("score",), 1000) == "0"


def test_auto_refine_on_a_large_bronze(decide):
    assert decide("auto", ("refine",), 1500) == "0"


def test_auto_keeps_the_delay_below_the_size(decide):
    assert decide("auto", ("refine", "score"), 999) is None


def test_auto_keeps_the_delay_for_ingest(decide):
    assert decide("auto", ("ingest",), 5000) is None


def test_never_and_always(decide):
    assert decide("never", ("score",), 5000) is None
    assert decide("always", ("ingest",), 0) == "0"


def test_a_users_value_wins_over_the_setting(decide, monkeypatch):
    monkeypatch.setenv("MIMALLOC_PURGE_DELAY", "250")
    assert decide("always", ("score",), 0) == "250"
