"""The canonical tables, their columns, and the enums shared by every part of chartaudit."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(IntEnum):
    """Status of one (note, item) pair; stored as int8 codes in the status matrix."""

    NOT_APPLICABLE = 0
    PASS = 1
    FAIL = 2
    NOT_EVALUABLE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self.value)


SEVERITY_ORDER = ["critical", "high", "medium", "low"]


class NoteType(StrEnum):
    EVALUATION = "evaluation"
    RE_EVALUATION = "re_evaluation"
    DAILY = "daily"
    PROGRESS = "progress"
    RECERTIFICATION = "recertification"
    DISCHARGE = "discharge"


NOTE_TYPES = [t.value for t in NoteType]
# Documents a therapist (not an assistant) must write, and that start a new progress period.
REPORT_NOTE_TYPES = ["evaluation", "re_evaluation", "progress", "recertification", "discharge"]
# Notes that establish or renew a plan of care.
PLAN_NOTE_TYPES = ["evaluation", "re_evaluation", "recertification"]

DISCIPLINES = ["PT", "OT", "SLP"]
ROLES = ["therapist", "assistant", "student", "unknown"]
PAYER_TYPES = [
    "medicare_b",
    "medicare_advantage",
    "medicaid",
    "commercial",
    "workers_comp",
    "self_pay",
    "other",
]
SETTINGS = ["outpatient", "snf", "home_health", "inpatient", "school", "other"]
GOAL_STATUSES = ["met", "progressing", "not_met", "discontinued"]

# Canonical columns per table, in output order. Required columns are listed separately.
TABLES: dict[str, list[str]] = {
    "notes": [
        "note_id",
        "patient_id",
        "patient_name",
        "episode_id",
        "discipline",
        "note_type",
        "date_of_service",
        "therapist",
        "therapist_id",
        "credential",
        "signed_at",
        "cosigner",
        "cosigned_at",
        "payer",
        "payer_type",
        "setting",
        "diagnosis_codes",
        "total_timed_minutes",
        "total_treatment_minutes",
        "subjective",
        "objective",
        "assessment",
        "plan",
        "note_text",
        "poc_start",
        "poc_end",
        "frequency",
        "duration",
        "poc_sent_at",
        "poc_certified_at",
        "certifier",
        "certifier_credential",
        "order_signed_at",
        "is_late_entry",
    ],
    "services": [
        "note_id",
        "cpt_code",
        "modifiers",
        "units",
        "minutes",
        "assistant_minutes",
        "charge",
        "allowed_amount",
    ],
    "goals": [
        "goal_id",
        "patient_id",
        "episode_id",
        "note_id",
        "term",
        "text",
        "target_date",
        "status",
        "baseline",
        "target",
    ],
    "measures": ["note_id", "measure", "score", "date"],
    "authorizations": [
        "auth_id",
        "patient_id",
        "episode_id",
        "discipline",
        "payer",
        "request_date",
        "requested_visits",
        "requested_through",
        "approved_visits",
        "start",
        "end",
        "status",
    ],
}

REQUIRED: dict[str, list[str]] = {
    "notes": [
        "note_id",
        "patient_id",
        "discipline",
        "note_type",
        "date_of_service",
        "therapist",
        "credential",
    ],
    "services": ["note_id", "cpt_code", "units"],
    "goals": ["text"],
    "measures": ["note_id", "measure", "score"],
    "authorizations": ["patient_id"],
}

DATE_COLUMNS: dict[str, list[str]] = {
    "notes": [
        "date_of_service",
        "signed_at",
        "cosigned_at",
        "poc_start",
        "poc_end",
        "poc_sent_at",
        "poc_certified_at",
        "order_signed_at",
    ],
    "services": [],
    "goals": ["target_date"],
    "measures": ["date"],
    "authorizations": ["request_date", "requested_through", "start", "end"],
}

NUMERIC_COLUMNS: dict[str, list[str]] = {
    "notes": ["total_timed_minutes", "total_treatment_minutes"],
    "services": ["units", "minutes", "assistant_minutes", "charge", "allowed_amount"],
    "goals": [],
    "measures": ["score"],
    "authorizations": ["requested_visits", "approved_visits"],
}

BOOL_COLUMNS: dict[str, list[str]] = {"notes": ["is_late_entry"]}

# Narrative columns that make up a note's text, in reading order.
TEXT_COLUMNS = ["subjective", "objective", "assessment", "plan", "note_text"]

# Derived columns the loader adds to notes (never read from input).
DERIVED_NOTE_COLUMNS = ["role", "narrative", "episode_derived"]

# Provenance columns the loader adds to every table: source file and 1-based data row number
# (the row as a spreadsheet user would count it, header = row 1).
SOURCE_FILE = "_file"
SOURCE_ROW = "_row"

# The note columns that open every findings.csv and notes.csv row.
NOTE_KEY_COLUMNS = [
    "note_id",
    "patient_id",
    "episode_id",
    "therapist",
    "discipline",
    "note_type",
    "date_of_service",
]
FINDINGS_COLUMNS = [
    *NOTE_KEY_COLUMNS,
    "item_id",
    "item_title",
    "severity",
    "message",
    "evidence",
]
NOTES_OUTPUT_COLUMNS = [
    *NOTE_KEY_COLUMNS,
    "payer_type",
    "applicable",
    "passed",
    "failed",
    "not_evaluable",
    "score",
]
REJECTED_COLUMNS = ["file", "row", "table", "reason"]
# Optional values the loader could not read as a date, number or yes/no and read as blank: one
# row per (file, row, column), with the value as written and what it should have been.
UNREADABLE_COLUMNS = ["table", "column", "file", "row", "value", "expected"]
DETERMINATION_COLUMNS = [
    "episode_id",
    "patient_id",
    "discipline",
    "therapist",
    "requested_visits",
    "visits_used",
    "recommendation",
    "recommended_visits",
    "level_of_care",
    "criteria_failed",
    "rationale",
]
