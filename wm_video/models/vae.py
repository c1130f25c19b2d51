"""FrameVAE: a small convolutional KL autoencoder that turns 128x128 frames into a 16x16 latent grid.

Read top to bottom: blocks, encoder, decoder, the model. The decoder runs once per played
frame, so it is built for CPU speed: few channels at full resolution, and its last upsampling
is a pixel shuffle (sub-pixel convolution) instead of convolutions at 128x128.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution


def frames_to_input(frames: torch.Tensor) -> torch.Tensor:
    """uint8 frames (B, H, W, 3) -> the VAE's input (B, 3, H, W) float in [-1, 1]."""
    return frames.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def output_to_frames(x: torch.Tensor) -> torch.Tensor:
    """The VAE's output (B, 3, H, W), about [-1, 1] -> uint8 frames (B, H, W, 3)."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)


#################################################################################
#                                   Blocks                                      #
#################################################################################


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels // 4), channels, eps=1e-6)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


#################################################################################
#                              Encoder and decoder                              #
#################################################################################


class Encoder(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> (B, 2C, H / 2^L, W / 2^L), the latent mean and log-variance.

    A pixel unshuffle halves the resolution first (no convolution runs at full resolution);
    each of the L = len(channels) levels after it has a residual block, all but the last a
    strided convolution.
    """

    def __init__(self, channels: tuple[int, ...], latent_channels: int):
        super().__init__()
        self.conv_in = nn.Conv2d(3 * 4, channels[0], 3, padding=1)
        blocks: list[nn.Module] = []
        cin = channels[0]
        for i, cout in enumerate(channels):
            blocks.append(ResBlock(cin, cout))
            if i < len(channels) - 1:
                blocks.append(Downsample(cout))
            cin = cout
        blocks.append(ResBlock(cin, cin))
        self.blocks = nn.Sequential(*blocks)
        self.norm_out = _norm(cin)
        self.conv_out = nn.Conv2d(cin, 2 * latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.conv_in(F.pixel_unshuffle(x, 2)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """(B, C, h, w) -> (B, 3, h * 2^L, w * 2^L), the mirror of the encoder.

    ``channels`` run from the latent resolution upward, one residual block each; the last upsampling
    is a pixel shuffle of 2x2 sub-pixels, so no convolution runs at full resolution.
    """

    def __init__(self, channels: tuple[int, ...], latent_channels: int):
        super().__init__()
        self.conv_in = nn.Conv2d(latent_channels, channels[0], 3, padding=1)
        layers: list[nn.Module] = [ResBlock(channels[0], channels[0])]
        for i, cout in enumerate(channels):
            if i > 0:
                layers.append(Upsample(channels[i - 1], cout))
            layers.append(ResBlock(cout, cout))
        self.blocks = nn.Sequential(*layers)
        self.norm_out = _norm(channels[-1])
        self.conv_out = nn.Conv2d(channels[-1], 3 * 4, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.conv_in(z))
        return F.pixel_shuffle(self.conv_out(F.silu(self.norm_out(h))), 2)


#################################################################################
#                                   The model                                   #
#################################################################################


class FrameVAE(ModelMixin, ConfigMixin):
    """Frames (B, 3, H, W) in [-1, 1] <-> latents (B, C, H / f, W / f), f = ``downsample_factor``.

    Args:
        image_size: frame side in pixels the model was trained for (height, width).
        latent_channels: C, channels of the latent grid.
        encoder_channels: channels per encoder level; each level halves the resolution.
        decoder_channels: channels per decoder level from the latent resolution upward.
    """

    @register_to_config
    def __init__(
        self,
        image_size: tuple[int, int] = (128, 128),
        latent_channels: int = 8,
        encoder_channels: tuple[int, ...] = (48, 96, 128),
        decoder_channels: tuple[int, ...] = (128, 96, 48),
    ):
        super().__init__()
        if len(encoder_channels) != len(decoder_channels):
            raise ValueError(f"encoder_channels {encoder_channels} and decoder_channels {decoder_channels} "
                             "need the same number of levels")
        down = 2 ** len(encoder_channels)
        if image_size[0] % down or image_size[1] % down:
            raise ValueError(f"image_size {tuple(image_size)} is not divisible by the downsampling factor {down}")
        self.encoder = Encoder(tuple(encoder_channels), latent_channels)
        self.decoder = Decoder(tuple(decoder_channels), latent_channels)

    @property
    def downsample_factor(self) -> int:
        return 2 ** len(self.config.encoder_channels)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(C, h, w) of one frame's latent."""
        f = self.downsample_factor
        h, w = self.config.image_size
        return self.config.latent_channels, h // f, w // f

    def check_frames(self, x: torch.Tensor) -> None:
        h, w = self.config.image_size
        if x.ndim != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (h, w):
            raise ValueError(f"this VAE takes frames of {w}x{h} as (B, 3, {h}, {w}); got {tuple(x.shape)}")

    def encode(self, x: torch.Tensor) -> DiagonalGaussianDistribution:
        """Frames in [-1, 1] -> the posterior over latents (its ``.mode()`` is the deterministic code)."""
        return DiagonalGaussianDistribution(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents -> frames in about [-1, 1] (clamp before display)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, DiagonalGaussianDistribution]:
        posterior = self.encode(x)
        z = posterior.sample() if sample else posterior.mode()
        return self.decode(z), posterior
