"""Work the pipeline runs beside its main thread: a background failure is raised by the
caller, never lost."""

import threading

import pytest

from theater import pipeline


def test_a_background_result_waits_for_the_work():
    done = threading.Event()
    seen = []

    def slow(x):
        done.wait(5)
        seen.append(x)

    job = pipeline._Background(slow, 7)
    done.set()
    job.result()
    assert seen == [7]


def test_a_background_failure_is_raised_by_result():
    def broken():
        raise ValueError("docs failed")

    job = pipeline._Background(broken)
    with pytest.raises(ValueError, match="docs failed"):
        job.result()


def test_the_docs_render_in_the_background_and_their_time_is_kept(monkeypatch):
    from theater.quality import docs as dq_docs

    rendered = []
    monkeypatch.setattr(
        dq_docs, "build_docs", lambda docs: rendered.append(threading.current_thread().name)
    )
    results = {}
    pipeline._Background(pipeline._render_docs, [{"suite": "s"}], results).result()
    assert rendered == ["theater-_render_docs"] and results["data_docs_seconds"] >= 0
