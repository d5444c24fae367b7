"""Shipped weights: a ``.pt`` state dict with a ``.json`` metadata file beside it (config, data, metrics,
sha256), loaded with ``torch.load(weights_only=True)`` after the checksum is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).parent / "weights"
Net = TypeVar("Net", bound=nn.Module)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_weights(path: Path, build: Callable[..., Net]) -> tuple[Net, dict[str, Any]]:
    """The network ``build(**metadata["config"]["model"])`` with the weights at ``path``, in eval mode,
    and the metadata.

    Raises:
        FileNotFoundError: no weights or metadata at ``path``.
        ValueError: the file's sha256 differs from the one its metadata records.
    """
    metadata = json.loads(path.with_suffix(".json").read_text())
    if sha256(path) != metadata["sha256"]:
        raise ValueError(f"{path}: sha256 does not match its metadata; the weights file is corrupt or replaced")
    net = build(**metadata["config"]["model"])
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval(), metadata


@lru_cache(maxsize=8)
def loaded_once(path: str, build: Callable[..., Net], device: str) -> tuple[Net, dict[str, Any]]:
    """:func:`load_weights` moved to ``device``, once per process for each (path, network, device): every
    matcher or verifier of a worker shares that one copy."""
    net, metadata = load_weights(Path(path), build)
    return net.to(device), metadata
