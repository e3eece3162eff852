"""Hydra's joblib and submitit launchers (the `cluster` extra), as conf/hydra/launcher/ names them,
with one change: when the launcher itself gives up on the sweep because a job's process died
(joblib's TerminatedWorkerError, submitit's UncompletedJobError: kill -9, out of memory, a Slurm
time limit), the command says so in one line and `harness sweep-status` takes over, instead of
Hydra printing the launcher's traceback. Jobs' own errors and stops never get here: a job returns
its exit code (`harness.cli._job`).

Hydra instantiates launchers only from the `hydra_plugins` package, hence this module's place; it
defines nothing when the extra is not installed (Hydra imports every module here at start-up)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import LauncherGaveUp

try:
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher as _Joblib
except ImportError:  # the cluster extra is not installed
    _Joblib = None
try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher as _Local
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _Slurm
except ImportError:
    _Local = _Slurm = None


def _launch(launcher: Any, parent: type, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
    try:
        return parent.launch(launcher, job_overrides, initial_job_idx)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise LauncherGaveUp(f"the launcher gave up on the sweep: {type(exc).__name__}: {first}") from exc


if _Joblib is not None:

    class JoblibLauncher(_Joblib):
        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            return _launch(self, _Joblib, job_overrides, initial_job_idx)


if _Local is not None and _Slurm is not None:

    class LocalLauncher(_Local):
        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            return _launch(self, _Local, job_overrides, initial_job_idx)

    class SlurmLauncher(_Slurm):
        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
            return _launch(self, _Slurm, job_overrides, initial_job_idx)
