"""SLURM and PBS clusters from the example configs in workflows/, checked through the job scripts
dask-jobqueue generates from them (no SLURM or PBS needed: no job is submitted)."""

from pathlib import Path

import pytest

from sarlign.errors import InputError
from sarlign.pipeline.jobqueue import WORKER_PROLOGUE, jobqueue_cluster, read_cluster_config

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def _job_script(kind: str, config_name: str) -> tuple[str, int]:
    config, jobs, _ = read_cluster_config(WORKFLOWS / config_name)
    with jobqueue_cluster(kind, config) as cluster:
        return cluster.job_script(), jobs


def test_the_slurm_example_asks_for_its_account_partition_time_and_single_threaded_workers():
    script, jobs = _job_script("slurm", "cluster-slurm.yaml")
    assert jobs == 4
    for directive in ("#SBATCH -A my-project", "#SBATCH -p normal", "#SBATCH -t 02:00:00", "#SBATCH --cpus-per-task=8"):
        assert directive in script
    assert "source \"$HOME/sarlign/.venv/bin/activate\"" in script
    assert "--nworkers 8" in script and "--nthreads 1" in script
    assert "--resources" not in script
    assert WORKER_PROLOGUE in script  # glibc's own malloc trimming in every worker job, as in local workers


def test_the_worker_environment_dask_reads_keeps_its_defaults_and_unsets_only_malloc_trimming():
    import copy

    import dask.config

    name, value = WORKER_PROLOGUE.removeprefix("export ").split("=", 1)
    from_environment = dask.config.collect(paths=[], env={name: value.strip('"')})
    merged = dask.config.update(dask.config.merge(*copy.deepcopy(dask.config.defaults)), from_environment)
    environ = merged["distributed"]["nanny"]["pre-spawn-environ"]
    assert environ["MALLOC_TRIM_THRESHOLD_"] is None
    assert environ["OMP_NUM_THREADS"] == 1


def test_the_slurm_gpu_example_starts_workers_that_offer_a_gpu():
    script, _ = _job_script("slurm", "cluster-slurm-gpu.yaml")
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH -p gpu" in script
    assert "--resources GPU=1" in script and "--nthreads 4" in script


def test_the_pbs_example_asks_for_its_queue_and_account():
    script, jobs = _job_script("pbs", "cluster-pbs.yaml")
    assert jobs == 4
    assert "#PBS -q workq" in script and "#PBS -A my-project" in script and "#PBS -l walltime=02:00:00" in script


@pytest.mark.parametrize(
    "text, problem",
    [("- a\n- b\n", "must be a YAML mapping"), ("jobs: 0\ncores: 1\nmemory: 1GiB\n", "'jobs' must be"), ("cores: [1\n", "cannot be read"),
     ("start_timeout: -5\n", "'start_timeout' must be")],
)
def test_a_bad_cluster_config_is_refused_with_its_problem(tmp_path, text, problem):
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        read_cluster_config(path)
