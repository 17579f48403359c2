"""The cyclic collector of a pipeline run in one process (``theater.pipeline.spare_collector``).

Each case runs in a fresh interpreter: the collector's schedule is the process's."""

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
spare_collector()
print(json.dumps([gc.get_threshold(), YOUNG_COLLECTION, gc.isenabled(), gc.get_freeze_count()]))
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


def test_young_collections_are_spaced_and_the_rest_left_as_python_has_it():
    threshold, young, enabled, frozen = _run(700)  # Python's default
    assert young == 7_000
    assert threshold == [7_000, 10, 10]
    assert enabled  # the collector still runs
    assert frozen == 0  # nothing is kept from collection


def test_a_larger_young_threshold_already_set_is_kept():
    threshold, young, _, _ = _run(50_000)
    assert young < 50_000
    assert threshold == [50_000, 10, 10]
