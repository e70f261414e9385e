"""DreamBooth-style joint fine-tuning of UNet + text encoder with class-prior preservation (the paper's recipe).

Runs the same on one CPU, one GPU, or many under ``accelerate launch`` (data-parallel): every process draws the same
global batch and keeps its own rows, gradients are averaged, and only the main process writes files.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from vald_desktop.core.base.errors import Cancelled, SettingsError
from vald_training import checkpoint as ckpt
from vald_training.batches import LatentSource, diffusion_loss, draw_noise, encode_prompts
from vald_training.components import load_parts
from vald_training.config import TrainConfig
from vald_training.data import Dataset, Sampler, load_dataset
from vald_training.export import export_model
from vald_training.train_state import TrainState
from vald_training.trainer_setup import leave_process_group, make_optimizer, trackers
from vald_training.validation import run_validation

log = logging.getLogger(__name__)


class Trainer:
    def __init__(self, cfg: TrainConfig, progress: bool = True) -> None:
        import torch
        from accelerate import Accelerator
        from accelerate.utils import ProjectConfiguration
        from diffusers.optimization import get_scheduler

        self.cfg = cfg
        self.out = Path(cfg.out)
        self.progress = progress
        # Data first: a missing folder or empty class fails before any model is loaded.
        self.ds: Dataset = load_dataset(cfg.data, cfg.class_prompts, cfg.phantom_twins)
        if int(os.environ.get("WORLD_SIZE", "1")) == 1:
            # In one process (tests, notebooks) each run may pick another precision; accelerate keeps a singleton.
            from accelerate.state import AcceleratorState

            AcceleratorState._reset_state(reset_partial_state=True)
        self.acc = Accelerator(
            mixed_precision=cfg.mixed_precision,
            log_with=trackers(cfg) or None,
            project_config=ProjectConfiguration(
                project_dir=str(self.out), logging_dir=str(self.out / ".logs")
            ),
        )
        torch.manual_seed(cfg.seed)
        self.parts = load_parts(cfg.base)
        p = self.parts
        te_cfg = p.text_encoder.config
        asked = cfg.use_attention_mask  # None: keep what the base model was made with
        self.use_mask = bool(getattr(te_cfg, "use_attention_mask", False) if asked is None else asked)
        te_cfg.use_attention_mask = self.use_mask  # saved with the output so inference matches training
        p.vae.requires_grad_(False)
        p.vae.eval()
        if self.acc.device.type == "cuda" and cfg.mixed_precision != "no":
            half = torch.bfloat16 if cfg.mixed_precision == "bf16" else torch.float16
            p.vae.to(dtype=half)  # type: ignore[call-arg]  # diffusers' @wraps hides self
        p.vae.to(self.acc.device)
        p.unet.train()
        p.text_encoder.requires_grad_(cfg.train_text_encoder)
        p.text_encoder.train(cfg.train_text_encoder)
        pooler = getattr(p.text_encoder, "pooler", None)  # unused by the pipeline: no gradient reaches it
        if pooler is not None:
            pooler.requires_grad_(False)
        if cfg.gradient_checkpointing:
            p.unet.enable_gradient_checkpointing()
            if cfg.train_text_encoder:
                te = p.text_encoder  # transformers 5 renamed the switch; 4.x only has the old name
                enable = (
                    getattr(te, "activation_checkpointing_enable", None) or te.gradient_checkpointing_enable
                )
                enable()

        self.plan = cfg.phase_plan()
        self.total_steps = sum(s for _, s in self.plan)
        self.use_prior = cfg.prior_weight > 0 and cfg.prior_bs > 0
        for klass, _ in self.plan:
            self.ds.indices(klass)  # an empty or missing class fails now, not after an hour of training
        if self.use_prior:
            self.ds.indices(cfg.prior_class)

        groups = [{"params": [q for q in p.unet.parameters() if q.requires_grad], "lr": cfg.learning_rate}]
        if cfg.train_text_encoder:
            te_params = [q for q in p.text_encoder.parameters() if q.requires_grad]
            groups.append({"params": te_params, "lr": cfg.text_encoder_lr or cfg.learning_rate})
        self.optimizer = make_optimizer(cfg, groups)
        # Not passed to accelerator.prepare: its wrapper would step the schedule once per process.
        self.lr_scheduler = get_scheduler(
            cfg.lr_scheduler,
            self.optimizer,
            num_warmup_steps=cfg.lr_warmup_steps,
            num_training_steps=self.total_steps,
        )
        self.ema = None
        if cfg.ema:
            from diffusers.training_utils import EMAModel

            self.ema = EMAModel(p.unet.parameters(), decay=cfg.ema_decay)
        if cfg.train_text_encoder:
            self.unet, self.text_encoder, self.optimizer = self.acc.prepare(
                p.unet, p.text_encoder, self.optimizer
            )
        else:
            self.unet, self.optimizer = self.acc.prepare(p.unet, self.optimizer)
            self.text_encoder = p.text_encoder.to(self.acc.device)
        latent_size = cfg.resolution // (2 ** (len(p.vae.config["block_out_channels"]) - 1))
        self.latent_shape = (int(p.unet.config["in_channels"]), latent_size, latent_size)
        self.latents = LatentSource(
            self.ds, p.vae, cfg.resolution, cfg.cache_latents, cfg.augment, self.acc.device
        )
        self.global_step = 0
        self.history: list[dict[str, float]] = []

    # -- state ---------------------------------------------------------------------------------------------------
    def train_state(self) -> TrainState:
        """What validation and export need, taken now: the live modules (unwrapped) and the current step."""
        unwrap = self.acc.unwrap_model
        return TrainState(
            cfg=self.cfg,
            out=self.out,
            acc=self.acc,
            parts=self.parts,
            unet=unwrap(self.unet),
            text_encoder=unwrap(self.text_encoder),
            ema=self.ema,
            ds=self.ds,
            plan=self.plan,
            use_mask=self.use_mask,
            latent_shape=self.latent_shape,
            step=self.global_step,
        )

    def _checkpoint_state(self) -> dict[str, Any]:
        return {
            "global_step": self.global_step,
            "total_steps": self.total_steps,
            "positions": self._positions(),
            "history": self.history[-200:],
            "config": self.cfg.to_dict(),
        }

    def _positions(self) -> dict[str, int]:
        """Items consumed from each sampler so far (the data position); derived from the step, saved for checking."""
        world = self.acc.num_processes * self.cfg.gradient_accumulation_steps
        out: dict[str, int] = {}
        start = 0
        for i, (_, steps) in enumerate(self.plan):
            done = min(max(self.global_step - start, 0), steps)
            out[f"phase{i}/instance"] = done * world * self.cfg.train_batch_size
            out[f"phase{i}/prior"] = done * world * self.cfg.prior_bs
            start += steps
        return out

    def save_checkpoint(self) -> Path | None:
        self.acc.wait_for_everyone()
        folder = None
        if self.acc.is_main_process:
            folder = ckpt.checkpoint_root(self.out) / f"checkpoint-{self.global_step}"
            ckpt.save_checkpoint(
                folder,
                unet=self.acc.unwrap_model(self.unet),
                text_encoder=self.acc.unwrap_model(self.text_encoder)
                if self.cfg.train_text_encoder
                else None,
                optimizer=self.optimizer,
                lr_scheduler=self.lr_scheduler,
                ema=self.ema,
                state=self._checkpoint_state(),
            )
            ckpt.prune_checkpoints(self.out, self.cfg.checkpoints_total_limit)
        self.acc.wait_for_everyone()
        return folder

    def resume(self) -> None:
        folder = ckpt.resolve_resume(self.out, self.cfg.resume)
        if folder is None:
            return
        state = ckpt.load_checkpoint(
            folder,
            unet=self.acc.unwrap_model(self.unet),
            text_encoder=self.acc.unwrap_model(self.text_encoder) if self.cfg.train_text_encoder else None,
            optimizer=self.optimizer,
            lr_scheduler=self.lr_scheduler,
            ema=self.ema,
        )
        self.global_step = int(state["global_step"])
        self.history = list(state.get("history", []))
        if state.get("positions") != self._positions():
            raise SettingsError(
                "The checkpoint was made with a different batch layout; resume with the same settings."
            )
        log.info("resumed from %s at step %d", folder, self.global_step)

    # -- one optimizer step ------------------------------------------------------------------------------------------
    def _micro_step(self, micro: int, inst: Sampler, prior: Sampler | None) -> dict[str, float]:
        import torch

        cfg, acc = self.cfg, self.acc
        world, rank = acc.num_processes, acc.process_index
        micro = self.global_step * cfg.gradient_accumulation_steps + micro  # global micro-step
        bs, pbs = cfg.train_batch_size, cfg.prior_bs if prior is not None else 0
        inst_idx = inst.take(bs * world)
        prior_idx = prior.take(pbs * world) if prior is not None else []
        n_inst, n_prior = len(inst_idx), len(prior_idx)
        noise = draw_noise(
            cfg.seed,
            micro,
            n_inst + n_prior,
            self.latent_shape,
            self.parts.noise_scheduler.config["num_train_timesteps"],
            cfg.min_timestep,
        )
        rows = list(range(rank * bs, (rank + 1) * bs)) + list(
            range(n_inst + rank * pbs, n_inst + (rank + 1) * pbs)
        )
        idx = inst_idx[rank * bs : (rank + 1) * bs] + prior_idx[rank * pbs : (rank + 1) * pbs]
        # Dropout inside the models: replayable on resume.
        torch.manual_seed(cfg.seed * 7919 + micro * 131 + rank)
        sel = torch.tensor(rows)
        sub = type(noise)(**{k: v[sel] for k, v in vars(noise).items()})
        latents = self.latents.latents(idx, sub, slice(None))
        prompts = [self.ds.examples[i].prompt for i in idx]
        prior_prompt = cfg.class_prompts.get(cfg.prior_class)
        if n_prior:
            prompts[bs:] = [prior_prompt or self.ds.examples[i].prompt for i in idx[bs:]]
        prompts = [
            "" if d < cfg.caption_dropout else p for p, d in zip(prompts, sub.drop.tolist(), strict=True)
        ]
        dev = acc.device
        eps = sub.noise.to(dev)
        if cfg.noise_offset:
            eps = eps + cfg.noise_offset * sub.noise_offset.to(dev)
        with acc.autocast():
            cond = encode_prompts(self.parts.tokenizer, self.text_encoder, prompts, self.use_mask, dev)
            per = diffusion_loss(
                unet=self.unet,
                noise_scheduler=self.parts.noise_scheduler,
                latents=latents,
                cond=cond,
                noise=eps,
                timesteps=sub.timesteps.to(dev),
                snr_gamma=cfg.snr_gamma,
            )
        loss_inst = per[:bs].mean()
        loss_prior = per[bs:].mean() if n_prior else torch.zeros((), device=dev)
        loss = loss_inst + cfg.prior_weight * loss_prior  # the DreamBooth prior-preservation objective
        acc.backward(loss / cfg.gradient_accumulation_steps)
        return {"loss": loss.item(), "loss_instance": loss_inst.item(), "loss_prior": loss_prior.item()}

    def _optimizer_step(self, inst: Sampler, prior: Sampler | None) -> dict[str, float]:
        import torch

        totals: dict[str, float] = {}
        for micro in range(self.cfg.gradient_accumulation_steps):
            for k, v in self._micro_step(micro, inst, prior).items():
                totals[k] = totals.get(k, 0.0) + v / self.cfg.gradient_accumulation_steps
        params = [q for group in self.optimizer.param_groups for q in group["params"]]
        if self.cfg.max_grad_norm:
            self.acc.clip_grad_norm_(params, self.cfg.max_grad_norm)
        self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.acc.unwrap_model(self.unet).parameters())
        self.global_step += 1
        mean = self.acc.reduce(
            torch.tensor([totals[k] for k in sorted(totals)], device=self.acc.device), "mean"
        )
        return dict(zip(sorted(totals), mean.tolist(), strict=True))

    # -- the run -------------------------------------------------------------------------------------------------------
    def run(self, stop_after: int | None = None) -> dict[str, Any]:
        """Train to the end of the plan (or ``stop_after`` steps, then checkpoint). Returns run metrics."""
        from tqdm.auto import tqdm

        cfg = self.cfg
        self.resume()
        if self.acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
        self.acc.init_trackers(
            "vald-train",
            config={k: v for k, v in cfg.to_dict().items() if isinstance(v, int | float | str | bool)},
        )
        bar = tqdm(
            total=self.total_steps,
            initial=self.global_step,
            desc="train",
            disable=not (self.progress and self.acc.is_main_process),
            mininterval=2,
        )
        started, first_step = time.time(), self.global_step
        world = self.acc.num_processes * cfg.gradient_accumulation_steps
        try:
            start = 0
            for phase, (klass, steps) in enumerate(self.plan):
                end = start + steps
                if self.global_step >= end:
                    start = end
                    continue
                done = self.global_step - start
                inst = Sampler(
                    self.ds.indices(klass), cfg.seed, 2 * phase, done * world * cfg.train_batch_size
                )
                prior = None
                if self.use_prior and klass != cfg.prior_class:
                    prior = Sampler(
                        self.ds.indices(cfg.prior_class), cfg.seed, 2 * phase + 1, done * world * cfg.prior_bs
                    )
                bar.set_description(f"train [{klass or 'all'}]")
                while self.global_step < end:
                    metrics = self._optimizer_step(inst, prior)
                    metrics["lr"] = float(self.lr_scheduler.get_last_lr()[0])
                    bar.update(1)
                    bar.set_postfix(loss=f"{metrics['loss']:.4f}")
                    if self.global_step % cfg.log_every == 0 or self.global_step == self.total_steps:
                        self.history.append({"step": self.global_step, **metrics})
                        self.acc.log(metrics, step=self.global_step)
                        self._append_log(metrics)
                    if cfg.checkpointing_steps and self.global_step % cfg.checkpointing_steps == 0:
                        self.save_checkpoint()
                    if cfg.validation_steps and self.global_step % cfg.validation_steps == 0:
                        run_validation(self.train_state(), f"step-{self.global_step}")
                    if stop_after is not None and self.global_step >= stop_after:
                        self.save_checkpoint()
                        bar.close()
                        return {"stopped_at": self.global_step}
                start = end
        except KeyboardInterrupt:
            bar.close()
            folder = self.save_checkpoint()
            where = f" to {folder}" if folder else ""
            raise Cancelled(
                f"Training interrupted at step {self.global_step}; a checkpoint was saved{where}."
            ) from None
        bar.close()
        elapsed = time.time() - started
        result = {
            "steps": self.global_step,
            "seconds": elapsed,
            "steps_per_second": (self.global_step - first_step) / elapsed if elapsed > 0 else 0.0,
            "final_loss": _recent_mean(self.history),
            "skipped_images": self.ds.skipped,
            "examples": len(self.ds.examples),
        }
        self._record_ranks()
        if self.ema is not None:  # the final samples show the weights that are exported
            self.ema.copy_to(self.acc.unwrap_model(self.unet).parameters())
        final = self.train_state()
        export_model(final, result, run_validation(final, "final"))
        self.acc.end_training()
        return result

    def _record_ranks(self) -> None:
        """OUT/.logs/ranks.json: which processes trained (rank, world size, host, pid), gathered to the main one."""
        from accelerate.utils import gather_object

        me = {
            "rank": self.acc.process_index,
            "world_size": self.acc.num_processes,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "device": str(self.acc.device),
            "steps": self.global_step,
        }
        ranks = gather_object([me])
        if self.acc.is_main_process:
            from vald_desktop.core.base import atomic

            (self.out / ".logs").mkdir(parents=True, exist_ok=True)
            atomic.write_text(self.out / ".logs" / "ranks.json", json.dumps(ranks, indent=2) + "\n")

    def _append_log(self, metrics: dict[str, float]) -> None:
        if not self.acc.is_main_process:
            return
        path = self.out / ".logs" / "loss.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": self.global_step, **metrics}) + "\n")


def _recent_mean(history: list[dict[str, float]], n: int = 5) -> float | None:
    tail = [h["loss"] for h in history[-n:]]
    return sum(tail) / len(tail) if tail else None


def train(cfg: TrainConfig, progress: bool = True, stop_after: int | None = None) -> dict[str, Any]:
    try:
        return Trainer(cfg, progress=progress).run(stop_after=stop_after)
    finally:  # a data-parallel group left standing can hang a rank at exit, all work done
        leave_process_group()
