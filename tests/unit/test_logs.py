"""theater.logs: formats, levels, Sail's RUST_LOG directives and progress (no Spark)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from theater import logs


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    saved = (
        root.level,
        list(root.handlers),
        logging.getLogger("theater").level,
        logs._state.copy(),
    )
    yield
    if logs._state["handler"] is not None:
        root.removeHandler(logs._state["handler"])
    root.setLevel(saved[0])
    for h in saved[1]:
        if h not in root.handlers:
            root.addHandler(h)
    logging.getLogger("theater").setLevel(saved[2])
    logs._state.clear()
    logs._state.update(saved[3])
    logging.captureWarnings(False)


def test_json_lines_carry_time_level_logger_message_and_extras(monkeypatch):
    monkeypatch.delenv("THEATER_LOG_LEVEL", raising=False)
    out = io.StringIO()
    logs.setup_logging(False, "json", stream=out)
    logging.getLogger("theater.stages.x").info("loaded %d rows", 12, extra={"table": "bronze/a"})
    logging.getLogger("theater").debug("not shown without -v")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["level"] == "INFO" and rec["logger"] == "theater.stages.x"
    assert rec["message"] == "loaded 12 rows" and rec["table"] == "bronze/a"
    assert rec["time"].endswith("Z")


def test_third_party_quiet_by_default_and_warnings_with_verbose(monkeypatch):
    monkeypatch.delenv("THEATER_LOG_LEVEL", raising=False)
    monkeypatch.delenv("MLFLOW_LOGGING_LEVEL", raising=False)
    # a library module logger that sets its own level on import (as some GX modules do)
    own = logging.getLogger("great_expectations.some.module")
    own.setLevel(logging.INFO)
    out = io.StringIO()
    logs.setup_logging(False, "text", stream=out)
    logs.quiet("great_expectations")
    own.info("Skipping registering function f because it is a closure")
    logging.getLogger("great_expectations").warning("a GX warning")
    logging.getLogger("some.other.lib").warning("another library's warning")
    logging.getLogger("theater").info("ours")
    text = out.getvalue()
    assert "Skipping registering" not in text and "a GX warning" not in text
    assert "ours" in text and "another library's warning" in text  # root stays at WARNING
    assert own.level == logging.ERROR
    import os

    assert os.environ["MLFLOW_LOGGING_LEVEL"] == "ERROR"
    out2 = io.StringIO()
    logs.setup_logging(True, "text", stream=out2)
    logging.getLogger("great_expectations").warning("a GX warning")
    logging.getLogger("theater").debug("debug line")
    assert "a GX warning" in out2.getvalue() and "debug line" in out2.getvalue()
    assert out.getvalue() == text, "the previous handler was replaced, not kept"


def test_sail_directives_silence_the_known_notices_only():
    logs._state["verbose"] = False
    d = logs.sail_rust_log().split(",")
    assert d[0] == "warn"
    assert "sail_plan::resolver::query::misc=error" in d
    assert "sail_spark_connect::service::plan_analyzer=error" in d
    logs._state["verbose"] = True
    assert logs.sail_rust_log() == "warn"


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_steps_log_milestones_off_a_terminal(monkeypatch):
    seen = []
    monkeypatch.setattr("sys.stderr", io.StringIO())
    steps = logs.Steps("score", 3, seen.append)
    steps("score: signals")
    steps("score: user-weeks")
    steps.close()
    assert seen == ["score: signals", "score: user-weeks"]
    assert steps._p.bar is None


def test_steps_draw_a_bar_on_a_terminal_and_log_above_it(monkeypatch):
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    monkeypatch.setenv("TERM", "xterm")
    logs.setup_logging(False, "text", stream=tty)
    log = logging.getLogger("theater")
    steps = logs.Steps("ingest", 4, log.info, unit="dataset")
    steps("ingest interactions: 16 new file(s)")
    assert logs._Progress.active is steps._p
    steps("ingest directory: 2 new file(s)")
    steps.close()
    assert logs._Progress.active is None
    text = tty.getvalue()
    assert "ingest interactions: 16 new file(s)" in text
    assert "2/4" in text and "dataset" in text  # tqdm's bar: done/total and unit


def test_progress_context_lines_when_not_a_terminal(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    monkeypatch.delenv("THEATER_LOG_LEVEL", raising=False)
    logs.setup_logging(False, "text", stream=out)
    with logs.progress("refine", total=2, unit="table") as p:
        p.advance(note="silver/directory")
        p.advance(note="silver/interactions")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "refine: 1/2 table - silver/directory" in lines[0]
    assert "refine: 2/2 table - silver/interactions" in lines[1]
    with pytest.raises(ValueError, match="log format"):
        logs.setup_logging(False, "xml")


def test_records_of_a_stage_process_are_written_by_the_parent(monkeypatch):
    """forward_to (in the stage process) keeps the parent's levels and sends the records;
    relay (in the parent) writes them with the parent's handler, extras included."""
    import queue
    import threading

    monkeypatch.delenv("THEATER_LOG_LEVEL", raising=False)
    out = io.StringIO()
    logs.setup_logging(False, "json", stream=out)
    levels = logs.settings()
    q = queue.Queue()
    root = logging.getLogger()
    saved = root.handlers[:], root.level, dict(logs._state)
    try:
        logs.forward_to(q, levels)  # as the stage process does
        _log_in_stage_process()
    finally:  # this test process is not a stage process: put its handlers back
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
        logs._state.update(saved[2])
    assert q.qsize() == 2  # the two records the levels let through
    assert out.getvalue() == ""  # nothing written in the "stage process"
    logs.setup_logging(False, "json", stream=out)  # back to the parent's handler
    stop = threading.Event()
    stop.set()  # the stage process has ended: relay what it sent, then return
    logs.relay(q, stop)
    recs = [json.loads(ln) for ln in out.getvalue().splitlines()]
    assert [(r["logger"], r["level"], r["message"]) for r in recs] == [
        ("theater.stages.refine", "INFO", "bucket 2 of 5"),
        ("great_expectations.core", "ERROR", "a library error"),
    ]
    assert recs[0]["b"] == 2


def _log_in_stage_process():
    logging.getLogger("theater.stages.refine").info("bucket %d of %d", 2, 5, extra={"b": 2})
    logging.getLogger("theater.stages.refine").debug("not without -v")
    logging.getLogger("great_expectations.core").info("chatty library line")
    logging.getLogger("great_expectations.core").error("a library error")
