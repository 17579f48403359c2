"""The quarterly executive report: one self-contained HTML file (optionally a PDF of it).

``build(...)`` reads the gold tables for a period (and the previous one), the data-quality
results and the run's MLflow record (``data``), turns them into figures with pure functions
on DataFrames (``figures``), draws inline SVG charts (``charts``) and assembles the page
(``page``). ``render`` prints it to PDF with headless Chromium. Only org-level figures reach the
page: user keys are reduced to anonymous integer codes as soon as they are read, and suppressed
orgs carry no figures.
"""

from __future__ import annotations

from .build import ReportResult, build, write
from .data import ReportDataError

__all__ = ["ReportDataError", "ReportResult", "build", "write"]
