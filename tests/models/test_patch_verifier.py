"""The patch-pair verifier: network, patch cutting and tie-point rejection."""

import numpy as np
import pytest
import torch

from sarlign.models.base import Correspondences
from sarlign.models.patch_verifier import (
    PATCH,
    PatchVerifier,
    PatchVerifierNet,
    load_verifier_net,
    patches_at,
)


def test_forward_shape_and_unit_norm():
    net = PatchVerifierNet(width=8, dim=16).eval()
    for modality in ("optical", "sar"):
        out = net(torch.rand(3, 1, PATCH, PATCH), modality)
        assert out.shape == (3, 16) and out.dtype == torch.float32
        torch.testing.assert_close(out.norm(dim=1), torch.ones(3))


def test_patches_are_centred_on_the_given_points():
    # A ramp whose value is the pixel-centre x: a patch centred on x = 100.0 (a pixel corner) spans
    # pixel centres 68.5 … 131.5, and a sub-pixel centre shifts it by the same amount.
    image = (torch.arange(200.0) + 0.5).repeat(150, 1)
    patches = patches_at(image, torch.tensor([[100.0, 70.0], [100.25, 70.0]]))
    assert patches.shape == (2, 1, PATCH, PATCH)
    torch.testing.assert_close(patches[0, 0, 0, :2], torch.tensor([68.5, 69.5]))
    torch.testing.assert_close(patches[1, 0, 5, 10] - patches[0, 0, 5, 10], torch.tensor(0.25))


def test_weights_round_trip_and_checksum(tmp_path, save_weights):
    net = PatchVerifierNet(width=8, dim=16).eval()
    path = save_weights(net, tmp_path / "v.pt", validation={"threshold": 0.7})
    loaded, metadata = load_verifier_net(path)
    patches = torch.rand(2, 1, PATCH, PATCH)
    torch.testing.assert_close(loaded(patches, "optical"), net(patches, "optical"))
    assert metadata["validation"]["threshold"] == 0.7
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_verifier_net(path)


def test_verify_keeps_exactly_the_points_within_the_threshold(tmp_path, save_weights):
    torch.manual_seed(0)
    path = save_weights(PatchVerifierNet(width=8, dim=16), tmp_path / "v.pt", validation={"threshold": 0.0})
    reference, sar = torch.rand(128, 128), torch.rand(128 + 2 * 8, 128 + 2 * 8)
    xy = np.array([[40.0, 40.0], [60.5, 70.0], [90.0, 80.0]])
    matches = Correspondences(xy, xy + 1.5, np.ones(3))
    distances = PatchVerifier(weights=str(path)).distances(reference, sar, matches)
    assert distances.shape == (3,) and ((distances >= 0) & (distances <= 2)).all()
    middle = float(np.sort(distances)[1])
    kept = PatchVerifier(weights=str(path), threshold=middle).verify(reference, sar, matches)
    np.testing.assert_array_equal(kept.reference_xy, xy[distances <= middle])
    assert len(kept) == 2
    assert len(PatchVerifier(weights=str(path)).verify(reference, sar, matches)) == 0  # recorded threshold 0
