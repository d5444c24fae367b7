"""Where tiles run: a local Dask cluster by default, or an existing scheduler by address.

A local cluster is either one worker process per core (scenes of many tiles) or, for small jobs, a few
threads in this process: starting worker processes costs seconds (each imports torch and GDAL anew),
more than matching a handful of tiles takes. Both run the same tasks, so the results are the same.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dask
from distributed import Client, LocalCluster

# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 so they hand freed memory back to the OS at
# once. That fixes glibc's thresholds: every large tensor is then a fresh mmap whose pages fault in
# anew, which made the matchers about twice as slow per tile (profiled: 0.72 s against 0.33 s). Matching
# frees and reallocates the same few large buffers tile after tile, so glibc's own adaptive behaviour
# is the right one; peak memory per worker stays far below its limit (BENCHMARKS.md).
WORKER_ENVIRONMENT = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
# Jobs of at most this many tiles run on threads in this process: at full density about 20 s of matching
# on one core at most, where starting worker processes (each importing torch and GDAL) costs several
# seconds before the first tile (BENCHMARKS.md, "Start-up").
IN_PROCESS_MAX_TILES = 16


def default_workers() -> int:
    """One worker process per core."""
    return max(1, os.cpu_count() or 1)


@dataclass
class Started:
    """How long the cluster behind a client took to start (0 for an existing scheduler), seconds."""

    seconds: float = 0.0


@contextmanager
def _local_cluster(**settings: object) -> Iterator[LocalCluster]:
    """A started ``LocalCluster`` whose worker processes never see Ctrl-C.

    A terminal sends SIGINT to the whole process group, and every worker would print its own traceback;
    the client stops them itself. So SIGINT is ignored while the cluster starts: child processes keep an
    ignored disposition across ``exec``, and Python then installs no KeyboardInterrupt handler in them.
    (This process ignores a Ctrl-C pressed during those seconds too; one pressed once the workers are up
    stops it.)
    """
    if threading.current_thread() is not threading.main_thread():
        with LocalCluster(**settings) as cluster:
            yield cluster
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(**settings)
    finally:
        signal.signal(signal.SIGINT, handler)
    with cluster:
        yield cluster


@contextmanager
def dask_client(
    scheduler: str | None = None,
    workers: int | None = None,
    quiet: bool = True,
    in_process: bool = False,
    started: Started | None = None,
) -> Iterator[Client]:
    """A connected client: to ``scheduler`` if given, else to a new ``LocalCluster``.

    The local cluster has ``workers`` single-threaded worker processes (default: one per core), so torch
    and GDAL in each worker use one core each and the machine is not oversubscribed; with ``in_process``,
    one worker in this process with ``workers`` threads instead (for small jobs; no dashboard). The
    start-up time is recorded in ``started``.
    """
    clock = time.perf_counter()
    if scheduler:
        with Client(scheduler) as client:
            if started is not None:
                started.seconds = time.perf_counter() - clock
            yield client
        return
    # Quiet: a task's failure reaches the client as its exception (and from there the user, in one line);
    # the worker's own "Compute Failed" log of it would only repeat it as a traceback.
    level = logging.CRITICAL if quiet else logging.WARNING
    count = workers or default_workers()
    layout = (
        # No dashboard, and the scheduler's small HTTP server on any free port (its default, 8787, may be taken).
        dict(n_workers=1, threads_per_worker=count, processes=False, scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
        if in_process
        else dict(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0")  # any free port
    )
    with dask.config.set(WORKER_ENVIRONMENT), _local_cluster(silence_logs=level, **layout) as cluster, Client(
        cluster
    ) as client, _one_torch_thread_per_task(in_process):
        if started is not None:
            started.seconds = time.perf_counter() - clock
        yield client


@contextmanager
def _one_torch_thread_per_task(active: bool) -> Iterator[None]:
    """While ``active``: torch runs each operation on the calling thread alone, so that in-process worker
    threads, one task each, use one core each instead of every one of them spreading over all cores."""
    if not active:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
