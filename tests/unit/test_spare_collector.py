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
from theater.pipeline import spare_collector
kept = [[i] for i in range(1000)]  # imported state stands here: lists the collector tracks
before = gc.get_freeze_count()
threshold = gc.get_threshold()
spare_collector()
after = gc.get_freeze_count()
made = [[i] for i in range(10)]  # made after the call: collected as usual
print(json.dumps([before, after, gc.get_freeze_count(), gc.get_threshold() == threshold,
                  gc.is_tracked(kept[0])]))
"""


def test_what_exists_is_frozen_and_what_comes_after_is_not():
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    before, after, later, same_threshold, tracked = json.loads(done.stdout)
    assert before == 0
    assert after >= 1000  # at least the 1,000 lists made before the call
    assert later == after  # the 10 lists made after it are not frozen
    assert same_threshold  # the collector's schedule is Python's own
    assert tracked  # frozen objects are the same objects, only skipped by collections
