"""Reporting periods: start inclusive, end exclusive, UTC dates (like an Airflow data interval)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

_QUARTER = re.compile(r"^(\d{4})[-_ ]?Q([1-4])$", re.IGNORECASE)


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __post_init__(self):
        if self.end <= self.start:
            raise PeriodError(f"period end {self.end} must be after start {self.start}")

    @classmethod
    def quarter(cls, text: str) -> "Period":
        m = _QUARTER.match(text.strip())
        if not m:
            raise PeriodError(f"--quarter: expected YYYYQn such as 2026Q3, got {text!r}")
        year, q = int(m.group(1)), int(m.group(2))
        try:
            start = date(year, 3 * q - 2, 1)
            end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        except ValueError as exc:
            raise PeriodError(f"--quarter {text!r}: {exc} (years 1 to 9999, last quarter "
                              "9999Q3)") from None
        return cls(start, end)

    @classmethod
    def parse(cls, *, quarter: str | None = None, start: str | None = None,
              end: str | None = None) -> "Period":
        if quarter and (start or end):
            raise PeriodError("give either --quarter or --start/--end, not both")
        if quarter:
            return cls.quarter(quarter)
        if not (start and end):
            raise PeriodError("a period is --quarter YYYYQn or both --start and --end (YYYY-MM-DD)")
        try:
            return cls(date.fromisoformat(start), date.fromisoformat(end))
        except ValueError as exc:
            raise PeriodError(f"--start/--end: {exc}") from None

    @property
    def label(self) -> str:
        for q in range(1, 5):
            p = Period.quarter(f"{self.start.year}Q{q}")
            if p == self:
                return f"{self.start.year}Q{q}"
        return f"{self.start}_{self.end}"

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"

    def where(self, ts_col: str) -> Column:
        """Timestamp column inside the period (UTC)."""
        c = F.col(ts_col)
        return (c >= F.lit(f"{self.start} 00:00:00").cast("timestamp")) & (
            c < F.lit(f"{self.end} 00:00:00").cast("timestamp"))

    def where_sql(self, ts_col: str) -> str:
        return (f"{ts_col} >= TIMESTAMP '{self.start} 00:00:00' AND "
                f"{ts_col} < TIMESTAMP '{self.end} 00:00:00'")

    def weeks(self) -> list[date]:
        """Mondays of the ISO weeks that lie wholly inside the period."""
        first = self.start + timedelta(days=(7 - self.start.weekday()) % 7)
        out = []
        d = first
        while d + timedelta(days=7) <= self.end:
            out.append(d)
            d += timedelta(days=7)
        return out

    def extend_back(self, days: int) -> "Period":
        return Period(self.start - timedelta(days=days), self.end)
