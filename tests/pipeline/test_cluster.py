"""The local cluster: worker processes with one thread each and glibc's adaptive malloc left alone."""

from __future__ import annotations

import os

from sarlign.pipeline.cluster import dask_client


def test_local_workers_are_single_threaded_and_keep_adaptive_malloc():
    with dask_client(workers=1) as client:
        nthreads = client.nthreads()
        trim = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(nthreads.values()) == [1]
    # Dask's default (65536) would make every large tensor a fresh mmap; only a user's own setting stays.
    assert set(trim.values()) == {os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def test_small_jobs_run_on_threads_in_this_process_with_one_torch_thread_per_task():
    import torch

    from sarlign.pipeline.cluster import Started

    started = Started()
    before = torch.get_num_threads()
    with dask_client(workers=2, in_process=True, started=started) as client:
        pids = set(client.run(os.getpid).values())
        nthreads = client.nthreads()
        inside = client.submit(torch.get_num_threads).result()
    assert pids == {os.getpid()} and list(nthreads.values()) == [2]
    assert inside == 1 and torch.get_num_threads() == before  # restored afterwards
    assert 0 < started.seconds < 30


def test_worker_processes_ignore_ctrl_c():
    """A terminal's Ctrl-C reaches every process of its group; the workers leave it to the client."""
    import signal

    # As in a terminal (a test run started in the background ignores SIGINT from the start).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with dask_client(workers=1) as client:
            handlers = client.run(lambda: signal.getsignal(signal.SIGINT))
        assert set(handlers.values()) == {signal.SIG_IGN}
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process's is back
    finally:
        signal.signal(signal.SIGINT, before)
