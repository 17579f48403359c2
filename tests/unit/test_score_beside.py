"""The org index step's second thread: when there is one, what it gives back, its errors.

No engine: the executors and the merge of the incentive org shares into the org columns, on
hand-made values (an org's share 0.1234 is 12.34 percent in the columns)."""

from __future__ import annotations

import threading
import time

import pytest

from theater.stages import score
from theater.stages.incentives import Incentives, OrgShare


@pytest.mark.parametrize(
    ("staging", "buckets", "threaded"),
    [
        ("/tmp/s", 1, True),
        ("/tmp/s", score.BESIDE_BUCKETS, True),
        ("/tmp/s", score.BESIDE_BUCKETS + 1, False),
        (None, 1, False),
    ],
)
def test_a_second_thread_only_for_small_staged_periods(staging, buckets, threaded):
    with score.beside_executor(staging, buckets) as beside:
        where = beside.submit(lambda: threading.current_thread().name).result()
    assert where.startswith("score-beside") is threaded
    assert isinstance(beside, score.AtOnce) is not threaded


@pytest.mark.parametrize("engine", ["spark", "remote"])
def test_no_second_thread_off_the_embedded_engine(engine):
    with score.beside_executor("/tmp/s", 1, engine) as beside:
        where = beside.submit(lambda: threading.current_thread().name).result()
    assert where == threading.current_thread().name
    assert isinstance(beside, score.AtOnce)


def test_at_once_runs_on_the_caller_and_raises_there():
    ran = []
    with score.AtOnce() as beside:
        done = beside.submit(ran.append, 1)
        assert ran == [1] and done.done() and done.result() is None
        with pytest.raises(ValueError, match="boom"):
            beside.submit(_fail)


def _fail():
    raise ValueError("boom")


def test_a_task_error_is_raised_by_its_result():
    with score.beside_executor("/tmp/s", 1) as beside:
        failed = beside.submit(_fail)
        with pytest.raises(ValueError, match="boom"):
            failed.result()


def test_leaving_by_an_error_waits_for_the_running_task_and_drops_the_rest():
    ran = []
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.2)
        ran.append("slow")

    with pytest.raises(RuntimeError, match="main"):
        with score.beside_executor("/tmp/s", 1) as beside:
            beside.submit(slow)
            later = beside.submit(ran.append, "later")
            started.wait(5)
            raise RuntimeError("main")
    # the running task ended before the block was left; the queued one never ran
    assert ran == ["slow"] and later.cancelled()


def test_org_shares_set_on_the_incentives_and_in_their_orgs_columns():
    inc = Incentives()
    extra = {"a": {"rank_low": 1}, "b": {"rank_low": 2}}
    shares = [
        OrgShare("a", 0.1234, 0.1, 0.15),
        OrgShare("b", None, None, None),  # not measurable: no columns
        OrgShare("z", 0.5, 0.4, 0.6),  # not an org of the index: left out
    ]
    score.with_org_shares(inc, shares, extra)
    assert inc.org_shares == shares
    assert extra == {
        "a": {
            "rank_low": 1,
            "incentive_excess": 12.34,
            "incentive_excess_ci_low": 10.0,
            "incentive_excess_ci_high": 15.0,
        },
        "b": {"rank_low": 2},
    }


def test_no_incentives_no_change():
    extra = {"a": {}}
    score.with_org_shares(None, [], extra)
    assert extra == {"a": {}}
