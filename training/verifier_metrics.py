"""FPR95 of a patch-pair verifier on fixed patch pairs cut from the validation pairs.

FPR95 is the share of non-matching pairs accepted at the distance threshold that accepts 95 % of the
matching ones (lower is better), the usual figure for patch matching (Brown et al.; KGL-Net, RRL-Net).
Two kinds of non-matching pairs are scored: another place (the SAR patch of another crop) and the same
place shifted by 6–16 px, the error a tie-point verifier has to catch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from sarlign.training.data import Augmentation, TrainingPair, draw_patch_pairs

PatchDistance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (B,1,64,64) optical, SAR → (B,)


def embedding_distance(net: torch.nn.Module) -> PatchDistance:
    """Distance between the verifier's embeddings of the optical and the SAR patch."""
    return lambda optical, sar: (net(optical, "optical") - net(sar, "sar")).norm(dim=1)


def fpr_at_95(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    """(FPR at 95 % TPR, the distance threshold giving 95 % TPR) from distances of matching and
    non-matching pairs (smaller distance = more alike)."""
    threshold = float(np.quantile(positive, 0.95))
    return float(np.mean(negative <= threshold)), threshold


@torch.no_grad()
def patch_fpr95(net: torch.nn.Module | None, pairs: list[TrainingPair], count: int = 2048, distance: PatchDistance | None = None) -> dict[str, float]:
    """FPR95 against other places and against shifted places, and the threshold; ``distance`` defaults to
    ``net``'s embedding distance."""
    measure = distance or embedding_distance(net)
    rng = np.random.default_rng(2024)
    optical, sar, shifted = draw_patch_pairs(pairs, count, 0, rng, Augmentation(rotation_deg=0, scale=0, optical_gamma=0, sar_noise=0))
    chunks = [slice(i, i + 256) for i in range(0, count, 256)]
    positive = torch.cat([measure(optical[c], sar[c]) for c in chunks]).numpy()
    other_place = torch.cat([measure(optical[c], sar.roll(1, dims=0)[c]) for c in chunks]).numpy()
    shifted_place = torch.cat([measure(optical[c], shifted[c]) for c in chunks]).numpy()
    fpr_other, threshold = fpr_at_95(positive, other_place)
    fpr_shifted, _ = fpr_at_95(positive, shifted_place)
    return {"fpr95_other_place": fpr_other, "fpr95_shifted": fpr_shifted, "threshold": threshold}
