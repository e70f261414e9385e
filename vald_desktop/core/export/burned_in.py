"""Burned-in text: checked before a de-identified output is written, never assumed absent.

Every export shows the film's pixels, so text burned into them (name, ID, dates) survives any header
de-identification. A film that declares Burned In Annotation YES is refused. A film that does not say (the
attribute is absent or empty, or the film is not DICOM at all) is *unknown*: it is exported de-identified only
after the user has looked and confirmed (``--accept-burned-in-risk``, or the app's dialog), and the export says
that the claim was the user's, not the source's.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import BurnedInTextError

YES, NO, UNKNOWN = "YES", "NO", "unknown"
REFUSED = "This film has identifying text burned into its pixels, so it cannot be de-identified."
UNCONFIRMED = (
    "This film does not say whether identifying text is burned into its pixels; look at it, and confirm "
    "that it shows none (--accept-burned-in-risk, or the app's question) to export it de-identified."
)


def burned_in_status(dataset: Dataset | None) -> str:
    """``YES`` or ``NO`` as the film declares it, else ``unknown`` (also for films that are not DICOM)."""
    if dataset is None:
        return UNKNOWN
    value = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper()
    return value if value in (YES, NO) else UNKNOWN


def check_burned_in(dataset: Dataset | None, *, accept_risk: bool) -> str:
    """The status, once it allows a de-identified output; raises :class:`BurnedInTextError` otherwise."""
    status = burned_in_status(dataset)
    if status == YES:
        raise BurnedInTextError(REFUSED)
    if status == UNKNOWN and not accept_risk:
        raise BurnedInTextError(UNCONFIRMED)
    return status


def burned_in_note(status: str) -> str:
    """What a de-identified export says about burned-in text (JSON record, PDF)."""
    if status == NO:
        return "none, as the source film declares"
    if status == UNKNOWN:
        return "not declared by the source film; the user confirmed that it shows none"
    return "declared by the source film"
