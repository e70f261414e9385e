"""``vald masks train``: train the lung segmenter from nothing that needs a hub, and write its model folder.

One process makes the films (a background worker) while the main process trains: on a 2-core machine that
keeps both cores busy. Loss: binary cross-entropy on the soft labels plus a soft Dice term (the Dice keeps thin
apices and costophrenic angles from being traded away). AdamW with a one-cycle schedule; fixed seeds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vald_desktop.core.base.atomic import write_text
from vald_desktop.core.masks.learned import CONFIG, WEIGHTS
from vald_desktop.core.masks.unet import SIDE, WIDTHS
from vald_training.segmenter.card import write_card
from vald_training.segmenter.data import Materials, materials, stream
from vald_training.segmenter.scores import heldout_scores


@dataclass(frozen=True)
class SegTrainConfig:
    out: Path
    cache: Path
    steps: int = 600
    batch: int = 16
    lr: float = 3e-3
    seed: int = 7
    phantom_share: float = 0.12
    threads: int = 2
    heldout_films: int = 64


class _Films(torch.utils.data.IterableDataset[tuple[torch.Tensor, torch.Tensor]]):
    """The training stream as a torch dataset, split between loader workers."""

    def __init__(self, cfg: SegTrainConfig, total: int) -> None:
        super().__init__()
        self.cfg, self.total = cfg, total

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        n, k = (1, 0) if info is None else (info.num_workers, info.id)
        mat = materials(self.cfg.cache)
        for x, y in stream(mat, self.cfg.seed, range(k, self.total, n), SIDE, self.cfg.phantom_share):
            yield torch.from_numpy(x.copy())[None], torch.from_numpy(y.copy())[None]


def _loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    out: torch.Tensor = bce + dice.mean()
    return out


def train_segmenter(cfg: SegTrainConfig, log: Callable[[str], None] = print) -> dict[str, object]:
    """Train, evaluate on held-out films, write weights + config + card + manifest into ``cfg.out``."""
    from safetensors.torch import save_file

    from vald_desktop.core.engine.manifest import write_manifest
    from vald_desktop.core.masks.unet import LungUNet, n_parameters

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    t0 = time.monotonic()
    mat: Materials = materials(cfg.cache)  # projects the CT once (about a minute), then cached
    log(f"materials ready in {time.monotonic() - t0:.0f} s")
    net = LungUNet(WIDTHS)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.15)
    loader = torch.utils.data.DataLoader(
        _Films(cfg, cfg.steps * cfg.batch),
        batch_size=cfg.batch,
        num_workers=1,
        prefetch_factor=4,
        persistent_workers=False,
    )
    net.train()
    running = 0.0
    t_train = time.monotonic()
    for step, (x, y) in enumerate(loader, start=1):
        loss = _loss(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        running = 0.95 * running + 0.05 * value if step > 1 else value
        if step % 25 == 0 or step == cfg.steps:
            log(f"step {step}/{cfg.steps}  loss {running:.4f}  {time.monotonic() - t_train:.0f} s")
        if step >= cfg.steps:
            break
    train_s = time.monotonic() - t_train
    net.eval()
    scores = heldout_scores(net, mat, cfg.seed + 1000, cfg.heldout_films)
    log(f"held-out films: {json.dumps(scores)}")
    cfg.out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(cfg.out / WEIGHTS))
    info: dict[str, object] = {
        "name": "lung-unet",
        "side": SIDE,
        "widths": list(WIDTHS),
        "parameters": n_parameters(net),
        "train": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in asdict(cfg).items()
            if k not in ("out", "cache")
        },
        "train_seconds": round(train_s),
        "total_seconds": round(time.monotonic() - t0),
        "torch": torch.__version__,
        "heldout": scores,
    }
    write_text(cfg.out / CONFIG, json.dumps(info, indent=2) + "\n")
    write_card(cfg.out, info)
    write_manifest(cfg.out, {"name": "lung-segmenter"})
    return info
