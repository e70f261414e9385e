"""Evaluation: FID (Inception-v3), SSIM / MS-SSIM, the paper's tables, the phantom benchmark and the lung-mask
benchmark. Independent of training; used by ``vald evaluate`` and ``vald bench``.
"""
