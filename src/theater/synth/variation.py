"""World-level variation knobs for robustness benchmarks.

``Variation()`` (all defaults) reproduces the standard generator byte for byte: every knob at
its default takes the original code path and draws nothing extra. A non-default knob draws its
own randomness from a second generator seeded from the world's seed, so the main stream stays
put where it can.

==================  ========================================================================
quota_levels        weekly quota values the quota orgs draw from (default 10/15/20/25 with
                    the standard weights)
quota_share         share of orgs with a quota (default 0.3; 0 = no quota anywhere). Orgs
                    without a quota get no fillers: a filler tops up to a quota in force
quota_change        probability that a quota org's quota changes mid-period (to another
                    level, up or down), on top of the standard world's one raised quota.
                    The policies file gets two rows; fillers top up to the quota of their
                    week, so the threshold they pile above moves with the policy
rate_sigma          user activity heterogeneity: sd of log weekly rate (default 0.45)
holiday_weeks       full weeks (not the first) in which most people are away
holiday_away        share of users away in a holiday week (activity x 0.1, and no filling:
                    nobody tops up a quota from a beach). The quota stays in force
filler_unused       share of quota-filler interactions with a detectably unused output
                    (default 0.75; the rest have neither a disposition nor a dwell)
==================  ========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STANDARD_LEVELS = (10, 15, 20, 25)
STANDARD_LEVEL_P = (0.3, 0.35, 0.25, 0.1)


@dataclass(frozen=True)
class Variation:
    quota_levels: tuple[int, ...] | None = None
    quota_share: float = 0.3
    quota_change: float = 0.0
    rate_sigma: float = 0.45
    holiday_weeks: int = 0
    holiday_away: float = 0.7
    filler_unused: float = 0.75

    def __post_init__(self):
        if self.quota_levels is not None and (not self.quota_levels or min(self.quota_levels) < 3):
            raise ValueError(f"quota_levels must be non-empty and >= 3, got {self.quota_levels}")
        for name in ("quota_share", "quota_change", "holiday_away", "filler_unused"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        if self.rate_sigma < 0:
            raise ValueError(f"rate_sigma must be >= 0, got {self.rate_sigma}")
        if self.holiday_weeks < 0:
            raise ValueError(f"holiday_weeks must be >= 0, got {self.holiday_weeks}")

    @property
    def is_standard(self) -> bool:
        return self == Variation()

    def as_dict(self) -> dict:
        d = asdict(self)
        if d["quota_levels"] is not None:
            d["quota_levels"] = list(d["quota_levels"])
        return d
