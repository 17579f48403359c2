"""Human audit of the detector: stratified sample, labels, debiased index, calibration, plan.

``theater audit sample | load | plan`` (:mod:`theater.audit.cli`); the score stage calls
:func:`~theater.audit.integrate.read_labels`, ``calibrate_labels``, ``apply`` and ``metrics``
(:mod:`theater.audit.integrate`).
"""
