"""The cyclic collector of a pipeline run in one process (``theater.pipeline.spare_collector``).

Each case runs in a fresh interpreter: freezing objects is for a process's life."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

CODE = """
import gc, json
gc.set_threshold({young}, 10, 10)
from theater.pipeline import YOUNG_COLLECTION, spare_collector
kept = [[i] for i in range(1000)]  # imported state stands here: lists the collector tracks
before = gc.get_freeze_count()
spare_collector()
after = gc.get_freeze_count()
made = [[i] for i in range(10)]  # made after the call: collected as usual
print(json.dumps([before, after, gc.get_freeze_count(), gc.get_threshold(), YOUNG_COLLECTION,
                  gc.is_tracked(kept[0])]))
"""


def _run(young: int) -> list:
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run(
        [sys.executable, "-c", CODE.format(young=young)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_what_exists_is_frozen_and_young_collections_are_spaced():
    before, after, later, threshold, young, tracked = _run(700)  # Python's default
    assert before == 0
    assert after >= 1000  # at least the 1,000 lists made before the call
    assert later == after  # the 10 lists made after it are not frozen
    assert threshold == [young, 10, 10]
    assert tracked  # frozen objects are the same objects, only skipped by collections


def test_a_larger_young_threshold_already_set_is_kept():
    *_, threshold, young, _ = _run(50_000)
    assert young < 50_000
    assert threshold == [50_000, 10, 10]
