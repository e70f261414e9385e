"""A Comprehensive SR of a run (TID 1500 Measurement Report), built with highdicom.

One measurement group (TID 1501) per lung — finding site SCT 39607008 "Lung" with the patient's side (SCT
7771000 Left / 24028007 Right) — holding the per-lung statistics that run.json, the PDF and every export record
carry (``core.attribution.maps.lung_stats``, computed once by the run writer): mean and maximum of M and of |M|,
the lung's share of |M| and the percentage of the lung above the overlay's cut. Each group names the algorithm
(TID 4019): the model's name, its manifest hash as the version, and the prompt and settings as its parameters.

One more group carries the verdicts where the run has them: the domain verdict (inside / outside the model's
training domain, or unknown) with its score and threshold, and the lung mask's quality (ok / uncertain) with its
confidence. Concepts no standard names use this application's local coding scheme (``99VALD``).
"""

from __future__ import annotations

import warnings
from typing import Any

from pydicom.dataset import Dataset

from vald_desktop.core.base.errors import ExportError
from vald_desktop.core.export.dicom_derived import (
    MODEL_NAME,
    SERIES_SR,
    DerivedSource,
    finish,
    local,
    model_identity,
)
from vald_desktop.core.export.dicom_sc import MANUFACTURER

SERIES_DESCRIPTION = "VALD-MD lung attribution report (research use only)"
PLAIN_CHEST_XRAY = ("399208008", "SCT", "Plain chest X-ray")
# (statistic, concept, derivation, unit): derivation None = the statistic is the concept itself.
ATTRIBUTION = ("ATTRIB", "Attribution (film minus healthy counterfactual)")
MAGNITUDE = ("ATTRIB-ABS", "Attribution magnitude")
AREA_ABOVE = ("AREA-CUT", "Lung area with attribution above the overlay threshold")
SHARE = ("SHARE-ABS", "Share of the attribution magnitude of both lungs")
DOMAIN_VERDICT = ("DOMAIN", "Training domain verdict")
DOMAIN_SCORE = ("DOMAIN-SCORE", "Training domain score")
DOMAIN_THRESHOLD = ("DOMAIN-THRESHOLD", "Training domain threshold")
DOMAIN_VALUES = {
    True: ("IN-DOMAIN", "Inside the model's training domain"),
    False: ("OUT-OF-DOMAIN", "Outside the model's training domain"),
    None: ("DOMAIN-UNKNOWN", "Training domain unknown"),
}
MASK_QUALITY = ("MASK-QUALITY", "Lung mask quality")
MASK_CONFIDENCE = ("MASK-CONFIDENCE", "Lung mask confidence")
MASK_VALUES = {
    "ok": ("MASK-OK", "Lung mask plausible"),
    "uncertain": ("MASK-UNCERTAIN", "Lung mask uncertain"),
}
SETTINGS_IN_PARAMETERS = (
    "prompt",
    "negative_prompt",
    "strength",
    "guidance",
    "guidance_until",
    "steps",
    "scheduler",
    "seed",
    "seeds",
    "noise",
    "reference",
    "confine_to_mask",
    "edit_floor",
    "mask_mode",
)


def algorithm_parameters(record: dict[str, Any]) -> list[str]:
    """The prompt and settings of the run, ``name: value`` each."""
    settings = _block(record, "settings")
    out = []
    for key in SETTINGS_IN_PARAMETERS:
        if key in settings:
            out.append(f"{key}: {settings[key]}")
    overlay = _block(record, "overlay")
    if "threshold" in overlay:
        out.append(f"overlay_threshold: {overlay['threshold']}")
    return out


def _block(record: dict[str, Any], key: str) -> dict[str, Any]:
    found = record.get(key)
    return found if isinstance(found, dict) else {}


