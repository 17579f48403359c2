"""Errors the command line maps to exit codes."""


class DataQualityError(RuntimeError):
    """A critical data-quality expectation failed: nothing was written (exit code 3)."""
