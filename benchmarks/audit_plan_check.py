"""Does ``theater audit plan`` predict the width an audit then gives? (a quick check)

Usage: python benchmarks/audit_plan_check.py [--cases good,random,biased,anti,sharp]
       [--sizes 100,300,1000] [--designs signal,grouped]

On 3 tuning worlds per detector case (``theater.audit.simworld``, seeds 150-152 + 1000 k;
not the held-out ones), audit at each size with each sample design, then plan the same
audit from what the lake would hold after it: the audited stratum rates
(:func:`theater.audit.estimate.pooled_rates`) and the between-org spread the pooling used.
Prints the mean org width observed, planned on own labels, and planned pooled (the figure
``theater audit plan`` reports once an audit is in the lake; where a cell of an org gets no
label it is the larger of the pooled and own-label approximations).
"""

import argparse

import pandas as pd

from theater.audit import plan, sample, simworld
from theater.audit.design import design_strata
from theater.audit.estimate import Settings, estimate, pooled_rates
from theater.audit.simulate import audit_once, world_cells


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cases", default="good,random,biased,anti")
    p.add_argument("--sizes", default="100,300,1000")
    p.add_argument("--designs", default="signal")
    a = p.parse_args()
    every = simworld.CASES + simworld.EXTRA_CASES
    rows = []
    for case in a.cases.split(","):
        for w in range(3):
            seed = 150 + w + 1000 * every.index(case)
            df, orgs = simworld.world(seed, case)
            by_signal = sample.strata(df["flags"])
            for d in a.designs.split(","):
                dfd = df.assign(stratum=design_strata(by_signal, d))
                cells = world_cells(dfd)
                strata = sorted(cells["stratum"].unique())
                for n in [int(x) for x in a.sizes.split(",")]:
                    est, lab = audit_once(dfd, orgs, n, seed, Settings(replicates=200), cells)
                    pr = pooled_rates(lab, strata)
                    rates = dict(zip(pr.strata, pr.rate))
                    # the merge in audit_once drops attrs: the spread from the estimator itself
                    t2 = estimate(cells, lab, Settings(replicates=50)).attrs.get("pool_tau2")
                    rows.append(
                        {
                            "case": case,
                            "design": d,
                            "labels": n,
                            "observed": 100 * (est["ci_high"] - est["ci_low"]).mean(),
                            "plan_own": plan.widths(cells, rates, n)["width"].mean(),
                            "plan_pooled": plan.widths(cells, rates, n, tau2=t2)["width"].mean(),
                        }
                    )
    out = pd.DataFrame(rows).groupby(["case", "design", "labels"]).mean()
    out["observed/planned"] = out["observed"] / out["plan_pooled"]
    print(out.round(2).to_string())


if __name__ == "__main__":
    main()
