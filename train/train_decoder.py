"""Fine-tune a world model's decoder adversarially: ``wm-video train-decoder`` (resumes; accelerate launch).

The DiT imagines latents no encoder made, and a decoder trained only to reconstruct draws what a
latent does not pin down as its average: a blur. Here a patch discriminator on pixels
(train/adversarial.py) tells real frames from decoded ones, and the decoder learns on two kinds of
latents:
- the real frames' codes (the latent dataset), also held to their frames by train-vae's
  reconstruction loss, so that a code keeps its picture;
- the world model's guesses of the same frames (its own sampler, from the real frames before them),
  held to the real frames only by an L1 (pix2pix's pairing): the discriminator asks for texture,
  the L1 for texture near the truth. With the discriminator alone (``guess_l1_weight`` 0) the
  decoder painted a regular 2-pixel grid over every guess, which the judge's realism score took
  for the game's texels (docs/experiments.md).
The encoder is not touched, so latents keep their meaning and the DiT stays valid, and the decoder
keeps its shape, so a frame costs what it did. The adversarial term's weight is set each step by the
ratio of the two losses' gradients at the decoder's last layer (as VQGAN does), so neither swamps
the other whatever their scales.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from data_tools.dataset import DatasetError, decode_pngs, episode_paths
from data_tools.latents import LatentInfo
from wm_video.metrics import psnr
from wm_video.models.vae import frames_to_input
from wm_video.world_model import WorldModel

from .accelerator import make_accelerator
from .adversarial import PatchDiscriminator, patch_discriminator_loss
from .checkpoints import latest_checkpoint, restore, save_checkpoint
from .clips import LatentClips
from .configs import DecoderTrainConfig
from .one_pass import euler_samples, frames_before, one_pass_frames
from .optim import endless_batches, schedule, update
from .samples import sample_video
from .train_vae import reconstruction_loss

R1_EVERY = 4  # R1 on every 4th step at 4 times the weight (StyleGAN2's lazy regularization): a third of a step


class FramedClips(LatentClips):
    """LatentClips whose items also hold the clip's real frames (T, 3, H, W) in [-1, 1], read from the image
    dataset the latents were encoded from (``source`` in the latent dataset's meta/latents.json)."""

    def __init__(self, root: str | Path, frames: int):
        super().__init__(root, frames)
        source = Path(self.info.source)
        images = episode_paths(source)
        wanted = list(episode_paths(root))
        if not set(wanted) <= set(images):
            raise DatasetError(f"{root}: the frames it was encoded from ({source}) are not there; encode the "
                               "recording again where it is now")
        import pyarrow.parquet as pq

        self.pngs = []  # per episode, each frame's encoded image, in frame order
        for index, z in zip(wanted, self.latents, strict=True):
            table = pq.read_table(images[index], columns=["frame_index", "image"]).to_pydict()
            if len(table["frame_index"]) != len(z):
                raise DatasetError(f"{images[index]}: {len(table['frame_index'])} frames, but its latents in {root} "
                                   f"have {len(z)}")
            self.pngs.append([table["image"][i]["bytes"] for i in np.argsort(table["frame_index"])])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z, actions = super().__getitem__(i)
        e, s = self.index[i]
        frames = frames_to_input(torch.from_numpy(decode_pngs(self.pngs[e][s:s + self.frames])))
        return z, actions, frames


@torch.no_grad()
def guesses(dit, sampler: str, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The DiT's guess of every frame of a clip (B, T, C, h, w) from the real frames before it, by the model's
    ``sampler`` (frame 0, which has no past, is guessed too but means little)."""
    noise = torch.randn_like(z)
    if sampler == "one_pass":
        return one_pass_frames(dit, noise, frames_before(z), actions)
    return euler_samples(dit, z, actions, noise)


def last_layer_weight(loss_a: torch.Tensor, loss_b: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
    """|d loss_a / d layer| / |d loss_b / d layer|: the weight on loss_b that makes its pull on ``layer`` as
    strong as loss_a's (VQGAN's adaptive weight), capped so an idle discriminator cannot blow it up."""
    a = torch.autograd.grad(loss_a, layer, retain_graph=True)[0].norm()
    b = torch.autograd.grad(loss_b, layer, retain_graph=True)[0].norm()
    return (a / (b + 1e-6)).clamp(max=1e3).detach()


def train_decoder(data: str | Path, init: str | Path, out: str | Path, cfg: DecoderTrainConfig) -> Path:
    """Train (or resume) into ``out``; return the playable model folder with the new decoder (``out/model``)."""
    out = Path(out)
    accelerator = make_accelerator(out, 1, cfg.seed)
    world = WorldModel.load(init)
    if tuple(world.vae.latent_shape) != LatentInfo.read(data).latent_shape:
        raise DatasetError(f"{data}: latents are {LatentInfo.read(data).latent_shape}, the model at {init} "
                           f"takes {tuple(world.vae.latent_shape)}")
    clips = FramedClips(data, cfg.clip_frames)
    scale = world.info.scaling_factor
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    decoder = copy.deepcopy(world.vae.decoder).float()
    dit = copy.deepcopy(world.dit).float().eval().requires_grad_(False)
    disc = PatchDiscriminator(cfg.disc_width)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=cfg.lr, betas=(0.5, 0.9), weight_decay=0.0)
    disc_optimizer = torch.optim.AdamW(disc.parameters(), lr=cfg.disc_lr, betas=(0.5, 0.9), weight_decay=0.0)
    scheduler = schedule(optimizer, cfg.warmup, cfg.steps - cfg.disc_warmup)  # counts the decoder's steps
    loader = torch.utils.data.DataLoader(clips, batch_size=cfg.batch_size, drop_last=True, shuffle=True)
    decoder, optimizer, disc, disc_optimizer, loader, dit = accelerator.prepare(decoder, optimizer, disc,
                                                                                disc_optimizer, loader, dit)
    counter = restore(accelerator, latest_checkpoint(out), scheduler)
    accelerator.init_trackers("train_decoder", config=asdict(cfg))

    bar = tqdm(total=cfg.steps, initial=counter.step, desc="train-decoder", unit="step",
               disable=not accelerator.is_local_main_process)
    start, batches = time.perf_counter(), endless_batches(accelerator, loader, counter.step)
    while counter.step < cfg.steps:
        z, actions, frames = next(batches)
        adversarial = counter.step >= cfg.disc_warmup  # the decoder waits until the discriminator knows something
        guessed = guesses(dit, world.info.sampler, z, actions)[:, 1:].flatten(0, 1)
        real, target = z[:, 1:].flatten(0, 1), frames[:, 1:].flatten(0, 1)
        with torch.set_grad_enabled(adversarial):
            decoded = decoder(torch.cat([real, guessed]) / scale).float()  # codes, then guesses
            recon = reconstruction_loss(decoded[:len(real)], target, cfg.mse_weight, cfg.grad_weight)
            guess_l1 = F.l1_loss(decoded[len(real):], target)  # pix2pix's L1: a texture must also sit near the truth
            anchor = recon + cfg.guess_l1_weight * guess_l1
        logs = {"loss_recon": recon.item(), "loss_guess_l1": guess_l1.item(),
                "psnr": psnr((decoded[:len(real)].clamp(-1, 1) + 1) / 2, (target + 1) / 2).mean().item()}
        if adversarial:
            disc.requires_grad_(False)
            fooled = F.softplus(-disc(decoded)).mean()
            weight = cfg.adv_weight * last_layer_weight(anchor, fooled,
                                                        accelerator.unwrap_model(decoder).conv_out.weight)
            update(accelerator, decoder, optimizer, anchor + weight * fooled)
            disc.requires_grad_(True)
            logs |= {"loss_fooled": fooled.item(), "adv_weight": weight.item()}
        lazy = R1_EVERY * cfg.r1_weight if counter.step % R1_EVERY == 0 else 0.0
        disc_loss, disc_logs = patch_discriminator_loss(disc, target, decoded.detach(), lazy)
        update(accelerator, disc, disc_optimizer, disc_loss)
        logs |= disc_logs
        if adversarial:
            scheduler.step()
        counter.step += 1
        bar.update(1)
        if counter.step % cfg.log_every == 0:
            logs.update(lr=scheduler.get_last_lr()[0], s_per_step=(time.perf_counter() - start) / cfg.log_every)
            accelerator.log({f"train/{k}": v for k, v in logs.items()}, step=counter.step)
            bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k.startswith(("loss", "psnr"))})
            start = time.perf_counter()
        done = counter.step == cfg.steps
        if counter.step % cfg.checkpoint_every == 0 or done:
            save_checkpoint(accelerator, out, counter)
            if accelerator.is_main_process:
                export(world, accelerator.unwrap_model(decoder), out / "model")
        if accelerator.is_main_process and (counter.step % cfg.sample_every == 0 or done):
            sample_video(accelerator, WorldModel.load(out / "model"), clips, cfg.sample_frames, counter.step, out)
    bar.close()
    accelerator.end_training()
    return out / "model"


def export(world: WorldModel, decoder, path: Path) -> None:
    """``world`` with ``decoder`` in its VAE, as a playable model folder."""
    vae = copy.deepcopy(world.vae).float()
    vae.decoder.load_state_dict(decoder.state_dict())
    WorldModel(vae, world.dit, world.info).save(path)
