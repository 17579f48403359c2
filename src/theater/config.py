"""Layered, validated configuration.

Precedence (lowest first): ``conf/base.yaml`` < ``conf/<env>.yaml`` < ``--conf FILE`` <
``THEATER_*`` environment variables < command-line flags.

``base.yaml`` defines every key; other layers may only override keys that exist there, with a
value of the same type. A violation stops with a :class:`ConfigError` naming the key and the
file (or variable) it came from.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, get_type_hints

import yaml

ENV_PREFIX = "THEATER_"
# Environment variables with the prefix that are not configuration overrides.
RESERVED_ENV = {
    "THEATER_PSEUDONYM_KEY",
    "THEATER_CONF_DIR",
    "THEATER_LOG_LEVEL",
    "THEATER_CHROMIUM",
    "THEATER_CACHE",
    "THEATER_DELTA_JARS",
}

CHOICES = {
    "env": {"local", "cluster"},
    "engine": {"sail", "spark", "remote"},
    "table_format": {"delta", "parquet"},
    "spark.stage_processes": {"auto", "always", "never"},
    "spark.return_freed_memory": {"auto", "always", "never"},
}
# (min, max) inclusive bounds for numeric keys
BOUNDS = {
    "privacy.min_users": (5, None),  # methodology 6: 5 is the hard floor
    "privacy.dominance_share": (0.0, 1.0),
    "signals.fragmentation.short_quantile": (0.0, 1.0),
    "signals.padding.quantile": (0.0, 1.0),
    "signals.repeat_prompt.max_hamming": (0, 64),
    "scoring.threshold": (0.0, 1.0),
    "scoring.bootstrap.confidence": (0.5, 0.999),
    "scoring.bootstrap.replicates": (20, 100000),
    "scoring.bucket_rows": (0, None),
    "ingest.group_bytes": (1, None),
    "spark.shuffle_partitions": (1, None),
    "incentives.quota_bunching.bin_width": (1, None),
    "incentives.quota_bunching.window": (3, 100),
    "incentives.quota_bunching.poly_order": (1, 9),
    "incentives.quota_bunching.exclude_below": (0, 50),
    "incentives.quota_bunching.exclude_above": (0, 50),
    "incentives.quota_bunching.max_exclude_below": (1, 50),
    "incentives.quota_bunching.bootstrap_replicates": (20, 100000),
    "incentives.quota_bunching.min_user_weeks": (0, None),
    "incentives.quota_bunching.min_users": (0, None),
    "incentives.quota_bunching.min_z": (0.0, None),
    "incentives.quota_bunching.min_pre_user_weeks": (1, None),
    "incentives.checkpoint_burst.working_days_before": (1, 20),
    "incentives.checkpoint_burst.min_users": (1, None),
    "incentives.checkpoint_burst.min_z": (0.0, None),
    "incentives.outcome_decoupling.min_pre_weeks": (0.5, None),
    "incentives.outcome_decoupling.max_pre_weeks": (1, 104),
    "incentives.outcome_decoupling.min_post_weeks": (0.5, None),
    "incentives.outcome_decoupling.min_users": (2, None),
    "incentives.outcome_decoupling.bootstrap_replicates": (20, 100000),
    "incentives.outcome_decoupling.confidence": (0.5, 0.999),
    "incentives.high_confidence.top_quantile": (0.0, 1.0),
    "incentives.sensitivity.band": (0.0, 1.0),
}


class ConfigError(ValueError):
    """A configuration key or value is invalid; the message names the key and its source."""


def conf_dir() -> Path:
    """Where conf/ lives: $THEATER_CONF_DIR, ./conf, or the project's own conf/."""
    if os.environ.get("THEATER_CONF_DIR"):
        return Path(os.environ["THEATER_CONF_DIR"])
    here = Path.cwd() / "conf"
    if (here / "base.yaml").exists():
        return here
    return Path(__file__).resolve().parents[2] / "conf"


