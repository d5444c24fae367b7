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
