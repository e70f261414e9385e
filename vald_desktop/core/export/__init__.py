"""What leaves the app, and what comes in from a PACS: the one writer of run outputs (PNG, run.json, PDF, DICOM SC,
Segmentation, Parametric Map, SR), de-identification, PACS send, query and retrieve (DIMSE and DICOMweb), the cache.

The top layer of core: may import every other core sub-package.
"""
