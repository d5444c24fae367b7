"""Tile matching on the cluster: GPU workers get the matching in batches, reading runs anywhere, results agree."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from distributed import Client, Scheduler, SpecCluster, Worker, get_task_stream

from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.plan import plan_pair
from sarlign.pipeline.register import GPU_BATCH, has_gpu_workers, match_tiles

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _cluster(**workers: dict) -> SpecCluster:
    """In-process workers: name → Worker options."""
    spec = {name: {"cls": Worker, "options": {"nthreads": 1, **options}} for name, options in workers.items()}
    return SpecCluster(workers=spec, scheduler={"cls": Scheduler, "options": {"dashboard_address": ":0"}}, asynchronous=False)


@pytest.fixture(scope="module")
def plan_and_options():
    options = RegisterOptions(tile_size=256, device="cpu")  # 9 tiles of the real demo pair
    return plan_pair(str(SAMPLE / "s2_reference.tif"), str(SAMPLE / "s1_offset.tif"), options), options


def _matches(results) -> np.ndarray:
    return np.concatenate([np.column_stack([r.matches.reference_xy, r.matches.sar_xy]) for r in results])


def test_matching_goes_to_gpu_workers_and_agrees_with_the_cpu_only_path(plan_and_options):
    plan, options = plan_and_options
    with _cluster(gpu={"resources": {"GPU": 1}}, cpu={}) as cluster, Client(cluster) as client:
        assert has_gpu_workers(client)
        gpu_address = next(a for a, w in client.scheduler_info()["workers"].items() if w.get("resources", {}).get("GPU"))
        with get_task_stream(client) as stream:
            mixed = match_tiles(client, plan, options)
    ran_on: dict[str, list[str]] = {}
    for record in stream.data:
        ran_on.setdefault(record["key"].split("-")[0], []).append(record["worker"])
    assert ran_on["match_read_tiles"] == [gpu_address] * math.ceil(len(plan.recipes) / GPU_BATCH)  # batches of tiles
    assert len(ran_on["read_tile"]) == len(plan.recipes)
    with _cluster(cpu={}) as cluster, Client(cluster) as client:
        assert not has_gpu_workers(client)
        cpu_only = match_tiles(client, plan, options)
    assert [r.tile_id for r in mixed] == [r.tile_id for r in cpu_only] == [r.tile_id for r in plan.recipes]
    assert len(_matches(mixed)) > 50  # real tie points, the same ones on either path
    np.testing.assert_allclose(_matches(mixed), _matches(cpu_only))
