"""Re-export a canonical sample the way another EMR vendor would (test helper).

``to_vendor_layout(canonical_dir, out_dir)`` writes the same charts with vendor file names,
column names, codes and formats, plus the ``chartaudit-mapping.yaml`` that maps them back:

- ``Visit Report 2026-10.csv`` (cp1252): one row per note, "Doc #", "MRN", "DOS" as MM/DD/YYYY,
  "Visit Type" IE/TX/PN/RE/RC/DC, "Signed" as "MM/DD/YYYY hh:mm AM/PM", typographic apostrophes
  (’) in the narrative, as text pasted from a word processor has them;
- ``Charges.xlsx``, sheet "Charges": one row per service line, numbers as numbers;
- ``Goals.xlsx``, sheet "Goals"; ``Outcome Scores.csv`` and ``Auth Requests.csv`` (cp1252).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

VISIT_TYPES = {
    "evaluation": "IE",
    "daily": "TX",
    "progress": "PN",
    "re_evaluation": "RE",
    "recertification": "RC",
    "discharge": "DC",
}
PAYER_TYPES = {
    "medicare_b": "MCR B",
    "medicare_advantage": "MCR ADV",
    "medicaid": "MCD",
    "commercial": "COMM",
    "workers_comp": "WC",
    "self_pay": "SELF",
    "other": "OTH",
}
DISCIPLINES = {"PT": "PT", "OT": "OT", "SLP": "ST"}
SETTINGS = {"outpatient": "Outpatient Clinic"}

NOTE_COLUMNS = {  # canonical -> vendor
    "note_id": "Doc #",
    "patient_id": "MRN",
    "patient_name": "Patient Name",
    "episode_id": "Case #",
    "discipline": "Discipline",
    "note_type": "Visit Type",
    "date_of_service": "DOS",
    "therapist": "Provider",
    "therapist_id": "Provider NPI",
    "credential": "Credentials",
    "signed_at": "Signed",
    "cosigner": "Co-Signer",
    "cosigned_at": "Co-Signed",
    "payer": "Insurance",
    "payer_type": "Fin Class",
    "setting": "Location",
    "diagnosis_codes": "Dx",
    "total_timed_minutes": "Timed Mins",
    "total_treatment_minutes": "Total Mins",
    "subjective": "Subjective",
    "objective": "Objective",
    "assessment": "Assessment",
    "plan": "Plan",
    "poc_start": "POC From",
    "poc_end": "POC Thru",
    "frequency": "Freq",
    "duration": "Dur",
    "poc_sent_at": "POC Sent",
    "poc_certified_at": "POC Signed",
    "certifier": "Physician",
    "certifier_credential": "Physician Cred",
    "order_signed_at": "Order Signed",
}
SERVICE_COLUMNS = {
    "note_id": "Doc #",
    "cpt_code": "CPT",
    "modifiers": "Mods",
    "units": "Units",
    "minutes": "Mins",
    "assistant_minutes": "Asst Mins",
    "charge": "Charge $",
    "allowed_amount": "Allowed $",
}
GOAL_COLUMNS = {
    "goal_id": "Goal ID",
    "patient_id": "MRN",
    "episode_id": "Case #",
    "note_id": "Doc #",
    "term": "STG/LTG",
    "text": "Goal",
    "target_date": "Target Date",
    "status": "Goal Status",
    "baseline": "Baseline",
    "target": "Target",
}
MEASURE_COLUMNS = {"note_id": "Doc #", "measure": "Tool", "score": "Score", "date": "Date Given"}
AUTH_COLUMNS = {
    "auth_id": "Auth #",
    "patient_id": "MRN",
    "episode_id": "Case #",
    "discipline": "Disc",
    "payer": "Insurance",
    "request_date": "Requested On",
    "requested_visits": "Visits Req",
    "requested_through": "Req Thru",
    "approved_visits": "Visits Appr",
    "start": "Auth Start",
    "end": "Auth End",
    "status": "Auth Status",
}
TERMS = {"short": "STG", "long": "LTG"}
STATUSES = {"met": "Met", "progressing": "Progressing", "not_met": "Not Met"}
AUTH_STATUSES = {"approved": "Approved", "pending": "Pending"}


def _us_date(values: pd.Series) -> pd.Series:
    d = pd.to_datetime(values.replace("", None), format="%Y-%m-%d")
    return d.dt.strftime("%m/%d/%Y").fillna("")


def _us_time(values: pd.Series) -> pd.Series:
    d = pd.to_datetime(values.replace("", None), format="%Y-%m-%d %H:%M")
    return d.dt.strftime("%m/%d/%Y %I:%M %p").fillna("")


def _read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _to_cp1252_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="cp1252", lineterminator="\r\n")


def _to_xlsx(frame: pd.DataFrame, path: Path, sheet: str, numeric: list[str]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(frame.columns))
    values = frame.copy()
    for col in numeric:
        values[col] = pd.to_numeric(values[col].replace("", None), errors="coerce")
    for row in values.astype(object).where(values.notna(), None).itertuples(index=False):
        ws.append(list(row))
    wb.save(path)


def to_vendor_layout(canonical_dir: Path, out_dir: Path) -> None:
    """Write canonical_dir's charts in the vendor layout (with its mapping file) into out_dir."""
    canonical_dir, out_dir = Path(canonical_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    notes = _read(canonical_dir, "notes")
    v = pd.DataFrame({vendor: notes[canon] for canon, vendor in NOTE_COLUMNS.items()})
    v["Visit Type"] = notes["note_type"].map(VISIT_TYPES)
    v["Discipline"] = notes["discipline"].map(DISCIPLINES)
    v["Fin Class"] = notes["payer_type"].map(PAYER_TYPES).fillna("")
    v["Location"] = notes["setting"].map(SETTINGS).fillna("")
    for col in ["DOS", "POC From", "POC Thru"]:
        v[col] = _us_date(v[col])
    for col in ["Signed", "Co-Signed", "POC Sent", "POC Signed", "Order Signed"]:
        v[col] = _us_time(v[col])
    for col in ["Subjective", "Objective", "Assessment", "Plan"]:
        v[col] = v[col].str.replace("'", "\u2019", regex=False)  # typographic apostrophe
    v["Late Entry"] = np.where(notes["is_late_entry"] == "true", "Y", "N")
    _to_cp1252_csv(v, out_dir / "Visit Report 2026-10.csv")

    services = _read(canonical_dir, "services")
    s = pd.DataFrame({vendor: services[canon] for canon, vendor in SERVICE_COLUMNS.items()})
    s["Mods"] = s["Mods"].str.replace(",", " ", regex=False)
    numeric = ["Units", "Mins", "Asst Mins", "Charge $", "Allowed $"]
    _to_xlsx(s, out_dir / "Charges.xlsx", "Charges", numeric)

    goals = _read(canonical_dir, "goals")
    g = pd.DataFrame({vendor: goals[canon] for canon, vendor in GOAL_COLUMNS.items()})
    g["STG/LTG"] = goals["term"].map(TERMS)
    g["Goal Status"] = goals["status"].map(STATUSES)
    g["Target Date"] = _us_date(g["Target Date"])
    _to_xlsx(g, out_dir / "Goals.xlsx", "Goals", [])

    measures = _read(canonical_dir, "measures")
    m = pd.DataFrame({vendor: measures[canon] for canon, vendor in MEASURE_COLUMNS.items()})
    m["Date Given"] = _us_date(m["Date Given"])
    _to_cp1252_csv(m, out_dir / "Outcome Scores.csv")

    auth = _read(canonical_dir, "authorizations")
    a = pd.DataFrame({vendor: auth[canon] for canon, vendor in AUTH_COLUMNS.items()})
    a["Disc"] = auth["discipline"].map(DISCIPLINES)
    a["Auth Status"] = auth["status"].map(AUTH_STATUSES)
    for col in ["Requested On", "Req Thru", "Auth Start", "Auth End"]:
        a[col] = _us_date(a[col])
    _to_cp1252_csv(a, out_dir / "Auth Requests.csv")

    def inverse(d: dict[str, str]) -> dict[str, str]:
        return {vendor: canon for canon, vendor in d.items()}

    us = "%m/%d/%Y"
    mapping = {
        "tables": {
            "notes": {
                "files": ["Visit Report*.csv"],
                "encoding": "cp1252",
                "date_format": us,
                "columns": {**NOTE_COLUMNS, "is_late_entry": "Late Entry"},
                "values": {
                    "note_type": inverse(VISIT_TYPES),
                    "discipline": inverse(DISCIPLINES),
                    "payer_type": inverse(PAYER_TYPES),
                    "setting": inverse(SETTINGS),
                    "is_late_entry": {"Y": "true", "N": "false"},
                },
            },
            "services": {"files": ["Charges.xlsx"], "sheet": "Charges", "columns": SERVICE_COLUMNS},
            "goals": {
                "files": ["Goals.xlsx"],
                "sheet": "Goals",
                "date_format": us,
                "columns": GOAL_COLUMNS,
                "values": {"term": inverse(TERMS), "status": inverse(STATUSES)},
            },
            "measures": {
                "files": ["Outcome Scores.csv"],
                "encoding": "cp1252",
                "date_format": us,
                "columns": MEASURE_COLUMNS,
            },
            "authorizations": {
                "files": ["Auth Requests.csv"],
                "encoding": "cp1252",
                "date_format": us,
                "columns": AUTH_COLUMNS,
                "values": {"discipline": inverse(DISCIPLINES), "status": inverse(AUTH_STATUSES)},
            },
        }
    }
    text = yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True)
    (out_dir / "chartaudit-mapping.yaml").write_text(text, encoding="utf-8")
