# Two entry points: `make demo` and `make test`. Both create .venv/ and install what they need
# (make test also Debian chromium as root, and Airflow in orchestration/airflow/.venv), and
# fetch the Delta Lake jars for Apache Spark into .theater/jars/ (see `jars` below) and build the
# empty MLflow store new lakes copy (`mlflow-template`).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MVN ?= mvn
JARS_DIR := .theater/jars
JARS_POM := conf/delta-jars/pom.xml
JARS_STAMP := $(JARS_DIR)/.fetched

.PHONY: demo test test-main test-e2e test-faults install jars mlflow-template bench clean lint

# ruff (settings in pyproject.toml): lint, and the formatting every file must already have
lint: $(STAMP)
	$(BIN)/ruff check src tests jobs benchmarks orchestration/airflow/dags
	$(BIN)/ruff format --check src tests jobs benchmarks orchestration/airflow/dags

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The Delta Lake jars for --engine spark (delta-spark, delta-storage and what pyspark's own jars
# lack; the list is conf/delta-jars/pom.xml), fetched once by the machine's Maven client (its
# mirrors and proxy from ~/.m2/settings.xml apply; Spark's own spark.jars.packages would go
# through Ivy to repo1.maven.org instead). Into a fresh folder that replaces the old one only
# when complete; the stamp makes re-runs no-ops, offline too. The engine puts every jar of
# .theater/jars/ on spark.jars (THEATER_DELTA_JARS names another folder).
$(JARS_STAMP): $(JARS_POM)
	@command -v $(MVN) >/dev/null 2>&1 || { echo "error: $(MVN) (Apache Maven) not found: it fetches the Delta jars for --engine spark (apt-get install maven, or MVN=...)"; exit 2; }
	rm -rf $(JARS_DIR).tmp
	$(MVN) -B -q -f $(JARS_POM) dependency:copy-dependencies -DoutputDirectory=$(abspath $(JARS_DIR).tmp)
	ls $(JARS_DIR).tmp/delta-spark_*.jar >/dev/null
	rm -rf $(JARS_DIR) && mv $(JARS_DIR).tmp $(JARS_DIR)
	touch $(JARS_STAMP)

jars: $(JARS_STAMP)

# The empty MLflow SQLite store, fully migrated, built once per installed MLflow (named by its
# version and a hash of its migration scripts) into .theater/mlflow-template/ (THEATER_CACHE
# names another cache folder): a new lake's store is a copy of it instead of MLflow's ~70 schema
# migrations (0.4-0.7 CPU s). A no-op when present; a run builds it too when it is missing.
mlflow-template: $(STAMP)
	$(BIN)/python -m theater.mlflow_template

install: $(STAMP) $(JARS_STAMP) mlflow-template

# the demo runs on Sail: without Maven it warns and goes on (--engine spark then says what to do)
demo: $(STAMP) mlflow-template
	@$(MAKE) --no-print-directory jars || echo "warning: the Delta jars for --engine spark were not fetched (the demo runs on Sail)"
	$(BIN)/theater demo

# make test: every suite, TEST_JOBS of them at a time (2, for the two cores of the machine it
# is timed on), longest first, so that the two lanes end about together; each suite's output is printed as one block when it ends, with its
# slowest tests (--durations); a failing suite does not stop the others (make still fails).
# TEST_JOBS=1 runs them one after the other.
TEST_JOBS ?= 2
TEST_SUITES := test-main test-cluster test-spark test-e2e test-faults test-airflow

test: $(STAMP) $(JARS_STAMP) mlflow-template airflow-venv browser lint
	$(MAKE) --no-print-directory --keep-going -j$(TEST_JOBS) --output-sync=target $(TEST_SUITES)

# The main suite: tests/unit and tests/integration (and any new folder). tests/spark,
# tests/cluster and tests/airflow skip themselves there (they run only when named, below);
# tests/e2e and tests/faults are left out here and run by their own targets, so each test
# runs exactly once.
test-main: $(STAMP)
	$(BIN)/python -m pytest -q --durations=25 --ignore=tests/e2e --ignore=tests/faults

# end-to-end runs on generated worlds and on the vendor fixtures alone
test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q --durations=10 tests/e2e

# fault injection: killed stages, hostile files, locks, reader limits
test-faults: $(STAMP)
	$(BIN)/python -m pytest -q --durations=10 tests/faults

# bench: the Sail stage benchmark on Parquet (run.py), then theater vs the hand-written DuckDB
# job on mixed text formats (compare.py; BENCH_ARGS, e.g. BENCH_ARGS="--users 4000 16000")
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .theater data

# Headless Chromium (Debian package) for the report's browser tests and `theater report --pdf`.
.PHONY: browser
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium present: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif [ "$$(id -u)" != 0 ]; then echo "warning: chromium missing and not root: browser tests will be skipped (run 'sudo make browser')"; \
	else DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi

# ---------------------------------------------------------------- clusters and schedules (issue 5)
# make dist          the wheel + a bundle of jobs/, conf/, expectations/ for spark-submit
# make airflow-venv  Airflow 3 in its own virtualenv (orchestration/airflow/.venv)
# make test-spark    the Apache Spark suite (classic Spark, local mode, Delta; vs Sail; the
#                    Delta promises on Spark and one lake continued across the two engines)
# make test-airflow  the DAG tests (DagBag, dag.test() in local and cluster mode)
# make test-cluster  spark-submit and Spark Connect (both with Delta, jars by --jars) on a
#                    standalone cluster (127.0.0.1) vs Sail
AF_VENV := orchestration/airflow/.venv
AF_BIN := $(AF_VENV)/bin
AF_STAMP := $(AF_VENV)/.installed
AF_REQ := orchestration/airflow/requirements.txt
AF_DEV := orchestration/airflow/requirements-dev.txt
AF_CONSTRAINTS := orchestration/airflow/constraints.txt

.PHONY: dist airflow-venv airflow-constraints test-spark test-airflow test-cluster

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	$(BIN)/python -c "import pathlib, zipfile; z = zipfile.ZipFile('dist/theater-index-bundle.zip', 'w', zipfile.ZIP_DEFLATED); \
	  [z.write(p) for d in ('jobs', 'conf', 'expectations') for p in sorted(pathlib.Path(d).rglob('*')) if p.is_file() and '__pycache__' not in p.parts]; z.close()"
	@ls -l dist

$(AF_STAMP): $(AF_REQ) $(AF_DEV) $(AF_CONSTRAINTS)
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)"; exit 2; }
	test -x $(AF_BIN)/python || $(PYTHON) -m venv $(AF_VENV)
	$(AF_BIN)/python -m pip install --quiet --upgrade pip
	$(AF_BIN)/python -m pip install --quiet -r $(AF_DEV) -c $(AF_CONSTRAINTS)
	touch $(AF_STAMP)

