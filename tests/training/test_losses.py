"""The losses: local peak-sharpening window and FPR95."""

import numpy as np
import torch

from sarlign.training.losses import local_offsets, local_window_loss, sample_descriptors, warp_points
from sarlign.training.verifier_metrics import fpr_at_95


def test_local_offsets_are_centred():
    offsets = local_offsets(2, torch.device("cpu"))
    assert offsets.shape == (25, 2)
    assert offsets[len(offsets) // 2].tolist() == [0.0, 0.0]
    assert offsets.min().item() == -2 and offsets.max().item() == 2


def test_local_window_loss_rewards_descriptors_that_peak_at_the_true_place():
    # Descriptors that vary quickly in space: each pixel is most similar to itself.
    coords = torch.stack(torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="xy"))
    maps = torch.nn.functional.normalize(torch.cat([torch.sin(coords * 1.3), torch.cos(coords * 1.3), torch.sin(coords * 0.7), torch.cos(coords * 0.7)]), dim=0)[None]
    p = torch.tensor([[[20.5, 20.5], [30.5, 15.5]]])
    identity = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]])
    d = sample_descriptors(maps, p)
    right, p_right = local_window_loss(d, maps, warp_points(identity, p), radius=4, temperature=0.05)
    wrong, p_wrong = local_window_loss(d, maps, p + 3, radius=4, temperature=0.05)
    assert right < wrong and (p_right > 0.5).all() and (p_wrong < 0.2).all()


def test_fpr_at_95():
    positive = np.linspace(0, 1, 101)  # 95 % of them are ≤ 0.95
    fpr, threshold = fpr_at_95(positive, np.array([0.5, 0.9, 0.96, 1.5]))
    assert abs(threshold - 0.95) < 1e-9
    assert fpr == 0.5
