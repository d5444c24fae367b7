"""Each training objective: batches of the right shape, a finite loss, and gradient steps that lower it."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from sarlign.models.patch_verifier import PATCH
from sarlign.training.data import SHIFT_MAX, Augmentation, TrainingPair, draw_patch_pairs
from sarlign.training.objectives import OBJECTIVES

SMALL_MODELS = {
    "learned-dense": {"width": 8, "dim": 8},
    "learned-keypoint": {"width": 8, "dim": 8},
    "patch-verifier": {"width": 8, "dim": 16},
    "learned-cfog": {"width": 8},
}
# The template engine's objective needs crops that hold a template and its search region; a smaller
# template than the matcher's keeps the test fast.
CROPS = {"learned-cfog": 96}
LOSS = {"learned-cfog": {"template": 48, "radius": 8}}


def _pair(size=260):
    rng = np.random.default_rng(3)
    image = torch.from_numpy(gaussian_filter(rng.random((size, size)), 2).astype(np.float32))[None]
    image = (image - image.min()) / (image.max() - image.min())
    return TrainingPair("x", image, 1 - image, np.array([[1.0, 0, 0], [0, 1.0, 0]]))  # SAR: reversed contrast


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_gradient_steps_lower_the_loss_on_a_tiny_batch(name):
    objective = OBJECTIVES[name]
    torch.manual_seed(0)
    net = objective.build(**SMALL_MODELS[name])
    crop = CROPS.get(name, 64)
    augmentation = Augmentation(0, 0, 0, 0, shift_px=5.0)  # the shift is used only by the template engine's objective
    batch = objective.draw([_pair(4 * crop)], 8, crop, np.random.default_rng(0), augmentation)
    settings = {"points": 64, "temperature": 0.1, "loss": {**objective.defaults, **LOSS.get(name, {})}}
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)

    def loss_value():
        return objective.loss(net, batch, settings, torch.Generator().manual_seed(0))

    before, figures = loss_value()
    assert torch.isfinite(before) and all(torch.isfinite(v) for v in figures.values())
    for _ in range(20):
        optimiser.zero_grad()
        loss_value()[0].backward()
        optimiser.step()
    assert loss_value()[0].item() < before.item()


def test_patch_pairs_are_centred_and_shifted_negatives_really_shifted():
    optical, sar, shifted = draw_patch_pairs([_pair()], 16, 0, np.random.default_rng(1), Augmentation(0, 0, 0, 0))
    assert optical.shape == sar.shape == shifted.shape == (16, 1, PATCH, PATCH)
    torch.testing.assert_close(sar, 1 - optical, atol=1e-5, rtol=0)  # same place, reversed contrast
    for o, s in zip(optical, shifted):
        # The shifted patch matches the optical one at some offset of 6–16 px, never at 0.
        errors = {
            (dx, dy): float(((1 - s[0, max(0, dy) : PATCH + min(0, dy), max(0, dx) : PATCH + min(0, dx)]) - o[0, max(0, -dy) : PATCH + min(0, -dy), max(0, -dx) : PATCH + min(0, -dx)]).abs().mean())
            for dx in range(-SHIFT_MAX, SHIFT_MAX + 1)
            for dy in range(-SHIFT_MAX, SHIFT_MAX + 1)
        }
        dx, dy = min(errors, key=errors.get)
        assert errors[(dx, dy)] < 1e-4 and 5.5 <= np.hypot(dx, dy) <= SHIFT_MAX * np.sqrt(2)