# ----------------------------------------------------------------------------- typed settings
# One frozen dataclass per section of conf/base.yaml, built once at load (see Config.from_dict):
# a key of base.yaml that the models do not declare, or a declared key missing from the merged
# configuration, stops with a ConfigError. Stages pass sections down; signals get their own.


@dataclass(frozen=True)
class Paths:
    landing: str
    lake: str
    state: str


@dataclass(frozen=True)
class SparkSettings:
    app_name: str
    shuffle_partitions: int
    stage_processes: str
    return_freed_memory: str
    conf: Mapping[str, Any]


@dataclass(frozen=True)
class Privacy:
    allow_demo_key: bool
    min_users: int
    dominance_share: float


@dataclass(frozen=True)
class Ingest:
    max_quarantine_sample: int
    group_bytes: int


@dataclass(frozen=True)
class ContractLimits:
    max_field_chars: int
    min_timestamp: str
    max_future_days: int


@dataclass(frozen=True)
class ReaderLimits:
    """Bounds on reading one delivered file (``readers:``; theater.sources.limits)."""

    max_depth: int
    max_record_bytes: int
    max_decompressed_bytes: int
    max_ratio: float
    ratio_min_bytes: int
    quarantine_prefix_bytes: int


@dataclass(frozen=True)
class LakeSettings:
    lock_wait_seconds: int
    lock_stale_seconds: int


@dataclass(frozen=True)
class Sessions:
    gap_minutes: int


@dataclass(frozen=True)
class UnusedOutput:
    max_dwell_ms: int


@dataclass(frozen=True)
class SelfSummary:
    min_age_days: int


@dataclass(frozen=True)
class RepeatPrompt:
    max_hamming: int
    window_days: int
    same_artifact: bool


@dataclass(frozen=True)
class Fragmentation:
    min_count: int
    window_minutes: int
    short_quantile: float


@dataclass(frozen=True)
class Padding:
    quantile: float


@dataclass(frozen=True)
class Signals:
    unused_output: UnusedOutput
    self_summary: SelfSummary
    repeat_prompt: RepeatPrompt
    fragmentation: Fragmentation
    padding: Padding


@dataclass(frozen=True)
class Weights:
    unused_output: float
    self_summary: float
    repeat_prompt: float
    fragmentation: float
    padding: float

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Bootstrap:
    replicates: int
    confidence: float
    seed: int


@dataclass(frozen=True)
class Scoring:
    threshold: float
    min_signal_rows: int
    min_signal_coverage: float
    top_signals: int
    bucket_rows: int
    bootstrap: Bootstrap


@dataclass(frozen=True)
class QuotaBunching:
    enabled: bool
    bin_width: int
    window: int
    poly_order: int
    exclude_below: int
    exclude_above: int
    choose_exclusion: bool
    max_exclude_below: int
    bootstrap_replicates: int
    min_user_weeks: int
    min_users: int
    min_z: float
    min_pre_user_weeks: int


@dataclass(frozen=True)
class CheckpointBurst:
    enabled: bool
    working_days_before: int
    min_users: int
    min_z: float


@dataclass(frozen=True)
class OutcomeDecoupling:
    enabled: bool
    max_pre_weeks: int
    min_pre_weeks: float
    min_post_weeks: float
    min_users: int
    bootstrap_replicates: int
    confidence: float


@dataclass(frozen=True)
class HighConfidence:
    top_quantile: float


@dataclass(frozen=True)
class Sensitivity:
    enabled: bool
    dwell_ms: tuple
    poly_orders: tuple
    drop_each_signal: bool
    band: float


@dataclass(frozen=True)
class IncentiveSettings:
    quota_bunching: QuotaBunching
    checkpoint_burst: CheckpointBurst
    outcome_decoupling: OutcomeDecoupling
    high_confidence: HighConfidence
    sensitivity: Sensitivity


