"""Which (non-GPL) package decodes which DICOM transfer syntax, for messages that tell the user what to install."""

from __future__ import annotations

from pydicom import uid as _uid

# Only permissively licensed decoders are named: pylibjpeg-libjpeg is GPLv3 and is deliberately left out.
_OPENJPEG = "pylibjpeg with pylibjpeg-openjpeg"
PLUGINS: dict[str, str] = {
    _uid.JPEGBaseline8Bit: "python-gdcm or Pillow",
    _uid.JPEGExtended12Bit: "python-gdcm or Pillow",
    _uid.JPEGLossless: "python-gdcm",
    _uid.JPEGLosslessSV1: "python-gdcm",
    _uid.JPEGLSLossless: "pyjpegls or python-gdcm",
    _uid.JPEGLSNearLossless: "pyjpegls or python-gdcm",
    _uid.JPEG2000Lossless: f"{_OPENJPEG}, or python-gdcm",
    _uid.JPEG2000: f"{_OPENJPEG}, or python-gdcm",
    _uid.HTJ2KLossless: _OPENJPEG,
    _uid.HTJ2KLosslessRPCL: _OPENJPEG,
    _uid.HTJ2K: _OPENJPEG,
    _uid.RLELossless: "pydicom (built in)",
}


def syntax_name(syntax: str) -> str:
    name = _uid.UID(syntax).name
    return name if name and name != syntax else f"transfer syntax {syntax}"


def missing_plugin_sentence(source: str, syntax: str) -> str:
    plugin = PLUGINS.get(syntax)
    if plugin is None:
        return unsupported_sentence(source, syntax)
    return f"{source} is compressed as {syntax_name(syntax)}; install {plugin} to decode it."


def unsupported_sentence(source: str, syntax: str) -> str:
    return f"{source} uses {syntax_name(syntax)}, which no installed decoder supports."


# Syntaxes (or sample precisions) only a GPL decoder handles; named so the user knows why, not bundled.
GPL_ONLY: dict[str, str] = {
    _uid.JPEGExtended12Bit: "pylibjpeg-libjpeg",
    _uid.JPEGLossless: "pylibjpeg-libjpeg",
    _uid.JPEGLosslessSV1: "pylibjpeg-libjpeg",
}


def gpl_only_sentence(source: str, syntax: str) -> str:
    plugin = GPL_ONLY.get(syntax, "pylibjpeg-libjpeg")
    return (
        f"{source} is compressed as {syntax_name(syntax)} with a precision the installed decoders cannot read; "
        f"only {plugin} (GPL, not bundled) would decode it."
    )
