"""Presenting ``vald bench`` results: the machine description and the Markdown table the README shows."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def format_table(doc: dict[str, Any]) -> str:
    """The Markdown table the README shows."""
    o, w, m = doc["overhead"], doc["warm_vs_cold"], doc["memory"]
    rows = [
        (
            "1. overhead vs stock img2img",
            f"{o['ratio']:.3f}× ({o['engine_s']:.3f} s vs {o['stock_s']:.3f} s, "
            f"{o['steps']} steps @ {o['strength']}; target ≤ {o['target']})"
            + (f"; CPU time {o['cpu_ratio']:.3f}×" if "cpu_ratio" in o else ""),
        ),
    ]
    for s in doc["schedulers"]:
        rows.append(
            (
                f"2. {s['scheduler']} {s['steps']} steps @ {s['strength']}",
                f"{s['unet_calls']} UNet calls, {s['seconds']:.3f} s/image",
            )
        )
    rows.append(
        (
            "3. new prompt, same film",
            f"warm {w['warm_s']:.3f} s vs cold {w['cold_s']:.3f} s ({w['speedup']:.2f}×, "
            f"{w['vae_encodes_in_warm_runs']} VAE encodes when warm)",
        )
    )
    mem = f"{m['rss_mib']:.0f} MiB RSS"
    if "cuda_max_allocated_mib" in m:
        mem += f", {m['cuda_max_allocated_mib']:.0f} MiB CUDA max allocated"
    rows.append(("4. peak memory", mem))
    f = doc["film_open"]
    rows.append(("5. film open-to-display", f.get("note") or f"{f['seconds']:.3f} s ({f['file']})"))
    g = doc["gui_stall"]
    rows.append(("6. worst GUI stall", g.get("note") or f"{g['worst_stall_ms']:.1f} ms"))
    mach = doc["machine"]
    head = (
        f"Model {Path(doc['model']).name} ({doc['native_size']} px) on {doc['device']} {doc['dtype']}; "
        f"{mach['cpus']} CPUs, torch {mach['torch']} ({mach['torch_threads']} threads)"
        + (f", {mach['gpu']}" if "gpu" in mach else "")
        + (" — quick mode" if doc["quick"] else "")
    )
    lines = [head, "", "| item | result |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    if o.get("note"):
        lines += ["", f"Item 1: {o['note']}"]
    return "\n".join(lines)
