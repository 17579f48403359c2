"""A second, independent vendor-world family for the acceptance ranking: per (org, user,
feature) acceptance counts drawn directly, with its own tools, genuine unused rates and gaming
styles (nothing shared with ``theater.synth`` or ``theater.vendor_delivery``), so an estimator
tuned on one family can be checked on the other.

How a world is drawn (``world(seed)``):

- 30 orgs of 6-120 users. Six features with genuine unused rates far apart: inline completions
  0.70, next-edit suggestions 0.50, code review comments 0.40, agent edits 0.28, IDE chat 0.12,
  chat answers 0.08 (a feature is ``tool/feature``). Each org uses its own mix of them
  (Dirichlet 0.5: some orgs live in completions, others in chat), and has its own genuine
  offset (logit +-0.25: codebases differ); each user another (logit sd 0.35).
- One feature of six has no acceptance count (``assistant/answer``): usage only.
- Gaming is concentrated: a share ``pi_o`` of an org's users game (Beta(0.6, 2.2) per org, two
  orgs at zero), each with an intensity 0.15-0.7 (the performative share of their usage), and
  they game every feature they use. A performative output goes unused with the org's
  probability 0.55-0.95 (the rest is accepted and thrown away later: no export sees it).
- Truth per org: performative outputs / all outputs (every feature, counted or not).

``vendor_delivery(acc, seed, inflation)``: the same world delivered by several sources, each org
by one of them (``len(inflation)`` sources, orgs dealt round-robin in a seeded order, feature
``v<j>/<tool>/<feature>``). The sources name the same kinds alike but define an output
differently: source j also counts ``inflation[j] x n`` outputs that nobody saw, all unused.
That raises its genuine rate to ``(b + x) / (1 + x)`` and leaves every user's true excess
``(r - b) / (1 - b)`` unchanged, so an estimator that keeps each source's baseline right is
unaffected, and one that assumes sources alike is not. With 30 orgs, 6 sources give 5 orgs a
feature (a mixed delivery's few-org baselines).

Returns ``acc`` (org_id, user_key, feature, n, k; with ``with_perf`` also ``perf``, the planted
performative outputs of the row, for a ceiling, never for an estimator; with ``with_parts`` also
``perf_unused``, the performative outputs that went unused, and ``p_gen``, the user's genuine
unused rate of that feature, for taking the ceiling's gap apart), ``users`` (org_id, user_key, usage,
incentive = NaN) and ``truth`` (org_id, theater_share), the frames the estimator reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = {
    "ide/inline_completion": 0.70,
    "ide/next_edit": 0.50,
    "review/comment": 0.40,
    "agent/edit": 0.28,
    "ide/chat": 0.12,
    "assistant/answer": 0.08,
}
UNCOUNTED = ("assistant/answer",)


def _logit(p):
    return np.log(p / (1 - p))


def world(
    seed: int,
    n_orgs: int = 30,
    org_sd: float = 0.25,
    user_sd: float = 0.35,
    with_perf: bool = False,
    with_parts: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = list(FEATURES)
    base = _logit(np.array([FEATURES[f] for f in names]))
    sizes = np.clip(np.exp(rng.normal(np.log(30), 0.8, n_orgs)), 6, 120).astype(int)
    pi = rng.beta(0.6, 2.2, n_orgs)
    pi[rng.choice(n_orgs, 2, replace=False)] = 0.0
    unused_th = rng.uniform(0.55, 0.95, n_orgs)
    org_off = rng.normal(0, org_sd, n_orgs)
    acc, users, truth = [], [], []
    for o in range(n_orgs):
        org = f"alt-{o + 1:03d}"
        mix = rng.dirichlet(np.full(len(names), 0.5))
        perf_o = tot_o = 0.0
        for u in range(sizes[o]):
            user = f"{org}-u{u:04d}"
            vol = np.exp(rng.normal(np.log(150), 0.9))
            umix = rng.dirichlet(mix * 8 + 0.05)
            n_f = rng.poisson(vol * umix)
            gamer = rng.random() < pi[o]
            g = rng.uniform(0.15, 0.7) if gamer else 0.0
            perf = rng.binomial(n_f, g)
            p_gen = 1 / (1 + np.exp(-(base + org_off[o] + rng.normal(0, user_sd))))
            k_gen = rng.binomial(n_f - perf, p_gen)
            k_perf = rng.binomial(perf, unused_th[o])
            k = k_gen + k_perf
            perf_o += perf.sum()
            tot_o += n_f.sum()
            for f, n, kk, pp, kp, pg in zip(names, n_f, k, perf, k_perf, p_gen):
                if n > 0 and f not in UNCOUNTED:
                    acc.append((org, user, f, float(n), float(kk), float(pp), float(kp), pg))
            users.append((org, user, float(n_f.sum()), np.nan))
        truth.append((org, perf_o / tot_o if tot_o else 0.0))
    parts = ["perf_unused", "p_gen"]
    acc = pd.DataFrame(acc, columns=["org_id", "user_key", "feature", "n", "k", "perf", *parts])
    acc = acc if with_parts else acc.drop(columns=parts)
    return (
        acc if with_perf or with_parts else acc.drop(columns="perf"),
        pd.DataFrame(users, columns=["org_id", "user_key", "usage", "incentive"]),
        pd.DataFrame(truth, columns=["org_id", "theater_share"]),
    )


def vendor_delivery(acc: pd.DataFrame, seed: int, inflation=(0.0, 0.5, 0.0, 1.0, 0.2, 0.0)):
    """``acc`` as delivered by ``len(inflation)`` sources that count outputs differently (module
    docstring); ``perf`` (when present) is unchanged."""
    orgs = sorted(acc["org_id"].unique())
    rng = np.random.default_rng(seed + 7)
    src = dict(zip(orgs, rng.permutation(np.arange(len(orgs)) % len(inflation))))
    v = acc["org_id"].map(src).to_numpy()
    extra = np.round(acc["n"].to_numpy() * np.asarray(inflation, dtype=float)[v])
    out = acc.copy()
    out["n"] = out["n"] + extra
    out["k"] = out["k"] + extra
    out["feature"] = [f"v{j}/{f}" for j, f in zip(v, out["feature"])]
    return out
