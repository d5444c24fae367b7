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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

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
T = TypeVar("T")


def default_workers() -> int:
    """One worker process per core."""
    return max(1, os.cpu_count() or 1)


@dataclass
class Started:
    """How long the cluster behind a client took to start (0 for an existing scheduler), seconds."""

    seconds: float = 0.0


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a cluster starts, and raise them as KeyboardInterrupt once it has.

    A terminal sends SIGINT to the whole process group, and every worker process would print its own
    traceback; the client stops them itself. So SIGINT is ignored while the cluster starts: the processes
    started meanwhile keep an ignored disposition across ``exec``, and Python then installs no
    KeyboardInterrupt handler in them. It is also blocked in this thread (and so in the threads started
    meanwhile): Linux never discards a blocked signal, so a Ctrl-C pressed during those seconds (tens of
    them on busy CPUs) stays pending and is raised here when the block ends. A SIGTERM meanwhile is
    recorded and raised likewise. The caller's cluster context then closes what was started.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: object) -> None:
        received.append(signum)

    handlers = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN), signal.SIGTERM: signal.signal(signal.SIGTERM, hold)}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C held meanwhile is raised now
    if received:
        raise KeyboardInterrupt(f"signal {received[0]} while the cluster started")


def start_cluster(start: Callable[[], T]) -> T:
    """``start()`` (a cluster's constructor) with interrupts held (see :func:`interrupts_held`); one that
    arrived meanwhile closes the started cluster and is raised."""
    started: list = []
    try:
        with interrupts_held():
            started.append(start())
    except KeyboardInterrupt:
        for cluster in started:
            cluster.close()
        raise
    return started[0]


@contextmanager
def _local_cluster(**settings: object) -> Iterator[LocalCluster]:
    """A started ``LocalCluster`` whose worker processes never see Ctrl-C (see :func:`interrupts_held`)."""
    with start_cluster(lambda: LocalCluster(**settings)) as cluster:
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
