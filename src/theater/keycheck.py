"""The pseudonym key is part of the lake.

Every ``user_key`` in silver and gold is HMAC-SHA256 of a user id under the pseudonym key
(``THEATER_PSEUDONYM_KEY``). Rows written under two keys would count one person twice and
break every per-user figure, including small-group suppression. So the lake records which
key wrote it: ``<lake>/_pseudonym_key.json`` holds a fingerprint of the key (HMAC of a fixed
label under the key, truncated to 64 bits: it identifies the key, it cannot reveal it or any
pseudonym), written atomically by the first refine, before any silver table is written.

A refine or score run (``theater run``, the jobs, ``theater rescore``) with a key whose
fingerprint differs is refused with a :class:`KeyMismatchError` (exit 2) before any table is
written. A lake written before fingerprints existed is checked once, by the refine that records
the fingerprint: the directory's user ids hashed under the key must give pseudonyms that
``silver/directory`` holds.

There is no re-keying in place. Pseudonyms cannot be turned back into user ids, so a re-key
would rebuild every pseudonym from bronze's raw ids, and the key also lives on in values derived
from it (``session_key``, silver's row hashes, the pseudonymized samples in ``ops/dq_results``,
MLflow artifacts) and in every older Delta version of every table: a partial re-key would mix
two keys in one lake, which is the failure this module exists to stop. A new key means a new
lake: re-ingest the landing zone into an empty lake with the new key, then retire the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigError

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "_pseudonym_key.json"
DEMO_KEY = b"theater-index-demo-key-not-for-production"
KEY_ENV = "THEATER_PSEUDONYM_KEY"
_LABEL = b"theater-index pseudonym key fingerprint v1"
# tables whose rows hold pseudonyms: a lake with any of them was written under some key
KEYED_TABLES = (
    "silver/directory",
    "silver/interactions",
    "silver/work_items",
    "silver/user_days",
    "gold/interaction_labels",
    "gold/user_weeks",
)


class KeyMismatchError(ConfigError):
    """The pseudonym key differs from the one the lake was written with (exit 2)."""


def fingerprint(key: bytes) -> str:
    """16 hex digits identifying ``key``: HMAC-SHA256 of a fixed label under it, truncated."""
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:16]


def recorded(root: str) -> str | None:
    """The lake's recorded key fingerprint, None when the lake has none yet."""
    path = Path(root) / FINGERPRINT_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path} cannot be read ({exc}): it records which pseudonym key wrote this lake; "
            "restore it from a backup of the lake"
        ) from None
    fp = data.get("fingerprint") if isinstance(data, dict) else None
    if not isinstance(fp, str) or not fp:
        raise ConfigError(
            f"{path} has no fingerprint: it records which pseudonym key wrote this lake; "
            "restore it from a backup of the lake"
        )
    return fp


def check(root: str, key: bytes, what: str = "this run") -> bool:
    """Raise :class:`KeyMismatchError` when the lake records another key's fingerprint;
    True when it records this key's, False when it records none."""
    if "://" in root:
        return False  # lakes behind a URL: no lake-level files (as for the writer lock)
    have = recorded(root)
    if have is None:
        return False
    if not hmac.compare_digest(have, fingerprint(key)):
        raise KeyMismatchError(
            f"{what}: the pseudonym key (THEATER_PSEUDONYM_KEY) is not the key the lake "
            f"{root} was written with (fingerprint {fingerprint(key)}, lake "
            f"{have} in {Path(root) / FINGERPRINT_FILE}); nothing was written. Set the lake's "
            "key, or, to change keys, start a new lake (re-ingest the landing zone into an "
            "empty lake with the new key): pseudonyms under two keys would count one person "
            "twice"
        )
    return True


