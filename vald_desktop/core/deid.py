"""De-identification of DICOM datasets: the PS3.15 Annex E Basic Application Level Confidentiality Profile.

Each attribute of the profile's table gets one action:

- ``X`` remove, ``Z`` replace with an empty value, ``D`` replace with a dummy value,
- ``U`` replace the UID with a new one, consistently within a session (:class:`UidMap`),
- ``K*`` keep the sequence but de-identify its items (references such as Source Image Sequence).

Where the standard allows a choice (``X/Z``, ``Z/D``, ``X/Z/D`` ...) the table below picks the choice that keeps a
Secondary Capture valid: ``Z`` for attributes the IOD needs as type 2, ``X`` otherwise. Beyond the profile, and
deliberately stricter than it, any other date/time or person-name element is removed, private elements are removed,
and curve/overlay groups (50xx, 60xx) are removed because overlays can hold burned-in text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag
from pydicom.uid import generate_uid

from .errors import ExportError

DEID_METHOD = "PS3.15 Annex E Basic Profile (VALD-MD Desktop)"
# The code the standard defines for the profile (CID 7050 De-identification Method).
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")

# Attribute keyword -> action, from PS3.15 Table E.1-1 (Basic Profile column).
BASIC_PROFILE: dict[str, str] = {
    # Patient
    "PatientName": "Z",
    "PatientID": "Z",
    "PatientBirthDate": "Z",
    "PatientSex": "Z",
    "PatientBirthTime": "X",
    "PatientBirthName": "X",
    "PatientMotherBirthName": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "IssuerOfPatientID": "X",
    "PatientAge": "X",
    "PatientSize": "X",
    "PatientWeight": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientTelecomInformation": "X",
    "PatientComments": "X",
    "PatientReligiousPreference": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientPrimaryLanguageCodeSequence": "X",
    "PatientState": "X",
    "PatientTransportArrangements": "X",
    "PatientSexNeutered": "X",
    "EthnicGroup": "X",
    "Occupation": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    "MedicalRecordLocator": "X",
    "MedicalAlerts": "X",
    "Allergies": "X",
    "SmokingStatus": "X",
    "PregnancyStatus": "X",
    "LastMenstrualDate": "X",
    "AdditionalPatientHistory": "X",
    "SpecialNeeds": "X",
    "PatientInstitutionResidence": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedPatientAliasSequence": "X",
    "ReferencedPatientPhotoSequence": "X",
    "InsurancePlanIdentification": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    # Study, visit, request
    "StudyInstanceUID": "U",
    "StudyDate": "Z",
    "StudyTime": "Z",
    "StudyID": "Z",
    "AccessionNumber": "Z",
    "StudyDescription": "X",
    "StudyComments": "X",
    "StudyIDIssuer": "X",
    "ReferencedStudySequence": "X",
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "ConsultingPhysicianName": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "RequestingServiceCodeSequence": "X",
    "AdmissionID": "X",
    "IssuerOfAdmissionID": "X",
    "AdmittingDate": "X",
    "AdmittingTime": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "DischargeDiagnosisDescription": "X",
    "ServiceEpisodeID": "X",
    "ServiceEpisodeDescription": "X",
    "IssuerOfServiceEpisodeID": "X",
    "CurrentPatientLocation": "X",
    "VisitComments": "X",
    "ReasonForStudy": "X",
    "ReasonForTheRequestedProcedure": "X",
    "RequestedProcedureDescription": "X",
    "RequestedProcedureID": "X",
    "RequestedProcedureLocation": "X",
    "RequestedProcedureComments": "X",
    "RequestedContrastAgent": "X",
    "RequestAttributesSequence": "X",
    "ImagingServiceRequestComments": "X",
    "IssueDateOfImagingServiceRequest": "X",
    "PlacerOrderNumberImagingServiceRequest": "Z",
    "FillerOrderNumberImagingServiceRequest": "Z",
    "OrderEnteredBy": "X",
    "OrderEntererLocation": "X",
    "OrderCallbackPhoneNumber": "X",
    "NamesOfIntendedRecipientsOfResults": "X",
    "IntendedRecipientsOfResultsIdentificationSequence": "X",
    # Series, equipment, procedure step
    "SeriesInstanceUID": "U",
    "SeriesDate": "X",
    "SeriesTime": "X",
    "SeriesDescription": "X",
    "ProtocolName": "X",
    "OperatorsName": "X",
    "OperatorIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "InstitutionName": "X",
    "InstitutionAddress": "X",
    "InstitutionCodeSequence": "X",
    "InstitutionalDepartmentName": "X",
    "StationName": "X",
    "DeviceSerialNumber": "X",
    "DeviceUID": "U",
    "DetectorID": "X",
    "GantryID": "X",
    "GeneratorID": "X",
    "CassetteID": "X",
    "PlateID": "X",
    "SoftwareVersions": "X",
    "SecondaryCaptureDeviceID": "X",
    "ModifyingDeviceID": "X",
    "ModifyingDeviceManufacturer": "X",
    "DateOfLastCalibration": "X",
    "TimeOfLastCalibration": "X",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepEndDate": "X",
    "PerformedProcedureStepEndTime": "X",
    "CommentsOnThePerformedProcedureStep": "X",
    "PerformedLocation": "X",
    "PerformedStationAETitle": "X",
    "PerformedStationName": "X",
    "PerformedStationNameCodeSequence": "X",
    "PerformedStationGeographicLocationCodeSequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledProcedureStepLocation": "X",
    "ScheduledProcedureStepStartDate": "X",
    "ScheduledProcedureStepStartTime": "X",
    "ScheduledProcedureStepEndDate": "X",
    "ScheduledProcedureStepEndTime": "X",
    "ScheduledPerformingPhysicianName": "X",
    "ScheduledPerformingPhysicianIdentificationSequence": "X",
    "ScheduledStationAETitle": "X",
    "ScheduledStationName": "X",
    "ScheduledStationNameCodeSequence": "X",
    "ScheduledStationGeographicLocationCodeSequence": "X",
    "ScheduledStudyLocation": "X",
    "ScheduledStudyLocationAETitle": "X",
    "ScheduledHumanPerformersSequence": "X",
    "ActualHumanPerformersSequence": "X",
    "HumanPerformerName": "X",
    "HumanPerformerOrganization": "X",
    "AcquisitionComments": "X",
    "AcquisitionProtocolDescription": "X",
    "AcquisitionDeviceProcessingDescription": "X",
    "AcquisitionContextSequence": "X",
    # Image / instance
    "SOPInstanceUID": "U",
    "MediaStorageSOPInstanceUID": "U",
    "InstanceCreatorUID": "U",
    "InstanceCreationDate": "X",
    "InstanceCreationTime": "X",
    "InstanceCoercionDateTime": "X",
    "TimezoneOffsetFromUTC": "X",
    "ContentDate": "Z",
    "ContentTime": "Z",
    "AcquisitionDate": "X",
    "AcquisitionTime": "X",
    "AcquisitionDateTime": "X",
    "DateOfSecondaryCapture": "X",
    "TimeOfSecondaryCapture": "X",
    "ImageComments": "X",
    "FrameComments": "X",
    "DerivationDescription": "X",
    "ImagePresentationComments": "X",
    "IdentifyingComments": "X",
    "TextComments": "X",
    "TextString": "X",
    "IconImageSequence": "X",
    "ContentCreatorName": "Z",
    "ContentCreatorIdentificationCodeSequence": "X",
    "ContentSequence": "X",
    "GraphicAnnotationSequence": "X",
    "OriginalAttributesSequence": "X",
    "ModifiedAttributesSequence": "X",
    "DigitalSignaturesSequence": "X",
    "DataSetTrailingPadding": "X",
    "FrameOfReferenceUID": "U",
    "ReferencedFrameOfReferenceUID": "U",
    "RelatedFrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U",
    "ConcatenationUID": "U",
    "DimensionOrganizationUID": "U",
    "DoseReferenceUID": "U",
    "FiducialUID": "U",
    "IrradiationEventUID": "U",
    "LargePaletteColorLookupTableUID": "U",
    "StorageMediaFileSetUID": "U",
    "TemplateExtensionCreatorUID": "U",
    "TemplateExtensionOrganizationUID": "U",
    "TransactionUID": "U",
    "UID": "U",
    "ReferencedSOPInstanceUID": "U",
    "ReferencedSOPInstanceUIDInFile": "U",
    "RequestedSOPInstanceUID": "U",
    "FailedSOPInstanceUIDList": "U",
    "SourceImageSequence": "K*",
    "ReferencedImageSequence": "K*",
    # Reports, interpretation, verification
    "InterpretationAuthor": "X",
    "InterpretationText": "X",
    "InterpretationDiagnosisDescription": "X",
    "InterpretationRecorder": "X",
    "InterpretationTranscriber": "X",
    "InterpretationApproverSequence": "X",
    "InterpretationIDIssuer": "X",
    "PhysicianApprovingInterpretation": "X",
    "Impressions": "X",
    "ResultsComments": "X",
    "ResultsIDIssuer": "X",
    "ResultsDistributionListSequence": "X",
    "DistributionName": "X",
    "DistributionAddress": "X",
    "VerifyingObserverName": "X",
    "VerifyingObserverSequence": "X",
    "VerifyingOrganization": "X",
    "VerifyingObserverIdentificationCodeSequence": "X",
    "AuthorObserverSequence": "X",
    "ParticipantSequence": "X",
    "CustodialOrganizationSequence": "X",
    "PersonName": "X",
    "PersonAddress": "X",
    "PersonTelephoneNumbers": "X",
    "PersonIdentificationCodeSequence": "X",
    "ReviewerName": "X",
    "EvaluatorName": "X",
    "ContributionDescription": "X",
    "TopicAuthor": "X",
    "TopicKeywords": "X",
    "TopicSubject": "X",
    "TopicTitle": "X",
    "StorageMediaFileSetID": "X",
    "ConfidentialityConstraintOnPatientDataDescription": "X",
}

_ACTIONS = {"X", "Z", "D", "U", "K*"}


def _tags(table: Mapping[str, str]) -> dict[BaseTag, str]:
    out: dict[BaseTag, str] = {}
    for keyword, action in table.items():
        tag = tag_for_keyword(keyword)
        # A typo in the table would silently leave an attribute in place: fail at import instead.
        if tag is None or action not in _ACTIONS:
            raise RuntimeError(f"bad de-identification table entry {keyword}: {action}")
        out[Tag(tag)] = action
    return out


PROFILE_TAGS: dict[BaseTag, str] = _tags(BASIC_PROFILE)
# VRs that name people or carry dates: removed even when the table does not list them (stricter than the profile).
_CATCH_ALL_VRS = {"PN", "DA", "DT", "TM"}


class UidMap:
    """Replaces UIDs consistently: the same original UID always maps to the same new UID in this object's lifetime.

    Keep one map per export session so that a de-identified overlay still points at the de-identified copy of its
    source image (and stays in the same pseudonymous study).
    """

    def __init__(self, prefix: str | None = None) -> None:
        self._prefix = prefix  # None: 2.25.<uuid> UIDs, which need no registered root
        self._map: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        uid = str(uid)
        if not uid:
            return uid
        if uid not in self._map:
            self._map[uid] = str(generate_uid(prefix=self._prefix))
        return self._map[uid]

    def __len__(self) -> int:
        return len(self._map)

    def __contains__(self, uid: object) -> bool:
        return str(uid) in self._map


def deidentify(
    dataset: Dataset,
    uid_map: UidMap | None = None,
    *,
    pseudonym: str = "",
) -> Dataset:
    """Return a de-identified copy of ``dataset`` (the original is not modified).

    ``pseudonym``, if given, becomes both Patient's Name and Patient ID (a research subject code chosen by the user);
    otherwise they are empty. Raises :class:`ExportError` if the film declares burned-in identifying annotation,
    because the pixels themselves would then carry identity.
    """
    if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
        raise ExportError(
            "This film has identifying text burned into its pixels, so it cannot be de-identified."
        )
    uid_map = uid_map if uid_map is not None else UidMap()
    out = copy.deepcopy(dataset)
    _clean(out, uid_map)
    if getattr(out, "file_meta", None) is not None:
        meta = out.file_meta
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        # The source application's AE title can name the site.
        for keyword in (
            "SourceApplicationEntityTitle",
            "SendingApplicationEntityTitle",
            "PrivateInformation",
        ):
            if keyword in meta:
                delattr(meta, keyword)
    if pseudonym:
        out.PatientName = pseudonym
        out.PatientID = pseudonym
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = DEID_METHOD
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = BASIC_PROFILE_CODE
    out.DeidentificationMethodCodeSequence = [code]
    # All dates were removed or emptied, not shifted.
    out.LongitudinalTemporalInformationModified = "REMOVED"
    return out


def _clean(ds: Dataset, uid_map: UidMap) -> None:
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private or tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100):
            del ds[tag]
            continue
        action = PROFILE_TAGS.get(tag)
        if action is None:
            if elem.VR in _CATCH_ALL_VRS:
                del ds[tag]
            elif elem.VR == "SQ":
                for item in elem.value:
                    _clean(item, uid_map)
            continue
        if action == "X":
            del ds[tag]
        elif action == "Z":
            elem.value = None if elem.VR == "SQ" else ""
        elif action == "D":
            elem.value = _dummy(elem.VR)
        elif action == "U":
            if elem.VM > 1:
                elem.value = [uid_map(v) for v in elem.value]
            elif elem.value:
                elem.value = uid_map(elem.value)
        elif action == "K*":
            for item in elem.value:
                _clean(item, uid_map)


def _dummy(vr: str) -> str:
    if vr == "DA":
        return "19000101"
    if vr == "TM":
        return "000000"
    if vr == "DT":
        return "19000101000000"
    return "ANONYMOUS"
