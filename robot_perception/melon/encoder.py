"""MELON's pose encoder: a four-layer CNN, initialised from noise (no pre-training), mapping a
downscaled image to (latitude, longitude). Its small capacity makes similar-looking images land on
similar poses, which regularises the otherwise ill-posed joint problem."""

from __future__ import annotations

import math

import torch
from torch import nn

ENCODER_INPUT_PX = 32


class PoseEncoder(nn.Module):
    def __init__(self, lat_range_rad: tuple[float, float], channels: tuple[int, ...] = (16, 32, 64, 64),
                 init_spread: float = 1.0):
        super().__init__()
        layers, c_in = [], 3
        for c_out in channels:  # four stride-2 convolutions: 32 -> 2 pixels
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        n_features = c_in * (ENCODER_INPUT_PX // 2 ** len(channels)) ** 2
        # batch-normalised features: the head sees how views differ, so initial poses spread out
        self.norm = nn.BatchNorm1d(n_features)
        self.head = nn.Linear(n_features, 3)
        with torch.no_grad():  # random init, scaled so that the initial poses spread over the sphere
            self.head.weight.mul_(init_spread)
        self.lat_range = lat_range_rad

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, 32, 32) standardised images -> latitude (B,), longitude (B,) in radians."""
        out = self.head(self.norm(self.features(images).flatten(1)))
        lon = torch.atan2(out[:, 1], out[:, 0] + 1e-6)
        low, high = self.lat_range
        lat = low + (high - low) * torch.sigmoid(out[:, 2])
        return lat, lon


def downscale(images: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) -> (B, 3, 32, 32) by area averaging."""
    x = images.permute(0, 3, 1, 2)
    return nn.functional.adaptive_avg_pool2d(x, ENCODER_INPUT_PX)


__all__ = ["ENCODER_INPUT_PX", "PoseEncoder", "downscale", "math"]