def build_report(
    src: DerivedSource, lung_stats: dict[str, dict[str, float]], record: dict[str, Any]
) -> Dataset:
    """The SR dataset for ``lung_stats`` (from the run writer) and the run ``record``, referencing the film."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if not lung_stats:
        raise ExportError("This run has no lung statistics (no lung mask), so there is no SR to write.")
    name, digest = model_identity(record)
    algorithm = hd.sr.AlgorithmIdentification(
        name=name, version=digest, parameters=algorithm_parameters(record) or None
    )
    film = src.dataset
    image = hd.sr.SourceImageForMeasurementGroup(str(film.SOPClassUID), str(film.SOPInstanceUID))
    groups = []
    for side, laterality in (("right", codes.SCT.Right), ("left", codes.SCT.Left)):
        stats = lung_stats.get(side)
        if not stats:
            continue
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=src.new_uid(), identifier=f"{side} lung"),
                finding_type=codes.SCT.Lung,
                algorithm_id=algorithm,
                finding_sites=[hd.sr.FindingSite(codes.SCT.Lung, laterality=laterality)],
                measurements=_lung_measurements(stats, film),
                source_images=[image],
            )
        )
    verdicts = _verdict_group(src, record, algorithm)
    if verdicts is not None:
        groups.append(verdicts)
    observer = hd.sr.ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=src.new_uid(), name=MODEL_NAME, manufacturer_name=MANUFACTURER, model_name=name
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=hd.sr.CodedConcept(*PLAIN_CHEST_XRAY),
        imaging_measurements=groups,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sr = hd.sr.ComprehensiveSR(
                evidence=[film],
                content=report,
                series_instance_uid=src.new_uid(),
                series_number=SERIES_SR,
                sop_instance_uid=src.new_uid(),
                instance_number=1,
                manufacturer=MANUFACTURER,
                is_complete=True,
            )
    except (ValueError, TypeError, AttributeError) as exc:
        raise ExportError(f"The DICOM SR could not be built ({type(exc).__name__}).") from None
    sr.SoftwareVersions = src.software
    return finish(sr, src, description=SERIES_DESCRIPTION, local_codes=True)


def _lung_measurements(stats: dict[str, float], film: Dataset) -> list[Any]:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    ref = [hd.sr.SourceImageForMeasurement(str(film.SOPClassUID), str(film.SOPInstanceUID))]
    none, percent = codes.UCUM.NoUnits, codes.UCUM.Percent
    rows = (
        (ATTRIBUTION, codes.SCT.Mean, "mean", none),
        (ATTRIBUTION, codes.SCT.Maximum, "max", none),
        (MAGNITUDE, codes.SCT.Mean, "mean_abs", none),
        (MAGNITUDE, codes.SCT.Maximum, "max_abs", none),
        (AREA_ABOVE, None, "area_pct", percent),
        (SHARE, None, "share_pct", percent),
    )
    return [
        hd.sr.Measurement(
            name=local(*concept),
            value=float(stats[key]),
            unit=unit,
            derivation=derivation,
            referenced_images=ref,
        )
        for concept, derivation, key, unit in rows
        if key in stats
    ]


def _verdict_group(src: DerivedSource, record: dict[str, Any], algorithm: Any) -> Any:
    import highdicom as hd
    from pydicom.sr.codedict import codes

    evaluations, measurements = [], []
    domain = record.get("domain")
    if isinstance(domain, dict) and domain:
        verdict = domain.get("in_domain") if domain.get("in_domain") in (True, False) else None
        evaluations.append(
            hd.sr.QualitativeEvaluation(local(*DOMAIN_VERDICT), local(*DOMAIN_VALUES[verdict]))
        )
        for concept, key in ((DOMAIN_SCORE, "score"), (DOMAIN_THRESHOLD, "threshold")):
            if isinstance(domain.get(key), (int, float)):
                measurements.append(
                    hd.sr.Measurement(local(*concept), float(domain[key]), codes.UCUM.NoUnits)
                )
    mask = record.get("mask")
    if isinstance(mask, dict) and mask.get("quality") in MASK_VALUES:
        evaluations.append(
            hd.sr.QualitativeEvaluation(local(*MASK_QUALITY), local(*MASK_VALUES[mask["quality"]]))
        )
        if isinstance(mask.get("confidence"), (int, float)):
            measurements.append(
                hd.sr.Measurement(local(*MASK_CONFIDENCE), float(mask["confidence"]), codes.UCUM.NoUnits)
            )
    if not evaluations and not measurements:
        return None
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=src.new_uid(), identifier="run verdicts"),
        algorithm_id=algorithm,
        measurements=measurements or None,
        qualitative_evaluations=evaluations or None,
    )
