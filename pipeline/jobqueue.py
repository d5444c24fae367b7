"""Dask clusters on SLURM or PBS through dask-jobqueue, configured by a YAML file a team keeps with its batch.

The YAML holds dask-jobqueue's own keyword arguments for ``SLURMCluster`` / ``PBSCluster`` (``cores``,
``memory``, ``processes``, ``queue``, ``account``, ``walltime``, ``worker_extra_args``, ...) plus one
key of ours, ``jobs``: how many batch jobs of workers to start. GPU workers are jobs whose workers are
started with ``worker_extra_args: [--resources, GPU=1]``; matching tasks then go to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from distributed import Client

from sarlign.errors import InputError

CLUSTER_KINDS = ("slurm", "pbs")


def read_cluster_config(path: Path) -> tuple[dict, int]:
    """(dask-jobqueue keyword arguments, number of jobs) from a YAML cluster config.

    Raises:
        InputError: unreadable YAML, not a mapping, or a bad ``jobs`` value.
    """
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise InputError(str(path), f"cannot be read as a YAML cluster config ({error})") from error
    if not isinstance(config, dict):
        raise InputError(str(path), "must be a YAML mapping of dask-jobqueue settings")
    jobs = config.pop("jobs", 1)
    if not isinstance(jobs, int) or jobs < 1:
        raise InputError(str(path), f"'jobs' must be a positive whole number, not {jobs!r}")
    return config, jobs


def jobqueue_cluster(kind: str, config: dict):
    """A dask-jobqueue cluster of ``kind`` ('slurm' or 'pbs'), not yet scaled (no job submitted)."""
    from dask_jobqueue import PBSCluster, SLURMCluster

    cluster_class = {"slurm": SLURMCluster, "pbs": PBSCluster}[kind]
    return cluster_class(**config)


@contextmanager
def jobqueue_client(kind: str, config_path: Path) -> Iterator[Client]:
    """A client to a new SLURM or PBS cluster with the config's ``jobs`` submitted; the jobs end with it."""
    config, jobs = read_cluster_config(config_path)
    try:
        cluster = jobqueue_cluster(kind, config)
    except (TypeError, ValueError) as error:
        raise InputError(str(config_path), f"is not a valid {kind} cluster config ({error})") from error
    with cluster, Client(cluster) as client:
        cluster.scale(jobs=jobs)
        yield client