airflow-venv: $(AF_STAMP)

# Re-resolve requirements-dev.txt without the old pins and freeze the result.
airflow-constraints:
	rm -rf /tmp/theater-airflow-freeze
	$(PYTHON) -m venv /tmp/theater-airflow-freeze
	/tmp/theater-airflow-freeze/bin/python -m pip install --quiet --upgrade pip
	/tmp/theater-airflow-freeze/bin/python -m pip install --quiet -r $(AF_DEV)
	{ echo "# Frozen from a working 'pip install -r requirements-dev.txt' on $$($(PYTHON) --version) ($$(date +%F))."; \
	  echo "# Regenerate: make airflow-constraints"; \
	  /tmp/theater-airflow-freeze/bin/python -m pip freeze; } > $(AF_CONSTRAINTS)

test-spark: $(STAMP) $(JARS_STAMP)
	$(BIN)/python -m pytest -q --durations=10 tests/spark

# A standalone Apache Spark cluster on 127.0.0.1 (Master, 2 Workers, Spark Connect server with
# Delta; Java 17)
test-cluster: $(STAMP) $(JARS_STAMP)
	$(BIN)/python -m pytest -q --durations=10 tests/cluster

test-airflow: $(STAMP) $(AF_STAMP)
	$(AF_BIN)/python -m pytest -q -p no:cacheprovider tests/airflow