def record(root: str, key: bytes, keyed_tables_exist: bool = False) -> None:
    """Write the key's fingerprint (atomically: a temporary file renamed into place) when the
    lake has none. ``keyed_tables_exist``: the lake already holds pseudonyms written before
    fingerprints were recorded; their key cannot be checked, which is logged."""
    if "://" in root or check(root, key):
        return
    if keyed_tables_exist:
        log.warning(
            "lake %s holds pseudonymized tables but no key fingerprint (written by an older "
            "version): recording this run's key, which gives silver/directory's pseudonyms",
            root,
        )
    path = Path(root) / FINGERPRINT_FILE
    body = {
        "fingerprint": fingerprint(key),
        "algorithm": "hmac-sha256(key, label)[:16]",
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{FINGERPRINT_FILE}.", dir=root)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(body, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify_written_key(spark, lake, key: bytes) -> None:
    """A lake written before fingerprints were recorded: check the key against what it wrote
    before recording it. The directory's user ids (bronze) hashed under ``key`` must meet
    ``silver/directory``'s pseudonyms; none meeting means another key wrote silver, and the run
    is refused (:class:`KeyMismatchError`) before anything is written."""
    from pyspark.sql import functions as F

    from .bronze import read_committed
    from .transforms.refine import pseudonym

    if recorded(lake.root) is not None or not lake.exists("silver/directory"):
        return
    if not lake.exists("bronze/directory"):
        return
    ids = (
        read_committed(spark, lake, "bronze/directory")
        .select(F.trim("user_id").alias("u"))
        .where(F.col("u").isNotNull() & (F.col("u") != ""))
        .distinct()
        .limit(200)
        .select(pseudonym(F.col("u"), key).alias("user_key"))
    )
    silver = lake.read(spark, "silver/directory").select("user_key")
    if ids.limit(1).count() and not ids.join(silver, "user_key", "left_semi").limit(1).count():
        raise KeyMismatchError(
            f"refine: the pseudonym key (THEATER_PSEUDONYM_KEY) is not the key that wrote "
            f"{lake.path('silver/directory')} (none of the directory's users has the pseudonym "
            "this key gives); nothing was written. Set the lake's key, or start a new lake "
            "(re-ingest the landing zone into an empty lake with the new key)"
        )


def pseudonym_key(cfg, environ=os.environ, *, announce: bool = True) -> bytes:
    """The HMAC key: THEATER_PSEUDONYM_KEY, or the demo key where the config allows it (with a
    warning banner when ``announce``: a caller that only checks early passes False, so the
    banner is shown once, by the stage that uses the key)."""
    value = environ.get(KEY_ENV)
    cluster = cfg["env"] == "cluster"
    if value:
        if value.encode("utf-8") == DEMO_KEY and (cluster or not cfg.privacy.allow_demo_key):
            raise ConfigError(
                f"{KEY_ENV} is the built-in demo key, which is public: env '{cfg['env']}' "
                "refuses it; set a secret key"
            )
        return value.encode("utf-8")
    if cluster and cfg.privacy.allow_demo_key:
        # the cluster holds real data: no layer of configuration may turn the demo key on
        raise ConfigError(
            f"{KEY_ENV} is not set and env 'cluster' never uses the built-in demo key "
            "(privacy.allow_demo_key is ignored there): set a secret key"
        )
    if cfg.privacy.allow_demo_key:
        if not announce:
            return DEMO_KEY
        log.warning("!" * 72)
        log.warning(
            "%s is not set: using the built-in DEMO pseudonymization key. "
            "Pseudonyms are NOT secret. Set %s for real data.",
            KEY_ENV,
            KEY_ENV,
        )
        log.warning("!" * 72)
        return DEMO_KEY
    raise ConfigError(
        f"{KEY_ENV} is not set and privacy.allow_demo_key is false "
        f"(env '{cfg['env']}'): refusing to pseudonymize with a default key"
    )


def run_key(cfg, environ=os.environ) -> bytes | None:
    """The key a run would use, without the demo banner: the environment's, else the demo
    key where the configuration allows it, else None (a stage that needs one refuses). The
    demo key where it is refused (the cluster environment) raises :class:`ConfigError`."""
    if environ.get(KEY_ENV) or cfg.privacy.allow_demo_key:
        return pseudonym_key(cfg, environ, announce=False)
    return None


def check_run(cfg, root: str, what: str, environ=os.environ) -> None:
    """Refuse (exit 2) a run whose key (if it has one) is not the lake's."""
    key = run_key(cfg, environ)
    if key is not None:
        check(root, key, what)
