"""Typed errors: library code raises them; only `harness.cli` turns them into exit codes and one
message (no traceback unless HYDRA_FULL_ERROR=1 or --debug).

Exit codes: 0 done, 1 a clean stop the user asked for (budget, failure limit) or a gate
regression, 2 a usage/config/data error or a replay miss, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error a user can cause; the message names the file, field or flag."""

    exit_code = 2


class UsageError(HarnessError):
    """A bad flag, override or config value."""


class DataError(HarnessError):
    """A dataset, results file or calibration set that cannot be used as it is."""


class RunStopped(HarnessError):
    """The run stopped before every item was done; finished rows are kept for the resume."""

    status = "stopped"

    def __init__(self, reason: str, *, status: str | None = None, exit_code: int | None = None):
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status
        if exit_code is not None:
            self.exit_code = exit_code


class BudgetStop(RunStopped):
    """budget_usd would be exceeded by the next call."""

    exit_code = 1


class FailureLimitStop(RunStopped):
    """max_failures was exceeded."""

    exit_code = 1


class ReplayMiss(RunStopped):
    """cache.mode=replay and a request has no recorded response (generation or judge)."""

    status = "failed"
    exit_code = 2


class NothingScored(RunStopped):
    """Every item failed: there is no number to report."""

    status = "failed"
    exit_code = 1


class Interrupted(HarnessError):
    """Ctrl-C / SIGTERM: finished rows are kept; re-running the same command continues."""

    exit_code = 130


class SweepRejected(BaseException):  # noqa: N818 (a carrier, not an error of its own)
    """Carries a HarnessError out of a Hydra callback (which turns any Exception into a warning)."""

    def __init__(self, error: HarnessError):
        super().__init__(str(error))
        self.error = error


class StorageError(HarnessError):
    """A results or cache file cannot be written (read-only, no permission, disk full)."""


def storage_error(exc: OSError) -> StorageError | None:
    """The user-fixable disk faults as a StorageError naming the path; None for any other OSError."""
    import errno

    if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT):
        return None
    where = exc.filename or "a results file"
    hint = "free disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "make it writable"
    return StorageError(
        f"cannot write {where}: {exc.strerror}; {hint}, or pass results_dir= / cache.path= elsewhere. "
        "Finished rows already on disk are kept; the same command continues the run"
    )


class LauncherGaveUp(BaseException):  # noqa: N818 (a carrier, like SweepRejected)
    """A launcher stopped waiting for the sweep's jobs (a job's process was killed): carried past
    Hydra's own error printing (which catches Exception) to the CLI, which says it in one line."""
