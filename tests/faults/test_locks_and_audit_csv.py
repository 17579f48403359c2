"""A lock left by another host, and the reviewers' audit CSV.

Locks: liveness of a process on another host cannot be known from here, so its lock holds the
lake until it is older than ``lake.lock_stale_seconds``, its age taken from the start time it
records or, when it records none, from the lock file's modification time; the warning says that
the owner may still run. Audit sample: formula-like cells are neutralised (and read back
exactly by ``audit load``), suppressed orgs are not sampled.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import socket
import time

import pandas as pd
import pytest
from faultkit import env_for, record_figures, run, theater

from theater.audit import labels, sample
from theater.errors import LakeBusyError
from theater.lock import LOCK_NAME, LakeLock

STALE = 600


def _foreign(path, **fields):
    (path / LOCK_NAME).write_text(
        json.dumps({"host": "build-07.elsewhere", "pid": 4242, "run_id": "remote", **fields})
    )


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path / LOCK_NAME, (t, t))


@pytest.mark.parametrize("fields", [{}, {"taken_at": "?"}, {"taken_at_epoch": "garbage"}])
def test_a_foreign_lock_without_a_start_time_is_judged_by_its_files_age(tmp_path, caplog, fields):
    _foreign(tmp_path, **fields)
    _age(tmp_path, 60)
    with pytest.raises(LakeBusyError, match="taken over once older than lake.lock_stale_seconds"):
        LakeLock(str(tmp_path), "mine", stale_seconds=STALE).acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == "remote"
    _age(tmp_path, STALE + 60)
    with caplog.at_level(logging.WARNING, logger="theater.lock"):
        with LakeLock(str(tmp_path), "mine", stale_seconds=STALE):
            assert json.loads((tmp_path / LOCK_NAME).read_text())["run_id"] == "mine"
    text = caplog.text
    assert "another host" in text and "lake.lock_stale_seconds" in text
    assert "no longer running" not in text  # not knowable from here
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_foreign_lock_with_a_start_time_is_taken_over_only_when_stale(tmp_path, caplog):
    _foreign(tmp_path, taken_at="then", taken_at_epoch=time.time() - 60)
    _age(tmp_path, STALE * 10)  # the recorded start time wins over the file's age
    with pytest.raises(LakeBusyError, match="run remote since then"):
        LakeLock(str(tmp_path), "mine", stale_seconds=STALE).acquire()
    _foreign(tmp_path, taken_at="then", taken_at_epoch=time.time() - STALE - 60)
    with caplog.at_level(logging.WARNING, logger="theater.lock"):
        with LakeLock(str(tmp_path), "mine", stale_seconds=STALE):
            pass
    assert "older than lake.lock_stale_seconds (600s)" in caplog.text
    assert "cannot see whether it still runs" in caplog.text
    # a start time in the future (a skewed clock) does not keep the lake forever: file age
    _foreign(tmp_path, taken_at="future", taken_at_epoch=time.time() + 10 * 86400)
    _age(tmp_path, STALE + 60)
    with LakeLock(str(tmp_path), "mine", stale_seconds=STALE):
        pass
    record_figures("foreign_lock", attempted=5, survived=5, rows_lost=0, rows_doubled=0)


def test_a_local_dead_owner_is_still_taken_over_at_once(tmp_path, caplog):
    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"host": socket.gethostname(), "pid": 2**22 + 17, "run_id": "dead"})
    )
    with caplog.at_level(logging.WARNING, logger="theater.lock"):
        with LakeLock(str(tmp_path), "mine", stale_seconds=STALE):
            pass
    assert "its owner is no longer running" in caplog.text


# ----------------------------------------------------------------------------- audit CSV

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "'=quoted"]


def test_formula_cells_are_neutralised_and_read_back_exactly(tmp_path):
    drawn = pd.DataFrame(
        {
            "event_id": HOSTILE,
            "tool": ["cursor"] * len(HOSTILE),
            "org_id": ["=org"] + ["org-1"] * (len(HOSTILE) - 1),
            "user_key": ["ab12"] * len(HOSTILE),
            "event_ts": ["2026-07-01T00:00:00Z"] * len(HOSTILE),
            "action": ["complete"] * len(HOSTILE),
            "output_disposition": ["accepted"] * len(HOSTILE),
            "artifact_id": ["@art"] * len(HOSTILE),
            "flags": [""] * len(HOSTILE),
            "theater_probability": [0.25] * len(HOSTILE),
            "stratum": ["none"] * len(HOSTILE),
            "inclusion_probability": [0.5] * len(HOSTILE),
        }
    )
    out = sample.sample_frame(drawn)
    path = tmp_path / "sample.csv"
    out.to_csv(path, index=False)
    with open(path, newline="") as fh:
        cells = [c for row in list(csv.reader(fh))[1:] for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://x","y")' in cells and "'@art" in cells
    assert "''=quoted" in cells  # a leading quote is escaped too, so reading back is exact
    out["label"] = "1"
    out.to_csv(path, index=False)
    parsed = labels.parse(path)
    assert sorted(parsed.rows["event_id"]) == sorted(HOSTILE)
    assert set(parsed.rows["org_id_file"]) == {"=org", "org-1"}


def test_audit_sample_lists_no_row_of_a_suppressed_org(month, tmp_path):
    """The clean month scored again with a higher privacy floor, so that some orgs are
    suppressed; ``theater audit sample`` then samples only the published orgs."""
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    shutil.copytree(month["lake"], lake)
    index = DeltaTable(str(lake / "gold/org_theater_index")).to_pandas()
    users = sorted(int(u) for u in index["n_users"].dropna())
    assert users[0] < users[-1], users  # orgs of different sizes: a floor splits them
    state = tmp_path / "state"
    env = env_for(state)
    env["THEATER_PRIVACY__MIN_USERS"] = str(users[-1])  # only the largest org(s) stay published
    log = tmp_path / "score.log"
    rc = run(
        theater(
            "run",
            "--lake",
            str(lake),
            "--start",
            "2026-07-01",
            "--end",
            "2026-08-01",
            "--stage",
            "score",
        ),
        env,
        log,
    )
    assert rc == 0, log.read_text()[-3000:]
    index = DeltaTable(str(lake / "gold/org_theater_index")).to_pandas()
    index = index[index["period_start"].astype(str) == "2026-07-01"]
    suppressed = set(index.loc[index["suppressed"], "org_id"])
    published = set(index.loc[~index["suppressed"], "org_id"])
    assert suppressed and published
    out = tmp_path / "sample.csv"
    log = tmp_path / "sample.log"
    rc = run(
        theater(
            "audit",
            "sample",
            "--lake",
            str(lake),
            "--start",
            "2026-07-01",
            "--end",
            "2026-08-01",
            "--size",
            "60",
            "--out",
            str(out),
        ),
        env_for(state),
        log,
    )
    assert rc == 0, log.read_text()[-3000:]
    s = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(s) > 0
    assert set(s["org_id"]) == published
    assert not set(s["org_id"]) & suppressed
    record_figures(
        "audit_csv_suppressed_orgs",
        attempted=1,
        survived=1,
        rows=len(s),
        suppressed_orgs=len(suppressed),
        leaked=0,
    )
