"""Dask clusters on SLURM or PBS through dask-jobqueue, configured by a YAML file a team keeps with its batch.

The YAML holds dask-jobqueue's own keyword arguments for ``SLURMCluster`` / ``PBSCluster`` (``cores``,
``memory``, ``processes``, ``queue``, ``account``, ``walltime``, ``worker_extra_args``, ...) plus two keys
of ours: ``jobs``, how many batch jobs of workers to keep running, and ``start_timeout``, how long to wait
for the first worker. GPU workers are jobs whose workers are started with
``worker_extra_args: [--resources, GPU=1]``; matching tasks then go to them.

The cluster is adaptive with exactly ``jobs`` jobs, so a job that ends (cancelled, past its walltime, its
node lost) is replaced by a new one, and the batch says so. A job the scheduler refuses (a partition it
lacks, resources no node has) is found before any is submitted (``sbatch --test-only``), and workers
that never arrive end the batch with what the scheduler says of their jobs.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from sarlign.errors import InputError, OptionError, SarlignError

CLUSTER_KINDS = ("slurm", "pbs")
DEFAULT_START_TIMEOUT_S = 300.0
POLL_S = 1.0
# Every worker job gets these before its worker starts (dask-jobqueue's job_script_prologue): the nanny's
# environment for its worker, as the local cluster has it (see sarlign.pipeline.cluster.WORKER_ENVIRONMENT).
# Dask reads the variable as a Python literal and merges it into its defaults (one thread each for OpenMP,
# MKL and OpenBLAS), so only glibc's trimming threshold changes: unset, matching is twice as fast.
WORKER_PROLOGUE = "export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON=\"{'MALLOC_TRIM_THRESHOLD_': None}\""
log = logging.getLogger("sarlign.pipeline.batch")  # into the batch's log


class ClusterError(SarlignError):
    """The cluster's workers could not be had: no worker joined in time. The message says what the job
    scheduler says of the jobs."""


def read_cluster_config(path: Path) -> tuple[dict, int, float]:
    """(dask-jobqueue keyword arguments, number of jobs, start timeout in seconds) from a YAML cluster config.

    Raises:
        InputError: unreadable YAML, not a mapping, or a bad ``jobs`` or ``start_timeout`` value.
    """
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise InputError(str(path), f"cannot be read as a YAML cluster config ({error})") from error
    if not isinstance(config, dict):
        raise InputError(str(path), "must be a YAML mapping of dask-jobqueue settings")
    jobs = config.pop("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InputError(str(path), f"'jobs' must be a positive whole number, not {jobs!r}")
    timeout = config.pop("start_timeout", DEFAULT_START_TIMEOUT_S)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise InputError(str(path), f"'start_timeout' must be a positive number of seconds, not {timeout!r}")
    return config, jobs, float(timeout)


def check_cluster_options(cluster: str, config: Path | None, scheduler: str | None, workers: int | None) -> None:
    """``--cluster`` and what goes with it, before anything starts.

    Raises:
        OptionError: an unknown kind, a missing config, or local-cluster options with a job queue.
        InputError: a config that cannot be read.
    """
    if cluster == "local":
        if config is not None:
            raise OptionError("--cluster-config", "only with --cluster slurm or pbs")
        return
    if cluster not in CLUSTER_KINDS:
        raise OptionError("--cluster", f"must be local, {' or '.join(CLUSTER_KINDS)}, got {cluster!r}")
    if config is None:
        raise OptionError("--cluster-config", f"--cluster {cluster} needs a YAML of dask-jobqueue settings (see workflows/)")
    for flag, value in (("--scheduler", scheduler), ("--workers", workers)):
        if value is not None:
            raise OptionError(flag, f"applies to a local cluster; with --cluster {cluster} the config says how many jobs")
    read_cluster_config(config)


def _with_worker_environment(config: dict) -> dict:
    """The config with :data:`WORKER_PROLOGUE` first in its job script prologue."""
    prologue = list(config.get("job_script_prologue") or [])
    return {**config, "job_script_prologue": [WORKER_PROLOGUE, *prologue]}


def jobqueue_cluster(kind: str, config: dict):
    """A dask-jobqueue cluster of ``kind`` ('slurm' or 'pbs'), not yet scaled (no job submitted)."""
    from dask_jobqueue import PBSCluster, SLURMCluster

    cluster_class = {"slurm": SLURMCluster, "pbs": PBSCluster}[kind]
    return cluster_class(**_with_worker_environment(config))


def _run(command: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, input=script, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(command, 1, "", str(error))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def check_submission(kind: str, cluster, config_path: Path) -> None:
    """Ask SLURM whether it would take the worker job, without submitting it (``sbatch --test-only``);
    PBS has no such test, and its refusals show as workers that do not arrive.

    Raises:
        InputError: naming the config, with sbatch's words.
    """
    if kind != "slurm":
        return
    tested = _run(["sbatch", "--test-only"], cluster.job_script())
    if tested.returncode:
        raise InputError(str(config_path), f"SLURM refuses its worker job: {_one_line(tested.stderr or tested.stdout)}")


def _job_states(kind: str, job_ids: list[str]) -> str:
    """What the job scheduler says of the jobs: ``12 PENDING (Resources)`` per job (SLURM), or qstat's lines."""
    if not job_ids:
        return "no job was submitted"
    if kind == "slurm":
        shown = _run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T (%r)"])
    else:
        shown = _run(["qstat", *job_ids])
    text = _one_line(shown.stdout) or _one_line(shown.stderr)
    return text or "the jobs have ended"


