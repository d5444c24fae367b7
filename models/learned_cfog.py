"""CFOG with a learned correction on top: a dense matcher that is CFOG exactly until it is trained.

Descriptor of an image x of modality m (optical or SAR), with c(x) the (B, K, H, W) CFOG descriptor of
:func:`sarlign.models.structural.cfog_descriptor` (same settings as the ``cfog`` matcher):

    optical: d(x) = c(x) · exp(a(x)) + b(x)      a, b: (B, K, H, W), a per-channel gain and a residual
    SAR:     d(x) = c(x) · exp(g(x))             g: (B, 1, H, W), one gain per pixel   (``sar_head="gain"``)
             d(x) = c(x)                         plain CFOG                            (``sar_head="none"``)

a, b and g come from 1 × 1 heads whose weights and biases start at zero, so at initialisation every
descriptor is bit-for-bit CFOG's and the matcher starts at CFOG's operating point. The SAR side is at
most a spatial gain (it can only say *where* structure is trustworthy, not change *which* orientation
dominates): a free SAR residual shifted matches by a pixel on a second SAR sensor (issue 14).

The heads read features of a small network run at half resolution (the corrections are smooth; the
sharpness comes from CFOG itself): the structural prior of :func:`sarlign.models.blocks.structural_prior`
(K gradient orientations + the image, instance-normalised), average-pooled by 2, through a
modality-specific stem (two 3 × 3 convolutions) and a shared dilated encoder (dilations 2 and 4;
receptive field ≈ 50 full-resolution px), upsampled back bilinearly. 18 k parameters at width 24 with
a plain-CFOG SAR side (the shipped setting: the correction then costs one small network on the optical
tile only), 26 k with a SAR gain.

Trained by ``sarlign train learned-cfog`` in the template engine's own loop
(:mod:`sarlign.training.surface_losses`), shipped in ``models/weights/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from sarlign.models.blocks import dilated_encoder, stem, structural_prior
from sarlign.models.cfog import CfogMatcher
from sarlign.models.checkpoints import WEIGHTS_DIR
from sarlign.models.dense_matching import NetworkTemplateMatcher
from sarlign.models.registry import register
from sarlign.models.structural import cfog_descriptor

DEFAULT_WEIGHTS = WEIGHTS_DIR / "learned_cfog_v1.pt"
SAR_HEADS = ("none", "gain")


def _zero_head(width: int, channels: int) -> nn.Conv2d:
    """A 1 × 1 convolution whose output is exactly 0 until trained (weights and bias zero)."""
    head = nn.Conv2d(width, channels, 1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    return head


class ResidualCfogNet(nn.Module):
    """Image (B, 1, H, W) in [0, 1] and its modality → (B, K, H, W) descriptors, CFOG at initialisation.

    Args:
        orientations, sigma, sar_presmooth: CFOG's K, spatial smoothing (px) and SAR pre-smoothing (px);
            the defaults are the ``cfog`` matcher's.
        width: channels of the correction network.
        sar_head: "none" (the SAR side is CFOG) or "gain" (a learned per-pixel gain on the SAR's CFOG).
    """

    def __init__(
        self,
        orientations: int = CfogMatcher.orientations,
        sigma: float = CfogMatcher.sigma,
        sar_presmooth: float = CfogMatcher.sar_presmooth,
        width: int = 24,
        sar_head: str = "none",
    ) -> None:
        super().__init__()
        if sar_head not in SAR_HEADS:
            raise ValueError(f"sar_head must be one of {SAR_HEADS}, not {sar_head!r}")
        self.config = {"orientations": orientations, "sigma": sigma, "sar_presmooth": sar_presmooth, "width": width, "sar_head": sar_head}
        self.heads = nn.ModuleDict({"optical": _zero_head(width, 2 * orientations)})
        if sar_head == "gain":
            self.heads["sar"] = _zero_head(width, 1)
        # A stem per corrected modality (pseudo-Siamese), none for a plain-CFOG SAR side.
        self.stems = nn.ModuleDict({m: stem(orientations + 1, width) for m in self.heads})
        self.encoder = dilated_encoder(width)

    def cfog(self, image: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, 1, H, W) → (B, K, H, W): the ``cfog`` matcher's descriptor of this modality."""
        k, sigma, presmooth = self.config["orientations"], self.config["sigma"], self.config["sar_presmooth"]
        return cfog_descriptor(image, k, sigma, presmooth if modality == "sar" else 0.0)

    def corrections(self, image: torch.Tensor, modality: str) -> torch.Tensor:
        """(B, 1, H, W) → the head's output at full resolution, (B, 2K, H, W) optical or (B, 1, H, W) SAR."""
        h, w = image.shape[-2:]
        # The prior's SAR pre-smoothing is CFOG's, so both see the same despeckled image.
        prior = F.avg_pool2d(structural_prior(image, modality, self.config["orientations"], self.config["sar_presmooth"]), 2, ceil_mode=True)
        features = self.encoder(self.stems[modality](prior))
        return F.interpolate(self.heads[modality](features), size=(h, w), mode="bilinear", align_corners=False)

    def forward(self, image: torch.Tensor, modality: str) -> torch.Tensor:
        descriptor = self.cfog(image, modality)
        if modality not in self.heads:
            return descriptor
        out = self.corrections(image, modality)
        if modality == "sar":
            return descriptor * torch.exp(out)
        gain, residual = out.chunk(2, dim=1)
        return descriptor * torch.exp(gain) + residual


@register("learned-cfog", "CFOG with a learned gain and residual on top, trained in the template engine's loop")
@dataclass
class LearnedCfogMatcher(NetworkTemplateMatcher):
    """:class:`ResidualCfogNet` descriptors, (B, K, H, W), with the ``cfog`` matcher's template settings (its
    peak-ratio test included: the descriptors stay CFOG-like and so do their surfaces); ``weights`` defaults
    to the shipped file, whose CFOG settings apply."""

    NETWORK = ResidualCfogNet
    weights: str = str(DEFAULT_WEIGHTS)
    name: str = "learned-cfog"
