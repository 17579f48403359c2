"""The DAG folder loads in Airflow 3 without import errors; graph, schedules, retries, timeouts,
callbacks and the templated arguments of both modes are what the README says."""

from __future__ import annotations

import copy
from datetime import timedelta

import pendulum
import pytest
from theater_airflow import operators as ops

Q3_START = pendulum.datetime(2026, 7, 1, tz="UTC")
Q3_END = pendulum.datetime(2026, 10, 1, tz="UTC")


def test_dag_folder_has_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == ["theater_daily", "theater_quarterly"]


def test_daily_graph_schedule_and_catchup(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.get_dag("theater_daily")
    assert sorted(dag.task_dict) == ["ingest", "refine"]
    assert dag.task_dict["refine"].upstream_task_ids == {"ingest"}
    assert isinstance(dag.timetable, CronDataIntervalTimetable)  # interval = the day
    assert _cron(dag) == ("0 0 * * *", "UTC")
    assert dag.catchup is True and dag.max_active_runs == 1
    assert dag.start_date == Q3_START


def test_quarterly_graph_schedule_and_wait(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.get_dag("theater_quarterly")
    assert sorted(dag.task_dict) == ["report", "score", "wait_for_daily"]
    assert dag.task_dict["score"].upstream_task_ids == {"wait_for_daily"}
    assert dag.task_dict["report"].upstream_task_ids == {"score"}
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert _cron(dag) == ("0 0 1 1,4,7,10 *", "UTC")
    assert dag.catchup is True and dag.max_active_runs == 1
    assert dag.params["wait_for_daily"] is True

    wait = dag.task_dict["wait_for_daily"]
    assert isinstance(wait, ops.DailyRunsDoneSensor)
    assert wait.external_dag_id == "theater_daily" and wait.external_task_ids == ["refine"]
    assert wait.mode == "reschedule" and wait.poke_interval == 600
    assert wait.failed_states == ["failed", "upstream_failed"]
    # the Q3 run waits for the scheduled daily run of 30 September (logical date = its start)
    assert wait.execution_date_fn(Q3_START, data_interval_end=Q3_END) == pendulum.datetime(
        2026, 9, 30, tz="UTC"
    )
    # the quarterly run's own interval is the quarter
    info = _core(dag).next_dagrun_info(
        last_automated_data_interval=None, restriction=_restriction(dag)
    )
    assert (info.data_interval.start, info.data_interval.end) == (Q3_START, Q3_END)
    assert info.logical_date == Q3_START


def test_daily_runs_cover_one_utc_day_each(dagbag):
    dag = dagbag.get_dag("theater_daily")
    first = _core(dag).next_dagrun_info(
        last_automated_data_interval=None, restriction=_restriction(dag)
    )
    assert (first.data_interval.start, first.data_interval.end) == (Q3_START, Q3_START.add(days=1))
    last_of_q3 = _core(dag).next_dagrun_info(
        last_automated_data_interval=_interval(Q3_END.subtract(days=2), Q3_END.subtract(days=1)),
        restriction=_restriction(dag),
    )
    # the run the quarterly sensor waits for: logical date 30 September, interval [30 Sep, 1 Oct)
    assert last_of_q3.logical_date == pendulum.datetime(2026, 9, 30, tz="UTC")
    assert last_of_q3.data_interval.end == Q3_END


def _cron(dag):
    t = _core(dag)
    return t._expression, str(t._timezone.name if hasattr(t._timezone, "name") else t._timezone)


def _core(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    return coerce_to_core_timetable(dag.timetable)


def _interval(start, end):
    from airflow.timetables.base import DataInterval

    return DataInterval(start, end)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)


@pytest.mark.parametrize(
    "dag_id,task_id,timeout",
    [
        ("theater_daily", "ingest", timedelta(hours=2)),
        ("theater_daily", "refine", timedelta(hours=3)),
        ("theater_quarterly", "score", timedelta(hours=4)),
        ("theater_quarterly", "report", timedelta(hours=1)),
    ],
)
def test_stage_tasks_retry_with_backoff_time_out_and_report_failures(
    dagbag, dag_id, task_id, timeout
):
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    task = dagbag.get_dag(dag_id).task_dict[task_id]
    assert isinstance(task, ops.TheaterStageOperator) and isinstance(task, SparkSubmitOperator)
    assert task.retries == 3
    assert task.retry_delay == timedelta(minutes=5)
    assert task.retry_exponential_backoff == 2.0
    assert task.max_retry_delay == timedelta(hours=1)
    assert task.execution_timeout == timeout
    callbacks = task.on_failure_callback
    callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
    assert ops.report_failure in callbacks


class _Vars(dict):
    """Stands in for ``var.value`` in a template context."""

    def get(self, key, default=None):  # noqa: D401 - same signature as Airflow's accessor
        return super().get(key, default)


def _render(task, variables: dict, start=Q3_START, end=Q3_END, params=None):
    task = copy.deepcopy(task)
    context = {
        "data_interval_start": start,
        "data_interval_end": end,
        "logical_date": start,
        "ds": start.to_date_string(),
        "var": {"value": _Vars(variables)},
        "params": params or {},
    }
    task.render_template_fields(context)
    return task


def test_local_mode_commands_are_the_cli_with_the_data_interval(dagbag):
    daily = dagbag.get_dag("theater_daily")
    day = pendulum.datetime(2026, 9, 30, tz="UTC")
    v = {
        "theater_bin": "/opt/theater/.venv/bin/theater",
        "theater_landing": "/data/landing",
        "theater_lake": "/data/lake",
        "theater_extra_args": "--env local --table-format parquet",
    }
    ingest = _render(daily.task_dict["ingest"], v, day, day.add(days=1))
    assert ingest.mode == "local"
    assert ingest.local_command() == [
        "/opt/theater/.venv/bin/theater",
        "run",
        "--stage",
        "ingest",
        "--landing",
        "/data/landing",
        "--lake",
        "/data/lake",
        "--env",
        "local",
        "--table-format",
        "parquet",
    ]
    refine = _render(daily.task_dict["refine"], {}, day, day.add(days=1))
    # nothing set: the command's own configuration decides paths (paths.lake, THEATER_PATHS__LAKE)
    assert refine.local_command() == [
        "theater",
        "run",
        "--stage",
        "refine",
        "--start",
        "2026-09-30",
        "--end",
        "2026-10-01",
    ]

    quarterly = dagbag.get_dag("theater_quarterly")
    report = _render(
        quarterly.task_dict["report"],
        {"theater_lake": "/data/lake", "theater_reports_dir": "/data/reports"},
    )
    assert report.local_command() == [
        "theater",
        "report",
        "--lake",
        "/data/lake",
        "--start",
        "2026-07-01",
        "--end",
        "2026-10-01",
        "--out",
        "/data/reports/theater-report-2026Q3.html",
    ]
    with_pdf = _render(quarterly.task_dict["report"], {"theater_report_pdf": "True"})
    assert with_pdf.cli_args()[-4:] == [
        "--out",
        "reports/theater-report-2026Q3.html",
        "--pdf",
        "reports/theater-report-2026Q3.pdf",
    ]


def test_cluster_mode_submits_the_job_with_the_same_arguments(dagbag):
    score = dagbag.get_dag("theater_quarterly").task_dict["score"]
    v = {
        "theater_mode": "cluster",
        "theater_jobs_dir": "/opt/theater/jobs",
        "theater_lake": "s3://bucket/lake",
        "theater_extra_args": "--env cluster",
        "theater_spark_conn_id": "spark_yarn",
        "theater_py_files": "/opt/theater/dist/theater_index-0.1.0-py3-none-any.whl",
    }
    task = _render(score, v)
    assert task.mode == "cluster"
    assert task.application == "/opt/theater/jobs/score.py"
    assert task.name == "theater-score"
    assert task.py_files == "/opt/theater/dist/theater_index-0.1.0-py3-none-any.whl"
    assert task.packages == "io.delta:delta-spark_2.13:4.4.1"
    assert task.spark_conn_id == "spark_yarn"
    assert task.cli_args() == [
        "--lake",
        "s3://bucket/lake",
        "--start",
        "2026-07-01",
        "--end",
        "2026-10-01",
        "--env",
        "cluster",
    ]
    default = _render(score, {})
    assert default.spark_conn_id == "spark_default" and default.application == "jobs/score.py"


class _FakeTI:
    """Answers the sensor's question (task instances of theater_daily.refine in given states)."""

    def __init__(self, states):
        self.states, self.asked = states, []

    def get_ti_count(self, dag_id, task_ids, logical_dates, states, **_):
        self.asked.append((dag_id, tuple(task_ids), tuple(logical_dates)))
        return sum(1 for s in self.states if s in states)


def test_wait_for_daily_passes_on_success_waits_otherwise_fails_on_failure(dagbag):
    from airflow.providers.standard.sensors.external_task import ExternalTaskFailedError

    sensor = dagbag.get_dag("theater_quarterly").task_dict["wait_for_daily"]

    def ctx(ti, wait=True):
        return {
            "ti": ti,
            "logical_date": Q3_START,
            "data_interval_start": Q3_START,
            "data_interval_end": Q3_END,
            "params": {"wait_for_daily": wait},
        }

    done = _FakeTI(["success"])
    assert sensor.poke(ctx(done)) is True
    assert done.asked[-1] == (
        "theater_daily",
        ("refine",),
        (pendulum.datetime(2026, 9, 30, tz="UTC"),),
    )
    assert sensor.poke(ctx(_FakeTI([]))) is False  # not run yet: keep waiting
    with pytest.raises(ExternalTaskFailedError):
        sensor.poke(ctx(_FakeTI(["failed"])))  # failed: fail the wait
    never = _FakeTI([])
    assert sensor.poke(ctx(never, wait=False)) is True  # dev switch: no question asked
    assert never.asked == []


def test_failure_callback_names_stage_and_period():
    class TI:
        task_id, dag_id, run_id, try_number = "refine", "theater_daily", "scheduled__x", 2

    day = pendulum.datetime(2026, 9, 30, tz="UTC")
    msg = ops.report_failure(
        {
            "ti": TI(),
            "data_interval_start": day,
            "data_interval_end": day.add(days=1),
            "exception": ops.DataQualityGateFailed("gate"),
        }
    )
    assert "stage 'refine' failed for period [2026-09-30, 2026-10-01)" in msg
    assert "data-quality gate failed" in msg and "not retried" in msg and "try 2" in msg


@pytest.mark.parametrize(
    "code,expected",
    [(3, "DataQualityGateFailed"), (2, "StageConfigurationError"), (1, "AirflowException")],
)
def test_cluster_mode_maps_spark_submit_exit_codes(dagbag, monkeypatch, code, expected):
    """spark-submit (client mode) exits with the job's code: 3 and 2 fail without retry."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
    from airflow.sdk.exceptions import AirflowException

    task = _render(dagbag.get_dag("theater_daily").task_dict["refine"], {"theater_mode": "cluster"})

    def fake_submit(self, context):
        class Proc:
            returncode = code

        self._hook = type("Hook", (), {"_submit_sp": Proc()})()
        raise AirflowException(f"Cannot execute: spark-submit ... Error code is: {code}.")

    monkeypatch.setattr(SparkSubmitOperator, "execute", fake_submit)
    with pytest.raises(AirflowException) as info:
        task.execute({"data_interval_start": Q3_START, "data_interval_end": Q3_START.add(days=1)})
    assert type(info.value).__name__ == expected
    assert task.application_args[:2] == ["--start", "2026-07-01"]
