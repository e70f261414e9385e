"""Films: the ``Film`` type, DICOM and raster decoding, stored values, windowing, the list of openable files,
and the pixel spacing the ruler and the ROI measure with (``spacing``).

May import ``core.base`` only.
"""
