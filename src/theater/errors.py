"""Errors the command line maps to exit codes."""


class DataQualityError(RuntimeError):
    """A critical data-quality expectation failed: nothing was written (exit code 3)."""


class UsageError(ValueError):
    """A usage, configuration or path error the operator must fix (exit code 2)."""


class LakeBusyError(RuntimeError):
    """Another live run holds the lake's writer lock (exit code 1: retry later)."""
