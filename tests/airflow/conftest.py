"""Airflow suite: runs inside the Airflow virtualenv (Airflow 3, its own environment as in real
deployments), with a throwaway AIRFLOW_HOME and SQLite metadata database:

    make airflow-venv
    orchestration/airflow/.venv/bin/python -m pytest tests/airflow

The stages themselves run with the project's virtualenv (``.venv``, or ``$PROJECT_VENV``): the
DAG tasks call its ``theater`` command (local mode) or its ``spark-submit`` (cluster mode).
In the project's own environment (no Airflow) this folder is skipped.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DAGS = ROOT / "orchestration" / "airflow" / "dags"


def _have_airflow() -> bool:
    # not find_spec("airflow"): with tests/ on sys.path, this folder is a namespace "airflow"
    try:
        importlib.metadata.version("apache-airflow-core")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


HAVE_AIRFLOW = _have_airflow()


def pytest_ignore_collect(collection_path, config):
    if not HAVE_AIRFLOW:
        return True  # the project's environment: this suite runs in the Airflow virtualenv
    return None


if HAVE_AIRFLOW:
    # Before anything imports airflow: a private home, SQLite, our DAG folder, no examples.
    _HOME = Path(tempfile.mkdtemp(prefix="theater-airflow-home-"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    for k in [k for k in os.environ if k.startswith("THEATER_") and k != "THEATER_PSEUDONYM_KEY"]:
        del os.environ[k]  # the stages read THEATER_* as configuration
    sys.path.insert(0, str(DAGS))


def project_venv() -> Path:
    return Path(os.environ.get("PROJECT_VENV", ROOT / ".venv"))


def project_bin(name: str) -> str:
    path = project_venv() / "bin" / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the Airflow tasks run the project's own virtualenv "
            "(make install, or set PROJECT_VENV)"
        )
    return str(path)


@pytest.fixture(scope="session", autouse=True)
def airflow_db():
    """``airflow db migrate`` into the temporary home, once."""
    airflow = Path(sys.executable).parent / "airflow"
    proc = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    yield Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def theater(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """The project's ``theater`` command (in its own virtualenv)."""
    proc = subprocess.run(
        [project_bin("theater"), *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def read_gold(lake: Path, fmt: str = "delta") -> list[dict]:
    """gold/org_theater_index rows, read with the project's virtualenv (deltalake/pyarrow)."""
    import json

    code = (
        "import json,sys\n"
        "p=sys.argv[1]\n"
        "if sys.argv[2]=='delta':\n"
        "    from deltalake import DeltaTable; df=DeltaTable(p).to_pandas()\n"
        "else:\n"
        "    import pandas as pd; df=pd.read_parquet(p)\n"
        "print(df.astype(str).to_json(orient='records'), flush=True)\n"
        # delta-rs can abort at interpreter shutdown (delta-io/delta-rs#2184)
        "import os; os._exit(0)\n"
    )
    proc = subprocess.run(
        [project_bin("python"), "-c", code, str(lake / "gold" / "org_theater_index"), fmt],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)
