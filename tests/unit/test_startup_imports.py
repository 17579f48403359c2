"""What a run imports, and when: GX only once a result is kept for the Data Docs of this
process, no heavy library at import time, PySpark's notebook probe answered at once."""

import importlib.util
import subprocess
import sys
import time

import pytest

from theater.engine import _no_ipython_lookups
from theater.quality import docs as dq_docs
from theater.quality.runner import GX


def _keep(kept: dq_docs.Kept) -> None:
    kept.keep({"name": "s", "meta": {}}, "silver/a", "rows", [], [])


@pytest.fixture
def prewarms(monkeypatch):
    calls = []
    monkeypatch.setattr(GX, "prewarm", classmethod(lambda cls: calls.append(1)))
    return calls


def test_a_stage_process_keeps_docs_without_importing_gx(prewarms, tmp_path):
    with dq_docs.deferred_docs() as docs:  # a stage process: its parent renders them
        kept = dq_docs.Kept(str(tmp_path), "run-ingest", True)
        _keep(kept)
        kept.render()
    assert prewarms == [] and len(docs) == 1


def test_gx_is_imported_from_the_first_result_this_process_renders(prewarms, tmp_path):
    kept = dq_docs.Kept(str(tmp_path), "run-ingest", True)
    with dq_docs.deferred_docs(prewarm=True):
        assert prewarms == []  # nothing validated yet: nothing imported
        _keep(kept)
        assert prewarms == [1]
    disabled = dq_docs.Kept(str(tmp_path), "run-refine", False)  # quality.data_docs off
    _keep(disabled)
    assert prewarms == [1]


def test_prewarm_starts_one_thread_per_process(monkeypatch):
    started = []
    monkeypatch.setattr(GX, "_ctx", None)
    monkeypatch.setattr(GX, "_prewarming", False)
    monkeypatch.setattr(GX, "_prewarm", classmethod(lambda cls: started.append(1)))
    GX.prewarm()
    GX.prewarm()  # the first call's thread is still importing, or done: no second thread
    deadline = time.time() + 5
    while not started and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert started == [1]


@pytest.mark.skipif(
    importlib.util.find_spec("IPython") is not None, reason="IPython installed here"
)
def test_an_absent_ipython_is_not_searched_for_again(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    _no_ipython_lookups()
    assert "IPython" in sys.modules and sys.modules["IPython"] is None
    with pytest.raises(ImportError):
        import IPython  # noqa: F401
    monkeypatch.delitem(sys.modules, "IPython")


def test_importing_the_pipeline_loads_no_heavy_library():
    code = (
        "import sys, theater.cli, theater.pipeline, theater.tracking, theater.engine;"
        "heavy = [m for m in ('mlflow', 'great_expectations', 'pyspark.ml', 'scipy',"
        " 'theater.stages.score') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _Tracked:
    """What ``pipeline._run_stages`` asks of the MLflow run, recording the order of calls."""

    def __init__(self, calls: list):
        self.calls = calls

    def stage(self, name):
        import contextlib

        return contextlib.nullcontext()

    def record_stage(self, name, *args):
        self.calls.append(("record", name))

    def record_index(self, rows):
        pass

    def settle(self):
        self.calls.append(("settle",))


def _stages_in_one_process(monkeypatch, stages):
    from theater import pipeline

    calls: list = []

    def run_stage(spark, stage, *args, prewarm_docs=False, **kw):
        calls.append(("stage", stage, prewarm_docs))
        rows = {"rows_loaded": {}, "rows_quarantined": {}, "silver_interactions": 0}
        return {"dq_docs": [{"stage": stage}], **rows}, None

    monkeypatch.setattr(pipeline, "run_stage", run_stage)
    monkeypatch.setattr(GX, "prewarm", classmethod(lambda cls: calls.append(("prewarm",))))
    monkeypatch.setattr(GX, "started", classmethod(lambda cls: ("prewarm",) in calls))
    monkeypatch.setattr(dq_docs, "build_docs", lambda docs: calls.append(("docs", len(docs))))
    results: dict = {}
    pipeline._run_stages(
        None, None, stages, "lake", "landing", lambda: "r", _Tracked(calls), None, False,
        results, lambda msg: None,
    )  # fmt: skip
    return calls


def test_ingest_in_one_process_leaves_gx_to_its_end(monkeypatch):
    calls = _stages_in_one_process(monkeypatch, ("ingest", "refine"))
    # ingest keeps its docs without importing GX; the import starts as ingest's docs are handed
    # to the docs thread, before the next stage; refine prewarms as before (then a no-op)
    assert calls[:3] == [("stage", "ingest", False), ("prewarm",), ("docs", 1)]
    assert ("stage", "refine", True) in calls
    assert calls.index(("prewarm",)) < calls.index(("stage", "refine", True))


def test_ingest_alone_in_one_process_imports_gx_after_the_logging_settles(monkeypatch):
    calls = _stages_in_one_process(monkeypatch, ("ingest",))
    assert calls == [("stage", "ingest", False), ("record", "ingest"), ("settle",), ("docs", 1)]


def test_docs_take_gx_through_its_lock_before_any_gx_module(monkeypatch, tmp_path):
    order: list = []
    monkeypatch.setattr(GX, "context", classmethod(lambda cls: order.append("context")))

    def to_gx_result(*args):
        order.append("result")
        raise RuntimeError("stop here")

    monkeypatch.setattr(dq_docs.metrics, "to_gx_result", to_gx_result)
    doc = {"directory": str(tmp_path), "suite": "s", "suite_meta": {}, "batch": "b"}
    dq_docs.build_docs([{**doc, "run_name": "r", "outcomes": [], "entry": {}}])
    assert order == ["context", "result"]
