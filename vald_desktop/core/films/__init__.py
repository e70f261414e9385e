"""Films: the ``Film`` type, DICOM and raster decoding, stored values, windowing, the list of openable files.

May import ``core.base`` only.
"""
