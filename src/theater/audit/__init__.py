"""Human audit of the detector: stratified sample, labels, debiased index, calibration, plan.

``theater audit sample | load | plan`` (:mod:`theater.audit.cli`); the score stage calls
:func:`read_labels`, :func:`calibrate_labels`, :func:`apply` and :func:`metrics`.
"""
from .integrate import apply, calibrate_labels, metrics, read_labels, summary  # noqa: F401
