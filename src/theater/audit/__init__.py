"""Human audit of the detector: stratified sample, labels, debiased index, calibration, plan.

``theater audit sample | load | plan`` (:mod:`theater.audit.cli`); the score stage calls
:func:`read_labels`, :func:`calibrate_labels`, :func:`apply` and :func:`metrics`.
"""

from .integrate import (  # noqa: F401
    TABLE,
    apply,
    calibrate_labels,
    labels_pandas,
    metrics,
    period_labels,
    read_labels,
    summary,
)
