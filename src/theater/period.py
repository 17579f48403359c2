"""Reporting periods: start inclusive, end exclusive, UTC dates (like an Airflow data interval).

One :class:`Period` serves every engine and library; no period predicate is written by hand
anywhere else:

- Spark: :meth:`Period.ts_col` (timestamp column), :meth:`Period.date_col` (date column),
  :meth:`Period.matches_col` (a row whose ``period_start``/``period_end`` equal this period).
- SQL text (Delta ``replaceWhere``, ``MERGE`` conditions): :meth:`Period.ts_sql`,
  :meth:`Period.date_sql`, :meth:`Period.matches_sql`.
- pyarrow datasets / pandas (the Spark-free report): :meth:`Period.arrow_matches`,
  :meth:`Period.pandas_mask`.

PySpark and pyarrow are imported inside the methods that need them, so the report and the
Airflow DAGs can use periods without a Spark installation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow.dataset as ds
    from pyspark.sql import Column

_QUARTER = re.compile(r"^(\d{4})[-_ ]?Q([1-4])$", re.IGNORECASE)
MIN_YEAR, MAX_YEAR = 1990, 2200  # plausible reporting years; outside is a usage error


class PeriodError(ValueError):
    pass


def _sql_ident(col: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", col):
        raise PeriodError(f"not a column name: {col!r}")
    return col


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __post_init__(self):
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, date) or isinstance(value, datetime):
                raise PeriodError(f"period {name} must be a date, got {value!r}")
        if self.end <= self.start:
            raise PeriodError(f"period end {self.end} must be after start {self.start}")
        if not (MIN_YEAR <= self.start.year and self.end.year <= MAX_YEAR):
            raise PeriodError(f"period {self} is outside the plausible years {MIN_YEAR}-{MAX_YEAR}")

    # ------------------------------------------------------------ construction
    @classmethod
    def quarter(cls, text: str) -> Period:
        m = _QUARTER.match(text.strip())
        if not m:
            raise PeriodError(f"--quarter: expected YYYYQn such as 2026Q3, got {text!r}")
        year, q = int(m.group(1)), int(m.group(2))
        if not MIN_YEAR <= year < MAX_YEAR:
            raise PeriodError(f"--quarter {text}: year outside {MIN_YEAR}-{MAX_YEAR - 1}")
        start = date(year, 3 * q - 2, 1)
        end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
        return cls(start, end)

    @classmethod
    def parse(
        cls, *, quarter: str | None = None, start: str | None = None, end: str | None = None
    ) -> Period:
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

    # ------------------------------------------------------------ names and neighbours
    @property
    def quarter_label(self) -> str | None:
        """``2026Q3`` when the period is exactly a calendar quarter, else None."""
        s = self.start
        if s.day != 1 or (s.month - 1) % 3:
            return None
        q = (s.month - 1) // 3 + 1
        return f"{s.year}Q{q}" if Period.quarter(f"{s.year}Q{q}") == self else None

    @property
    def label(self) -> str:
        return self.quarter_label or f"{self.start}_{self.end}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The previous quarter for a quarter; otherwise the same length just before."""
        if self.quarter_label:
            q_start = self.start
            prev_end = q_start
            prev_start_month = q_start.month - 3
            prev_start = (
                date(q_start.year - 1, prev_start_month + 12, 1)
                if prev_start_month < 1
                else date(q_start.year, prev_start_month, 1)
            )
            return Period(prev_start, prev_end)
        return Period(self.start - (self.end - self.start), self.start)

    def extend_back(self, days: int) -> Period:
        return Period(self.start - timedelta(days=days), self.end)

    def weeks(self) -> list[date]:
        """Mondays of the ISO weeks that lie wholly inside the period."""
        first = self.start + timedelta(days=(7 - self.start.weekday()) % 7)
        out = []
        d = first
        while d + timedelta(days=7) <= self.end:
            out.append(d)
            d += timedelta(days=7)
        return out

    def contains_date(self, d: date) -> bool:
        return self.start <= d < self.end

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"

    # ------------------------------------------------------------ Spark predicates
    @property
    def start_ts(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time())

    @property
    def end_ts(self) -> datetime:
        return datetime.combine(self.end, datetime.min.time())

    def ts_col(self, col: str | Column) -> Column:
        """A UTC timestamp column inside the period."""
        from pyspark.sql import functions as F

        c = F.col(col) if isinstance(col, str) else col
        return (c >= F.lit(f"{self.start} 00:00:00").cast("timestamp")) & (
            c < F.lit(f"{self.end} 00:00:00").cast("timestamp")
        )

    def date_col(self, col: str | Column) -> Column:
        """A date column inside the period."""
        from pyspark.sql import functions as F

        c = F.col(col) if isinstance(col, str) else col
        return (c >= F.lit(self.start)) & (c < F.lit(self.end))

    def matches_col(self, start_col: str = "period_start", end_col: str = "period_end") -> Column:
        """Rows published for exactly this period (``period_start``/``period_end`` columns)."""
        from pyspark.sql import functions as F

        return (F.col(start_col) == F.lit(self.start)) & (F.col(end_col) == F.lit(self.end))

    # ------------------------------------------------------------ SQL predicates
    def ts_sql(self, col: str) -> str:
        col = _sql_ident(col)
        return (
            f"{col} >= TIMESTAMP '{self.start} 00:00:00' AND "
            f"{col} < TIMESTAMP '{self.end} 00:00:00'"
        )

    def date_sql(self, col: str) -> str:
        col = _sql_ident(col)
        return f"{col} >= DATE '{self.start}' AND {col} < DATE '{self.end}'"

    def matches_sql(self, start_col: str = "period_start", end_col: str = "period_end") -> str:
        return (
            f"{_sql_ident(start_col)} = DATE '{self.start}' AND "
            f"{_sql_ident(end_col)} = DATE '{self.end}'"
        )

    # ------------------------------------------------------------ pyarrow / pandas
    def arrow_matches(
        self, start_col: str = "period_start", end_col: str = "period_end"
    ) -> ds.Expression:
        import pyarrow as pa
        import pyarrow.dataset as ds

        return (ds.field(start_col) == pa.scalar(self.start, pa.date32())) & (
            ds.field(end_col) == pa.scalar(self.end, pa.date32())
        )

    def arrow_date(self, col: str) -> ds.Expression:
        import pyarrow as pa
        import pyarrow.dataset as ds

        return (ds.field(col) >= pa.scalar(self.start, pa.date32())) & (
            ds.field(col) < pa.scalar(self.end, pa.date32())
        )

    def pandas_mask(self, values: pd.Series) -> pd.Series:
        """Boolean mask of a pandas Series of dates or (naive UTC / aware) timestamps."""
        import pandas as pd

        s = values
        if pd.api.types.is_datetime64_any_dtype(s):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            return (s >= pd.Timestamp(self.start)) & (s < pd.Timestamp(self.end))
        return s.map(
            lambda d: d is not None and d == d and self.start <= _as_date(d) < self.end
        ).astype(bool)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value
