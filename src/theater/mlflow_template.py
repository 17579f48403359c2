"""An empty, fully migrated MLflow SQLite store, built once per installed MLflow and copied for
every new local store.

MLflow creates a SQLite store by running its schema migrations (about 70 alembic revisions:
0.8-1.4 CPU s); the result is the same file for every store of one MLflow installation. So the
project's install step (``make install``: ``python -m theater.mlflow_template``) builds it once,
and so does the first store creation that finds it missing (an install by pip alone); a new
store is then a copy. The template's name holds MLflow's version and a hash of MLflow's
migration scripts (and SQLAlchemy's version), so another MLflow never gets a schema built by
this one: it builds its own template.

Where: ``$THEATER_CACHE/mlflow-template/``; else ``.theater/mlflow-template/`` in the project
this source runs from (a source checkout, where ``make install`` runs, next to the Delta jars);
else ``$XDG_CACHE_HOME/theater/mlflow-template/`` (``~/.cache/theater/...``). A cache that
cannot be written means no template: the store is then created as MLflow creates it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "THEATER_CACHE"
SUBDIR = "mlflow-template"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def cache_dir() -> Path:
    """The folder of template stores (see the module's docstring)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env) / SUBDIR
    project = Path(__file__).resolve().parents[2]
    if (project / "pyproject.toml").is_file():
        return project / ".theater" / SUBDIR
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "theater" / SUBDIR


def _migrations_dir() -> Path:
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mlflow is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "store" / "db_migrations"


def template_key() -> str:
    """MLflow's version, SQLAlchemy's, and a hash of MLflow's migration scripts (their names
    and contents): what decides the schema an empty store gets."""
    import sqlalchemy
    from mlflow.version import VERSION

    root = _migrations_dir()
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    if not files:
        raise RuntimeError(f"no MLflow migration scripts in {root}")
    for p in files:
        digest.update(p.relative_to(root).as_posix().encode() + b"\0")
        digest.update(p.read_bytes() + b"\0")
    return f"{VERSION}-sa{sqlalchemy.__version__}-{digest.hexdigest()[:16]}"


def template_path() -> Path:
    return cache_dir() / f"mlflow-{template_key()}.db"


def _usable(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def template(build: bool = True) -> Path | None:
    """The template store for the installed MLflow, built when missing and ``build``; None
    when there is none and it cannot be built (no writable cache, no MLflow table set-up)."""
    try:
        path = template_path()
    except Exception as exc:  # noqa: BLE001 - no template: the store is created as before
        log.info("no MLflow template store: %s", exc)
        return None
    if _usable(path) or not build:
        return path if _usable(path) else None
    from .tracking import _create_store

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_store(path)  # scratch file, synced, linked: whole or absent
    except Exception as exc:  # noqa: BLE001 - a read-only cache: the store is created as before
        log.info("MLflow template store not built in %s: %s", path.parent, exc)
        return None
    return path if _usable(path) else None


def main() -> int:
    """Build the template for the installed MLflow (the install step); a no-op when present."""
    from . import logs

    # one line of our own; MLflow's and alembic's INFO lines on building it are not news
    logs.quiet_third_party(verbose=True)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    before = template(build=False)
    path = template()
    if path is None:
        print(
            f"warning: no MLflow template store in {cache_dir()}: each new store runs MLflow's "
            "migrations",
            file=sys.stderr,
        )
        return 0
    print(f"MLflow template store: {path} ({'present' if before else 'built'})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
