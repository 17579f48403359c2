"""Configuration layering and validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from theater.config import Config, ConfigError, load_config
from theater.period import Period, PeriodError

ROOT = Path(__file__).resolve().parents[2] / "conf"


def _conf(tmp_path, text):
    p = tmp_path / "extra.yaml"
    p.write_text(text)
    return p


def test_precedence_base_env_file_envvar_flag(tmp_path):
    extra = _conf(tmp_path, "paths:\n  lake: /from/file\nscoring:\n  threshold: 0.6\n")
    cfg = load_config(
        env="local",
        conf_file=extra,
        directory=ROOT,
        environ={"THEATER_SCORING__THRESHOLD": "0.7"},
        overrides={"paths.lake": "/from/flag"},
    )
    assert cfg["paths.lake"] == "/from/flag"  # flag beats the file
    assert cfg["scoring.threshold"] == 0.7  # env var beats the file
    assert cfg["privacy.allow_demo_key"] is True  # from local.yaml
    assert cfg["privacy.min_users"] == 10  # from base.yaml


def test_cluster_env_file_layers_spark_and_refuses_demo_key():
    cfg = load_config(env="cluster", directory=ROOT, environ={})
    assert cfg["engine"] == "spark"
    assert cfg["privacy.allow_demo_key"] is False
    assert "spark.sql.extensions" in cfg["spark.conf"]


@pytest.mark.parametrize(
    "text, needle",
    [
        ("scoring:\n  treshold: 0.5\n", "unknown key 'scoring.treshold'"),
        ("engine: flink\n", "key 'engine'"),
        ("privacy:\n  min_users: 3\n", "key 'privacy.min_users'"),
        ("scoring:\n  bootstrap:\n    replicates: many\n", "key 'scoring.bootstrap.replicates'"),
        ("weights: 1\n", "key 'weights'"),
        ("- a\n- b\n", "top level must be a mapping"),
    ],
)
def test_bad_keys_and_values_name_key_and_file(tmp_path, text, needle):
    extra = _conf(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(env="local", conf_file=extra, directory=ROOT, environ={})
    assert needle in str(err.value) and str(extra) in str(err.value)


def test_bad_environment_variable_is_named():
    with pytest.raises(ConfigError, match="THEATER_SCORING__THRESHOLD"):
        load_config(env="local", directory=ROOT, environ={"THEATER_SCORING__THRESHOLD": "high"})
    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        load_config(env="local", directory=ROOT, environ={"THEATER_NOPE": "1"})


def test_secret_is_not_a_config_key():
    cfg = load_config(env="local", directory=ROOT, environ={"THEATER_PSEUDONYM_KEY": "s3cret"})
    assert "s3cret" not in cfg.to_yaml()


def test_periods():
    q = Period.quarter("2026Q3")
    assert (str(q.start), str(q.end), q.label) == ("2026-07-01", "2026-10-01", "2026Q3")
    assert str(Period.quarter("2026Q4").end) == "2027-01-01"
    # full ISO weeks inside Q3 2026: Mon 6 Jul .. Mon 21 Sep (28 Sep week crosses 1 Oct)
    weeks = q.weeks()
    assert (str(weeks[0]), str(weeks[-1]), len(weeks)) == ("2026-07-06", "2026-09-21", 12)
    with pytest.raises(PeriodError):
        Period.parse(quarter="2026Q5")
    with pytest.raises(PeriodError):
        Period.parse(start="2026-07-02", end="2026-07-01")
    with pytest.raises(PeriodError):
        Period.parse(quarter="2026Q3", start="2026-07-01")


def test_typed_sections_mirror_base_yaml():
    cfg = load_config(env="local", directory=ROOT, environ={})
    assert cfg.signals.repeat_prompt.window_days == cfg["signals.repeat_prompt.window_days"] == 7
    assert cfg.weights.as_dict()["padding"] == 1.0
    assert isinstance(cfg.incentives.quota_bunching.min_z, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.scoring.threshold = 0.1
    # a key the typed models do not declare stops at load, named
    data = {**cfg.data, "scoring": {**cfg.data["scoring"], "treshold": 0.5}}
    with pytest.raises(ConfigError, match="scoring.treshold"):
        Config.from_dict(data)
    assert cfg.with_overrides({"engine": "spark"}).engine == "spark"
    with pytest.raises(ConfigError, match="engine"):
        cfg.with_overrides({"engine": "duckdb"})


def test_config_pickles_as_its_merged_settings():
    """The pipeline's stage processes get the configuration by pickle (the typed sections
    hold read-only mappings, which do not pickle by themselves)."""
    import pickle

    cfg = load_config(
        env="local",
        directory=ROOT,
        environ={"THEATER_SCORING__THRESHOLD": "0.7"},
        overrides={"spark.conf": {"spark.sql.ansi.enabled": "true"}},
    )
    back = pickle.loads(pickle.dumps(cfg))
    assert back == cfg
    assert back.flat() == cfg.flat()
    assert back.sources == cfg.sources
    assert back.scoring.threshold == 0.7
    assert dict(back.spark.conf) == {"spark.sql.ansi.enabled": "true"}
    assert back.spark.stage_processes == "auto"