def _job_ids(cluster) -> list[str]:
    return [str(job.job_id) for job in cluster.workers.values() if getattr(job, "job_id", None)]


def wait_for_workers(client, cluster, kind: str, timeout_s: float) -> None:
    """Wait until a first worker joins (the batch starts with it; the others join as their jobs start).

    Raises:
        ClusterError: none joined within ``timeout_s``; says what the scheduler says of the jobs.
    """
    deadline = time.monotonic() + timeout_s
    while not client.scheduler_info(n_workers=-1)["workers"]:
        if time.monotonic() > deadline:
            raise ClusterError(f"no worker joined within {timeout_s:g} s (start_timeout): {kind} says "
                               f"{_job_states(kind, _job_ids(cluster))}")
        time.sleep(POLL_S)


def _worker_watch(say: Callable[[str], None]):
    """A scheduler plugin telling ``say`` and the batch's log when a worker is lost and when its
    replacement joins; silent once its ``closing`` is set (the batch ending its own jobs)."""
    from distributed.diagnostics.plugin import SchedulerPlugin

    class WorkerWatch(SchedulerPlugin):
        name = "sarlign-worker-watch"

        def __init__(self) -> None:
            self.lost = 0
            self.closing = False

        def remove_worker(self, scheduler, worker: str, **kwargs) -> None:
            if not self.closing:
                self.lost += 1
                _tell(f"worker {worker} lost (its job ended); a new worker job replaces it")

        def add_worker(self, scheduler, worker: str) -> None:
            if self.lost and not self.closing:
                self.lost -= 1
                _tell(f"workers replaced: {len(scheduler.workers)} running")

    def _tell(message: str) -> None:
        log.warning(message)
        say(message)

    return WorkerWatch()


@contextmanager
def jobqueue_client(kind: str, config_path: Path, say: Callable[[str], None] = print) -> Iterator:
    """A client to a new SLURM or PBS cluster keeping the config's ``jobs`` running, once a first worker
    has joined; the jobs end with it. Lost workers' jobs are replaced, each loss and replacement told to
    ``say`` and the batch's log.

    Raises:
        InputError: the config is not a valid cluster config, or SLURM refuses its job.
        ClusterError: no worker joined within the config's ``start_timeout``.
    """
    from distributed import Client

    from sarlign.pipeline.cluster import start_cluster

    config, jobs, timeout = read_cluster_config(config_path)
    try:
        cluster = start_cluster(lambda: jobqueue_cluster(kind, config))
    except (TypeError, ValueError) as error:
        raise InputError(str(config_path), f"is not a valid {kind} cluster config ({error})") from error
    watch = _worker_watch(say)
    with cluster:
        check_submission(kind, cluster, config_path)
        with Client(cluster) as client:
            cluster.scheduler.add_plugin(watch)
            cluster.adapt(minimum_jobs=jobs, maximum_jobs=jobs)
            try:
                wait_for_workers(client, cluster, kind, timeout)
                yield client
            finally:
                watch.closing = True
