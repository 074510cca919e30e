"""TerrainNet: one small encoder-decoder for terrain segmentation, a semantic embedding and metric depth.

    input  (B, 4, H, W): RGB in [0, 1] and the previous frame's label map as a 4th channel
           (one level per class, see ``prior_codes``; 0 where there is no previous mask), as in
           the seed's real-time video segmentation
    encoder  MobileNetV2 inverted-residual blocks (expand 1x1, depthwise 3x3, linear 1x1 project,
             residual when shapes match), output stride 16
    context  a light ASPP (DeepLabv3+): 1x1, dilated depthwise-separable 3x3 and image pooling
             branches, fused by 1x1 -> the per-pixel semantic embedding (EMBED_DIM channels, 1/16)
    decoder  upsample x4, concatenate a projected 1/4-resolution skip, depthwise-separable fuse
    heads    segmentation logits (num_classes) and log-depth (1), both bilinearly upsampled to H x W

The semantic embedding vector for the speed policy is the embedding map and the class probabilities
averaged over the trail just ahead (image rows from 3/8 of the height down); see ``embedding_vector``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EMBED_DIM = 64
TRAIL_AHEAD_FROM = 0.375  # the vector pools image rows from this fraction of the height down
MIN_DEPTH_M = 0.05
MAX_DEPTH_M = 30.0


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1,
            act: bool = True) -> nn.Sequential:
    pad = dilation * (k // 2)
    layers = [nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, groups=groups, bias=False),
              nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, expand: int, dilation: int = 1):
        super().__init__()
        hidden = c_in * expand
        layers = [] if expand == 1 else [conv_bn(c_in, hidden, 1)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, dilation=dilation),
                   conv_bn(hidden, c_out, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out


def separable(c_in: int, c_out: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(conv_bn(c_in, c_in, 3, groups=c_in, dilation=dilation), conv_bn(c_in, c_out, 1))


class LightAspp(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.branch1 = conv_bn(c_in, c_out, 1)
        self.branch2 = separable(c_in, c_out, dilation=2)
        self.branch3 = separable(c_in, c_out, dilation=4)
        self.pool = conv_bn(c_in, c_out, 1)
        self.fuse = conv_bn(4 * c_out, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, x.shape[2], x.shape[3])
        return self.fuse(torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), pooled], dim=1))


class TerrainNet(nn.Module):
    def __init__(self, num_classes: int, use_previous_mask: bool = True, width: float = 1.0):
        super().__init__()
        self.num_classes = num_classes
        self.use_previous_mask = use_previous_mask
        self.width = width
        c = lambda n: max(8, int(n * width))
        in_ch = 4 if use_previous_mask else 3
        self.stem = conv_bn(in_ch, c(16), 3, stride=2)  # 1/2
        self.stage1 = InvertedResidual(c(16), c(16), 1, 1)
        self.stage2 = nn.Sequential(InvertedResidual(c(16), c(24), 2, 6), InvertedResidual(c(24), c(24), 1, 6))  # 1/4
        self.stage3 = nn.Sequential(InvertedResidual(c(24), c(32), 2, 6), InvertedResidual(c(32), c(32), 1, 6),
                                    InvertedResidual(c(32), c(32), 1, 6))  # 1/8
        self.stage4 = nn.Sequential(InvertedResidual(c(32), c(64), 2, 6), InvertedResidual(c(64), c(64), 1, 6),
                                    InvertedResidual(c(64), c(64), 1, 6), InvertedResidual(c(64), c(96), 1, 6))  # 1/16
        self.aspp = LightAspp(c(96), EMBED_DIM)
        self.skip = conv_bn(c(24), 24, 1)
        self.decoder = nn.Sequential(separable(EMBED_DIM + 24, 64), separable(64, 64))
        self.seg_head = nn.Conv2d(64, num_classes, 1)
        self.depth_head = nn.Sequential(conv_bn(64, 32, 3), nn.Conv2d(32, 1, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        size = x.shape[2:]
        low = self.stage2(self.stage1(self.stem(x)))
        embedding = self.aspp(self.stage4(self.stage3(low)))
        up = F.interpolate(embedding, size=low.shape[2:], mode="bilinear", align_corners=False)
        features = self.decoder(torch.cat([up, self.skip(low)], dim=1))
        logits = F.interpolate(self.seg_head(features), size=size, mode="bilinear", align_corners=False)
        log_depth = F.interpolate(self.depth_head(features), size=size, mode="bilinear", align_corners=False)
        return {"logits": logits, "log_depth": log_depth[:, 0], "embedding": embedding}


def embedding_vector(embedding_map: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """(B, EMBED_DIM + C) semantic embedding vector: the mean of the (B, EMBED_DIM, h, w) embedding
    map, then the mean of the (B, C, H, W) class probabilities, both over the trail just ahead.

    The trail just ahead is the image from ``TRAIL_AHEAD_FROM`` of its height down: about 0.3-1.6 m
    in front of the camera at the default mount, within the trail's width. Starting there keeps the
    horizon and the trail's far verges out: those slide in and out of view as the body pitches with
    the gait, and a policy trained on a vector that saw them read pitch (a consequence of the
    demonstrated speed) as terrain and oscillated on asphalt in closed loop. The class composition
    (C values summing to 1) makes the terrain's identity explicit next to the learned features."""
    rows, prob_rows = embedding_map.shape[2], probabilities.shape[2]
    features = embedding_map[:, :, round(rows * TRAIL_AHEAD_FROM):, :].mean(dim=(2, 3))
    composition = probabilities[:, :, round(prob_rows * TRAIL_AHEAD_FROM):, :].mean(dim=(2, 3))
    return torch.cat([features, composition], dim=1)


def prior_codes(num_classes: int) -> torch.Tensor:
    """The value in (0, 1] that stands for each class in the previous-mask channel (0: no prior).

    One channel must carry a multi-class mask, so classes get distinct levels. Neighbouring class
    ids are often look-alikes (gravel/pebbles, grass/deep_grass), so ids are spread by a
    multiplicative permutation k -> (m k mod C) + 1 with m coprime to C and about C / 2.4: look-alike
    neighbours land far apart on the channel's scale."""
    m = max(1, round(num_classes / 2.4))
    while math.gcd(m, num_classes) != 1:
        m += 1
    return (torch.arange(num_classes) * m % num_classes + 1).float() / num_classes


def previous_mask_channel(labels: torch.Tensor | None, num_classes: int, shape: tuple[int, int],
                          batch: int = 1) -> torch.Tensor:
    """(B, 1, H, W) encoding of a previous label map; zeros when there is none (first frame)."""
    if labels is None:
        return torch.zeros(batch, 1, *shape)
    if labels.dim() == 2:
        labels = labels.unsqueeze(0)
    valid = labels < num_classes
    codes = prior_codes(num_classes)
    value = codes[labels.clamp(max=num_classes - 1)]
    return torch.where(valid, value, torch.zeros_like(value)).unsqueeze(1)


def network_input(images: np.ndarray, priors: Sequence[np.ndarray | None] | None, num_classes: int) -> torch.Tensor:
    """(B, 3 or 4, H, W) float input from (B, H, W, 3) uint8 images; ``priors`` (one previous label map
    or None per image) adds the previous-mask channel, None leaves it out (a model without it)."""
    rgb = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    if priors is None:
        return rgb
    channels = [previous_mask_channel(None if p is None else torch.from_numpy(p).long(), num_classes, rgb.shape[2:])
                for p in priors]
    return torch.cat([rgb, torch.cat(channels, dim=0)], dim=1)