@dataclass(frozen=True)
class Quality:
    enabled: bool
    suites_dir: str
    late_tolerance_days: int
    quarantine_warn_share: float
    quarantine_fail_share: float
    volume_history_weeks: int
    volume_min_ratio: float
    volume_max_ratio: float
    sample_rows: int
    materialize: bool
    data_docs: bool


@dataclass(frozen=True)
class Audit:
    seed: int
    min_per_cell: int
    replicates: int
    confidence: float
    bound_weight: float
    user_bootstrap: bool
    plan_precision: float
    plan_miss_rate: float
    pool: bool
    pool_tau_level: float
    pool_min_weight: float


@dataclass(frozen=True)
class Tracking:
    enabled: bool
    uri: str | None
    experiment: str


@dataclass(frozen=True)
class Price:
    """One row of the price table: what ``tool`` costs from ``effective_from`` on (until a
    later row of the same tool and model). ``model`` None: any model. Each price None when the
    tool is not billed that way; ``currency`` is the table's."""

    tool: str
    effective_from: date
    model: str | None = None
    seat_per_month: float | None = None
    per_request: float | None = None
    per_1k_prompt_tokens: float | None = None
    per_1k_output_tokens: float | None = None


PRICE_FIELDS = {f.name for f in fields(Price)}


@dataclass(frozen=True)
class Adoption:
    """gold/org_adoption settings: the price table (``prices``, a list of :class:`Price`
    mappings in YAML, checked when the configuration loads) and its currency."""

    currency: str
    prices: tuple
    #: units of ``currency`` per US dollar: converts the vendors' own costs (always USD) when
    #: ``currency`` is another; None: such costs are not converted (the cost is NA, with a note)
    usd_rate: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "prices", tuple(_price(i, p) for i, p in enumerate(self.prices)))
        r = self.usd_rate
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or r <= 0):
            raise ConfigError(f"adoption.usd_rate: must be a number > 0 or null, got {r!r}")
        if r is not None:
            object.__setattr__(self, "usd_rate", float(r))

    def prices_on(self, day: date) -> dict[tuple[str, str | None], Price]:
        """{(tool, model): the price row in effect on ``day``} (the latest ``effective_from``
        on or before it)."""
        out: dict = {}
        for p in sorted(self.prices, key=lambda p: p.effective_from):
            if p.effective_from <= day:
                out[(p.tool, p.model)] = p
        return out


def _price(i: int, p) -> Price:
    if isinstance(p, Price):
        return p
    where = f"adoption.prices[{i}]"
    if not isinstance(p, Mapping):
        raise ConfigError(f"{where}: expected a mapping (tool, effective_from, prices), got {p!r}")
    unknown = sorted(set(p) - PRICE_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {sorted(PRICE_FIELDS)})")
    if not isinstance(p.get("tool"), str) or not p["tool"].strip():
        raise ConfigError(f"{where}: 'tool' must be a non-empty string")
    eff = p.get("effective_from")
    try:
        eff = eff if isinstance(eff, date) else date.fromisoformat(str(eff))
    except ValueError:
        raise ConfigError(
            f"{where}: 'effective_from' must be a date YYYY-MM-DD, got {eff!r}"
        ) from None
    amounts = {}
    for k in PRICE_FIELDS - {"tool", "effective_from", "model"}:
        v = p.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise ConfigError(f"{where}: '{k}' must be a number >= 0 or null, got {v!r}")
        amounts[k] = None if v is None else float(v)
    if all(v is None for v in amounts.values()):
        raise ConfigError(f"{where}: gives no price (seat_per_month, per_request or per_1k_*)")
    model = p.get("model")
    return Price(p["tool"].strip().lower(), eff, None if model is None else str(model), **amounts)


@dataclass(frozen=True)
class Generate:
    seed: int
    orgs: int
    users: int
    quarter: str


