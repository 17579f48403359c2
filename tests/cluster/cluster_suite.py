"""A real standalone Apache Spark cluster for the cluster suite, all on 127.0.0.1.

``start_cluster`` starts, from the project venv's pyspark wheel (``bin/spark-class``,
Java 17): one standalone Master, two Workers (2 cores, 1 GiB each) and a Spark Connect server
running as an application on that cluster, with Delta Lake (the install step's jars by
``--jars``, Delta's extension and catalog, the engine's Delta settings). spark-submit jobs get
the same jars by ``--jars``. Every port is chosen free at runtime and bound to
loopback (``SPARK_LOCAL_IP=127.0.0.1``, ``--host 127.0.0.1``, the Connect gRPC address); the
Master and Worker web UIs (needed for the readiness check: the Master's ``/json``) bind to
loopback too, the applications' UIs are off. Everything started here is stopped by PID at
teardown, also when start-up or a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from theater.engine import delta_jars, delta_spark_conf

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
READY_TIMEOUT_S = 180
# Every JVM here lives for minutes on tiny data: the C1 compiler alone and the serial collector
# spend far less CPU than C2's optimising compiles and parallel GC threads, which never pay
# back in runs this short; results do not depend on either. Daemons (Master, Workers) read
# SPARK_DAEMON_JAVA_OPTS, spark-submit's drivers (the Connect server, the jobs)
# SPARK_SUBMIT_OPTS, executors spark.executor.extraJavaOptions.
JVM_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
WORKER_CORES, WORKER_MEMORY = 2, "1g"
# per application: one 1-core executor of 512 MiB on each worker, so that the Connect server
# and a spark-submit job fit on the cluster at the same time
APP_CONF = {
    "spark.cores.max": "2",
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.log.level": "WARN",
    "spark.executor.extraJavaOptions": JVM_OPTS,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    if not (home / "bin" / "spark-class").exists():
        raise RuntimeError(f"no bin/spark-class in the pyspark wheel at {home}")
    return home


def spark_env(work: Path) -> dict:
    """Environment for every cluster process: loopback only, logs and scratch under ``work``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("THEATER_") or k == "THEATER_PSEUDONYM_KEY"
    }
    env.pop("SPARK_MASTER", None)
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.update(
        {
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_HOSTNAME": "localhost",
            "SPARK_LOG_DIR": str(work / "logs"),
            "SPARK_LOCAL_DIRS": str(work / "scratch"),
            "SPARK_WORKER_DIR": str(work / "worker"),
            # no REST submission server (it would take the fixed port 6066)
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
            "SPARK_DAEMON_JAVA_OPTS": JVM_OPTS,
            "SPARK_SUBMIT_OPTS": JVM_OPTS,
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
    )
    return env


@dataclass
class Cluster:
    master_url: str
    connect_url: str
    master_ui: str
    work: Path
    env: dict
    procs: list = field(default_factory=list)  # (name, Popen, log path)

    def spark_submit_popen(
        self, *args: str, cwd: Path, log: Path, extra_env: dict | None = None
    ) -> subprocess.Popen:
        """spark-submit in the background, output to ``log`` (the caller waits for it)."""
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", self.master_url]
        cmd += ["--jars", ",".join(delta_jars())]
        for k, v in APP_CONF.items():
            cmd += ["--conf", f"{k}={v}"]
        with open(log, "w") as fh:
            # own process group: the JVM driver and its Python child are stopped together
            return subprocess.Popen(
                [*cmd, *args],
                cwd=cwd,
                env={**self.env, **(extra_env or {})},
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def logs(self) -> str:
        out = []
        for name, _, log in self.procs:
            text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
            out.append(f"--- {name} ({log}), last lines:\n" + "\n".join(text.splitlines()[-15:]))
        return "\n".join(out)

    def stop(self) -> None:
        stop_all([proc for _, proc, _ in self.procs])


def stop_all(procs: list) -> None:
    """Stop processes started with ``start_new_session`` by PID (each one's process group,
    the JVM and any child), newest first: SIGTERM, then SIGKILL after 20 s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 20
    for proc in reversed(procs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def _start(cluster: Cluster, name: str, cmd: list[str]) -> subprocess.Popen:
    log = cluster.work / "logs" / f"{name}.log"
    with open(log, "wb") as fh:
        # a process group of its own, so that teardown stops exactly what it started
        proc = subprocess.Popen(
            cmd,
            env=cluster.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cluster.work,
            start_new_session=True,
        )
    cluster.procs.append((name, proc, str(log)))
    return proc


def _wait(cluster: Cluster, what: str, ready, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        for name, proc, _ in cluster.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"cluster start-up: {name} exited with code {proc.returncode} "
                    f"while waiting for {what}\n{cluster.logs()}"
                )
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(
        f"cluster start-up: {what} not ready after {timeout:.0f} s\n{cluster.logs()}"
    )


def _master_state(cluster: Cluster) -> dict:
    with urllib.request.urlopen(cluster.master_ui + "/json/", timeout=5) as r:
        return json.load(r)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_cluster(work: Path) -> Cluster:
    for d in ("logs", "scratch", "worker"):
        (work / d).mkdir(parents=True, exist_ok=True)
    home = spark_home()
    m_port, m_ui, c_port = free_port(), free_port(), free_port()
    cluster = Cluster(
        master_url=f"spark://127.0.0.1:{m_port}",
        connect_url=f"sc://127.0.0.1:{c_port}",
        master_ui=f"http://127.0.0.1:{m_ui}",
        work=work,
        env=spark_env(work),
    )
    spark_class = str(home / "bin" / "spark-class")
    try:
        _start(
            cluster,
            "master",
            [
                spark_class,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(m_port),
                "--webui-port",
                str(m_ui),
            ],
        )
        _wait(cluster, "the standalone Master", lambda: _master_state(cluster)["status"] == "ALIVE")
        for i in (1, 2):
            _start(
                cluster,
                f"worker{i}",
                [
                    spark_class,
                    "org.apache.spark.deploy.worker.Worker",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(free_port()),
                    "--webui-port",
                    str(free_port()),
                    "--cores",
                    str(WORKER_CORES),
                    "--memory",
                    WORKER_MEMORY,
                    "--work-dir",
                    str(work / "worker" / f"w{i}"),
                    cluster.master_url,
                ],
            )
        _wait(
            cluster,
            "two ALIVE workers",
            lambda: sum(w["state"] == "ALIVE" for w in _master_state(cluster)["workers"]) == 2,
        )
        connect = [
            str(home / "bin" / "spark-submit"),
            "--master",
            cluster.master_url,
            "--class",
            "org.apache.spark.sql.connect.service.SparkConnectServer",
            "--name",
            "theater-connect",
            "--jars",
            ",".join(delta_jars()),
        ]
        for k, v in {
            **APP_CONF,
            **delta_spark_conf(WORKER_CORES * 2),
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(c_port),
            "spark.sql.session.timeZone": "UTC",
        }.items():
            connect += ["--conf", f"{k}={v}"]
        _start(cluster, "connect", [*connect, "spark-internal"])
        _wait(cluster, f"the Spark Connect server on port {c_port}", lambda: _port_open(c_port))
        _wait(
            cluster,
            "the Connect server's executors",
            lambda: any(
                a["name"] == "theater-connect" and a["state"] == "RUNNING"
                for a in _master_state(cluster)["activeapps"]
            ),
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster
