"""Simulated worlds for testing the audited interval against wrong detectors (pure numpy).

Not the project's generator (:mod:`theater.synth`): no tools, sessions or episode mechanics,
only what the estimator sees. An org has users of unequal activity and unequal propensity to
theater; every interaction is theater or not (the truth: the org's realized share); a
detector with three signals fires on some interactions and gives each a probability. How the
detector errs is set per org by the *case*:

- ``good``: fires on theater with an org-specific sensitivity (0.55-0.95) and on genuine work
  with a small org-specific false-positive rate (0.5-6%);
- ``random``: fires at an org-specific rate (3-40%) whatever the truth; probabilities are noise;
- ``biased``: as good, plus the same false-positive rate of 15% in every org (a constant
  upward bias of the detector-only share);
- ``anti``: anti-correlated in about half of the orgs (fires on genuine work, misses theater,
  probability lower on theater), good in the others;
- ``mixed``: each org drawn from good, random, biased-within-org and anti.

And, outside ``CASES`` (the CI test's cases): ``sharp``, a detector that misses little:
sensitivity 0.97-0.99 and false positives 0.5-3% per org, so the unflagged cell's theater rate
is near 1% and the flagged cell's near 90%, the case in which the detector's residual
variance, not the label count, sets the interval.

Org sizes, base rates and user heterogeneity vary from world to world; ``near_zero`` orgs get
a planted rate of 0-1% (and the detector's false positives still fire there).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CASES = ("good", "random", "biased", "anti", "mixed")
#: cases the benchmarks also run (not the CI test's)
EXTRA_CASES = ("sharp",)
SIGNALS = ("sig_a", "sig_b", "sig_c")
_WEIGHTS = np.array([0.7, 0.55, 0.4])


def _org_detector(case: str, rng) -> dict:
    if case == "mixed":
        case = str(rng.choice(["good", "random", "biased", "anti"]))
    if case == "anti" and rng.random() < 0.5:
        case = "good"  # anti-correlated in about half of the orgs only
    if case == "good":
        return {"on_th": rng.uniform(0.55, 0.95), "on_gen": rng.uniform(0.005, 0.06), "corr": 1}
    if case == "sharp":
        return {"on_th": rng.uniform(0.97, 0.99), "on_gen": rng.uniform(0.005, 0.03), "corr": 1}
    if case == "biased":
        return {"on_th": rng.uniform(0.55, 0.95), "on_gen": 0.15, "corr": 1}
    if case == "random":
        q = rng.uniform(0.03, 0.4)
        return {"on_th": q, "on_gen": q, "corr": 0}
    if case == "anti":
        return {"on_th": rng.uniform(0.0, 0.15), "on_gen": rng.uniform(0.2, 0.5), "corr": -1}
    raise ValueError(f"unknown detector case {case!r}; one of {', '.join(CASES + EXTRA_CASES)}")


def _users(o_zero: bool, n_u: int, per_user: tuple, rng):
    """(the org's planted base rate, user of each interaction, its truth): users with
    logit-normal propensities around the base (a zero base: nobody) and negative-binomial
    activity."""
    base = rng.uniform(0.0, 0.01) if o_zero else rng.beta(1.3, 4.0)  # mean about 0.25
    if base > 0:
        spread = rng.uniform(0.2, 0.6) if o_zero else rng.uniform(0.3, 1.5)
        lo = np.log(base / (1 - base)) + rng.normal(0, spread, n_u)
        p_u = 1 / (1 + np.exp(-lo))
    else:
        p_u = np.zeros(n_u)
    mean_u = rng.uniform(*per_user)
    m_u = np.maximum(1, rng.negative_binomial(2, 2 / (2 + mean_u), n_u))
    uid = np.repeat(np.arange(n_u), m_u)
    return base, uid, rng.random(len(uid)) < p_u[uid]


def _detect(y: np.ndarray, det: dict, rng) -> tuple[np.ndarray, np.ndarray]:
    """(flags, probability) of each interaction: the detector fires as ``det`` says, one
    signal at random (sometimes two), and its probability follows the truth as ``det["corr"]``
    says, with noise."""
    k = len(y)
    fires = rng.random(k) < np.where(y, det["on_th"], det["on_gen"])
    first = rng.integers(0, 3, k)
    second = np.where(rng.random(k) < 0.2, (first + rng.integers(1, 3, k)) % 3, -1)
    names = np.array(SIGNALS)
    pair = np.char.add(
        np.char.add(names[np.minimum(first, second)], ","), names[np.maximum(first, second)]
    )
    flags = np.where(fires, np.where(second >= 0, pair, names[first]), "")
    w = np.where(fires, _WEIGHTS[first], 0.0)
    w2 = np.where(fires & (second >= 0), _WEIGHTS[np.maximum(second, 0)], 0.0)
    p = 1 - (1 - w) * (1 - w2)
    # a continuous part that follows the truth as the org's detector does
    p = p + 0.15 * det["corr"] * (y - 0.5) * rng.random(k) + rng.normal(0, 0.04, k)
    return flags, np.clip(p, 0.0, 1.0)


def world(
    seed: int,
    case: str = "good",
    n_orgs: int = 20,
    near_zero: int = 0,
    users: tuple = (12, 60),
    per_user: tuple = (8, 60),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(interactions, orgs). Interactions: ``event_id, tool, org_id, user_key, flags,
    theater_probability, is_theater``; orgs: ``org_id, theater_share`` (realized), ``n``,
    ``n_users``, ``near_zero`` (planted at 0-1%). ``users``/``per_user``: ranges of users per
    org and of the mean interactions per user (drawn per org)."""
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    zero = set(rng.choice(n_orgs, size=min(near_zero, n_orgs), replace=False).tolist())
    for o in range(n_orgs):
        det = _org_detector(case, rng)
        n_u = int(rng.integers(users[0], users[1] + 1))
        _, uid, y = _users(o in zero, n_u, per_user, rng)
        flags, p = _detect(y, det, rng)
        org = f"o{o:02d}"
        frames.append(
            pd.DataFrame(
                {
                    "org_id": org,
                    "user_key": [f"{org}u{u}" for u in uid],
                    "flags": flags,
                    "theater_probability": p,
                    "is_theater": y.astype("int8"),
                }
            )
        )
        truth.append(
            {
                "org_id": org,
                "theater_share": float(y.mean()),
                "n": len(uid),
                "n_users": n_u,
                "near_zero": o in zero,
            }
        )
    df = pd.concat(frames, ignore_index=True)
    df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["tool"] = "sim"
    return df, pd.DataFrame(truth)