@dataclass(frozen=True)
class Config:
    """Resolved configuration: typed, frozen sections (``cfg.signals.repeat_prompt.window_days``)
    built once from the merged layers, plus the merged dictionary for logging (``flat``,
    ``to_yaml``). Pass a section, not the whole Config, to code that needs only it."""

    env: str
    engine: str
    remote_url: str | None
    table_format: str
    paths: Paths
    spark: SparkSettings
    privacy: Privacy
    ingest: Ingest
    contract: ContractLimits
    readers: ReaderLimits
    lake: LakeSettings
    sessions: Sessions
    signals: Signals
    weights: Weights
    scoring: Scoring
    incentives: IncentiveSettings
    quality: Quality
    audit: Audit
    tracking: Tracking
    adoption: Adoption
    generate: Generate
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    sources: tuple[str, ...] = field(default=())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], sources: tuple[str, ...] = ()) -> "Config":
        """Build the typed configuration from a merged mapping (every key of base.yaml)."""
        sections = _build(cls, data, "", skip={"data", "sources"})
        return cls(**sections, data=copy.deepcopy(_plain(data)), sources=tuple(sources))

    def __reduce__(self):
        """Pickled as its merged mapping (the typed sections hold read-only mappings), e.g. for
        the pipeline's stage processes."""
        return (Config.from_dict, (_plain(self.data), self.sources))

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            try:
                node = node[part]
            except (KeyError, TypeError):
                raise KeyError(f"unknown configuration key {dotted!r}") from None
        return copy.deepcopy(node) if isinstance(node, (dict, list)) else node

    def __getitem__(self, dotted: str) -> Any:
        return self.get(dotted)

    def with_overrides(self, dotted: Mapping[str, Any]) -> "Config":
        """A copy with dotted keys replaced, validated like a command-line layer."""
        merged = _merge(dict(self.data), _nest(dotted), "override")
        return Config.from_dict(merged, self.sources + ("override",))

    def flat(self) -> dict[str, Any]:
        """The configuration flattened to dotted keys (for logging as parameters)."""
        out: dict[str, Any] = {}

        def walk(prefix: str, node: Any) -> None:
            if isinstance(node, dict) and node and prefix not in _FREE_MAPS:
                for k, v in node.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            else:
                out[prefix] = node

        walk("", dict(self.data))
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(_plain(self.data), sort_keys=False)


