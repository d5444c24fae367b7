"""The learned keypoint network, its detector and its matcher."""

import pytest
import torch

from sarlign.models.learned_keypoint import KeypointNet, LearnedKeypointMatcher, detect, load_keypoint_net


def test_forward_shapes_dtypes_and_ranges():
    net = KeypointNet(orientations=6, width=8, dim=12)
    for modality in ("optical", "sar"):
        maps = net(torch.rand(2, 1, 40, 48), modality)
        assert maps.descriptors.shape == (2, 12, 40, 48) and maps.descriptors.dtype == torch.float32
        torch.testing.assert_close(maps.descriptors.norm(dim=1), torch.ones(2, 40, 48))
        for confidence in (maps.reliability, maps.repeatability, maps.score):
            assert confidence.shape == (2, 1, 40, 48)
            assert ((confidence > 0) & (confidence < 1)).all()


def test_detect_returns_the_strongest_allowed_local_maxima_in_order():
    score = torch.zeros(40, 40)
    score[10, 10], score[10, 12], score[30, 5], score[20, 35] = 0.9, 0.8, 0.7, 0.95
    allowed = torch.ones(40, 40, dtype=torch.bool)
    allowed[20, 35] = False
    found = detect(score, allowed, count=5, nms_radius=3)
    # (10, 12) lies within 3 px of the stronger (10, 10); (20, 35) is not allowed; zeros are plateaus
    # that tie with their neighbours and come last.
    assert found[:2].tolist() == [[10, 10], [30, 5]]
    assert len(detect(score, allowed, count=1, nms_radius=3)) == 1


def test_weights_round_trip_and_checksum(tmp_path, save_weights):
    net = KeypointNet(width=8, dim=8)
    path = save_weights(net, tmp_path / "kp.pt")
    loaded, _ = load_keypoint_net(path)
    image = torch.rand(1, 1, 32, 32)
    torch.testing.assert_close(loaded(image, "sar").score, net.eval()(image, "sar").score)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_keypoint_net(path)


def test_margin_covers_the_search():
    matcher = LearnedKeypointMatcher()
    assert matcher.margin(20) >= 20 + matcher.search
    assert matcher.margin(20) % matcher.coarse_factor == 0


def test_tile_too_small_for_a_template_gives_nothing(tmp_path, save_weights):
    matcher = LearnedKeypointMatcher(weights=str(save_weights(KeypointNet(width=8, dim=8), tmp_path / "kp.pt")))
    small = torch.rand(20, 20)
    found = matcher.match(small, torch.ones(20, 20, dtype=torch.bool), torch.rand(40, 40), torch.ones(40, 40, dtype=torch.bool))
    assert len(found) == 0


def test_thinning_keeps_fewer_keypoints_but_enough_to_tile_the_tile():
    matcher = LearnedKeypointMatcher()  # 384 keypoints, 64² templates
    assert matcher.thinned(1000, 512) == {}
    assert matcher.thinned(100, 512) == {"keypoints": 100}
    assert matcher.thinned(10, 512) == {"keypoints": 64}  # (512 // 64)² templates side by side
