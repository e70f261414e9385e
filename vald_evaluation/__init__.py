"""Evaluation: FID (Inception-v3), SSIM / MS-SSIM, the paper's tables, the phantom benchmark, the region benchmark
(region-confined editing) and the lung-mask benchmark. Independent of training; used by ``vald evaluate`` and
``vald bench``.
"""
