"""theater-index, quarterly: score the quarter, write the executive report.

One run per calendar quarter (data interval [first day, first day of the next quarter)). It
first waits until the daily DAG's run for the quarter's last day has succeeded (its ``refine``
task; a failure there fails the wait), then scores the quarter into gold and writes the report
to ``<theater_reports_dir>/theater-report-<YYYYQn>.html``. Both stages replace only that
quarter's rows and file, so re-running is safe.

Trigger with ``{"wait_for_daily": false}`` to skip the wait (development, or a quarter whose
silver tables were built another way, e.g. ``theater run --stage ingest --stage refine``).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

# Airflow puts the bundle's folder on sys.path when it parses; make sure of it elsewhere too.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from theater_airflow.operators import (  # noqa: E402
    DEFAULT_ARGS,
    LAKE_ARG,
    PERIOD_ARGS,
    QUARTERLY_DAG_ID,
    REPORT_OUT,
    REPORT_PDF,
    DailyRunsDoneSensor,
    TheaterStageOperator,
    start_date,
)

with DAG(
    dag_id=QUARTERLY_DAG_ID,
    description="theater-index: score + executive report for one quarter",
    schedule=CronDataIntervalTimetable("0 0 1 1,4,7,10 *", timezone="UTC"),
    start_date=start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "wait_for_daily": Param(
            True, type="boolean", description="wait for the daily run of the quarter's last day"
        )
    },
    tags=["theater-index"],
    doc_md=__doc__,
) as dag:
    wait = DailyRunsDoneSensor(task_id="wait_for_daily", retries=0)
    score = TheaterStageOperator(
        task_id="score",
        stage="score",
        stage_args=[LAKE_ARG, *PERIOD_ARGS],
        execution_timeout=timedelta(hours=4),
    )
    report = TheaterStageOperator(
        task_id="report",
        stage="report",
        stage_args=[LAKE_ARG, *PERIOD_ARGS, ["--out", REPORT_OUT], ["--pdf", REPORT_PDF]],
        execution_timeout=timedelta(hours=1),
    )
    wait >> score >> report
