"""What each learned model is trained to do: its network, its batches and its loss.

An objective turns a batch of crops with known correspondence (:func:`sarlign.training.data.sample_batch`)
into a loss and a few figures to log; :mod:`sarlign.training.train` runs any of them. Loss weights come
from the config's ``loss`` mapping, over the defaults below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sarlign.models.dense_matching import DenseTemplateMatcher
from sarlign.models.learned_cfog import ResidualCfogNet
from sarlign.models.learned_dense import DescriptorNet
from sarlign.models.learned_keypoint import KeypointNet
from sarlign.models.patch_verifier import PatchVerifierNet
from sarlign.models.template_matching import ncc_surfaces
from sarlign.training.data import Augmentation, TrainingPair, draw_patch_pairs, sample_batch, sample_views
from sarlign.training.losses import infonce, local_window_loss, random_points, sample_descriptors, warp_points
from sarlign.training.surface_losses import peak_error, relative_peak_error, surface_cross_entropy
from sarlign.training.verifier_metrics import patch_fpr95

Batch = tuple[torch.Tensor, ...]
Figures = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Objective:
    """A trainable model: how to build it, draw a batch and score it.

    ``loss(net, batch, settings, generator)`` returns the loss to minimise and named figures (scalars);
    ``settings`` holds the config's ``points``, ``temperature`` and ``loss`` weights. ``evaluate(net,
    pairs)``, where given, adds validation figures that are not a mean over batches (e.g. FPR95).
    """

    name: str
    build: Callable[..., nn.Module]
    draw: Callable[[list[TrainingPair], int, int, np.random.Generator, Augmentation], Batch]
    loss: Callable[[nn.Module, Batch, dict[str, Any], torch.Generator | None], tuple[torch.Tensor, Figures]]
    defaults: dict[str, float]
    evaluate: Callable[[nn.Module, list[TrainingPair]], dict[str, float]] | None = None


def _correspondences(optical_maps: torch.Tensor, warps: torch.Tensor, settings: dict[str, Any], generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    p = random_points(optical_maps.shape[0], settings["points"], optical_maps.shape[-1], 16, optical_maps.device, generator)
    return p, warp_points(warps, p)


def _dense_loss(net: nn.Module, batch: Batch, settings: dict[str, Any], generator: torch.Generator | None) -> tuple[torch.Tensor, Figures]:
    optical, sar, warps = batch
    d_opt, d_sar = net(optical, "optical"), net(sar, "sar")
    p, q = _correspondences(d_opt, warps, settings, generator)
    weights = settings["loss"]
    points_opt = sample_descriptors(d_opt, p)
    loss, top1 = infonce(points_opt, sample_descriptors(d_sar, q), p, settings["temperature"], weights["exclusion_px"])
    figures = {"top1": top1}
    if weights["local"] > 0:
        local, probability = local_window_loss(points_opt, d_sar, q, int(weights["radius"]), settings["temperature"], weights["tolerance_px"])
        loss = loss + weights["local"] * local
        figures["local_p"] = probability.mean()
    return loss, figures


def _cosine_patches(a: torch.Tensor, b: torch.Tensor, size: int) -> torch.Tensor:
    """Mean cosine similarity of (B, 1, H, W) maps over size × size patches (stride size / 2), R2D2's cosim."""
    pa = F.normalize(F.unfold(a, size, stride=size // 2), dim=1)
    pb = F.normalize(F.unfold(b, size, stride=size // 2), dim=1)
    return (pa * pb).sum(dim=1).mean()


def _peakiness(score: torch.Tensor, size: int) -> torch.Tensor:
    """R2D2's peaky term: mean (local max − local mean) of a (B, 1, H, W) map over size-wide windows."""
    return (F.max_pool2d(score, size + 1, stride=1, padding=size // 2) - F.avg_pool2d(score, size + 1, stride=1, padding=size // 2)).mean()


def _to_optical_frame(sar_map: torch.Tensor, warps: torch.Tensor) -> torch.Tensor:
    """(B, C, S, S) SAR-crop map resampled onto the optical crop's pixels (bilinear)."""
    s = sar_map.shape[-1]
    centres = torch.arange(s, dtype=torch.float32, device=sar_map.device) + 0.5
    yy, xx = torch.meshgrid(centres, centres, indexing="ij")
    q = warp_points(warps, torch.stack([xx.ravel(), yy.ravel()], dim=1).expand(len(warps), -1, -1))
    return sample_descriptors(sar_map, q).transpose(1, 2).reshape(sar_map.shape)


def _keypoint_loss(net: nn.Module, batch: Batch, settings: dict[str, Any], generator: torch.Generator | None) -> tuple[torch.Tensor, Figures]:
    """R2D2's objective across modalities: descriptor InfoNCE plus local peak sharpening; reliability
    learns where the local match is confident (its AP-style loss with threshold ``kappa``); repeatability
    learns to fire at the same places in both images (patch cosine similarity) and to be peaky."""
    optical, sar, warps = batch
    weights = settings["loss"]
    maps_opt, maps_sar = net(optical, "optical"), net(sar, "sar")
    p, q = _correspondences(maps_opt.descriptors, warps, settings, generator)
    points_opt = sample_descriptors(maps_opt.descriptors, p)
    descriptor, top1 = infonce(points_opt, sample_descriptors(maps_sar.descriptors, q), p, settings["temperature"], weights["exclusion_px"])
    local, probability = local_window_loss(points_opt, maps_sar.descriptors, q, int(weights["radius"]), settings["temperature"], weights["tolerance_px"])
    confidence = probability.detach()
    kappa = weights["kappa"]
    reliability = sum(
        (1 - (confidence * r + kappa * (1 - r))).mean()
        for r in (sample_descriptors(maps_opt.reliability, p)[..., 0], sample_descriptors(maps_sar.reliability, q)[..., 0])
    )
    size = int(weights["patch"])
    repeat_sar = _to_optical_frame(maps_sar.repeatability, warps)
    cosim = 1 - _cosine_patches(maps_opt.repeatability, repeat_sar, size)
    peaky = 1 - 0.5 * (_peakiness(maps_opt.repeatability, size) + _peakiness(maps_sar.repeatability, size))
    loss = descriptor + weights["local"] * local + weights["reliability"] * reliability + weights["repeatability"] * (cosim + 0.5 * peaky)
    return loss, {"top1": top1, "local_p": probability.mean(), "cosim": 1 - cosim}


def _verifier_loss(net: nn.Module, batch: Batch, settings: dict[str, Any], generator: torch.Generator | None) -> tuple[torch.Tensor, Figures]:
    """InfoNCE over hard negatives: each optical patch against every SAR patch of the batch and every
    shifted SAR patch; the softmax puts the weight on the hardest of them. (The HardNet triplet loss with
    the single hardest in-batch negative collapsed all embeddings to one point here: with 64 real
    patches, the hardest "negative" is often a look-alike such as another stretch of water.)"""
    optical, sar, shifted = batch
    a, b, c = net(optical, "optical"), net(sar, "sar"), net(shifted, "sar")
    logits = a @ torch.cat([b, c]).T / settings["temperature"]  # (B, 2B): true partner at column i
    target = torch.arange(len(a), device=a.device)
    loss = F.cross_entropy(logits, target)
    positive = (a - b).norm(dim=1)
    eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
    others = torch.cdist(a, b).masked_fill(eye, 4.0).min(dim=1).values
    return loss, {"positive": positive.mean(), "hardest_other": others.mean(), "shifted": (a - c).norm(dim=1).mean()}


def _centre(maps: torch.Tensor, size: int) -> torch.Tensor:
    """The central size × size window of (N, C, S, S) maps (S − size even)."""
    start = (maps.shape[-1] - size) // 2
    return maps[..., start : start + size, start : start + size]


def _surface_loss(net: nn.Module, batch: Batch, settings: dict[str, Any], generator: torch.Generator | None) -> tuple[torch.Tensor, Figures]:
    """The template engine's loop (:mod:`sarlign.training.surface_losses`): the central ``template``² of the
    optical descriptors searched ±``radius`` px in each SAR view's descriptors, as the matcher does; the
    true displacement of view v is its known shift. Cross-entropy on the surface, the sub-pixel peak
    against the (pair-aligned) label, and the label-free difference between the two views' peaks."""
    optical, sar, shifts = batch
    weights = settings["loss"]
    t, r = int(weights["template"]), int(weights["radius"])
    b, views, s, _ = sar.shape
    templates = _centre(net(optical, "optical"), t).repeat_interleave(views, dim=0)
    regions = _centre(net(sar.reshape(b * views, 1, s, s), "sar"), t + 2 * r)
    surfaces = ncc_surfaces(templates, regions)
    truth = shifts.reshape(b * views, 2)
    cross_entropy = surface_cross_entropy(surfaces, truth, settings["temperature"], weights["sigma"])
    peak, hit = peak_error(surfaces, truth)
    relative, relative_px = relative_peak_error(surfaces, shifts)
    loss = weights["cross_entropy"] * cross_entropy + weights["peak"] * peak + weights["relative"] * relative
    return loss, {"cross_entropy": cross_entropy, "hit": hit, "relative_px": relative_px}


def _crops(pairs: list[TrainingPair], batch: int, crop: int, rng: np.random.Generator, augmentation: Augmentation) -> Batch:
    return sample_batch(pairs, batch, crop, rng, augmentation)


OBJECTIVES = {
    "learned-dense": Objective("learned-dense", DescriptorNet, _crops, _dense_loss, {"exclusion_px": 6.0, "local": 0.0, "radius": 8, "tolerance_px": 1.0}),
    "learned-keypoint": Objective(
        "learned-keypoint",
        KeypointNet,
        _crops,
        _keypoint_loss,
        {"exclusion_px": 6.0, "local": 1.0, "radius": 8, "tolerance_px": 1.0, "kappa": 0.5, "reliability": 1.0, "repeatability": 1.0, "patch": 16},
    ),
    "patch-verifier": Objective("patch-verifier", PatchVerifierNet, draw_patch_pairs, _verifier_loss, {}, patch_fpr95),
    "learned-cfog": Objective(
        "learned-cfog",
        ResidualCfogNet,
        sample_views,
        _surface_loss,
        # Template size and search radius are the matcher's, so training sees the surfaces inference sees.
        {"template": DenseTemplateMatcher.template, "radius": DenseTemplateMatcher.search, "sigma": 0.75,
         "cross_entropy": 1.0, "peak": 1.0, "relative": 1.0},
    ),
}