def _build(cls, node: Mapping[str, Any], prefix: str, skip=frozenset()) -> dict:
    """Keyword arguments of dataclass ``cls`` from ``node``; nested dataclasses recursively."""
    if not isinstance(node, Mapping):
        raise ConfigError(f"key '{prefix.rstrip('.')}': expected a mapping, got {node!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.name not in skip]
    unknown = sorted(set(node) - set(names))
    if unknown:
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (not a setting of theater-index)")
    out = {}
    for name in names:
        key = f"{prefix}{name}"
        if name not in node:
            raise ConfigError(f"missing key '{key}' (conf/base.yaml must define every setting)")
        hint, value = hints[name], node[name]
        if is_dataclass(hint):
            out[name] = hint(**_build(hint, value, key + "."))
        elif hint is tuple:
            out[name] = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            out[name] = float(value)
        elif hint is Mapping[str, Any]:
            out[name] = MappingProxyType(dict(value))
        else:
            out[name] = value
    return out


# Maps whose keys are free-form (not validated against base.yaml).
_FREE_MAPS = {"spark.conf"}


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_value(key: str, base_value: Any, value: Any, source: str) -> Any:
    """Validate one leaf against the base value's type, choices and bounds; return it."""
    if key in CHOICES and value not in CHOICES[key]:
        raise ConfigError(
            f"{source}: key '{key}': must be one of {sorted(CHOICES[key])}, got {value!r}"
        )
    if base_value is None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{source}: key '{key}': expected a string or null, got {value!r}")
        return value
    if isinstance(base_value, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: key '{key}': expected true or false, got {value!r}")
    elif isinstance(base_value, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: key '{key}': expected an integer, got {value!r}")
    elif isinstance(base_value, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: key '{key}': expected a number, got {value!r}")
        value = float(value)
    elif isinstance(base_value, str):
        if not isinstance(value, str):
            raise ConfigError(f"{source}: key '{key}': expected a string, got {value!r}")
    elif isinstance(base_value, list):
        if not isinstance(value, list):
            raise ConfigError(f"{source}: key '{key}': expected a list, got {value!r}")
    if key in BOUNDS and isinstance(value, (int, float)):
        lo, hi = BOUNDS[key]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(
                f"{source}: key '{key}': {value!r} is outside [{lo}, {'inf' if hi is None else hi}]"
            )
    return value


def _merge(base: dict, over: Mapping, source: str, prefix: str = "") -> dict:
    """Merge ``over`` into a copy of ``base``, refusing keys that base does not define."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if key not in base:
            raise ConfigError(f"{source}: unknown key '{dotted}'")
        if dotted in _FREE_MAPS:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: key '{dotted}': expected a mapping, got {value!r}")
            out[key] = {**base[key], **{str(k): v for k, v in value.items()}}
        elif isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: key '{dotted}': expected a mapping, got {value!r}")
            out[key] = _merge(base[key], value, source, dotted + ".")
        else:
            out[key] = _check_value(dotted, base[key], value, source)
    return out


def _env_overrides(environ: Mapping[str, str], base: dict) -> list[tuple[str, dict]]:
    layers = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        raw = environ[name]
        try:
            value = yaml.safe_load(raw) if raw != "" else None
        except yaml.YAMLError:
            value = raw
        node: Any = base
        for p in parts[:-1]:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        leaf = node.get(parts[-1]) if isinstance(node, dict) else None
        if isinstance(leaf, str) and not isinstance(value, str):
            value = raw  # e.g. THEATER_PATHS__LAKE=2026 stays a string
        nested: dict = {}
        cur = nested
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
        layers.append((f"environment variable {name}", nested))
    return layers


def load_config(
    *,
    env: str | None = None,
    conf_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Config:
    """Load base.yaml, then the environment file, --conf, THEATER_* variables, then flags.

    ``overrides`` uses dotted keys (``{"paths.lake": "/tmp/lake"}``) and comes from CLI flags.
    """
    environ = os.environ if environ is None else environ
    directory = directory or conf_dir()
    base_path = directory / "base.yaml"
    base = _read_yaml(base_path)
    for key in CHOICES:
        if key in base:
            _check_value(key, base[key], base[key], str(base_path))
    sources = [str(base_path)]

    env_layers = _env_overrides(environ, base)
    flag_layer = _nest(overrides or {})
    # The environment name itself may come from any layer; resolve it first.
    env_name = env or flag_layer.get("env")
    for _, layer in env_layers:
        env_name = env_name or layer.get("env")
    if conf_file is not None and env_name is None:
        env_name = _read_yaml(Path(conf_file)).get("env")
    env_name = env_name or base.get("env", "local")
    if env_name not in CHOICES["env"]:
        raise ConfigError(f"environment: must be one of {sorted(CHOICES['env'])}, got {env_name!r}")

    merged = base
    env_path = directory / f"{env_name}.yaml"
    if env_path.exists():
        merged = _merge(merged, _read_yaml(env_path), str(env_path))
        sources.append(str(env_path))
    if conf_file is not None:
        merged = _merge(merged, _read_yaml(Path(conf_file)), str(conf_file))
        sources.append(str(conf_file))
    for source, layer in env_layers:
        merged = _merge(merged, layer, source)
        sources.append(source)
    if flag_layer:
        merged = _merge(merged, flag_layer, "command-line flag")
        sources.append("flags")
    merged["env"] = env_name
    return Config.from_dict(merged, tuple(sources))


def _nest(dotted: Mapping[str, Any]) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        if value is None:
            continue
        cur = out
        parts = key.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return out
