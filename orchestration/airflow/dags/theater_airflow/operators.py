"""Operators, sensor and callbacks of the theater-index DAGs (Airflow 3).

Every stage task is a :class:`TheaterStageOperator`. What it runs is chosen at run time by the
Airflow Variable ``theater_mode``, so the task graph is the same in both modes:

- ``local`` (default; development, tests, a single machine): the project's command line,
  ``<theater_bin> run --stage <stage> ARGS`` (``<theater_bin> report ARGS`` for the report), on
  the engine its configuration says (the embedded Sail engine by default);
- ``cluster``: ``spark-submit jobs/<stage>.py ARGS`` through the apache-spark provider's
  ``SparkSubmitOperator`` (this class extends it) against the connection named by the Variable
  ``theater_spark_conn_id`` (default ``spark_default``).

ARGS are the same in both modes (the jobs take the CLI's arguments): the period from the run's
data interval (``--start {{ data_interval_start | ds }} --end {{ data_interval_end | ds }}``,
end exclusive like the CLI), ``--landing``/``--lake`` from Variables when set, and
``theater_extra_args`` (e.g. ``--env cluster --conf /etc/theater/prod.yaml``).

Exit codes of the CLI and the jobs: 0 success; 3 a data-quality gate failed and 2 a usage or
configuration error: the task fails at once, without retries (:class:`DataQualityGateFailed`,
:class:`StageConfigurationError`; running again cannot help); anything else fails the try and
the task is retried with exponential backoff.

Variables (all optional; environment variables ``AIRFLOW_VAR_<NAME>`` work too):

==========================  ===================================  ===========================
variable                    meaning                              default
==========================  ===================================  ===========================
theater_mode                local | cluster                      local
theater_bin                 the ``theater`` command (local)      theater (on PATH)
theater_workdir             working directory of the command     the worker's
theater_landing             landing zone (``--landing``)         paths.landing of the config
theater_lake                lake root (``--lake``)               paths.lake of the config
theater_reports_dir         where quarterly reports are written  reports
theater_report_pdf          true: also write the PDF             false
theater_extra_args          more arguments for every stage       (none)
theater_spark_conn_id       Spark connection (cluster)           spark_default
theater_jobs_dir            folder with jobs/<stage>.py          jobs
theater_py_files            ``--py-files`` (the wheel)           (none)
theater_spark_packages      ``--packages``                       io.delta:delta-spark_2.13:4.4.1
theater_spark_conf          JSON object of ``--conf`` settings   {}
theater_failure_log         file: one line per failed stage      (none)
==========================  ===================================  ===========================

Parse-time setting (environment only, read when the DAG files are parsed):
``AIRFLOW_VAR_THEATER_START_DATE`` (``YYYY-MM-DD``, default 2026-07-01), the first data day.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import signal
import subprocess
from collections import deque
from datetime import timedelta
from typing import Any

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk.exceptions import AirflowException, AirflowFailException

log = logging.getLogger("theater.airflow")

DAILY_DAG_ID = "theater_daily"
QUARTERLY_DAG_ID = "theater_quarterly"
EXIT_USAGE, EXIT_DQ = 2, 3
DELTA_PACKAGE = "io.delta:delta-spark_2.13:4.4.1"


def var(name: str, default: str = "") -> str:
    """A Jinja reference to an Airflow Variable, rendered when the task runs."""
    return "{{ var.value.get(%r, %r) }}" % (name, default)


# Argument pairs; a pair whose value renders empty is left out (e.g. --lake when unset).
PERIOD_ARGS = [
    ["--start", "{{ data_interval_start | ds }}"],
    ["--end", "{{ data_interval_end | ds }}"],
]
LANDING_ARG = ["--landing", var("theater_landing")]
LAKE_ARG = ["--lake", var("theater_lake")]
QUARTER_LABEL = (
    "{{ data_interval_start.year }}Q{{ (data_interval_start.month - 1) // 3 + 1 }}"
    "{% if data_interval_end != data_interval_start.add(months=3) %}"
    "-{{ data_interval_start | ds_nodash }}-{{ data_interval_end | ds_nodash }}"
    "{% endif %}"
)
REPORT_OUT = var("theater_reports_dir", "reports") + "/theater-report-" + QUARTER_LABEL + ".html"
REPORT_PDF = (
    "{% if var.value.get('theater_report_pdf', 'false') | lower == 'true' %}"
    + var("theater_reports_dir", "reports")
    + "/theater-report-"
    + QUARTER_LABEL
    + ".pdf{% endif %}"
)


def start_date() -> pendulum.DateTime:
    """First data day of the schedules (parse time): AIRFLOW_VAR_THEATER_START_DATE."""
    raw = os.environ.get("AIRFLOW_VAR_THEATER_START_DATE", "2026-07-01")
    return pendulum.parse(raw, tz="UTC")


class DataQualityGateFailed(AirflowFailException):
    """The stage exited with code 3: a critical data-quality expectation failed. No retry."""


class StageConfigurationError(AirflowFailException):
    """The stage exited with code 2: bad arguments or configuration. No retry."""


def _period(context) -> str:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        return "(no data interval)"
    return f"[{start:%Y-%m-%d}, {end:%Y-%m-%d})"


def report_failure(context) -> str:
    """on_failure_callback: say which stage failed for which period, and why.

    Logged at ERROR on the ``theater.airflow`` logger (and appended to the file named by the
    Variable ``theater_failure_log`` when set). Returns the message.
    """
    ti = context.get("ti")
    exc = context.get("exception")
    stage = getattr(ti, "task_id", "?")
    if isinstance(exc, DataQualityGateFailed):
        why = (
            "a data-quality gate failed (exit code 3): not retried; fix the data or the "
            "expectation, then clear the task"
        )
    elif isinstance(exc, StageConfigurationError):
        why = "usage or configuration error (exit code 2): not retried"
    else:
        why = f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"
    msg = (
        f"theater-index: stage {stage!r} failed for period {_period(context)} "
        f"(dag {getattr(ti, 'dag_id', '?')}, run {getattr(ti, 'run_id', '?')}, "
        f"try {getattr(ti, 'try_number', '?')}): {why.splitlines()[0][:500]}"
    )
    log.error(msg)
    try:
        from airflow.sdk import Variable

        path = Variable.get("theater_failure_log", default=None)
    except Exception:  # noqa: BLE001 - no Variable backend reachable: the log line stays
        path = None
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(msg + "\n")
    return msg


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-platform",
    "depends_on_past": False,
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": 2.0,  # 5, 10, 20 min ...
    "max_retry_delay": timedelta(hours=1),
    "on_failure_callback": report_failure,
}


def _flatten(pairs) -> list[str]:
    out: list[str] = []
    for pair in pairs or []:
        flag, value = pair
        if value is not None and str(value).strip() != "":
            out += [str(flag), str(value).strip()]
    return out


class TheaterStageOperator(SparkSubmitOperator):
    """One stage of the pipeline for the run's data interval (see the module docstring)."""

    template_fields = (
        *SparkSubmitOperator.template_fields,
        "mode",
        "theater_bin",
        "workdir",
        "stage_args",
        "extra_args",
        "spark_conn_id",
        "spark_conf_json",
    )
    template_fields_renderers = {"stage_args": "json", "spark_conf_json": "json"}
    ui_color = "#efe3fb"

    def __init__(
        self,
        *,
        stage: str,
        stage_args: list[list[str]],
        mode: str = var("theater_mode", "local"),
        theater_bin: str = var("theater_bin", "theater"),
        workdir: str = var("theater_workdir"),
        extra_args: str = var("theater_extra_args"),
        spark_conn_id: str = var("theater_spark_conn_id", "spark_default"),
        spark_conf_json: str = var("theater_spark_conf", "{}"),
        **kwargs,
    ) -> None:
        kwargs.setdefault("application", var("theater_jobs_dir", "jobs") + f"/{stage}.py")
        kwargs.setdefault("name", f"theater-{stage}")
        kwargs.setdefault("py_files", var("theater_py_files"))
        kwargs.setdefault("packages", var("theater_spark_packages", DELTA_PACKAGE))
        super().__init__(**kwargs)
        self.stage = stage
        self.stage_args = stage_args
        self.mode = mode
        self.theater_bin = theater_bin
        self.workdir = workdir
        self.extra_args = extra_args
        self.spark_conn_id = spark_conn_id
        self.spark_conf_json = spark_conf_json
        self._proc: subprocess.Popen | None = None

    # ------------------------------------------------------------------ arguments
    def cli_args(self) -> list[str]:
        """The stage's arguments (rendered): the same for the CLI and for jobs/<stage>.py."""
        return _flatten(self.stage_args) + shlex.split(self.extra_args or "")

    def local_command(self) -> list[str]:
        head = (
            [self.theater_bin, "report"]
            if self.stage == "report"
            else [self.theater_bin, "run", "--stage", self.stage]
        )
        return head + self.cli_args()

    # ------------------------------------------------------------------ run
    def execute(self, context):
        mode = (self.mode or "local").strip().lower()
        self.log.info("theater-index %s for %s in %s mode", self.stage, _period(context), mode)
        if mode == "local":
            return self._execute_local()
        if mode == "cluster":
            return self._execute_cluster(context)
        raise StageConfigurationError(
            f"Variable theater_mode must be local or cluster, got {self.mode!r}"
        )

    def _fail(self, code: int, tail: str, what: str):
        if code == EXIT_DQ:
            raise DataQualityGateFailed(
                f"{what}: a data-quality gate failed (exit code 3); not retrying.\n{tail}"
            )
        if code == EXIT_USAGE:
            raise StageConfigurationError(
                f"{what}: usage or configuration error (exit code 2); not retrying.\n{tail}"
            )
        raise AirflowException(f"{what}: failed with exit code {code}.\n{tail}")

    def _execute_local(self) -> None:
        cmd = self.local_command()
        self.log.info("running: %s", shlex.join(cmd))
        tail: deque[str] = deque(maxlen=25)
        try:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.workdir or None,
                env=os.environ.copy(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise StageConfigurationError(
                f"theater command not found: {self.theater_bin!r} (set the Variable "
                "theater_bin to the project's virtualenv, e.g. /opt/theater/.venv/bin/theater)"
            ) from exc
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.rstrip()
            tail.append(line)
            self.log.info("%s", line)
        code = self._proc.wait()
        self._proc = None
        if code != 0:
            self._fail(code, "\n".join(tail), f"theater {self.stage}")

    def _execute_cluster(self, context) -> None:
        self._conn_id = self.spark_conn_id or "spark_default"
        try:
            self.conf = json.loads(self.spark_conf_json or "{}")
        except json.JSONDecodeError as exc:
            raise StageConfigurationError(
                f"Variable theater_spark_conf is not a JSON object: {exc}"
            ) from exc
        self.application_args = self.cli_args()
        self.py_files = self.py_files or None
        self.packages = self.packages or None
        self._hook = None  # built from the values rendered for this try
        try:
            super().execute(context)
        except AirflowFailException:
            raise
        except Exception as exc:
            proc = getattr(self._hook, "_submit_sp", None)
            code = getattr(proc, "returncode", None)
            text = str(exc)
            if code == EXIT_DQ or "data-quality gate failed" in text:
                code = EXIT_DQ
            if code in (EXIT_DQ, EXIT_USAGE):
                self._fail(code, text[-3000:], f"spark-submit {self.application}")
            raise

    def on_kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            return
        if (self.mode or "").strip().lower() == "cluster" and self._hook is not None:
            super().on_kill()


def last_daily_logical_date(logical_date, data_interval_end=None, **_):
    """The logical date of the daily run for the last day of the quarter.

    A scheduled daily run's logical date is its data interval start, so the run covering the
    quarter's last day [end - 1 day, end) has logical date ``end - 1 day``.
    """
    return data_interval_end - timedelta(days=1)


class DailyRunsDoneSensor(ExternalTaskSensor):
    """Waits for the daily DAG's ``refine`` of the quarter's last day to succeed.

    Fails fast if that task failed. ``params.wait_for_daily = false`` (trigger form or
    ``run_conf``) passes at once: for development, or a quarter whose data came another way.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("external_dag_id", DAILY_DAG_ID)
        kwargs.setdefault("external_task_id", "refine")
        kwargs.setdefault("execution_date_fn", last_daily_logical_date)
        kwargs.setdefault("allowed_states", ["success"])
        kwargs.setdefault("failed_states", ["failed", "upstream_failed"])
        kwargs.setdefault("mode", "reschedule")
        kwargs.setdefault("poke_interval", 600)
        kwargs.setdefault("timeout", int(timedelta(days=3).total_seconds()))
        kwargs.setdefault("check_existence", False)
        super().__init__(**kwargs)

    def poke(self, context) -> bool:
        if not context["params"].get("wait_for_daily", True):
            self.log.info(
                "params.wait_for_daily is false: not waiting for %s", self.external_dag_id
            )
            return True
        return super().poke(context)
