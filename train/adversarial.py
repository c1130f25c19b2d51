"""Discriminators and their losses: on latent clips for the DiT (train/one_pass.py), on pixels for the decoder
(train/train_decoder.py).

The discriminator is the generator's own architecture, started from its weights (as Seaweed-APT
and APT2 start theirs from the diffusion model): the patch embedding, with each frame's frame
before, and the first ``depth`` blocks, frame-causal and conditioned on each frame's action, then
a logit per token, averaged per frame. So frame i is judged with its past and the key that made
it: it can punish a frame that does not follow its past or ignores the action, not only a blurry one.

Real and made clips share their prompt and actions, so the loss compares them pair by pair
(relativistic: which of the two is the real one), and both are noised alike to a random level
first (Self-Forcing judges noised latents), which keeps the discriminator from winning on
detail the VAE's decoder does not show.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from wm_video.diffusion import add_noise
from wm_video.models.dit import WorldDiT


class ClipDiscriminator(nn.Module):
    """Logits (B, T), one per frame of clean latent clips (B, T, C, h, w) under their producing actions (B, T, 25)."""

    def __init__(self, dit: WorldDiT, depth: int):
        super().__init__()
        if not 1 <= depth <= len(dit.blocks):
            raise ValueError(f"disc_depth must be 1..{len(dit.blocks)} (the generator's blocks), got {depth}")
        trunk = copy.deepcopy(dit).float()
        trunk.blocks = trunk.blocks[:depth]
        del trunk.final  # the trunk gives tokens, not a velocity
        self.trunk = trunk
        width = dit.config.width
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.SiLU(), nn.Linear(width, 1))

    def forward(self, z: torch.Tensor, levels: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        _, tokens, _ = self.trunk.velocity_and_features(z, levels, actions)  # (B, T, N, D)
        return self.head(tokens).mean(dim=(2, 3)).float()


def noised_pair(real: torch.Tensor, made: torch.Tensor, noise_max: float) -> tuple[torch.Tensor, ...]:
    """Both clips noised by the same noise to the same random level per clip; returns (real, made, levels (B, T))."""
    b, t = real.shape[:2]
    levels = (torch.rand(b, 1, device=real.device) * noise_max).expand(b, t)
    noise = torch.randn_like(real)
    return add_noise(real, noise, levels), add_noise(made, noise, levels), levels


def generator_loss(disc: ClipDiscriminator, real: torch.Tensor, made: torch.Tensor, actions: torch.Tensor,
                   judged: slice, noise_max: float) -> torch.Tensor:
    """Relativistic: the made clip should look more real than its real twin, on the ``judged`` frames."""
    real, made, levels = noised_pair(real, made, noise_max)
    with torch.no_grad():
        real_logits = disc(real, levels, actions)[:, judged]
    return F.softplus(real_logits - disc(made, levels, actions)[:, judged]).mean()


def other_actions(actions: torch.Tensor, judged: slice) -> torch.Tensor:
    """The clips' actions with those of the ``judged`` frames taken from another clip of the batch (the one before)."""
    wrong = actions.clone()
    wrong[:, judged] = actions[:, judged].roll(1, dims=0)
    return wrong


def discriminator_loss(disc: ClipDiscriminator, real: torch.Tensor, made: torch.Tensor, actions: torch.Tensor,
                       judged: slice, noise_max: float, r1_weight: float, sigma: float = 0.1
                       ) -> tuple[torch.Tensor, dict]:
    """Relativistic loss; the same for a real clip under another clip's actions (a "matching-aware"
    discriminator, as text-to-image GANs: a clip that ignores its keys is fake even when it looks real);
    and the smoothness penalty around real and made clips: how far the logits move under a small
    perturbation, per unit of it (a finite-difference R1 + R2, as APT2 and Self-Forcing approximate them;
    sigma 0.1 rather than 0.01 so that bf16 logits still resolve the change)."""
    real, made, levels = noised_pair(real, made.detach(), noise_max)
    both = torch.cat([real, made])
    logits = disc(torch.cat([both, both + sigma * torch.randn_like(both), real]), levels.repeat(5, 1),
                  torch.cat([actions.repeat(4, 1, 1), other_actions(actions, judged)]))[:, judged]
    real_logits, made_logits, real_moved, made_moved, mismatched_logits = logits.chunk(5)
    adversarial = F.softplus(made_logits - real_logits).mean()
    mismatch = F.softplus(mismatched_logits - real_logits).mean()
    smooth = ((torch.cat([real_moved, made_moved]) - torch.cat([real_logits, made_logits])) / sigma).pow(2).mean()
    loss = adversarial + mismatch + r1_weight * smooth
    return loss, {"loss_disc": adversarial.item(), "loss_disc_actions": mismatch.item(),
                  "disc_smoothness": smooth.item(), "disc_real_minus_made": (real_logits - made_logits).mean().item()}


class PatchDiscriminator(nn.Module):
    """Logits (B, 1, H / 8, W / 8), one per overlapping 46-pixel patch of frames (B, 3, H, W) in [-1, 1]: pix2pix's
    PatchGAN, with GroupNorm where it has BatchNorm, whose batch statistics would mix real and made frames."""

    def __init__(self, width: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        for cin, cout in ((width, 2 * width), (2 * width, 4 * width)):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.GroupNorm(8, cout), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(4 * width, 1, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).float()


def patch_discriminator_loss(disc: PatchDiscriminator, real: torch.Tensor, made: torch.Tensor, r1_weight: float
                             ) -> tuple[torch.Tensor, dict]:
    """Non-saturating loss on real and made frames, and R1: the squared gradient of the real frames' mean
    logit with respect to their pixels, which keeps the discriminator from sharpening into a wall."""
    real = real.detach().requires_grad_(r1_weight > 0)
    real_logits = disc(real)
    r1 = torch.zeros(())
    if r1_weight > 0:  # the caller may apply it lazily: on some steps only, with a larger weight (as StyleGAN2)
        slope = torch.autograd.grad(real_logits.mean(dim=(1, 2, 3)).sum(), real, create_graph=True)[0]
        r1 = slope.pow(2).sum(dim=(1, 2, 3)).mean()
    made_logits = disc(made.detach())
    adversarial = F.softplus(-real_logits).mean() + F.softplus(made_logits).mean()
    logs = {"loss_disc": adversarial.item(), "disc_real_minus_made": (real_logits.mean() - made_logits.mean()).item()}
    if r1_weight > 0:
        logs["disc_r1"] = r1.item()
    return adversarial + 0.5 * r1_weight * r1, logs
