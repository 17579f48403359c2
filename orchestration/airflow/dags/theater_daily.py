"""theater-index, daily: ingest new landing files, refine the day into silver.

One run per UTC day; the run's data interval is refine's period (``--start`` inclusive,
``--end`` exclusive). Ingest takes no period: it loads every landing file not loaded before. Catch-up safe and idempotent: ingest skips files already loaded (same path and
SHA-256) and re-running refine for a day replaces exactly that day's silver rows, so a backfill,
a cleared task or a catch-up after an outage leaves the tables as one run would.
``max_active_runs=1``: the runs write the same tables, one at a time.

Stages run through the project's CLI (Variable ``theater_mode=local``, default) or spark-submit
(``theater_mode=cluster``); see ``theater_airflow/operators.py`` for the Variables.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, CronDataIntervalTimetable

# Airflow puts the bundle's folder on sys.path when it parses; make sure of it elsewhere too.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from theater_airflow.operators import (  # noqa: E402
    DAILY_DAG_ID,
    DEFAULT_ARGS,
    LAKE_ARG,
    LANDING_ARG,
    PERIOD_ARGS,
    TheaterStageOperator,
    start_date,
)

with DAG(
    dag_id=DAILY_DAG_ID,
    description="theater-index: ingest + refine for one UTC day",
    # a data-interval timetable: the run for day D has the interval [D, D+1) and starts after it
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=start_date(),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["theater-index"],
    doc_md=__doc__,
) as dag:
    ingest = TheaterStageOperator(
        # no period: ingest loads every landing file not loaded before (idempotent per file)
        task_id="ingest",
        stage="ingest",
        stage_args=[LANDING_ARG, LAKE_ARG],
        execution_timeout=timedelta(hours=2),
    )
    refine = TheaterStageOperator(
        task_id="refine",
        stage="refine",
        stage_args=[LAKE_ARG, *PERIOD_ARGS],
        execution_timeout=timedelta(hours=3),
    )
    ingest >> refine
