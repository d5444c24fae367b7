"""Training loop of the learned models: seeded, resumable, logged, exporting shipped weights.

Data: real training pairs (stated or refined alignment) for training; the shared validation pairs, never
trained on, for validation (stated alignment, so validation accuracy is a relative figure). What is
trained (network, batches, loss) is the config's ``objective``, see :mod:`sarlign.training.objectives`.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import sarlign
from sarlign.models.checkpoints import sha256
from sarlign.training.data import Augmentation, TrainingPair
from sarlign.training.objectives import OBJECTIVES, Objective


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a training run (read from a JSON file)."""

    objective: str = "learned-dense"
    model: dict[str, Any] = field(default_factory=lambda: {"orientations": 8, "width": 24, "dim": 16, "sar_presmooth": 1.0})
    steps: int = 1500
    batch: int = 8
    crop: int = 128
    points: int = 256
    temperature: float = 0.07
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    loss: dict[str, float] = field(default_factory=dict)  # over the objective's defaults
    augmentation: dict[str, float] = field(default_factory=dict)
    validate_every: int = 250
    seed: int = 0

    @staticmethod
    def from_file(path: Path) -> TrainConfig:
        return TrainConfig(**json.loads(path.read_text()))

    @property
    def task(self) -> Objective:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; known: {', '.join(OBJECTIVES)}")
        return OBJECTIVES[self.objective]

    def settings(self) -> dict[str, Any]:
        """What the objective's loss reads: points, temperature and the loss weights over its defaults."""
        return {"points": self.points, "temperature": self.temperature, "loss": {**self.task.defaults, **self.loss}}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def validate(net: nn.Module, pairs: list[TrainingPair], config: TrainConfig, batches: int = 8) -> dict[str, float]:
    """Loss and the objective's figures on fixed crops of the validation pairs (same crops every time),
    and the objective's own evaluation where it has one (FPR95 and its threshold for the verifier)."""
    rng = np.random.default_rng(12345)
    generator = torch.Generator().manual_seed(12345)
    task, settings = config.task, config.settings()
    totals: dict[str, list[float]] = {}
    net.eval()
    with torch.no_grad():
        for _ in range(batches):
            batch = task.draw(pairs, config.batch, config.crop, rng, Augmentation(**config.augmentation).geometric())
            loss, figures = task.loss(net, batch, settings, generator)
            for name, value in {"loss": loss, **figures}.items():
                totals.setdefault(f"val_{name}", []).append(value.item())
        metrics = {name: float(np.mean(values)) for name, values in totals.items()}
        if task.evaluate is not None:
            metrics.update(task.evaluate(net, pairs))
    net.train()
    return metrics


def train(
    config: TrainConfig,
    train_pairs: list[TrainingPair],
    val_pairs: list[TrainingPair],
    run_dir: Path,
    device: str = "cpu",
    log: Any = print,
) -> dict[str, Any]:
    """Train, checkpointing to ``run_dir/checkpoint.pt`` (resumed from when present); returns the final
    validation figures."""
    seed_everything(config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    task, settings = config.task, config.settings()
    net = task.build(**config.model).to(device)
    optimiser = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.steps)
    rng = np.random.default_rng(config.seed)
    augmentation = Augmentation(**config.augmentation)
    start = 0
    checkpoint = run_dir / "checkpoint.pt"
    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)  # our own file: includes RNG state
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        start = state["step"]
        log(f"resumed at step {start}")
    use_amp = device.startswith("cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    started = time.perf_counter()
    metrics: dict[str, float] = {}
    with (run_dir / "log.jsonl").open("a", buffering=1) as log_file:  # line-buffered: follow it with tail -f
        for step in range(start, config.steps):
            batch = tuple(t.to(device) for t in task.draw(train_pairs, config.batch, config.crop, rng, augmentation))
            with torch.autocast(device_type="cuda", enabled=use_amp):
                loss, figures = task.loss(net, batch, settings, None)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            schedule.step()
            record: dict[str, Any] = {"step": step + 1, "loss": loss.item(), **{k: v.item() for k, v in figures.items()}, "seconds": time.perf_counter() - started}
            if (step + 1) % config.validate_every == 0 or step + 1 == config.steps:
                metrics = validate(net, val_pairs, config)
                record.update(metrics)
                torch.save(
                    {"model": net.state_dict(), "optimiser": optimiser.state_dict(), "schedule": schedule.state_dict(),
                     "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "step": step + 1},
                    checkpoint,
                )
                log(json.dumps(record))
            log_file.write(json.dumps(record) + "\n")
    torch.save(net.state_dict(), run_dir / "weights.pt")
    return metrics or validate(net, val_pairs, config)


def export_weights(run_dir: Path, destination: Path, config: TrainConfig, metadata: dict[str, Any]) -> None:
    """Copy the run's weights to ``destination`` with a metadata file beside it (.json)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    state = torch.load(run_dir / "weights.pt", map_location="cpu", weights_only=True)
    torch.save(state, destination)
    document = {
        "model": config.objective,
        "version": destination.stem,
        "sarlign_version": sarlign.__version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": dataclasses.asdict(config),
        "parameters": sum(v.numel() for v in state.values()),
        "sha256": sha256(destination),
        **metadata,
    }
    destination.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")
