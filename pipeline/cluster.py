"""Where tiles run: a local Dask cluster by default, or an existing scheduler by address."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster

# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 so they hand freed memory back to the OS at
# once. That fixes glibc's thresholds: every large tensor is then a fresh mmap whose pages fault in
# anew, which made the matchers about twice as slow per tile (profiled: 0.72 s against 0.33 s). Matching
# frees and reallocates the same few large buffers tile after tile, so glibc's own adaptive behaviour
# is the right one; peak memory per worker stays far below its limit (BENCHMARKS.md).
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def default_workers() -> int:
    """One worker process per core."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, quiet: bool = True) -> Iterator[Client]:
    """A connected client: to ``scheduler`` if given, else to a new ``LocalCluster``.

    The local cluster has ``workers`` single-threaded worker processes (default: one per core), so torch
    and GDAL in each worker use one core each and the machine is not oversubscribed.
    """
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    level = logging.ERROR if quiet else logging.WARNING
    with dask.config.set(WORKER_ENVIRONMENT), LocalCluster(
        n_workers=workers or default_workers(),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: several clusters may run on one machine
        silence_logs=level,
    ) as cluster, Client(cluster) as client:
        yield client
