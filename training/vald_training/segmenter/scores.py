"""Held-out scores of a segmenter network: Dice on held-out CT films and on phantoms, through the app's own path."""

from __future__ import annotations

import numpy as np

from vald_desktop.core.masks.auto import dice
from vald_desktop.core.masks.learned import film_probability, lung_field, square_input
from vald_desktop.core.masks.unet import SIDE
from vald_training.segmenter.data import Materials, film


def predict(net: object, image: np.ndarray) -> np.ndarray:
    """The mask the app would draw with this network (film-size probability, threshold, clean-up)."""
    import torch

    x, frame = square_input(image, SIDE)
    with torch.inference_mode():
        prob = torch.sigmoid(net(torch.from_numpy(x)[None, None]))[0, 0].numpy()  # type: ignore[operator]
    return lung_field(film_probability(prob, frame))


def heldout_scores(net: object, mat: Materials, seed: int, n: int) -> dict[str, float]:
    """Dice on ``n`` held-out CT films (unseen yaws and lung shapes) and ``n`` phantoms of every finding."""
    from vald_phantoms.phantom import FINDINGS, make_phantom

    ct = [dice(predict(net, img), lung) for img, lung in (film(mat, seed, i, True, 0.0) for i in range(n))]
    ph = []
    for i in range(n):
        p = make_phantom(seed + i, FINDINGS[i % len(FINDINGS)], size=256)
        ph.append(dice(predict(net, p.image), p.lung_mask))
    return {
        "ct_films_dice_mean": round(float(np.mean(ct)), 4),
        "ct_films_dice_min": round(float(np.min(ct)), 4),
        "phantom_dice_mean": round(float(np.mean(ph)), 4),
        "phantom_dice_min": round(float(np.min(ph)), 4),
        "films": n,
    }
