"""Training crops: the returned warps really say where each optical pixel is in the SAR crop."""

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from sarlign.training.data import Augmentation, TrainingPair, _sample, sample_batch
from sarlign.training.losses import infonce, random_points, sample_descriptors, warp_points


def _pair(offset=(3.5, -2.0)):
    rng = np.random.default_rng(1)
    image = torch.from_numpy(gaussian_filter(rng.random((300, 300)), 3).astype(np.float32))[None]
    sar_to_optical = np.array([[1.0, 0, offset[0]], [0, 1.0, offset[1]]])
    # The SAR shows the optical content at p at p - offset.
    sar = _sample(image, sar_to_optical, 300)
    return TrainingPair("x", image, sar, sar_to_optical)


def test_warps_map_optical_crop_pixels_onto_the_same_content_in_the_sar_crop():
    optical, sar, warps = sample_batch([_pair()], 4, 64, np.random.default_rng(0), Augmentation(optical_gamma=0, sar_noise=0))
    p = torch.rand(4, 50, 2) * 32 + 16
    q = torch.einsum("bij,bnj->bni", warps[:, :, :2], p) + warps[:, None, :, 2]
    a, b = sample_descriptors(optical, p), sample_descriptors(sar, q)
    assert (a - b).abs().max() < 0.2 * a.std()


def test_identical_descriptors_give_perfect_top1():
    optical, _, warps = sample_batch([_pair((0, 0))], 2, 64, np.random.default_rng(0), Augmentation(0, 0, 0, 0))
    coords = torch.stack(torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="xy"))
    # Periods of 2π·24 ≈ 150 px: no two pixels of the 64² crop share a descriptor.
    descriptors = torch.nn.functional.normalize(torch.cat([torch.sin(coords / 24), torch.cos(coords / 24)]), dim=0)
    descriptors = descriptors[None].repeat(2, 1, 1, 1)
    p = random_points(2, 64, 64, 8, torch.device("cpu"), torch.Generator().manual_seed(0))
    _, accuracy = infonce(sample_descriptors(descriptors, p), sample_descriptors(descriptors, warp_points(warps, p)), p, 0.07, 6.0)
    assert accuracy > 0.95
