"""The gate's and the comparison's usage error (exit code 2)."""

from __future__ import annotations

from harness.errors import UsageError


class GateUsageError(UsageError):
    """A usage or configuration problem (exit code 2); the message names the flag or file and field."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
