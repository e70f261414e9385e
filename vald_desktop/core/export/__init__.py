"""What leaves the app: the one writer of run outputs (PNG, run.json, PDF, DICOM), de-identification, PACS.

The top layer of core: may import every other core sub-package.
"""
