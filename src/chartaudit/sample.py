"""Synthetic therapy EMR export generator (canonical layout) with planted, recorded defects.

``generate(out_dir, notes, seed)`` writes notes/services/goals/measures/authorizations CSVs that
look like an outpatient PT/OT/SLP export covering three months, and returns the row counts and the
list of planted defects (note_id, defect, episode_id). Everything is vectorised over whole columns:
the only Python loops run over sentence templates, codes and defect kinds, never over notes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .model import TABLES

EXPORT_START = np.datetime64("2026-08-01", "D")
EXPORT_END = np.datetime64("2026-10-31", "D")
KX_THRESHOLD = 2480.0
PLANTED_COLUMNS = ["note_id", "defect", "episode_id"]

# ----------------------------------------------------------------------------------------------
# Reference data

FIRST_NAMES = np.array(
    "Emily Michael Sarah David Jessica Daniel Laura Kevin Megan Brian Rachel Jason Lauren Eric "
    "Amanda Ryan Nicole Justin Katherine Andrew Priya Wei Aisha Mateo Hannah Tyler Olivia Marcus "
    "Grace Samuel Chloe Nathan Fatima Diego Leah Caleb Naomi Isaac Zoe Elijah Ava Omar Maya Lucas "
    "Elena Carlos Julia Ahmed Sofia Gabriel Lily Jamal Nora Ethan Claire Owen Ruth Victor Hana "
    "Adrian".split()
)
LAST_NAMES = np.array(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris Clark Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson "
    "Baker Hall Rivera Campbell Mitchell Carter Roberts Patel Kim Chen Okafor Schmidt Kowalski "
    "Murphy Sullivan Ramirez Cohen Rossi Yamamoto Haddad Novak".split()
)
PATIENT_FIRST = np.array(
    "James Mary Robert Patricia John Jennifer William Linda Richard Barbara Joseph Elizabeth "
    "Charles Susan Thomas Margaret Christopher Dorothy Donald Betty Mark Sandra Paul Ashley Steven "
    "Donna George Carol Kenneth Ruth Edward Sharon Ronald Helen Anthony Deborah Frank Shirley "
    "Gary Virginia Larry Joan Dennis Judith Walter Evelyn Harold Frances Henry Gloria Arthur "
    "Irene Raymond Marilyn Eugene Beverly Ramón Lucía Maeve Kwame Mei Dmitri Ingrid Rosa Tomás "
    "Yusuf Amara Kenji Beatriz Anjali".split()
)
PATIENT_LAST = np.array(
    "Anderson Bailey Bennett Brooks Butler Coleman Cook Cooper Cox Diaz Edwards Evans Fisher "
    "Foster Gonzalez Gray Griffin Hayes Henderson Howard Hughes James Jenkins Kelly Long Morgan "
    "Morris Murphy Myers Ortiz Parker Perez Perry Peterson Phillips Powell Price Reed Reyes "
    "Richardson Rogers Ross Russell Sanchez Sanders Simmons Stewart Sullivan Turner Ward "
    "Washington "
    "Watson Wood Ibáñez Müller O'Brien Van-Dyke Abernathy Delacroix Nakamura Okonkwo Petrov "
    "Lindqvist Castañeda".split()
)
# The first staff names are fixed so every sample has the accented and the apostrophe/hyphen name.
FIXED_STAFF = ["José Núñez", "Siobhan O'Neil-Park"]

CREDENTIALS = {
    ("PT", "therapist"): ["PT, DPT", "DPT", "PT"],
    ("OT", "therapist"): ["OTR/L", "MS, OTR/L"],
    ("SLP", "therapist"): ["CCC-SLP", "MS, CCC-SLP", "MA, CCC-SLP"],
    ("PT", "assistant"): ["PTA"],
    ("OT", "assistant"): ["COTA/L", "COTA"],
    ("SLP", "assistant"): ["SLPA"],
    ("PT", "student"): ["SPT"],
    ("OT", "student"): ["OTS"],
}

# payer name, payer_type, probability
PAYERS = [
    ("Medicare Part B", "medicare_b", 0.40),
    ("Humana Gold Plus HMO", "medicare_advantage", 0.08),
    ("AARP Medicare Advantage from UnitedHealthcare", "medicare_advantage", 0.08),
    ("Blue Cross Blue Shield PPO", "commercial", 0.13),
    ("Aetna Choice POS II", "commercial", 0.09),
    ("Cigna", "commercial", 0.08),
    ("State Medicaid", "medicaid", 0.07),
    ("Travelers Workers' Compensation", "workers_comp", 0.04),
    ("Self-pay", "self_pay", 0.03),
]

# Payers by age: Medicare is mostly 65 and over (under 65 only with a disability or ESRD);
# workers' compensation only for people of working age. (payer index, weight) per age band.
PAYER_WEIGHTS_65 = [0.60, 0.16, 0.16, 0.03, 0.02, 0.01, 0.0, 0.0, 0.02]
PAYER_WEIGHTS_UNDER_65 = [0.14, 0.02, 0.02, 0.28, 0.19, 0.17, 0.1, 0.05, 0.03]

# Age at the evaluation by condition: (regex on the episode's codes, mean, lowest, highest);
# the first rule that matches decides.
AGE_RULES = [
    (r"I69", 71, 50, 92),
    (r"G20|G31", 74, 58, 90),
    (r"S72|S42", 77, 60, 95),
    (r"R26|R29\.6|R53|I50|J44|M62\.81|R13|R41", 77, 60, 94),
    (r"Z96|Z47", 68, 52, 86),
    (r"M48", 70, 56, 88),
    (r"M1[678]", 66, 48, 86),
    (r"M22|S83", 28, 16, 44),
    (r"S13|S62", 38, 18, 62),
    (r"S52", 64, 40, 88),
    (r"M75|S43", 57, 35, 80),
    (r"G56|M65", 52, 30, 75),
    (r"M5[014]|M25", 48, 22, 78),
    (r"", 55, 25, 85),
]

# Onset wording per diagnosis ("Onset 6 weeks ago {onset}.").
_SPINE_ONSET = (
    "after lifting at work",
    "after a motor vehicle accident",
    "without a specific injury",
    "after yard work",
)
_NECK_ONSET = (
    "after a motor vehicle accident",
    "without a specific injury",
    "after long hours of computer work",
)
_QUIET_ONSET = ("without a specific injury", "with gradual worsening and no injury")
_KNEE_INJURY = ("after a twisting injury playing pickleball", "after a fall on the stairs")
_SHOULDER_ONSET = (
    "after lifting overhead at work",
    "without a specific injury",
    "after a fall onto the shoulder",
)
_FALL_ONSET = (
    "after a fall at home",
    "after two falls in the past month",
    "after a hospitalization",
)
_FOOSH = ("after a fall on an outstretched hand",)
_STROKE_ONSET = ("after an ischemic stroke", "after a CVA")
_COG_ONSET = (
    "after a recent hospitalization",
    "after a fall with a head strike",
    "with gradual worsening noted by family",
)

# Diagnoses per region: (ICD-10-CM codes, their wording, onset phrases). "#" is the laterality
# digit (1 right, 2 left), "@" the side and dominance of hemiplegia (1 right dominant, 4 left
# non-dominant), "{lat}" the side in words; injuries use the subsequent-encounter "D" code.
DIAGNOSES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "lumbar": [
        ("M54.50", "low back pain", _SPINE_ONSET),
        ("M54.51", "vertebrogenic low back pain", _SPINE_ONSET),
        ("M54.16", "lumbar radiculopathy", _SPINE_ONSET),
        ("M51.16", "lumbar disc disorder with radiculopathy", _SPINE_ONSET),
        ("M48.061", "lumbar spinal stenosis", _QUIET_ONSET),
        ("M54.50;M62.830", "low back pain with muscle spasm", _SPINE_ONSET),
    ],
    "neck": [
        ("M54.2", "neck pain", _NECK_ONSET),
        ("M54.12", "cervical radiculopathy", _NECK_ONSET),
        ("M50.320", "cervical disc degeneration", _QUIET_ONSET),
        ("S13.4XXD", "cervical sprain (whiplash)", ("after a rear-end motor vehicle accident",)),
        ("M54.2;R29.3", "neck pain with postural dysfunction", _NECK_ONSET),
    ],
    "knee": [
        ("M17.1#", "{lat} knee osteoarthritis", _QUIET_ONSET),
        ("M25.56#", "{lat} knee pain", _QUIET_ONSET + _KNEE_INJURY),
        ("S83.51#D", "{lat} ACL sprain", _KNEE_INJURY),
        ("M22.2X#", "{lat} patellofemoral pain", _QUIET_ONSET),
        ("M17.1#;M25.66#", "{lat} knee osteoarthritis with stiffness", _QUIET_ONSET),
    ],
    "knee_tka": [
        ("Z47.1;Z96.65#", "{lat} total knee arthroplasty", ("after elective surgery for OA",)),
        ("Z96.65#", "{lat} total knee arthroplasty", ("after elective surgery for OA",)),
        (
            "Z47.1;Z96.65#;M25.66#",
            "{lat} total knee arthroplasty with stiffness",
            ("after elective surgery for OA",),
        ),
    ],
    "shoulder": [
        ("M75.10#", "{lat} rotator cuff tear", _SHOULDER_ONSET),
        ("M75.4#", "{lat} shoulder impingement", _SHOULDER_ONSET),
        ("M75.8#", "{lat} rotator cuff tendinopathy", _SHOULDER_ONSET),
        ("M25.51#", "{lat} shoulder pain", _SHOULDER_ONSET),
        ("S43.42#D", "{lat} rotator cuff sprain", ("after a fall onto the shoulder",)),
        ("M75.4#;M25.61#", "{lat} shoulder impingement with stiffness", _SHOULDER_ONSET),
    ],
    "hip": [
        ("M16.1#", "{lat} hip osteoarthritis", _QUIET_ONSET),
        ("M25.55#", "{lat} hip pain", _QUIET_ONSET),
        ("Z47.1;Z96.64#", "{lat} total hip arthroplasty", ("after elective surgery for OA",)),
        ("S72.00#D", "{lat} femoral neck fracture, surgically repaired", ("after a fall at home",)),
        ("M16.1#;M62.81", "{lat} hip osteoarthritis with weakness", _QUIET_ONSET),
    ],
    "balance": [
        ("R26.81", "unsteadiness on feet", _FALL_ONSET),
        ("R26.81;Z91.81", "unsteadiness on feet and history of falls", _FALL_ONSET),
        ("R26.89;Z91.81", "impaired balance and history of falls", _FALL_ONSET),
        ("R29.6", "repeated falls", _FALL_ONSET),
        ("R26.81;M62.81", "unsteadiness on feet and weakness", _FALL_ONSET),
    ],
    "gait": [
        ("R26.2", "difficulty walking", _FALL_ONSET),
        ("R26.89", "gait abnormality", _FALL_ONSET),
        (
            "G20.A1;R26.89",
            "Parkinson disease with gait abnormality",
            ("with increased freezing of gait",),
        ),
        ("R26.2;M62.81", "difficulty walking and weakness", _FALL_ONSET),
        ("G20.A1", "Parkinson disease", ("with worsening gait and a near fall",)),
    ],
    "endurance": [
        ("M62.81", "generalized weakness", ("after a recent hospitalization",)),
        ("R53.81", "deconditioning", ("after a recent hospitalization",)),
        ("M62.81;J44.9", "generalized weakness and COPD", ("after a COPD exacerbation",)),
        (
            "R53.81;I50.22",
            "deconditioning and chronic heart failure",
            ("after a hospitalization for heart failure",),
        ),
        (
            "R53.81;R26.89",
            "deconditioning with gait abnormality",
            ("after a hospitalization for pneumonia",),
        ),
    ],
    "hand": [
        ("S52.50#D", "{lat} distal radius fracture", _FOOSH),
        (
            "G56.0#",
            "{lat} carpal tunnel syndrome",
            ("without a specific injury", "with repetitive work at the computer"),
        ),
        ("M18.1#", "{lat} thumb CMC osteoarthritis", _QUIET_ONSET),
        ("M65.31#", "{lat} trigger thumb", _QUIET_ONSET),
        ("S62.10#D", "{lat} carpal fracture", _FOOSH),
        ("S52.50#D;M25.63#", "{lat} distal radius fracture with wrist stiffness", _FOOSH),
    ],
    "ue_shoulder": [
        ("M75.10#", "{lat} rotator cuff tear limiting ADLs", _SHOULDER_ONSET),
        ("M75.4#", "{lat} shoulder impingement limiting ADLs", _SHOULDER_ONSET),
        ("S42.20#D", "{lat} proximal humerus fracture", ("after a fall at home",)),
        (
            "S42.20#D;M25.61#",
            "{lat} proximal humerus fracture with stiffness",
            ("after a fall at home",),
        ),
    ],
    "adl_neuro": [
        ("I69.35@", "{lat} hemiparesis following CVA", _STROKE_ONSET),
        ("I69.35@;R27.8", "{lat} hemiparesis and incoordination following CVA", _STROKE_ONSET),
        ("I69.35@;M62.81", "{lat} hemiparesis following CVA", _STROKE_ONSET),
    ],
    "dysphagia": [
        (
            "R13.12",
            "oropharyngeal dysphagia",
            ("after a hospitalization for pneumonia", "after prolonged intubation"),
        ),
        (
            "R13.13",
            "pharyngeal dysphagia",
            ("after a hospitalization for pneumonia", "after prolonged intubation"),
        ),
        ("I69.391;R13.12", "oropharyngeal dysphagia following CVA", _STROKE_ONSET),
        (
            "G20.A1;R13.12",
            "oropharyngeal dysphagia with Parkinson disease",
            ("with gradual worsening at meals",),
        ),
    ],
    "aphasia": [
        ("I69.320", "aphasia following CVA", _STROKE_ONSET),
        ("I69.320;I69.322", "aphasia and dysarthria following CVA", _STROKE_ONSET),
        ("I69.320;I69.390", "aphasia and apraxia following CVA", _STROKE_ONSET),
    ],
    "cognition": [
        ("R41.841", "cognitive-communication deficit", _COG_ONSET),
        ("R41.844", "executive function deficit", _COG_ONSET),
        (
            "G31.84;R41.841",
            "mild cognitive impairment",
            ("with gradual worsening noted by family",),
        ),
        ("R41.840;R41.841", "attention and cognitive-communication deficit", _COG_ONSET),
    ],
}
# A patient seen by two or three disciplines is a stroke patient in each of them.
NEURO_DIAGNOSES = {
    "balance": [
        ("I69.35@;R26.81", "{lat} hemiparesis following CVA with unsteadiness", _STROKE_ONSET),
        ("I69.35@;R26.89", "{lat} hemiparesis following CVA with gait abnormality", _STROKE_ONSET),
    ],
    "dysphagia": [
        ("I69.391;R13.12", "oropharyngeal dysphagia following CVA", _STROKE_ONSET),
        ("I69.391;R13.13", "pharyngeal dysphagia following CVA", _STROKE_ONSET),
    ],
}

# Regions: name, discipline, (unused), primary instrument, (baseline lo, hi), change per week
# (in the instrument's "better" direction), instrument direction (+1 higher better, -1 lower).
REGIONS = [
    ("lumbar", "PT", None, "ODI", (28, 56), 2.8, -1),
    ("knee", "PT", None, "LEFS", (22, 46), 2.6, 1),
    ("knee_tka", "PT", None, "KOOS JR", (38, 58), 3.2, 1),
    ("shoulder", "PT", None, "QuickDASH", (38, 66), 3.0, -1),
    ("neck", "PT", None, "NDI", (14, 30), 1.6, -1),
    ("hip", "PT", None, "LEFS", (20, 42), 2.6, 1),
    ("balance", "PT", None, "Berg", (30, 44), 1.5, 1),
    ("gait", "PT", None, "TUG", (14.0, 24.0), 0.9, -1),
    ("endurance", "PT", None, "6MWT", (160, 300), 14, 1),
    ("hand", "OT", None, "QuickDASH", (40, 70), 3.2, -1),
    ("ue_shoulder", "OT", None, "QuickDASH", (40, 66), 3.0, -1),
    ("adl_neuro", "OT", None, "FIM", (70, 98), 2.5, 1),
    ("dysphagia", "SLP", None, "FOIS", (4, 5.4), 0.3, 1),
    ("aphasia", "SLP", None, "FIM cognitive", (14, 22), 0.9, 1),
    ("cognition", "SLP", None, "FIM cognitive", (15, 24), 0.9, 1),
]
REGION_NAMES = [r[0] for r in REGIONS]
REGION_DISC = np.array([r[1] for r in REGIONS])
NEURO_REGION = {"PT": "balance", "OT": "adl_neuro", "SLP": "dysphagia"}
INSTRUMENT_RANGE = {
    "ODI": (0, 100),
    "LEFS": (0, 80),
    "KOOS JR": (0, 100),
    "QuickDASH": (0, 100),
    "NDI": (0, 50),
    "Berg": (0, 56),
    "TUG": (5.0, 60.0),
    "6MWT": (0, 700),
    "FIM": (18, 126),
    "FOIS": (1, 7),
    "FIM cognitive": (5, 35),
    "NPRS": (0, 10),
}
DECIMALS = {"TUG": 1}

PROB_ASSISTANT_NOTE = 0.22
PROB_STUDENT_NOTE = 0.025


@dataclass
class SampleResult:
    """Row counts per written table and the planted defects (note_id, defect, episode_id)."""

    counts: dict[str, int]
    planted: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PLANTED_COLUMNS))


@dataclass
class Coded:
    """A text column as codes into a small array of values (-1 = blank); cheap to write."""

    codes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def _df(columns: dict) -> pd.DataFrame:
    """DataFrame keeping text columns as numpy object arrays (no Arrow string conversions)."""
    out = {}
    for name, v in columns.items():
        a = np.asarray(v) if not np.isscalar(v) else v
        if isinstance(a, np.ndarray) and a.dtype.kind in "OUS":
            out[name] = pd.Series(a.astype(object), dtype=object)
        else:
            out[name] = v
    return pd.DataFrame(out)


def _set(df: pd.DataFrame, name: str, values) -> None:
    """Assign a column; text stays an object column."""
    a = np.asarray(values)
    if a.dtype.kind in "OUS":
        df[name] = pd.Series(a.astype(object), index=df.index, dtype=object)
    else:
        df[name] = a


def _map(values, mapping: dict, default=None, dtype=object) -> np.ndarray:
    """Element-wise dict lookup over an array (missing keys -> default)."""
    mapped = pd.Series(np.asarray(values, dtype=object), dtype=object).map(mapping)
    if default is not None:
        mapped = mapped.fillna(default)
    return mapped.to_numpy(dtype=dtype)


def _isin(values, options) -> np.ndarray:
    """values in options, element-wise (a few options; fast on object arrays)."""
    values = np.asarray(values)
    out = np.zeros(values.shape, dtype=bool)
    for option in options:
        out |= values == option
    return out


def _isin_large(values, options) -> np.ndarray:
    """values in options for many options (hash based)."""
    return pd.Index(np.asarray(options)).get_indexer(np.asarray(values)) >= 0


def _days(a) -> np.ndarray:
    return np.asarray(a).astype("timedelta64[D]")


def _names(rng, first: np.ndarray, last: np.ndarray, n: int, fixed: list[str]) -> np.ndarray:
    """n distinct "First Last" names (middle initials once the combinations run out)."""
    combos = len(first) * len(last)
    space = combos if n <= combos // 2 else combos * 19
    pick = rng.choice(space, n, replace=False) if n <= space else np.arange(n) % space
    f, rest = pick % len(first), pick // len(first)
    ln, mid = rest % len(last), rest // len(last)
    initial = np.array([""] + [f" {c}." for c in "ABCDEFGHJKLMNPRSTW"], dtype=object)
    out = first[f].astype(object) + initial[mid] + " " + last[ln].astype(object)
    k = min(len(fixed), n)
    out[:k] = fixed[:k]
    return out


def _npi(rng, n: int) -> np.ndarray:
    return (1_000_000_000 + rng.choice(900_000_000, n, replace=False)).astype(str).astype(object)


def _staff(rng, notes: int) -> pd.DataFrame:
    """Therapists (~1 per 120 notes, at least 12), assistants and a few students."""
    n_ther = max(12, round(notes / 120))
    n_pt = max(2, round(n_ther * 0.56))
    n_ot = max(2, round(n_ther * 0.25))
    n_slp = max(2, n_ther - n_pt - n_ot)
    plan = [
        ("PT", "therapist", n_pt),
        ("OT", "therapist", n_ot),
        ("SLP", "therapist", n_slp),
        ("PT", "assistant", max(2, n_pt // 3)),
        ("OT", "assistant", max(1, n_ot // 3)),
        ("SLP", "assistant", max(1, n_slp // 4)),
        ("PT", "student", max(1, n_pt // 12)),
        ("OT", "student", max(1, n_ot // 12)),
    ]
    disc = np.concatenate([[d] * k for d, _, k in plan])
    role = np.concatenate([[r] * k for _, r, k in plan])
    n = len(disc)
    cred = np.empty(n, dtype=object)
    for (d, r), options in CREDENTIALS.items():
        m = (disc == d) & (role == r)
        cred[m] = np.array(options, dtype=object)[rng.integers(0, len(options), m.sum())]
    return _df(
        {
            "name": _names(rng, FIRST_NAMES, LAST_NAMES, n, FIXED_STAFF),
            "staff_id": _npi(rng, n),
            "discipline": disc,
            "role": role,
            "credential": cred,
        }
    )


def _episodes(rng, notes: int, staff: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients and their episodes; enough episodes for about `notes` notes in the export."""
    n_pat = notes // 8 + 40  # over-draw, cut below once the note target is reached
    k_ep = rng.choice([1, 2, 3], n_pat, p=[0.86, 0.11, 0.03])
    pat = np.repeat(np.arange(n_pat), k_ep)
    seq = np.arange(len(pat)) - np.repeat(np.cumsum(k_ep) - k_ep, k_ep)
    n_ep = len(pat)
    # Single-discipline patients: PT 62%, OT 22%, SLP 16%; multi: a neuro patient seen by 2-3.
    perm = np.argsort(rng.random((n_pat, 3)), axis=1)
    disc_names = np.array(["PT", "OT", "SLP"])
    single = rng.choice(3, n_pat, p=[0.62, 0.22, 0.16])
    disc_i = np.where(k_ep[pat] == 1, single[pat], perm[pat, np.minimum(seq, 2)])
    disc = disc_names[disc_i]
    region = np.empty(n_ep, dtype=np.int64)
    for d in ("PT", "OT", "SLP"):
        m = disc == d
        choices = np.flatnonzero(REGION_DISC == d)
        weights = {"PT": [5, 4, 2, 4, 3, 2, 3, 2, 1], "OT": [4, 3, 2], "SLP": [4, 2, 2]}[d]
        w = np.array(weights, float)
        region[m] = rng.choice(choices, m.sum(), p=w / w.sum())
    multi = k_ep[pat] > 1
    for d, r in NEURO_REGION.items():
        region[multi & (disc == d)] = REGION_NAMES.index(r)
    # Start dates: patient base date over the quarter, each discipline within a week of it.
    span = int((EXPORT_END - EXPORT_START).astype(int)) - 3
    base = EXPORT_START + _days(rng.integers(0, span, n_pat))
    start = np.busday_offset(
        base[pat] + _days(rng.integers(0, 7, n_ep) * (seq > 0)), 0, roll="forward"
    )
    freq = rng.choice([2, 3], n_ep, p=[0.7, 0.3])
    planned = np.clip(np.round(rng.gamma(5.0, 3.2, n_ep)).astype(int), 4, 40)
    # Some episodes start early in the quarter and run long (they reach several progress reports).
    long_run = rng.random(n_ep) < 0.1
    start = np.where(
        long_run,
        np.busday_offset(EXPORT_START + _days(rng.integers(0, 25, n_ep)), 0, roll="forward"),
        start,
    )
    planned = np.where(long_run, rng.integers(26, 41, n_ep), planned)
    ep = _df(
        {
            "pat": pat,
            "discipline": disc,
            "region": region,
            "start": start,
            "freq": freq,
            "planned": planned,
            "dur_weeks": rng.choice([8, 6, 12], n_ep, p=[0.8, 0.1, 0.1]),
            "neuro": multi,
        }
    )
    # Visit schedule: fixed weekdays per week (2x: e.g. Mon/Wed; 3x: Mon/Wed/Fri), starting on
    # the evaluation day's pattern, with an occasional missed week.
    n_vis = planned
    e = np.repeat(np.arange(n_ep), n_vis)
    k = np.arange(len(e)) - np.repeat(np.cumsum(n_vis) - n_vis, n_vis)
    two = np.array([[0, 2], [1, 3], [0, 3], [1, 4], [2, 4]])
    three = np.array([[0, 2, 4], [0, 1, 3], [1, 3, 4], [0, 2, 3]])
    pat2 = rng.integers(0, len(two), n_ep)
    pat3 = rng.integers(0, len(three), n_ep)
    slot = k % freq[e]
    day = np.where(freq[e] == 2, two[pat2[e], np.minimum(slot, 1)], three[pat3[e], slot])
    skip = (rng.random(len(e)) < 0.04) & (slot == 0) & (k > 0)
    first = np.cumsum(n_vis) - n_vis
    cum_skip = np.cumsum(skip)
    skipped = cum_skip - np.repeat(cum_skip[first] - skip[first], n_vis)
    week = k // freq[e] + skipped
    # Week 0 is the start date's week, or the next one when its first visit day has passed.
    first_day = np.where(freq == 2, two[pat2, 0], three[pat3, 0])
    weekday = (start.astype("datetime64[D]").astype(np.int64) + 3) % 7  # Monday = 0
    monday = start - _days(weekday) + _days(7 * (weekday > first_day))
    dos = monday[e] + _days(week * 7 + day)
    ep["start"] = dos[first]
    in_export = dos <= EXPORT_END
    visits = pd.DataFrame({"ep": e, "k": k, "dos": dos, "last_planned": k == n_vis[e] - 1})
    visits = visits[in_export]
    # Keep whole patients until the note target is reached.
    per_pat = np.bincount(pat[visits["ep"].to_numpy()], minlength=n_pat)
    cut = int(np.searchsorted(np.cumsum(per_pat), notes)) + 1
    keep_ep = (pat < cut) & (np.bincount(visits["ep"].to_numpy(), minlength=n_ep) > 0)
    ep = ep[keep_ep].reset_index(drop=True)
    remap = np.full(n_ep, -1)
    remap[keep_ep] = np.arange(keep_ep.sum())
    visits = visits[keep_ep[visits["ep"].to_numpy()]].copy()
    visits["ep"] = remap[visits["ep"].to_numpy()]
    ep["closed"] = np.zeros(len(ep), bool)
    ep.loc[visits.loc[visits["last_planned"], "ep"].to_numpy(), "closed"] = True
    # Therapist per episode from the discipline's therapists.
    ther = np.empty(len(ep), dtype=np.int64)
    for d in ("PT", "OT", "SLP"):
        m = (ep["discipline"] == d).to_numpy()
        pool = np.flatnonzero(
            ((staff["discipline"] == d) & (staff["role"] == "therapist")).to_numpy()
        )
        ther[m] = pool[rng.integers(0, len(pool), m.sum())]
    ep["therapist"] = ther
    return ep, visits.reset_index(drop=True)


def _lateral(text: str, left: bool) -> str:
    """Fill the laterality marks of a DIAGNOSES entry for the right or the left side."""
    text = text.replace("#", "2" if left else "1").replace("@", "4" if left else "1")
    return text.replace("{lat}", "left" if left else "right")


def _diagnoses(rng, ep: pd.DataFrame) -> None:
    """Per episode: ICD-10-CM codes, their wording and the onset, from the region's list (stroke
    codes for patients seen by several disciplines), on the episode's side."""
    n = len(ep)
    region = ep["region"].to_numpy()
    neuro = ep["neuro"].to_numpy()
    left = ep["side"].to_numpy() == "L"
    codes = np.empty(n, dtype=object)
    text = np.empty(n, dtype=object)
    onset = np.empty(n, dtype=object)
    pick, pick_onset = rng.random(n), rng.random(n)
    for r, name in enumerate(REGION_NAMES):
        for is_neuro in (False, True):
            m = np.flatnonzero((region == r) & (neuro == is_neuro))
            entries = (NEURO_DIAGNOSES.get(name) if is_neuro else None) or DIAGNOSES[name]
            j = (pick[m] * len(entries)).astype(int)
            for k, (c, t, onsets) in enumerate(entries):
                sel = m[j == k]
                for side in (False, True):
                    s = sel[left[sel] == side]
                    codes[s] = _lateral(c, side)
                    text[s] = _lateral(t, side)
                o = np.array(onsets, dtype=object)
                onset[sel] = o[(pick_onset[sel] * len(o)).astype(int)]
    _set(ep, "diagnosis_codes", codes)
    _set(ep, "dx_text", text)
    _set(ep, "onset", onset)


def _ages(rng, ep: pd.DataFrame, n_pat: int) -> np.ndarray:
    """Age per patient, drawn for the condition of the patient's first episode (a patient seen
    by several disciplines has one condition: a stroke)."""
    codes = ep["diagnosis_codes"].to_numpy()
    uniq, inverse = np.unique(codes.astype(str), return_inverse=True)
    rule = np.full(len(uniq), len(AGE_RULES) - 1)
    for i, code in enumerate(uniq):
        rule[i] = next(j for j, r in enumerate(AGE_RULES) if re.search(r[0], code))
    mean, lo, hi = (np.array([r[k] for r in AGE_RULES], float) for k in (1, 2, 3))
    first = np.full(n_pat, len(codes) - 1)
    pat = ep["pat"].to_numpy()
    np.minimum.at(first, pat, np.arange(len(pat)))  # the patient's first episode
    r = rule[inverse][first]
    age = rng.normal(mean[r], (hi[r] - lo[r]) / 4)
    return np.clip(np.round(age), lo[r], hi[r]).astype(np.int64)


def _patients(rng, n_pat: int, age: np.ndarray) -> pd.DataFrame:
    mrn = rng.choice(900_000, n_pat, replace=False) + 1000 if n_pat <= 900_000 else np.arange(n_pat)
    # Payer with age: inverse-CDF draws from the age band's weights.
    cdf = np.cumsum(np.array([PAYER_WEIGHTS_UNDER_65, PAYER_WEIGHTS_65]), axis=1)
    cdf /= cdf[:, -1:]
    band = (age >= 65).astype(int)
    payer = (rng.random(n_pat)[:, None] > cdf[band]).sum(axis=1)
    payer = np.minimum(payer, len(PAYERS) - 1)
    return _df(
        {
            "patient_id": pd.Series(mrn).astype(str).str.zfill(6).radd("MRN").to_numpy(object),
            "patient_name": _names(rng, PATIENT_FIRST, PATIENT_LAST, n_pat, []),
            "payer": np.array([p[0] for p in PAYERS], dtype=object)[payer],
            "payer_type": np.array([p[1] for p in PAYERS], dtype=object)[payer],
            "age": age,
        }
    )


def _certifiers(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    names = _names(rng, FIRST_NAMES, LAST_NAMES[::-1].copy(), n, [])
    cred = rng.choice(np.array(["MD", "DO", "NP", "PA"], dtype=object), n, p=[0.6, 0.2, 0.12, 0.08])
    doctor = (cred == "MD") | (cred == "DO")
    return np.where(doctor, "Dr. " + names, names), cred


def _timestamp(rng, day: np.ndarray, lag_days, hour_lo: int = 11, hour_hi: int = 20) -> np.ndarray:
    """day + lag_days at a random time between hour_lo and hour_hi (datetime64[m])."""
    minutes = rng.integers(hour_lo * 60, hour_hi * 60, len(day))
    return (day + _days(lag_days)).astype("datetime64[m]") + minutes.astype("timedelta64[m]")


def _skeleton(rng, ep: pd.DataFrame, visits: pd.DataFrame, staff: pd.DataFrame) -> pd.DataFrame:
    """One row per note: type, author, dates, signature and plan-of-care fields (no text yet)."""
    e = visits["ep"].to_numpy()
    k = visits["k"].to_numpy()
    dos = visits["dos"].to_numpy().astype("datetime64[D]")
    n = len(e)
    n_ep = len(ep)
    start = ep["start"].to_numpy().astype("datetime64[D]")
    period = rng.choice([9, 8, 7], n_ep, p=[0.5, 0.3, 0.2])
    ntype = np.full(n, "daily", dtype=object)
    report = (k > 0) & (k % period[e] == 0)
    ntype[report] = np.where(rng.random(report.sum()) < 0.05, "re_evaluation", "progress")
    # Recertification on the last visit inside the first certified interval when care goes on.
    poc_end1 = start + _days(ep["dur_weeks"].to_numpy() * 7 - 1)
    after = dos > poc_end1[e]
    first_after = pd.Series(np.where(after, k, 10_000)).groupby(e).transform("min").to_numpy()
    recert = (k == first_after - 1) & (k > 0)
    ntype[recert] = "recertification"
    closed = ep["closed"].to_numpy()
    ntype[visits["last_planned"].to_numpy() & closed[e]] = "discharge"
    ntype[k == 0] = "evaluation"
    notes = _df({"ep": e, "k": k, "dos": dos, "note_type": ntype})
    notes["recert"] = recert & (ntype == "recertification")
    notes["poc_end1"] = poc_end1[e]
    # Authors: the episode's therapist; an assistant on some daily notes, a student rarely.
    disc = ep["discipline"].to_numpy()[e]
    author = ep["therapist"].to_numpy()[e].copy()
    daily = ntype == "daily"
    with_asst = rng.random(n_ep) < 0.5
    staff_disc = staff["discipline"].to_numpy()
    staff_role = staff["role"].to_numpy()
    ep_asst = np.full(n_ep, -1)
    ep_stud = np.full(n_ep, -1)
    for d in ("PT", "OT", "SLP"):
        m = ep["discipline"].to_numpy() == d
        for role, target in (("assistant", ep_asst), ("student", ep_stud)):
            pool = np.flatnonzero((staff_disc == d) & (staff_role == role))
            if len(pool):
                target[m] = pool[rng.integers(0, len(pool), m.sum())]
    r = rng.random(n)
    by_asst = daily & with_asst[e] & (ep_asst[e] >= 0) & (r < 0.45)
    by_stud = daily & ~by_asst & (ep_stud[e] >= 0) & (r > 1 - PROB_STUDENT_NOTE)
    author[by_asst] = ep_asst[e][by_asst]
    author[by_stud] = ep_stud[e][by_stud]
    notes["author"] = author
    _set(notes, "discipline", disc)
    _set(notes, "role", staff_role[author])
    # Signatures: mostly the same day, some the next day or two days later.
    lag = rng.choice([0, 1, 2, 3], n, p=[0.7, 0.22, 0.05, 0.03])
    notes["signed_at"] = _timestamp(rng, dos, lag)
    stud = notes["role"].to_numpy() == "student"
    _set(
        notes,
        "cosigner",
        np.where(stud, staff["name"].to_numpy()[ep["therapist"].to_numpy()[e]], None),
    )
    cos = notes["signed_at"].to_numpy() + (rng.integers(20, 2 * 24 * 60, n)).astype(
        "timedelta64[m]"
    )
    notes["cosigned_at"] = np.where(stud, cos, np.datetime64("NaT"))
    # Plan of care on plan notes (evaluation, recertification).
    dur = ep["dur_weeks"].to_numpy()[e]
    is_eval = ntype == "evaluation"
    poc_start = np.where(is_eval, dos, poc_end1[e] + _days(1))
    poc_end = poc_start + _days(dur * 7 - 1)
    # A re-evaluation restates the plan in effect (same certified interval, updated content).
    reeval = ntype == "re_evaluation"
    first_interval = dos <= poc_end1[e]
    poc_start = np.where(reeval & first_interval, start[e], poc_start)
    poc_end = np.where(reeval & first_interval, poc_end1[e], poc_end)
    plan = is_eval | notes["recert"].to_numpy() | reeval
    nat = np.datetime64("NaT")
    notes["poc_start"] = np.where(plan, poc_start, nat)
    notes["poc_end"] = np.where(plan, poc_end, nat)
    _set(
        notes,
        "frequency",
        np.where(
            plan,
            np.array(["", "", "2x/week", "3x/week"], dtype=object)[ep["freq"].to_numpy()[e]],
            None,
        ),
    )
    _set(notes, "duration", np.where(plan, _istr(dur) + " weeks", None))
    sent = _timestamp(rng, dos, rng.choice([0, 1, 2], n, p=[0.5, 0.35, 0.15]), 12, 20)
    cert_lag = np.clip(np.round(rng.gamma(3.0, 2.6, n)), 3, 24).astype(int)
    cert = _timestamp(rng, dos, cert_lag, 8, 18)
    notes["poc_sent_at"] = np.where(plan, sent, nat)
    notes["poc_certified_at"] = np.where(
        plan & (cert.astype("datetime64[D]") <= EXPORT_END), cert, nat
    )
    order = _timestamp(rng, dos, -rng.integers(1, 22, n), 8, 18)
    notes["order_signed_at"] = np.where(is_eval, order, nat)
    notes["plan"] = plan
    return notes


# ----------------------------------------------------------------------------------------------
# Services

FEES = {
    "97110": 64,
    "97112": 70,
    "97140": 60,
    "97530": 72,
    "97116": 62,
    "97035": 36,
    "97535": 68,
    "97161": 148,
    "97162": 158,
    "97163": 172,
    "97164": 110,
    "97165": 152,
    "97166": 162,
    "97167": 178,
    "97168": 114,
    "92523": 258,
    "92521": 205,
    "92610": 190,
    "92507": 128,
    "92526": 138,
    "97129": 82,
    "97130": 64,
    "97010": 24,
    "G0283": 30,
    "97014": 30,
    "97012": 46,
    "97150": 45,
}
TIMED = {"97110", "97112", "97140", "97530", "97116", "97035", "97535", "97129", "97130"}
# Timed treatment banks with weights, per discipline (PT/OT) and kind of care: gait training
# for the lower limb and balance, manual therapy and ultrasound for orthopaedic care, self-care
# for OT. SLP is handled by region.
TIMED_BANK = {
    ("PT", "ortho"): (["97110", "97112", "97140", "97530", "97035"], [5, 3, 4, 3, 0.7]),
    ("PT", "le"): (["97110", "97112", "97140", "97530", "97116", "97035"], [5, 3, 4, 3, 2, 0.7]),
    ("PT", "bal"): (["97110", "97112", "97116", "97530"], [4, 4, 3, 3]),
    ("OT", "ortho"): (["97530", "97535", "97110", "97112", "97140"], [5, 3, 4, 2, 1.5]),
    ("OT", "adl"): (["97530", "97535", "97110", "97112"], [5, 4, 2, 3]),
}
EVAL_CODES = {
    "PT": (["97161", "97162", "97163"], [0.3, 0.5, 0.2]),
    "OT": (["97165", "97166", "97167"], [0.3, 0.5, 0.2]),
}
SLP_EVAL = {"dysphagia": "92610", "aphasia": "92523", "cognition": "92523"}
DISC_MOD = {"PT": "GP", "OT": "GO", "SLP": "GN"}
ASST_MOD = {"PT": "CQ", "OT": "CO"}
MINUTE_CHOICES = np.array([8, 10, 12, 13, 15, 15, 15, 16, 17, 18, 20, 22, 23, 23, 25, 28, 30])


def _pick_without_replacement(rng, n_rows: int, weights, k: np.ndarray) -> np.ndarray:
    """(row, column) picks: k[i] distinct indices into weights for each row i (weighted)."""
    w = np.asarray(weights, float)
    keys = np.log(rng.random((n_rows, len(w)))) / w  # Efraimidis-Spirakis weighted sampling
    order = np.argsort(-keys, axis=1)
    take = np.arange(len(w))[None, :] < k[:, None]
    return order[take]


def _services(rng, ep: pd.DataFrame, sk: pd.DataFrame, payer_type: np.ndarray) -> pd.DataFrame:
    """Service lines per note with CMS 8-minute-rule units, modifiers, charges (no defects)."""
    e = sk["ep"].to_numpy()
    disc = sk["discipline"].to_numpy()
    ntype = sk["note_type"].to_numpy()
    region = np.array(REGION_NAMES, dtype=object)[ep["region"].to_numpy()[e]]
    is_eval = ntype == "evaluation"
    parts_note, parts_code, parts_min = [], [], []

    def add(idx, code, minutes):
        parts_note.append(np.asarray(idx))
        parts_code.append(np.broadcast_to(np.asarray(code, dtype=object), len(idx)).copy())
        parts_min.append(np.asarray(minutes, float))

    fam = FAMILY_OF_REGION[ep["region"].to_numpy()[e]]
    group = np.select([fam == "le", fam == "bal", fam == "adl"], ["le", "bal", "adl"], "ortho")
    # PT/OT timed treatment: 1-4 distinct codes (fewer on evaluation days).
    for (d, g), (bank, w) in TIMED_BANK.items():
        idx = np.flatnonzero((disc == d) & (group == g))
        k = rng.choice([1, 2, 3, 4], len(idx), p=[0.1, 0.38, 0.37, 0.15])
        k = np.where(is_eval[idx], rng.choice([0, 1], len(idx), p=[0.55, 0.45]), k)
        picks = _pick_without_replacement(rng, len(idx), w, k)
        note = np.repeat(idx, k)
        minutes = rng.choice(MINUTE_CHOICES, len(note))
        add(note, np.array(bank, dtype=object)[picks], minutes)
    for d in ("PT", "OT"):
        idx = np.flatnonzero(disc == d)
        # Evaluation codes (untimed, one unit) by complexity.
        ev = idx[is_eval[idx]]
        codes, p = EVAL_CODES[d]
        add(
            ev,
            np.array(codes, dtype=object)[rng.choice(3, len(ev), p=p)],
            rng.integers(30, 61, len(ev)),
        )
        re = idx[ntype[idx] == "re_evaluation"]
        add(re, "97164" if d == "PT" else "97168", rng.integers(20, 41, len(re)))
        # Occasional untimed modalities (hot/cold packs for orthopaedic care) and group therapy.
        r = rng.random(len(idx))
        hot = idx[(r < 0.12) & ~is_eval[idx] & _isin(fam[idx], ORTHO)]
        add(hot, "97010", np.full(len(hot), 10))
        estim = idx[(r >= 0.12) & (r < 0.19) & ~is_eval[idx]]
        mcr = _isin(payer_type[estim], ["medicare_b", "medicare_advantage"])
        add(estim, np.where(mcr, "G0283", "97014"), np.full(len(estim), 15))
        spine = _isin(region[idx], ["lumbar", "neck"])
        trac = idx[spine & (r >= 0.19) & (r < 0.33) & ~is_eval[idx]]
        add(trac, "97012", np.full(len(trac), 12))
        grp = idx[(r >= 0.97) & ~is_eval[idx]]
        add(grp, "97150", rng.integers(20, 31, len(grp)))
    # SLP: evaluation by region; treatment 92526 (swallowing), 92507, or 97129(+97130).
    idx = np.flatnonzero(disc == "SLP")
    reg = region[idx]
    ev = idx[is_eval[idx]]
    add(ev, _map(region[ev], SLP_EVAL, dtype=object), rng.integers(40, 61, len(ev)))
    re = idx[ntype[idx] == "re_evaluation"]
    add(re, _map(region[re], SLP_EVAL, dtype=object), rng.integers(30, 46, len(re)))
    tx = ~is_eval[idx]
    r = rng.random(len(idx))
    dys = idx[tx & (reg == "dysphagia")]
    add(dys, "92526", rng.integers(30, 46, len(dys)))
    cog_mask = tx & (reg == "cognition") & (r < 0.75)
    cog = idx[cog_mask]
    add(cog, "97129", np.full(len(cog), 15))
    extra = cog[rng.random(len(cog)) < 0.8]
    add(extra, "97130", rng.integers(8, 31, len(extra)))
    lang = idx[tx & ~cog_mask & (reg != "dysphagia")]
    add(lang, "92507", rng.integers(30, 51, len(lang)))

    lines = _df(
        {
            "note": np.concatenate(parts_note).astype(np.int64),
            "cpt_code": np.concatenate(parts_code),
            "minutes": np.concatenate(parts_min),
        }
    )
    lines = lines.sort_values(["note"], kind="stable").reset_index(drop=True)
    lines["timed"] = lines["cpt_code"].isin(TIMED).to_numpy()
    lines["units"] = _cms_units(rng, lines)
    return lines


def _cms_units(rng, lines: pd.DataFrame) -> np.ndarray:
    """Units per line: timed per the CMS total-time rule and allocation, untimed 1."""
    note = lines["note"].to_numpy()
    timed = lines["timed"].to_numpy()
    m = np.where(timed, lines["minutes"].to_numpy(), 0).astype(np.int64)
    total = np.bincount(note, weights=m).astype(np.int64)
    full = m // 15
    left = np.where(timed, m % 15, -1)
    remaining = (total + 7) // 15 - np.bincount(note, weights=full).astype(np.int64)
    # Within a note, the codes with the most minutes left over get the remaining units first.
    order = np.argsort(note * 32 + (15 - left), kind="stable")
    first = np.searchsorted(note[order], note[order], side="left")
    rank = np.empty(len(m), np.int64)
    rank[order] = np.arange(len(m)) - first
    units = full + ((rank < remaining[note]) & (left > 0) & timed)
    return np.where(timed, units, 1).astype(float)


def _finish_services(
    rng,
    lines: pd.DataFrame,
    sk: pd.DataFrame,
    pat: np.ndarray,
    payer_type: np.ndarray,
    drop_disc_mod: np.ndarray,
    drop_asst_mod: np.ndarray,
) -> pd.DataFrame:
    """Charges, allowed amounts, KX and modifiers; lines must be in note (= date) order."""
    note = lines["note"].to_numpy()
    code = lines["cpt_code"].to_numpy()
    units = lines["units"].to_numpy()
    codes, uniq = pd.factorize(code)
    fee = np.array([FEES[c] for c in uniq], dtype=float)[codes]
    charge = np.round(fee * units, 2)
    allowed = np.round(charge * rng.uniform(0.6, 0.8, len(lines)), 2)
    note_disc = sk["discipline"].to_numpy()
    d_note = np.select([note_disc == "PT", note_disc == "OT"], [0, 1], 2)
    d = d_note[note]
    role = sk["role"].to_numpy()
    asst_note = (role == "assistant") & (d_note < 2)
    mcr = payer_type[note] == "medicare_b"
    group = pat[note] * 2 + (d == 1)
    order = np.lexsort((np.arange(len(lines)), note))
    running = pd.Series(allowed[order]).groupby(group[order]).cumsum().to_numpy()
    cum = np.empty(len(lines))
    cum[order] = running
    kx = mcr & (cum > KX_THRESHOLD)
    # Modifier text from a table of every combination (discipline, GP/GO/GN, CQ/CO, KX).
    table = []
    for disc_name in ["PT", "OT", "SLP"]:
        for has_disc in (0, 1):
            for has_asst in (0, 1):
                for has_kx in (0, 1):
                    parts = [DISC_MOD[disc_name]] * has_disc
                    parts += [ASST_MOD.get(disc_name, "")] * has_asst
                    parts += ["KX"] * has_kx
                    table.append(",".join(p for p in parts if p))
    has_disc = ~drop_disc_mod[note]
    has_asst = asst_note[note] & ~drop_asst_mod[note]
    combo = ((d * 2 + has_disc) * 2 + has_asst) * 2 + kx
    mods = np.array(table, dtype=object)[combo]
    asst = asst_note[note]
    minutes = lines["minutes"].to_numpy()
    out = _df(
        {
            "note": note,
            "cpt_code": code,
            "modifiers": mods,
            "units": units.astype(int),
            "minutes": minutes.astype(int),
            "assistant_minutes": np.where(asst, minutes, np.nan),
            "charge": charge,
            "allowed_amount": allowed,
        }
    )
    return out


# ----------------------------------------------------------------------------------------------
# Text engine: templates with {slot} placeholders, filled column-wise for every row at once.

FAMILY = {
    "lumbar": "spine",
    "neck": "neck",
    "knee": "le",
    "knee_tka": "le",
    "hip": "le",
    "shoulder": "ue",
    "ue_shoulder": "ue",
    "hand": "hand",
    "balance": "bal",
    "gait": "bal",
    "endurance": "bal",
    "adl_neuro": "adl",
    "dysphagia": "dys",
    "aphasia": "lang",
    "cognition": "cog",
}
ORTHO = ("spine", "neck", "le", "ue", "hand")
PART = {
    "lumbar": "low back",
    "neck": "neck",
    "knee": "{side} knee",
    "knee_tka": "{side} knee",
    "hip": "{side} hip",
    "shoulder": "{side} shoulder",
    "ue_shoulder": "{side} shoulder",
    "hand": "{side} wrist/hand",
    "balance": "bilateral LEs",
    "gait": "bilateral LEs",
    "endurance": "bilateral LEs",
    "adl_neuro": "{side} UE",
    "dysphagia": "oropharynx",
    "aphasia": "language",
    "cognition": "cognition",
}
# PT/OT evaluation complexity, worded as the evaluation code billed (low, moderate, high).
COMPLEXITY_TEXT = {
    "low": "Low complexity: stable presentation, no comorbidities affecting the POC.",
    "moderate": "Moderate complexity given comorbidities (HTN, DM2) and an evolving presentation.",
    "high": "High complexity given multiple comorbidities and an unstable clinical presentation.",
}
COMPLEXITY_OF_CODE = {
    "97161": "low",
    "97165": "low",
    "97162": "moderate",
    "97166": "moderate",
    "97163": "high",
    "97167": "high",
}
WORDS: dict[str, dict[str, list[str]]] = {
    "barrier": {
        **{
            f: [
                "limited transportation",
                "limited activity tolerance",
                "caregiver availability",
                "chronicity of symptoms",
                "fear of falling",
                "work demands",
            ]
            for f in ("spine", "neck", "le", "ue", "hand", "bal", "adl")
        },
        **{
            f: [
                "limited transportation",
                "caregiver availability",
                "limited carryover at home",
                "reduced awareness of deficits",
            ]
            for f in ("dys", "lang", "cog")
        },
    },
    "ex": {
        "spine": [
            "bird dog",
            "prone press-ups",
            "bridges",
            "dead bug",
            "cat-camel",
            "Pallof press",
            "posterior pelvic tilts",
            "lumbar rotation stretch",
            "quadruped rocking",
            "side plank on knees",
            "hip hinge with dowel",
            "sciatic nerve glides",
        ],
        "neck": [
            "chin tucks",
            "scapular retraction",
            "upper trapezius stretch",
            "levator scapulae stretch",
            "deep neck flexor holds",
            "thoracic extension over foam roll",
            "cervical rotation AROM",
            "prone Ts",
            "doorway pec stretch",
            "band rows",
            "upper limb nerve glides",
            "shoulder rolls",
        ],
        "le": [
            "terminal knee extension",
            "step-ups",
            "mini squats",
            "SAQ",
            "leg press",
            "heel slides",
            "clamshells",
            "sidelying hip abduction",
            "bridges",
            "lateral walks",
            "sit to stand from 18 in chair",
            "hamstring curls",
        ],
        "ue": [
            "scapular rows",
            "ER with band",
            "IR with band",
            "wall slides",
            "pendulums",
            "prone Ys and Ts",
            "serratus punches",
            "sleeper stretch",
            "pulley flexion",
            "wall push-ups",
            "overhead reach to shelf",
            "bicep curls",
        ],
        "hand": [
            "tendon glides",
            "putty gross grip",
            "wrist flexion/extension",
            "pinch pegs",
            "median nerve glides",
            "opposition to each digit",
            "wrist supination/pronation",
            "grip with hand gripper",
            "finger abduction with bands",
            "coin pick-up",
        ],
        "bal": [
            "tandem stance",
            "single-leg stance",
            "step-overs",
            "marching on foam",
            "heel-toe walking",
            "lateral weight shifts",
            "feet-together stance on foam",
            "forward/backward walking",
            "head turns while walking",
            "step taps to 6 in step",
            "reaching outside base of support",
            "semi-tandem stance with head turns",
        ],
        "adl": [
            "UB dressing",
            "LB dressing with reacher",
            "tub transfer bench training",
            "standing grooming at sink",
            "simple kitchen task",
            "sock aid training",
            "donning shoes with long-handled shoehorn",
            "functional reach in standing",
            "toilet transfer",
            "medication setup",
            "bed mobility",
            "laundry folding in standing",
        ],
        "dys": [
            "effortful swallow",
            "chin tuck against resistance",
            "Masako maneuver",
            "Shaker exercise",
            "supraglottic swallow",
            "Mendelsohn maneuver",
            "tongue base retraction",
            "EMST trainer",
            "lingual press with IOPI",
            "pharyngeal squeeze (high 'ee')",
        ],
        "lang": [
            "confrontation naming",
            "semantic feature analysis",
            "sentence completion",
            "divergent naming",
            "auditory comprehension yes/no questions",
            "verb network strengthening",
            "script training",
            "written naming",
            "following 2-step commands",
            "picture description",
        ],
        "cog": [
            "verbal problem solving",
            "medication management task",
            "calendar/scheduling task",
            "recall of 3-step directions",
            "reading comprehension of paragraphs",
            "alternating attention task",
            "memory notebook training",
            "money management task",
            "sequencing a daily routine",
            "deductive reasoning puzzles",
        ],
    },
    # Exercises done with a weight (lb) and with a resistance band.
    "wex": {
        "spine": [
            "kettlebell deadlifts",
            "farmer carries",
            "goblet squats",
            "suitcase carries",
            "bent-over rows",
            "bridges with weight at the hips",
        ],
        "neck": [
            "prone Ys with dumbbells",
            "shrugs",
            "bent-over rows",
            "prone Ts with dumbbells",
            "scaption to 90 degrees",
            "sidelying ER",
        ],
        "le": [
            "SAQ with ankle weight",
            "LAQ with ankle weight",
            "standing hamstring curls",
            "standing hip abduction",
            "step-ups holding dumbbells",
            "goblet squats",
        ],
        "ue": [
            "bicep curls",
            "sidelying ER",
            "scaption to 90 degrees",
            "prone Ys and Ts",
            "shoulder flexion to 90 degrees",
            "bent-over rows",
        ],
    },
    "bex": {
        "spine": [
            "Pallof press",
            "band rows",
            "band pull-aparts",
            "bridges with band at knees",
            "anti-rotation walkouts",
            "lat pulldowns with band",
        ],
        "neck": [
            "band rows",
            "band pull-aparts",
            "ER with band",
            "W's with band",
            "lat pulldowns with band",
            "scapular retraction with band",
        ],
        "le": [
            "terminal knee extension",
            "clamshells",
            "lateral walks",
            "monster walks",
            "standing hip extension with band",
            "seated knee extension with band",
        ],
        "ue": [
            "ER with band",
            "IR with band",
            "scapular rows",
            "band pull-aparts",
            "serratus punches with band",
            "shoulder extension with band",
        ],
    },
    "task": {
        "spine": [
            "lifting groceries",
            "sitting through a 30-min drive",
            "bending to don shoes",
            "vacuuming",
            "getting out of bed",
            "standing to cook dinner",
        ],
        "neck": [
            "looking over the shoulder when driving",
            "working at the computer",
            "reading in bed",
            "sleeping through the night",
            "carrying a purse",
            "looking up to reach a shelf",
        ],
        "le": [
            "stairs at home",
            "walking in the community",
            "rising from a low chair",
            "getting in and out of the car",
            "kneeling in the garden",
            "walking the dog",
        ],
        "ue": [
            "reaching to overhead shelves",
            "fastening a bra",
            "carrying a laundry basket",
            "washing hair",
            "reaching into the back seat",
            "sleeping on that side",
        ],
        "hand": [
            "opening jars",
            "typing",
            "buttoning",
            "cutting food",
            "carrying a purse",
            "turning a key",
        ],
        "bal": [
            "walking outdoors on uneven ground",
            "turning in the kitchen",
            "stepping into the tub",
            "walking to the mailbox",
            "getting up from the floor",
            "walking in the grocery store",
        ],
        "adl": ["dressing", "bathing", "meal preparation", "toileting", "grooming", "laundry"],
        "dys": [
            "eating meals",
            "taking pills",
            "drinking thin liquids",
            "eating at restaurants",
            "managing mixed textures",
            "eating breakfast",
        ],
        "lang": [
            "word finding in conversation",
            "ordering at a restaurant",
            "using the phone",
            "expressing needs to family",
            "following conversations",
            "reading mail",
        ],
        "cog": [
            "managing medications",
            "following recipes",
            "paying bills",
            "keeping appointments",
            "managing finances",
            "remembering daily plans",
        ],
    },
    "reeval": {
        "spine": ["a flare-up after increased activity", "a fall at home", "a new lifting injury"],
        "neck": ["a flare-up after increased activity", "a fall at home", "a minor car accident"],
        "le": ["a fall at home", "a flare-up after increased activity", "a twisting injury"],
        "ue": ["a fall at home", "a flare-up after increased activity", "a new injury at work"],
        "hand": ["a fall at home", "a flare-up after increased activity", "a new injury at work"],
        "bal": ["a fall at home", "a recent hospitalization", "a medication change"],
        "adl": ["a fall at home", "a recent hospitalization", "a urinary tract infection"],
        "dys": [
            "a recent hospitalization for pneumonia",
            "a change in diet ordered by the physician",
        ],
        "lang": ["a recent hospitalization", "a new seizure medication", "a fall at home"],
        "cog": ["a recent hospitalization", "a medication change", "a fall at home"],
    },
    "assist": {"*": ["min A", "CGA", "SBA", "mod I", "supervision", "mod A"]},
    "assist_base": {"*": ["min A", "mod A", "CGA"]},
    "cue": {
        "*": [
            "min verbal cues",
            "mod verbal cues",
            "min tactile cues",
            "mod tactile cues",
            "max verbal and tactile cues",
            "occasional verbal cues",
            "min visual cues",
            "mod verbal and visual cues",
        ]
    },
    # Lighter cueing to fade to.
    "cue_next": {
        "*": ["min verbal cues", "occasional verbal cues", "min visual cues", "min tactile cues"]
    },
    "times": {"*": ["once", "twice", "3 times"]},
    "band": {"*": ["yellow", "red", "green", "blue", "black"]},
    "band_up": {"*": ["red", "green", "blue", "black"]},
    "ad": {"*": ["SPC", "RW", "no AD", "quad cane", "rollator", "hiking poles"]},
    "bolus": {
        "*": [
            "thin liquids by cup",
            "thin liquids by straw",
            "nectar-thick liquids",
            "puree",
            "mechanical soft solids",
            "regular solids",
            "mixed consistency",
        ]
    },
    "bolus_safe": {"*": ["puree", "nectar-thick liquids", "mechanical soft solids"]},
    "side": {"*": ["R", "L"]},
    "sexword": {"*": ["male", "female"]},
    "living": {
        "*": [
            "alone in a 2-story home",
            "with spouse in a single-level home",
            "with daughter, 4 steps to enter with one rail",
            "in an apartment with elevator",
            "with spouse, 12 steps to the bedroom",
        ]
    },
    "plof": {
        "*": [
            "independent with all ADLs and community ambulation without AD",
            "independent with ADLs, drove, and walked 1 mile daily",
            "mod I with SPC in the community, independent with ADLs",
            "worked part time and was independent with all activities",
            "independent with ADLs and IADLs including cooking and yard work",
        ]
    },
}
REASONS_NOT_MET = [
    "plateau in progress",
    "patient request",
    "insurance visits exhausted",
    "patient independent with HEP",
]
ORDINAL = ["#1", "#2", "#3", "#4"]


def _parse(template: str) -> list[tuple[bool, str]]:
    parts, pos = [], 0
    while True:
        a = template.find("{", pos)
        if a < 0:
            parts.append((False, template[pos:]))
            return [p for p in parts if p[1]]
        b = template.index("}", a)
        parts.append((False, template[pos:a]))
        parts.append((True, template[a + 1 : b]))
        pos = b + 1


_WORD_ARRAYS: dict[str, dict[str, np.ndarray]] = {}


def _word_arrays(kind: str) -> dict[str, np.ndarray]:
    """WORDS[kind] as object arrays (built once)."""
    if kind not in _WORD_ARRAYS:
        _WORD_ARRAYS[kind] = {f: np.array(w, dtype=object) for f, w in WORDS[kind].items()}
    return _WORD_ARRAYS[kind]


def _capitalised(words: np.ndarray) -> np.ndarray:
    """First letter upper case (words from the small banks: done once per distinct word)."""
    uniq, inverse = np.unique(words.astype(str), return_inverse=True)
    return np.array([w[:1].upper() + w[1:] for w in uniq], dtype=object)[inverse]


class Slots:
    """Slot values (object arrays of strings) for any subset of rows, drawn on demand.

    Values that must agree are drawn together: within one filled template ex/ex2/ex3 (task and
    task2, ...) are different words of the bank and a "_prev" number is below its partner
    (reps_prev < reps_now, pct_prev < pct); pain and pain_lo (≤ pain) are drawn once per row for
    the whole object, so the sentences of a section agree (pain may be given: the NPRS recorded
    on the note). With sticky=True every slot is drawn once per row, so a goal's text, baseline
    and target columns state the same numbers. Where a deferred context column holds
    PLACEHOLDER, the rows are kept in `marks` in text order, to be filled later (_fill_deferred).
    """

    SIMPLE = {
        "sets": (2, 3),
        "lb": (1, 8),
        "sec": (10, 45),
        "deg": (95, 165),
        "steps": (4, 14),
        "pct": (55, 95),
        "min": (6, 15),
        "age": (38, 88),
        "weeks": (2, 12),
        "hep": (1, 2),
        "freqx": (3, 5),
        "trials": (6, 9),
        "laps": (2, 6),
        "sitmin": (30, 60),
        "liftlb": (15, 35),
        "sts": (10, 14),
        "sts_base": (16, 24),
        "deg_goal": (150, 170),
        "deg_base": (80, 120),
        "grip": (40, 70),
        "grip_base": (15, 35),
        "ft_goal": (300, 1000),
        "deg_small": (20, 60),
        "deg_small2": (25, 65),
        "pinch": (6, 16),
        "deg_knee": (85, 125),
        "deg_lext": (10, 30),
        "deg_rot": (35, 65),
        "deg_adl": (60, 120),
        "sec_dnf": (8, 20),
        "sec_base": (3, 12),
        "kpa": (18, 48),
        "lvl": (2, 6),
        "g": (1, 2),  # every episode has goals 1 and 2
        "lb_next": (2, 10),
        "pct2": (40, 90),
        "hep2": (3, 6),
        "pain_base": (5, 8),
        "pain_goal": (1, 3),
        "pain_cap": (2, 4),
        "stairs_goal": (8, 14),
        "reps_now": (10, 20),
        "lat_s": (3, 12),
        "cough": (3, 6),
    }
    # name: (partner, lowest and highest amount below the partner)
    BELOW = {"reps_prev": ("reps_now", 2, 6), "pct_prev": ("pct", 10, 25)}

    def __init__(
        self,
        rng,
        context: dict[str, np.ndarray],
        n: int,
        sticky: bool = False,
        pain: np.ndarray | None = None,
        deferred: list[str] | tuple[str, ...] = (),
    ):
        self.rng, self.ctx, self.n, self.sticky = rng, context, n, sticky
        self.deferred = {name: i for i, name in enumerate(deferred)}
        self.marks: list[tuple[np.ndarray, int]] = []
        self.memo: dict[str, np.ndarray] = {}
        self.local: dict[str, np.ndarray] = {}
        if pain is not None:
            self.memo["_pain"] = np.asarray(pain, np.int64)

    def fill(self, parsed: list[tuple[bool, str]], rows: np.ndarray) -> np.ndarray:
        """One template filled for each of rows."""
        self.local = {}
        acc = np.full(len(rows), "", dtype=object)
        for i, (is_slot, text) in enumerate(parsed):
            value = self.get(text, rows) if is_slot else text
            if i == 0 and is_slot and text.rstrip("23") in WORDS and len(rows):
                value = _capitalised(value)  # a sentence starting with an exercise
            acc = acc + value
        return acc

    def _ints(self, name: str, lo: int, hi: int, m: int) -> np.ndarray:
        v = self.rng.integers(lo, hi + 1, m)
        self.local[name] = v
        return _SMALL_INT[v]

    def _base(self, key: str, m: int) -> np.ndarray:
        base = self.local.get(key)
        if base is None or len(base) != m:
            base = self.local[key] = self.rng.integers(0, 1 << 30, m)
        return base

    def _words(self, kind: str, rows: np.ndarray, offset=0) -> np.ndarray:
        bank = _word_arrays(kind)
        m = len(rows)
        if "*" in bank:
            w = bank["*"]
            return w[self.rng.integers(0, len(w), m)]
        base = self._base(kind, m)
        fam = self.ctx["family"][rows]
        # One family (as in each of _compose's passes): no per-family split.
        if m and (fam == fam[0]).all() and fam[0] in bank:
            w = bank[fam[0]]
            return w[(base + offset) % len(w)]
        out = np.empty(m, dtype=object)
        for f, w in bank.items():
            sel = np.flatnonzero(fam == f)
            if len(sel):
                off = offset[sel] if np.ndim(offset) else offset
                out[sel] = w[(base[sel] + off) % len(w)]
        return out

    def _pain(self) -> np.ndarray:
        p = self.memo.get("_pain")
        if p is None or (p < 0).any():
            draw = self.rng.integers(2, 8, self.n)
            p = draw if p is None else np.where(p < 0, draw, p)
            self.memo["_pain"] = p
        return p

    def get(self, name: str, rows: np.ndarray) -> np.ndarray:
        if name in self.ctx:
            value = self.ctx[name][rows]
            slot = self.deferred.get(name)
            if slot is not None:
                later = np.flatnonzero(value == PLACEHOLDER)
                if len(later):
                    self.marks.append((rows[later], slot))
            return value
        if name == "pain":
            return _SMALL_INT[self._pain()[rows]]
        if name == "pain_lo":
            lo = self.memo.get("_pain_lo")
            if lo is None:
                drop = self.rng.integers(1, 4, self.n)
                lo = self.memo["_pain_lo"] = np.maximum(self._pain() - drop, 0)
            return _SMALL_INT[lo[rows]]
        if self.sticky:
            v = self.memo.get(name)
            if v is None:
                v = self.memo[name] = self._draw(name, np.arange(self.n))
            return v[rows]
        return self._draw(name, rows)

    def _draw(self, name: str, rows: np.ndarray) -> np.ndarray:
        rng, m = self.rng, len(rows)
        if name in self.SIMPLE:
            return self._ints(name, *self.SIMPLE[name], m)
        if name in self.BELOW:
            partner, lo, hi = self.BELOW[name]
            top = self.local.get(partner)
            if top is None or len(top) != m:
                top = rng.integers(self.SIMPLE[partner][0], self.SIMPLE[partner][1] + 1, m)
            return _SMALL_INT[np.maximum(top - rng.integers(lo, hi + 1, m), 0)]
        if name in ("reps", "reps2"):
            return np.array(["8", "10", "12", "15", "20"], dtype=object)[rng.integers(0, 5, m)]
        if name == "ft":
            return _SMALL_INT[rng.integers(2, 17, m) * 25]
        if name == "step_h":
            return np.array(["4", "6", "8"], dtype=object)[rng.integers(0, 3, m)]
        if name in ("ex2", "task2", "wex2", "bex2"):
            return self._words(name[:-1], rows, 1 + rng.integers(0, 3, m))
        if name == "ex3":
            return self._words("ex", rows, 4)
        if name in WORDS:
            return self._words(name, rows)
        raise KeyError(f"unknown template slot {name!r}")


def _fill(slots: Slots, templates: list[str], choice: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Row rows[i] gets templates[choice[i]] filled from the slots (None where choice is -1)."""
    out = np.full(len(rows), None, dtype=object)
    for t, template in enumerate(templates):
        sel = np.flatnonzero(choice == t)
        if len(sel):
            out[sel] = slots.fill(_parse(template), rows[sel])
    return out


def _cat(*parts: np.ndarray) -> np.ndarray:
    """Element-wise join of object arrays of strings with a space, skipping blank pieces."""
    out = parts[0]
    for p in parts[1:]:
        # (space + piece first: the longer text so far is copied once)
        out = out + (np.where((out != "") & (p != ""), " ", "").astype(object) + p)
    return out


def _compose(
    slots: Slots, rows: np.ndarray, banks: dict[str, list[str]], k: np.ndarray
) -> np.ndarray:
    """For each of rows, k[i] distinct sentences from its family's bank ('*' = any family);
    a sentence after one with the STATED_ONCE phrase leaves the phrase out."""
    out = np.full(len(rows), "", dtype=object)
    family = slots.ctx["family"][rows]
    for fam, templates in banks.items():
        sel = np.flatnonzero(family == fam) if fam != "*" else np.arange(len(rows))
        sel = sel[k[sel] > 0]
        if not len(sel):
            continue
        m = len(templates)
        steps = np.array([s for s in range(1, m) if math.gcd(s, m) == 1] or [1])
        start = slots.rng.integers(0, m, len(sel))
        step = steps[slots.rng.integers(0, len(steps), len(sel))]
        once = np.array([STATED_ONCE in t for t in templates])
        if once.any():  # templates m.. are the same without the phrase
            templates = templates + [t.replace(STATED_ONCE, "") for t in templates]
        said = np.zeros(len(sel), bool)
        for j in range(int(k[sel].max())):
            take = k[sel] > j
            sub = sel[take]
            choice = (start[take] + j * step[take]) % m
            again = said[take] & once[choice]
            said[take] |= once[choice]
            piece = _fill(slots, templates, choice + m * again, rows[sub])
            out[sub] = _cat(out[sub], piece)
    return out


def _pooled_sections(
    rng,
    key: np.ndarray,
    key_ctx: dict[int, dict[str, str]],
    rows: np.ndarray,
    banks: dict[str, list[str]],
    k_range: tuple[int, int],
    cap: int = 1000,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """Section text for rows from per-context pools of at most `cap` composed variants.

    Rows with the same context key (region, side, frequency) draw from one pool; below `cap`
    rows per key every row gets its own composition, above it variants are reused, so a
    million-note export costs about cap compositions per key instead of one per note. The
    pools of all keys are composed together (one pass over the templates, not one per key).
    values: the NOTE_SLOTS, one row per slot, one column per note. Only variants that rows use
    are composed: one used by a single row with that note's values, a shared one with
    placeholders that are filled in each row's copy.
    """
    out = np.empty(len(rows), dtype=object)
    if not len(rows):
        return out
    keys = key[rows]
    order = np.argsort(keys, kind="stable")
    uniq, counts = np.unique(keys[order], return_counts=True)
    # Each row's variant: its own below cap, a random one of its key's pool above.
    size = np.minimum(counts, cap)
    row_key = np.repeat(np.arange(len(uniq)), counts)
    own = np.arange(len(rows)) - (np.cumsum(counts) - counts)[row_key]
    drawn = rng.integers(0, size[row_key])
    variant = (np.cumsum(size) - size)[row_key] + np.where(counts[row_key] > cap, drawn, own)
    users = np.bincount(variant, minlength=int(size.sum()))
    pick = (np.cumsum(users > 0) - 1)[variant]
    used = np.flatnonzero(users)
    users = users[used]
    key_of = np.repeat(np.arange(len(uniq)), size)[used]
    ctx = {
        c: np.array([key_ctx[int(u)][c] for u in uniq], dtype=object)[key_of]
        for c in key_ctx[int(uniq[0])]
    }
    deferred: tuple[str, ...] = ()
    if values is not None:
        # A variant of one row states its note's values, a shared one has placeholders.
        deferred = NOTE_SLOTS
        user = np.empty(len(used), np.int64)
        user[pick] = rows[order]
        for name, value in zip(NOTE_SLOTS, values, strict=True):
            ctx[name] = np.where(users == 1, value[user], PLACEHOLDER)
    slots = Slots(rng, ctx, len(used), deferred=deferred)
    k = rng.integers(k_range[0], k_range[1] + 1, len(used))
    pool = _compose(slots, np.arange(len(used)), _family_banks(banks), k)
    if not slots.marks:
        out[order] = pool[pick]
    else:
        out[order] = _fill_deferred(pool, slots.marks, pick, rows[order], values)
    return out


def _fill_deferred(
    pool: np.ndarray,
    marks: list[tuple[np.ndarray, int]],
    pick: np.ndarray,
    notes: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """pool[pick] with each PLACEHOLDER replaced by its slot's value for the note notes[i].

    marks: (variants, slot) per placeholder written, in text order (Slots.deferred); values:
    one row per slot, one column per note. The variants with placeholders are cut at them by
    one split, and their rows are put together again piece by piece, rows with most pieces
    first (each step then works on a prefix of the rows).
    """
    variant = np.concatenate([v for v, _ in marks])
    slot = np.concatenate([np.full(len(v), s) for v, s in marks])
    slot = slot[np.argsort(variant, kind="stable")]  # by variant, in text order
    n_marks = np.bincount(variant, minlength=len(pool))
    cut = np.flatnonzero(n_marks)
    piece = np.array(PLACEHOLDER.join(pool[cut]).split(PLACEHOLDER), dtype=object)
    if len(piece) != len(cut) + len(variant):
        raise ValueError("composed text holds a placeholder that no deferred slot wrote")
    first_piece = np.zeros(len(pool), np.int64)
    first_piece[cut] = np.cumsum(n_marks[cut] + 1) - (n_marks[cut] + 1)
    first_mark = np.cumsum(n_marks) - n_marks
    out = pool[pick]
    rows = np.flatnonzero(n_marks[pick])
    n_pieces = n_marks[pick[rows]] + 1
    order = np.argsort(-n_pieces, kind="stable")
    rows, var, note = rows[order], pick[rows[order]], notes[rows[order]]
    longer = np.searchsorted(-n_pieces[order], -np.arange(n_pieces.max()))  # rows with > j
    acc = piece[first_piece[var]]
    for j in range(1, len(longer)):
        v, m = var[: longer[j]], longer[j]
        # (value + piece first: the long text so far is copied once per step)
        acc[:m] = acc[:m] + (
            values[slot[first_mark[v] + j - 1], note[:m]] + piece[first_piece[v] + j]
        )
    out[rows] = acc
    return out


def _tidy(text: np.ndarray) -> np.ndarray:
    """Collapse double spaces and strip (templates whose optional slot was blank)."""
    if not len(text):
        return text
    sd = np.asarray(text).astype(np.dtypes.StringDType())
    sd = np.strings.strip(np.strings.replace(sd, "  ", " "))
    return sd.astype(object)


# ----------------------------------------------------------------------------------------------
# Goals and outcome measures

# (goal text, baseline, target, label) per family; {gw} = weeks to the target date.
# Goals (text, baseline, target, topic) that several kinds of care share.
_GOAL_INSTRUMENT = (
    "Patient will improve {instrument} to {m_target} or better within {gw} weeks",
    "{instrument} {m_base}",
    "{instrument} {m_target}",
    "{instrument}",
)
_GOAL_INSTRUMENT_DISABILITY = (
    "Patient will improve {instrument} to {m_target} or better to reflect reduced "
    "disability within {gw} weeks",
    "{instrument} {m_base}",
    "{instrument} {m_target}",
    "{instrument}",
)
_GOAL_HEP = (
    "Patient will be independent with a progressed HEP for the {part} within {gw} weeks",
    "no HEP",
    "independent with HEP",
    "HEP",
)
_GOAL_SLEEP = (
    "Patient will sleep 6 hours without waking due to {part} pain within {gw} weeks",
    "wakes 3x/night",
    "6 hours uninterrupted",
    "sleep",
)

GOALS: dict[str, list[tuple[str, str, str, str]]] = {
    "spine": [
        (
            "Patient will sit for {sitmin} minutes with pain ≤ {pain_goal}/10 to drive to work "
            "within {gw} weeks",
            "sits 10 min before pain {pain_base}/10",
            "{sitmin} min, pain ≤ {pain_goal}/10",
            "sitting tolerance",
        ),
        (
            "Patient will lift {liftlb} lb from floor to waist with proper body mechanics and "
            "no increase in symptoms within {gw} weeks",
            "unable to lift > 10 lb",
            "{liftlb} lb floor to waist",
            "lifting",
        ),
        _GOAL_INSTRUMENT_DISABILITY,
        _GOAL_HEP,
        _GOAL_SLEEP,
    ],
    "neck": [
        (
            "Patient will work at the computer for {sitmin} minutes with pain ≤ {pain_goal}/10 "
            "within {gw} weeks",
            "15 min before pain {pain_base}/10",
            "{sitmin} min, pain ≤ {pain_goal}/10",
            "computer tolerance",
        ),
        (
            "Patient will turn the head to check the blind spot while driving with pain ≤ "
            "{pain_goal}/10 within {gw} weeks",
            "unable without turning the trunk, pain {pain_base}/10",
            "full head turn, pain ≤ {pain_goal}/10",
            "driving",
        ),
        _GOAL_INSTRUMENT_DISABILITY,
        _GOAL_HEP,
        _GOAL_SLEEP,
    ],
    "le": [
        (
            "Patient will ascend/descend {stairs_goal} stairs with one rail, modified "
            "independent, within {gw} weeks",
            "4 stairs with 2 rails and {assist_base}",
            "{stairs_goal} stairs, one rail, mod I",
            "stairs",
        ),
        (
            "Patient will ambulate {ft_goal} ft with {ad} on level surfaces independently "
            "within {gw} weeks",
            "150 ft with CGA",
            "{ft_goal} ft, independent",
            "ambulation",
        ),
        _GOAL_INSTRUMENT,
        (
            "Patient will perform 5x sit to stand in ≤ {sts} seconds without UE support within "
            "{gw} weeks",
            "{sts_base} s with UE support",
            "≤ {sts} s, no UE support",
            "sit to stand",
        ),
        (
            "Patient will report pain ≤ {pain_goal}/10 with {task} within {gw} weeks",
            "pain {pain_base}/10 with {task}",
            "≤ {pain_goal}/10",
            "pain",
        ),
    ],
    "ue": [
        (
            "Patient will lift 2 lb to a shoulder-height shelf with the {side} UE, pain ≤ "
            "{pain_goal}/10, within {gw} weeks",
            "unable without pain",
            "2 lb to shoulder height, pain ≤ {pain_goal}/10",
            "reach",
        ),
        (
            "Patient will achieve {deg_goal} degrees of active {side} shoulder flexion to allow "
            "overhead reach within {gw} weeks",
            "{deg_base} degrees",
            "{deg_goal} degrees",
            "shoulder flexion",
        ),
        _GOAL_INSTRUMENT,
        (
            "Patient will don and doff a pullover shirt independently with pain ≤ {pain_goal}/10 "
            "within {gw} weeks",
            "requires min A",
            "independent",
            "dressing",
        ),
    ],
    "hand": [
        (
            "Patient will increase {side} grip strength to {grip} lb to open jars and carry "
            "groceries independently within {gw} weeks",
            "{grip_base} lb",
            "{grip} lb",
            "grip",
        ),
        (
            "Patient will tolerate typing for 30 minutes with pain ≤ {pain_goal}/10 within "
            "{gw} weeks",
            "10 min before symptoms",
            "30 min, pain ≤ {pain_goal}/10",
            "typing",
        ),
        _GOAL_INSTRUMENT,
        (
            "Patient will button a shirt during dressing in under 60 seconds within {gw} weeks",
            "2 min 10 s",
            "< 60 s",
            "buttoning",
        ),
    ],
    "bal": [
        (
            "Patient will improve {instrument} to {m_target} or better to reduce fall risk "
            "within {gw} weeks",
            "{instrument} {m_base}",
            "{instrument} {m_target}",
            "{instrument}",
        ),
        (
            "Patient will ambulate {ft_goal} ft on uneven outdoor surfaces with {ad} and "
            "supervision within {gw} weeks",
            "75 ft with CGA",
            "{ft_goal} ft outdoors, supervision",
            "outdoor ambulation",
        ),
        (
            "Patient will perform tub transfer with grab bar at SBA level within {gw} weeks",
            "min A",
            "SBA",
            "tub transfer",
        ),
        (
            "Patient will maintain tandem stance for 20 seconds without loss of balance within "
            "{gw} weeks",
            "{sec_base} s with UE support",
            "20 s, no UE support",
            "tandem stance",
        ),
    ],
    "adl": [
        (
            "Patient will complete LB dressing with reacher and sock aid at mod I level within "
            "{gw} weeks",
            "mod A",
            "mod I",
            "LB dressing",
        ),
        (
            "Patient will perform shower transfer with tub bench at supervision level within "
            "{gw} weeks",
            "min A",
            "supervision",
            "shower transfer",
        ),
        (
            "Patient will prepare a simple hot meal with SBA and no safety errors within {gw} "
            "weeks",
            "mod A, 3 safety errors",
            "SBA, 0 errors",
            "meal preparation",
        ),
        _GOAL_INSTRUMENT,
    ],
    "dys": [
        (
            "Patient will drink thin liquids by cup with chin tuck with no overt s/s of "
            "aspiration in 90% of trials within {gw} weeks",
            "coughing on 4/10 thin liquid trials",
            "90% of trials without s/s",
            "thin liquids",
        ),
        (
            "Patient will use effortful swallow with min verbal cues in 80% of trials to clear "
            "residue within {gw} weeks",
            "40% of trials with max cues",
            "80% with min cues",
            "effortful swallow",
        ),
        (
            "Patient will advance to a mechanical soft diet with no overt signs of aspiration "
            "in 100% of meals across 3 consecutive sessions within {gw} weeks",
            "puree diet",
            "mechanical soft, 3 sessions",
            "diet level",
        ),
        (
            "Patient will improve PO intake to {instrument} level {m_target} within {gw} weeks",
            "{instrument} {m_base}",
            "{instrument} {m_target}",
            "{instrument}",
        ),
    ],
    "lang": [
        (
            "Patient will name common objects with 80% accuracy given min phonemic cues within "
            "{gw} weeks",
            "40% accuracy with mod cues",
            "80% with min cues",
            "naming",
        ),
        (
            "Patient will follow 2-step commands with 80% accuracy within {gw} weeks",
            "50% accuracy",
            "80% accuracy",
            "comprehension",
        ),
        (
            "Patient will use a communication board or gestures to express basic needs in 90% "
            "of opportunities within {gw} weeks",
            "30% of opportunities with max cues",
            "90% of opportunities",
            "functional communication",
        ),
        (
            "Patient will produce 5-7 word sentences to express wants and needs in 80% of "
            "opportunities within {gw} weeks",
            "2-3 word phrases",
            "5-7 words, 80%",
            "sentence production",
        ),
    ],
    "cog": [
        (
            "Patient will recall 3-step directions with 90% accuracy after a 10-minute delay "
            "within {gw} weeks",
            "50% accuracy",
            "90% accuracy",
            "recall",
        ),
        (
            "Patient will complete the medication management task of filling a weekly pill "
            "organizer with 100% accuracy and supervision within {gw} weeks",
            "60% accuracy with mod A",
            "100%, supervision",
            "medication management",
        ),
        (
            "Patient will use a memory notebook to remember appointments in 90% of "
            "opportunities within {gw} weeks",
            "40% with max cues",
            "90% of opportunities",
            "memory strategies",
        ),
        (
            "Patient will use problem solving to answer home safety questions with 80% accuracy "
            "within {gw} weeks",
            "45% accuracy",
            "80% accuracy",
            "problem solving",
        ),
    ],
}
UNMEASURABLE_GOALS = [
    "Patient will get stronger.",
    "Patient will have less pain.",
    "Improve balance.",
    "Patient will walk better.",
    "Patient will increase ROM.",
    "Improve function.",
    "Pt will feel better and return to prior activities.",
    "Patient will improve swallowing.",
    "Improve word finding.",
    "Patient will be more independent.",
]
# MCID used to build clearly improving UM episodes; change under this is a plateau.
UM_MCID = {"LEFS": 9, "ODI": 10, "NDI": 7.5, "QuickDASH": 16, "Berg": 6}
CEILING = {"LEFS": (73, 78), "ODI": (2, 8), "NDI": (1, 4), "QuickDASH": (2, 7), "Berg": (52, 55)}
UM_SCENARIOS = ["progressing", "goals_met", "plateau", "plateau_maintenance", "no_measures"]
UM_SHARE = [4, 3, 3, 3, 2]
MAINTENANCE_TEXT = (
    "Skilled maintenance program required: due to {why} complexity, the program cannot be "
    "carried out safely by the patient or caregiver without the skills of a therapist."
)


REPORT_TYPES = ["evaluation", "re_evaluation", "progress", "recertification", "discharge"]
ROUND = {"TUG": 1, "QuickDASH": 1, "KOOS JR": 1}
INSTRUMENT = np.array([r[3] for r in REGIONS], dtype=object)
DIRECTION = np.array([r[6] for r in REGIONS])
RATE = np.array([r[5] for r in REGIONS], float)


def _round_scores(score: np.ndarray, instrument: np.ndarray) -> np.ndarray:
    out = np.round(score)
    for name, d in ROUND.items():
        m = instrument == name
        out[m] = np.round(score[m], d)
    m = instrument == "ODI"
    out[m] = np.round(score[m] / 2) * 2
    return out


def _choose_um(rng, ep: pd.DataFrame, sk: pd.DataFrame, notes: int) -> np.ndarray:
    """Scenario index (UM_SCENARIOS) per episode with an open authorization request, else -1."""
    reports = sk["note_type"].isin(["progress", "recertification", "re_evaluation"]).to_numpy()
    e = sk["ep"].to_numpy()
    n_reports = np.bincount(e, weights=reports, minlength=len(ep))
    # Visits after the latest report: the request that follows goals met comes right after it.
    k = sk["k"].to_numpy()
    last_k = np.zeros(len(ep), np.int64)
    np.maximum.at(last_k, e, k)
    report_k = np.full(len(ep), -(1 << 30))
    np.maximum.at(report_k, e[reports], k[reports])
    soon = last_k - report_k <= 1
    inst_ok = _isin(INSTRUMENT[ep["region"].to_numpy()], list(UM_MCID))
    is_open = ~ep["closed"].to_numpy()
    n_um = max(5, round(15 * notes / 1500))
    want = np.floor(np.array(UM_SHARE) * n_um / sum(UM_SHARE) + 0.5).astype(int)
    scen = np.full(len(ep), -1)
    # Plateaus need two progress reports; the other scenarios one.
    for i in (2, 3, 0, 1, 4):
        need = 2 if i in (2, 3) else 1
        pool = is_open & (n_reports >= need) & (scen < 0) & (inst_ok | (i == 4))
        cand = np.flatnonzero(pool)
        take = rng.choice(cand, min(want[i], len(cand)), replace=False)
        if i == 1:  # goals met: episodes whose latest report is the last visit or the one before
            near = rng.permutation(np.flatnonzero(pool & soon))
            rest = rng.permutation(np.flatnonzero(pool & ~soon))
            take = np.r_[near, rest][: want[i]]
        scen[take] = i
    return scen


def _measures(
    rng, ep: pd.DataFrame, sk: pd.DataFrame, um: np.ndarray, no_measures: np.ndarray
) -> pd.DataFrame:
    """Outcome measures on every report note: primary instrument, and NPRS for orthopaedic care."""
    n_ep = len(ep)
    region = ep["region"].to_numpy()
    lo = np.array([r[4][0] for r in REGIONS], float)[region]
    hi = np.array([r[4][1] for r in REGIONS], float)[region]
    base = rng.uniform(lo, hi)
    resp = np.where(
        rng.random(n_ep) < 0.2, rng.uniform(0.1, 0.4, n_ep), rng.uniform(0.7, 1.3, n_ep)
    )
    rate = RATE[region] * resp
    rows = np.flatnonzero(sk["note_type"].isin(REPORT_TYPES).to_numpy())
    e = sk["ep"].to_numpy()[rows]
    weeks = (sk["dos"].to_numpy()[rows] - ep["start"].to_numpy()[e]).astype(
        "timedelta64[D]"
    ).astype(float) / 7
    inst = INSTRUMENT[region][e]
    direction = DIRECTION[region][e]
    score = base[e] + direction * rate[e] * weeks + rng.normal(0, 0.15, len(rows)) * RATE[region][e]
    # Open-request episodes: scores by scenario over the report sequence (0 = evaluation).
    j = pd.Series(np.ones(len(rows))).groupby(e).cumsum().to_numpy() - 1
    last = pd.Series(j).groupby(e).transform("max").to_numpy()
    sc = um[e]
    mcid = _map(inst, UM_MCID, dtype=float)
    rng_lo = _map(inst, {k: v[0] for k, v in INSTRUMENT_RANGE.items()}, dtype=float)
    rng_hi = _map(inst, {k: v[1] for k, v in INSTRUMENT_RANGE.items()}, dtype=float)
    step = mcid * rng.uniform(1.15, 1.4, len(rows))
    step = pd.Series(step).groupby(e).transform("first").to_numpy()
    room = step * last + 2
    safe_base = np.where(
        direction > 0, np.minimum(base[e], rng_hi - room), np.maximum(base[e], rng_lo + room)
    )
    prog = sc == UM_SCENARIOS.index("progressing")
    score = np.where(prog, safe_base + direction * step * j, score)
    met = sc == UM_SCENARIOS.index("goals_met")
    ceil_lo = _map(inst, {k: v[0] for k, v in CEILING.items()}, dtype=float)
    ceil_hi = _map(inst, {k: v[1] for k, v in CEILING.items()}, dtype=float)
    top = (
        pd.Series(np.nan_to_num(ceil_lo) + rng.random(len(rows)) * np.nan_to_num(ceil_hi - ceil_lo))
        .groupby(e)
        .transform("first")
        .to_numpy()
    )
    # (from a start that the time allows: at most 1.8 times the usual weekly change)
    span = pd.Series(weeks).groupby(e).transform("max").to_numpy()
    gap = top - base[e]
    allowed = 1.8 * RATE[region][e] * np.maximum(span, 1)
    begin = top - np.sign(gap) * np.minimum(np.abs(gap), allowed)
    score = np.where(met, begin + (top - begin) * j / np.maximum(last, 1), score)
    flat = _isin(sc, [UM_SCENARIOS.index("plateau"), UM_SCENARIOS.index("plateau_maintenance")])
    small = mcid * 0.6 * np.minimum(j, np.maximum(last - 1, 0))
    wobble = pd.Series(rng.integers(0, 2, len(rows))).groupby(e).transform("last").to_numpy()
    score = np.where(flat, base[e] + direction * (small + (j == last) * wobble), score)
    score = _round_scores(np.clip(score, rng_lo, rng_hi), inst)
    keep = ~no_measures[e]
    out = [_df({"note": rows[keep], "measure": inst[keep], "score": score[keep]})]
    # NPRS for orthopaedic families in 60% of episodes (not for open-request episodes).
    fam = _map(np.array(REGION_NAMES, dtype=object)[region], FAMILY)
    pain_ep = _isin(fam, ["spine", "le", "ue", "hand"]) & (rng.random(n_ep) < 0.6) & (um < 0)
    pk = keep & pain_ep[e]
    pain0 = rng.integers(4, 9, n_ep)
    pain = np.clip(
        np.round(pain0[e] - 0.45 * resp[e] * weeks + rng.normal(0, 0.6, len(rows))), 0, 10
    )
    out.append(
        _df(
            {
                "note": rows[pk],
                "measure": np.full(pk.sum(), "NPRS", dtype=object),
                "score": pain[pk],
            }
        )
    )
    m = pd.concat(out, ignore_index=True).sort_values(["note", "measure"], kind="stable")
    return m.reset_index(drop=True)


def _goals(
    rng,
    ep: pd.DataFrame,
    sk: pd.DataFrame,
    um: np.ndarray,
    unmeasurable: np.ndarray,
    first_note: np.ndarray,
    m_base: np.ndarray,
    m_target: np.ndarray,
    m_target_short: np.ndarray,
    device: np.ndarray,
) -> pd.DataFrame:
    """2-4 goals per episode written at the first note; status as of the export date."""
    n_ep = len(ep)
    region = ep["region"].to_numpy()
    fam_ep = _map(np.array(REGION_NAMES, dtype=object)[region], FAMILY, dtype=object)
    k = rng.choice([2, 3, 4], n_ep, p=[0.25, 0.45, 0.3])
    g_ep = np.repeat(np.arange(n_ep), k)
    j = np.arange(len(g_ep)) - np.repeat(np.cumsum(k) - k, k)
    n = len(g_ep)
    fam = fam_ep[g_ep]
    short = j < np.maximum(1, k[g_ep] // 2)
    dur = ep["dur_weeks"].to_numpy()[g_ep]
    gw = np.where(short, np.minimum(4, dur // 2), dur)
    # Distinct goal templates per episode: consecutive templates from a random start.
    n_tpl = _map(fam, {f: len(v) for f, v in GOALS.items()}, dtype=np.int64)
    start = rng.integers(0, 100, n_ep)[g_ep]
    tpl = (start + j) % n_tpl
    ctx = {
        "family": fam,
        "gw": gw.astype(str).astype(object),
        "instrument": INSTRUMENT[region][g_ep],
        "m_base": m_base[g_ep],
        "m_target": np.where(short, m_target_short[g_ep], m_target[g_ep]),
        "side": ep["side"].to_numpy()[g_ep],
        "part": ep["part"].to_numpy()[g_ep],
        "ad": DEVICES[device[g_ep]],
    }
    slots = Slots(rng, ctx, n, sticky=True)
    text = np.empty(n, dtype=object)
    base = np.empty(n, dtype=object)
    target = np.empty(n, dtype=object)
    label = np.empty(n, dtype=object)
    for f, bank in GOALS.items():
        rows = np.flatnonzero(fam == f)
        for col, out in ((0, text), (1, base), (2, target), (3, label)):
            out[rows] = _fill(slots, [b[col] for b in bank], tpl[rows], rows)
    # Unmeasurable goals: every goal of "no outcome" episodes, some goals of planted episodes.
    um_none = um == UM_SCENARIOS.index("no_measures")
    all_vague = unmeasurable & (rng.random(n_ep) < 0.5) | um_none
    vague = all_vague[g_ep] | (unmeasurable[g_ep] & (j == 0))
    stock = np.array(UNMEASURABLE_GOALS, dtype=object)
    text[vague] = stock[rng.integers(0, len(stock), vague.sum())]
    base[vague] = None
    target[vague] = None
    label[vague] = "goal " + (j[vague] + 1).astype(str).astype(object)
    # Status as of the export: discharged episodes met/not met, open ones progressing.
    first_dos = sk["dos"].to_numpy()[first_note][g_ep]
    target_date = first_dos + _days(gw * 7)
    closed = ep["closed"].to_numpy()[g_ep]
    r = rng.random(n)
    status = np.where(
        closed, np.where(r < np.where(short, 0.85, 0.7), "met", "not_met"), "progressing"
    )
    status = np.where(~closed & short & (target_date < EXPORT_END) & (r < 0.55), "met", status)
    sc = um[g_ep]
    status = np.where(
        sc == UM_SCENARIOS.index("progressing"),
        np.where(short & (r < 0.5), "met", "progressing"),
        status,
    )
    status = np.where(sc == UM_SCENARIOS.index("goals_met"), "met", status)
    flat = _isin(sc, [UM_SCENARIOS.index("plateau"), UM_SCENARIOS.index("plateau_maintenance")])
    status = np.where(flat, np.where(short, "not_met", "progressing"), status)
    status = np.where(um_none[g_ep], "progressing", status)
    return _df(
        {
            "goal_id": _ids("G", n, 6),
            "ep": g_ep,
            "note": first_note[g_ep],
            "term": np.where(short, "short", "long"),
            "text": text,
            "target_date": target_date,
            "status": status.astype(object),
            "baseline": base,
            "target": target,
            "label": label,
            "j": j,
        }
    )


# ----------------------------------------------------------------------------------------------
# SOAP sentence banks. "*" = every family; family keys add their own sentences.

FAMILY_OF_REGION = np.array([FAMILY[r] for r in REGION_NAMES], dtype=object)
UNIT = {"ODI": "%", "TUG": " s", "6MWT": " m", "FOIS": "", "NPRS": "/10"}
S_ORTHO = [
    "Pt reports {part} pain {pain}/10 today, {pain_lo}/10 at best since last visit.",
    "Pt states HEP completed {freqx}x since last session; mild soreness after {ex}.",
    "Pt reports improved tolerance for {task} this week.",
    "Pt arrives reporting pain {pain}/10 and morning stiffness lasting about {min} min.",
    "Pt notes difficulty with {task} but is able to manage {task2} with less effort.",
    "Pt states sleep is better; pain {pain}/10 on arrival.",
    "Caregiver reports pt more confident with {task} at home.",
    "Pt reports doing HEP {freqx} days/week; main limitation remains {task}.",
    "Pt reports a flare after {task} over the weekend, now {pain}/10.",
    "Pt is motivated; asks about returning to {task2}.",
]
S_WALK = [
    "Pt reports a {min}-min walk yesterday without increase in symptoms.",
    "Pt denies new falls since last visit; rates pain {pain}/10 at rest.",
]
S_BANK = {
    "spine": S_ORTHO + S_WALK,
    "neck": S_ORTHO + ["Pt reports headaches less often this week; {part} pain {pain}/10."],
    "le": S_ORTHO + S_WALK,
    "ue": S_ORTHO,
    "hand": S_ORTHO + ["Pt reports less night-time numbness; wearing the splint at night."],
    "bal": [
        "Pt denies new falls since last visit; reports feeling steadier with {task}.",
        "Pt reports a near fall while {task}; no injury.",
        "Pt states HEP completed {freqx}x since last session; legs tired after {ex}.",
        "Pt reports improved confidence with {task} this week.",
        "Caregiver reports pt more confident with {task} at home.",
        "Pt notes difficulty with {task} but is able to manage {task2} with less effort.",
        "Pt reports walking {min} min yesterday with {ad} without a rest break.",
        "Pt reports fatigue after {task}; slept well last night.",
        "Pt is motivated; asks about returning to {task2}.",
        "Pt reports doing HEP {freqx} days/week; main limitation remains {task}.",
    ],
    "adl": [
        "Pt reports completing {task} with spouse's help this week; needed more time than before.",
        "Caregiver reports pt more confident with {task} at home.",
        "Pt states HEP completed {freqx}x since last session; {side} hand fatigued after {ex}.",
        "Pt reports {side} shoulder discomfort {pain}/10 with overhead reach; otherwise no pain.",
        "Pt notes difficulty with {task} but is able to manage {task2} with less effort.",
        "Pt denies new falls since last visit; used the tub bench for showers.",
        "Pt reports fatigue by late afternoon, limiting {task}.",
        "Pt is motivated; wants to resume {task2} independently.",
    ],
    "dys": [
        "Pt reports coughing with thin liquids at dinner {hep2} times this week.",
        "Pt reports less effort swallowing pills; spouse notes fewer coughing episodes at meals.",
        "Pt reports completing swallow exercises {freqx} days/week.",
        "Pt denies fever or chest congestion since last session.",
        "Pt reports tolerating {bolus_safe} at home without difficulty.",
        "Pt states meals take less time; still avoids {task2}.",
        "Spouse reports pt uses chin tuck at most meals with reminders.",
    ],
    "lang": [
        "Pt reports increased word-finding pauses when tired.",
        "Spouse reports fewer communication breakdowns at home this week.",
        "Pt states reading headlines is easier; longer articles are still hard to follow.",
        "Pt reports frustration with {task}; completed home practice {freqx} days.",
        "Spouse reports pt ordered at a restaurant using the written menu.",
        "Pt used the communication board at home {freqx} times this week per spouse.",
        "Pt states {task2} went well with written cues this week.",
    ],
    "cog": [
        "Spouse reports pt used the calendar to track {freqx} appointments this week.",
        "Pt states reading the newspaper is easier but loses track after a few paragraphs.",
        "Pt reports frustration with {task}; completed home practice {freqx} days.",
        "Caregiver notes pt needed reminders for medications {hep} of 7 days.",
        "Pt reports using the strategy notebook at the pharmacy.",
        "Pt states {task2} went well with written cues this week.",
        "Pt reports misplacing keys less often since keeping them in one place.",
    ],
}
O_LOAD = [
    "Ther ex: {wex} {sets}x{reps} with {lb} lb and {bex} {sets}x{reps} with {band} band; {cue} "
    "for form.",
    "Ther activity: {ex2} {sets}x{reps} simulating {task}; required {cue} to maintain mechanics.",
    "Progressed {bex} to {band_up} band, {sets}x{reps}; pt demonstrated good eccentric control.",
    "Pt performed {wex} {sets}x{reps} with {lb} lb; fatigue after set 2, rest breaks provided.",
    "HEP reviewed and updated with {ex2}; pt returned demonstration with {cue}.",
    "Pt required {cue} for pacing during {ex2}; RPE kept at 12-13/20.",
    "{wex} {sets}x{reps} at {lb} lb, increased from last session; no pain increase reported.",
]
O_BANK = {
    "spine": O_LOAD
    + [
        "Manual therapy: grade III PA mobilizations to the lumbar spine x {mt_min} min to improve "
        "segmental mobility.",
        "STM to paraspinals x {mt_min} min followed by repeated extension in standing "
        "{sets}x{reps}.",
        "Body mechanics training for lifting {lb} lb floor to waist with {cue}; hip hinge "
        "{pct}% correct.",
        "Lumbar AROM rechecked: extension {deg_lext} degrees, pain {pain_lo}/10 at end range.",
        "Neuromuscular re-ed: {ex} {sets}x{reps} with {cue} for lumbopelvic control.",
    ],
    "neck": O_LOAD
    + [
        "Manual therapy: grade III PA mobilizations to the upper thoracic spine x {mt_min} min to "
        "improve cervical ROM.",
        "STM to upper trapezius and levator scapulae x {mt_min} min followed by chin tucks "
        "{sets}x{reps}.",
        "Cervical rotation AROM rechecked: {deg_rot} degrees each way, pain {pain_lo}/10 at end "
        "range.",
        "Neuromuscular re-ed: deep neck flexor holds {sets}x{sec_dnf} s with {cue} to avoid SCM "
        "substitution.",
        "Postural education for workstation setup; pt demonstrated neutral head posture with "
        "{cue}.",
    ],
    "le": O_LOAD
    + [
        "Neuromuscular re-ed: single-leg stance on foam {sets}x{sec} s with {gassist}; cues for "
        "knee alignment.",
        "Gait training {ft} ft x {laps} with {ad} and {gassist}; cues for heel strike and step "
        "length.",
        "Stair training {steps} steps with {step_h} in rise, one rail, {gassist}, reciprocal "
        "with {cue}.",
        "{part} AROM flexion {deg_knee} degrees after joint mobilizations x {mt_min} min.",
        "Sit to stand {sets}x{reps} from standard chair without UE support, {gassist}.",
    ],
    "ue": O_LOAD
    + [
        "Manual therapy: GH joint posterior glides grade III x {mt_min} min, then AROM flexion "
        "{deg} degrees.",
        "Scapular stabilization {ex} {sets}x{reps} with {cue} to avoid shoulder hiking.",
        "Functional reach to shelf at shoulder height x {reps} with {lb} lb, pain {pain_lo}/10.",
        "Shoulder PROM flexion {deg} degrees, ER {deg_small} degrees at 90 degrees abduction.",
    ],
    "hand": [
        "Grip strength {side} {grip_base} lb on dynamometer, position II; pinch {pinch} lb.",
        "{ex} {sets}x{reps} with {cue}; edema decreased after retrograde massage x {mt_min} min.",
        "Fine motor: {ex2} x {min} min, pt completed with {cue}.",
        "Scar massage and desensitization x {mt_min} min; pt tolerated {pct}% of textures.",
        "Wrist AROM extension {deg_small} degrees, flexion {deg_small2} degrees after paraffin.",
        "Functional task: {task} simulated with built-up handle, {assist}, {pct}% success.",
        "HEP updated with {ex3}; pt returned demonstration with {cue}.",
    ],
    "bal": [
        "Gait training {ft} ft x {laps} with {ad} and {gassist}; cues for step length and "
        "upright posture.",
        "Balance: {ex} {sets}x{sec} s, {gassist}; LOB x{hep} with self-correction.",
        "Dual-task gait {ft} ft while naming items, {gassist}, {cue}.",
        "Static standing on foam with eyes closed {sec} s x {sets}, {gassist}.",
        "NuStep level {lvl} x {min} min for endurance; HR and SpO2 monitored, SpO2 stayed above "
        "92%.",
        "Neuromuscular re-ed: {ex2} {sets}x{sec} s on foam with {gassist}; cues for trunk "
        "alignment.",
        "Sit to stand without UEs {sets}x{reps} from standard chair with {cue} for anterior "
        "weight shift.",
        "Step-ups to {step_h} in step {sets}x{reps} with {gassist} and one UE support.",
        "HEP reviewed and updated with {ex3}; pt returned demonstration with {cue}.",
    ],
    "adl": [
        "ADL retraining: {ex} with {assist} and {cue}; pt sequenced {pct}% of steps independently.",
        "Fine motor: pegboard and coin manipulation x {min} min with {side} UE, completed with "
        "{cue}.",
        "Energy conservation education during {task}; pt verbalized {hep2} strategies.",
        "Standing tolerance at counter {min} min during a simple kitchen task with {assist}.",
        "Toilet transfer with grab bar {assist}, {cue} for hand placement.",
        "Neuro re-ed: weight bearing through {side} UE during reaching tasks x {min} min.",
        "Caregiver trained in safe tub bench transfer; return demonstration with {cue}.",
    ],
    "dys": [
        "Pt completed {ex} {sets}x{reps} with {cue}.",
        "PO trials of {bolus}: {trials}/10 without overt s/s of aspiration; delayed cough on the "
        "others.",
        "Pt used chin tuck with {bolus} in {pct}% of trials given {cue}.",
        "Oral motor: {ex2} {sets}x{reps}; lingual pressure {kpa} kPa on IOPI.",
        "Pt ate {bolus_safe} with {assist} for strategy use; residue cleared with {ex3} x{hep}.",
        "Vocal quality clear after swallow in {trials}/10 trials of {bolus}.",
    ],
    "lang": [
        "{ex}: {pct}% accuracy given {cue} ({trials}/10 trials).",
        "{ex2}: pt completed {trials}/10 items with {cue}; response latency decreased.",
        "Pt generated {steps} items in 60 s on category naming.",
        "{ex3} completed with {pct}% accuracy; self-corrected {hep2} errors.",
        "Repetition of 3-5 word phrases: {trials}/10 with {cue}.",
        "Functional task ({task}) completed with {cue}, {pct}% accuracy.",
    ],
    "cog": [
        "{ex}: {pct}% accuracy given {cue} ({trials}/10 trials).",
        "{ex2}: pt completed {trials}/10 items with {cue}; response latency decreased.",
        "Pt generated {steps} items in 60 s on category naming.",
        "{ex3} completed with {pct}% accuracy; self-corrected {hep2} errors.",
        "Recall of 3-step directions after a 5-min delay: {trials}/10 with {cue}.",
        "Functional task ({task}) completed with {cue}, {pct}% accuracy.",
    ],
}
A_ORTHO = [
    "Pt demonstrated improved {ex} form with decreased need for cues; progressing toward STG 1.",
    "Pt reported less pain after treatment, indicating a good response to treatment.",
    "Pt continues to require {cue} to maintain mechanics during {task}, limiting independence.",
    "Progressing toward LTGs ({task}); endurance still limited by fatigue after {min} min of "
    "activity.",
    "Skilled intervention needed to progress {ex} and ensure safe technique toward goal {g}.",
    "Decreased compensatory patterns during {ex2}; carryover of cues improved from last session.",
    "Pt remains limited in {task} secondary to weakness and pain; responding to graded loading.",
    "Pt completed {reps_now} reps of {ex} before form broke down (was {reps_prev} last visit), "
    "showing improved endurance.",
    "Tolerance for {task} is about {min} min now; goal {g} requires longer, so continued "
    "skilled loading is indicated.",
    "Pt self-corrected mechanics on {pct}% of trials during {task} practice, up from prior "
    "sessions.",
]
A_FORM = [
    "Increased resistance to {lb_next} lb tolerated without symptom increase; pt managed {task2} "
    "with less compensation.",
    "Form during {wex} was accurate on {pct}% of reps with {cue}; errors were trunk lean and "
    "reduced ROM.",
]
A_BANK = {
    "spine": A_ORTHO
    + A_FORM
    + [
        "Symptoms peripheralized with {ex3}, so the program was modified; centralization noted "
        "after {min} min.",
    ],
    "neck": A_ORTHO
    + A_FORM
    + [
        "Arm symptoms increased with {ex3}, so the program was modified; symptoms eased after "
        "{min} min of chin tucks.",
    ],
    "le": A_ORTHO + A_FORM,
    "ue": A_ORTHO + A_FORM,
    "hand": A_ORTHO
    + [
        "Edema reduced after retrograde massage; AROM gains allow progress toward goal {g}.",
        "Pt continues to require {cue} for joint protection during {task}.",
        "Fine motor coordination improving: {ex2} completed in less time with {cue}.",
        "Grip strength improving with graded putty; pt managed {task2} with less pain.",
    ],
    "bal": [
        "Balance deficits persist with narrow base; pt requires {gassist} for safety and fall "
        "risk remains.",
        "Pt lost balance {times} during {ex} and recovered with {gassist}; dual-task gait "
        "remains unsafe.",
        "Pt demonstrated improved control during {ex} with decreased need for cues; progressing "
        "toward STG 1.",
        "Pt needed {gassist} for {ex2} today versus more assistance last week, reflecting improved "
        "motor control.",
        "Progressing toward LTGs ({task}); endurance still limited by fatigue after {min} min of "
        "activity.",
        "Pt continues to require {cue} for safe turns during {task}, limiting independence.",
        "Skilled intervention needed to progress {ex} and ensure safety toward goal {g}.",
        "Step length and gait speed improving; pt remains at risk for falls with {task}.",
    ],
    "adl": [
        "Pt improved sequencing for {task} and required fewer cues; safety awareness still "
        "impaired.",
        "Pt completed {pct}% of {task} steps with {assist}; fatigue after {min} min limits "
        "carryover.",
        "Pt continues to require {cue} to attend to the {side} UE during {task}.",
        "Pt needed {assist} for {ex2} today versus more assistance last week, reflecting improved "
        "motor control.",
        "Skilled intervention needed to grade {ex} and train compensatory strategies toward goal "
        "{g}.",
        "Decreased compensatory trunk lean during {ex2}; carryover of cues improved from last "
        "session.",
        "Progressing toward LTGs ({task}); standing tolerance still limited to about {min} min.",
    ],
    "dys": [
        "Pt demonstrated {pct}% accuracy with strategy use, up from last session; progressing "
        "toward goal {g}.",
        "Pt continues to require {cue} to use chin tuck consistently; skilled cueing needed.",
        "No overt s/s of aspiration with {bolus} in {trials}/10 trials; pt appropriate to trial "
        "the next texture.",
        "Endurance for meals improved; fatigue after {min} min still increases aspiration risk.",
        "Wet vocal quality noted on {hep} of 10 trials of {bolus}, cleared with a cued throat "
        "clear.",
        "Pt initiated the effortful swallow independently on {pct}% of trials versus {pct_prev}% "
        "last week.",
        "Pharyngeal residue reduced with alternating solids and liquids; pt needed {cue} for "
        "pacing.",
        "Lingual strength improving ({kpa} kPa); pt progressing toward goal {g} ({task}).",
    ],
    "lang": [
        "Pt demonstrated {pct}% accuracy, improved from prior session; progressing toward goal "
        "{g}.",
        "Pt continues to require {cue} for word retrieval; benefits from semantic cues.",
        "Improved self-monitoring noted; errors decreased from {hep2} to {hep} with structured "
        "tasks.",
        "Functional carryover to {task} emerging but inconsistent without cues.",
        "Response latency decreased to about {lat_s} s on {ex}; accuracy {pct}% with {cue}.",
        "Pt used the communication board independently on {trials}/10 opportunities during "
        "{task2} practice.",
        "Perseveration reduced; pt shifted between tasks with {cue} on {pct}% of trials.",
        "Pt self-corrected paraphasias on {pct}% of trials, supporting progress toward goal {g}.",
    ],
    "cog": [
        "Pt demonstrated {pct}% accuracy, improved from prior session; progressing toward goal "
        "{g}.",
        "Pt continues to require {cue} to use the memory notebook; carryover emerging.",
        "Improved self-monitoring noted; errors decreased from {hep2} to {hep} with structured "
        "tasks.",
        "Functional carryover to {task} emerging but inconsistent without cues.",
        "Pt used the strategy notebook independently on {trials}/10 opportunities during "
        "{task2} practice.",
        "Perseveration reduced; pt shifted between tasks with {cue} on {pct}% of trials.",
        "Pt recalled {hep}/3 strategies at session end, supporting progress toward goal {g}.",
        "Sustained attention improved to about {min} min before redirection with {cue}.",
    ],
}
P_ORTHO = [
    "Continue POC; progress {wex} to {lb_next} lb next visit and add {ex2}.",
    "Plan to increase resistance to {band_up} band and reassess {part} ROM next visit.",
    "Continue skilled {disc_word} {freq}; focus on {task} and {part} strengthening.",
    "Will progress {ex2} to {sets}x{reps} and reassess pain response; review HEP compliance.",
    "Plan: {ex3} progression and manual therapy prn; reassess {instrument} at the progress report.",
    "Update HEP with {ex2}; pt to perform {sets}x{reps} daily and log pain response.",
    "Will trial {ex3} and grade {task} practice toward goal {g} next session.",
    "Continue {freq}; next session target {task2} and fade cues to {cue_next}.",
    "Reassess {part} strength next week; progress load by {lb_next} lb if pain stays at or "
    "below {pain_cap}/10.",
]
P_BANK = {
    "spine": P_ORTHO
    + ["Progress {task} simulation by adding {lb_next} lb and increasing repetitions to {reps}."],
    "neck": P_ORTHO
    + ["Next visit: progress deep neck flexor holds and review workstation setup for {task}."],
    "le": P_ORTHO
    + [
        "Next session: advance gait training to {ft} ft on outdoor surfaces and update HEP with "
        "{ex3}.",
        "Next visit: add {ex} on an unstable surface and decrease cues to {cue_next}.",
    ],
    "ue": P_ORTHO,
    "hand": [
        "Upgrade putty to the next resistance and progress {ex} to {sets}x{reps}.",
        "Continue skilled OT {freq}; focus on {task} and fine motor coordination.",
        "Next visit: reassess grip and pinch strength; update HEP with {ex2}.",
        "Plan: trial adaptive equipment for {task} and grade {ex3} toward goal {g}.",
        "Continue edema management and scar massage; progress {ex2} as tolerated.",
        "Update HEP with {ex3}; pt to perform {sets}x{reps} twice daily and log symptoms.",
        "Next session: fade cues to {cue_next} during {task} simulation.",
    ],
    "bal": [
        "Next session: advance gait training to {ft} ft on outdoor surfaces and update HEP with "
        "{ex3}.",
        "Next visit: add {ex} on an unstable surface and decrease cues to {cue_next}.",
        "Continue skilled PT {freq}; focus on {task} and balance training.",
        "Plan: progress dual-task gait and reassess {instrument} at the progress report.",
        "Will progress {ex2} to {sets}x{sec} s without UE support; review HEP compliance.",
        "Continue {freq}; next session target {task2} with {gassist} and fade cues.",
        "Will trial {ex3} with a narrower base of support toward goal {g} next session.",
    ],
    "adl": [
        "Continue skilled OT {freq}; focus on {task} with fading of cues.",
        "Next visit: caregiver training for {task} and grade down cues to {cue_next}.",
        "Plan: progress {ex2} in standing and reassess {instrument} at the progress report.",
        "Will trial adaptive equipment for {task} toward goal {g} next session.",
        "Next session: {ex} with {side} UE weight bearing and cues faded to {cue_next}.",
        "Update home program with {ex3}; caregiver to supervise daily.",
        "Continue neuro re-ed for the {side} UE; progress {ex2} toward goal {g}.",
    ],
    "dys": [
        "Continue dysphagia tx targeting {ex}; trial {bolus} next session.",
        "Fade cues to min level for chin tuck; provide written strategy card for {task}.",
        "Provide home practice for {ex2} {sets}x{reps} daily; caregiver training next visit.",
        "Continue {freq}; reassess diet level at the progress report.",
        "Next session: {ex3} {sets}x{reps} and PO trials of {bolus} with {cue_next}.",
        "Plan to increase bolus size with {bolus} and monitor for s/s of aspiration over "
        "{trials} trials.",
        "Will educate caregiver on safe swallow strategies during {task2}; goal {g} targeted.",
    ],
    "lang": [
        "Increase task complexity for {ex2}; fade cues to min level.",
        "Provide home practice for {ex} ({reps} items daily); caregiver training next visit.",
        "Continue {freq}; introduce functional {task} practice.",
        "Next session: generalize strategies to {task2} with {cue_next}.",
        "Plan to move from single words to phrases in {ex} and target {pct2}% accuracy.",
        "Will trial {ex3} with written supports toward goal {g}.",
        "Next visit: structured {task} role-play with fading of {cue_next}.",
    ],
    "cog": [
        "Increase task complexity for {ex2}; fade cues to min level.",
        "Provide home practice for {ex} ({reps} items daily); caregiver training next visit.",
        "Continue {freq}; introduce functional {task} practice.",
        "Next session: generalize strategies to {task2} with {cue_next}.",
        "Plan to add a {sec}-second delay to recall tasks and target {pct2}% accuracy.",
        "Will trial {ex3} with written supports toward goal {g}.",
        "Next visit: structured {task} role-play with fading of {cue_next}.",
    ],
}
EVAL_S = [
    "{age} y/o {sexword} referred by {certifier} for {dxtext} ({dx}). Onset {weeks} weeks ago "
    "{onset}.",
    "History: {age} y/o {sexword} with {dxtext}; symptoms began {weeks} weeks ago {onset}. "
    "Referred by {certifier}.",
]
_EVAL_S2_ORTHO = [
    "Pain {pain}/10 currently, {pain_lo}/10 at best, worse with {task}. PLOF: {plof}. Lives "
    "{living}. Pt's goal: {task2} without pain.",
    "PLOF: {plof}. Pt lives {living}. Current difficulty with {task} and {task2}; pain {pain}/10.",
    "Pt reports {task} is the hardest activity; pain {pain}/10. PLOF: {plof}. Lives {living}.",
]
EVAL_S2 = {
    **{f: _EVAL_S2_ORTHO for f in ORTHO},
    "bal": [
        "PLOF: {plof}. Lives {living}. Fear of falling limits {task} and {task2}.",
        "Pt reports {task} is the hardest activity. PLOF: {plof}. Lives {living}.",
        "PLOF: {plof}. Pt lives {living}. Current difficulty with {task} and {task2}.",
    ],
    "adl": [
        "PLOF: {plof}. Pt lives {living}. Currently needs help with {task} and {task2}.",
        "Pt's goal: return to {task} independently. PLOF: {plof}. Lives {living}.",
    ],
    "dys": [
        "PLOF: regular diet and thin liquids. Pt lives {living}. Current difficulty with {task} "
        "and {task2}.",
        "Pt reports {task} is the hardest; spouse reports coughing at meals. PLOF: regular diet "
        "and thin liquids. Lives {living}.",
    ],
    "lang": [
        "PLOF: {plof}; no prior speech or language difficulty. Lives {living}. Pt and spouse "
        "report difficulty with {task} and {task2}.",
        "Spouse reports {task} is the hardest activity. PLOF: {plof}; no prior communication "
        "deficits. Lives {living}.",
    ],
    "cog": [
        "PLOF: {plof}; managed own medications and finances. Lives {living}. Family reports "
        "difficulty with {task} and {task2}.",
        "Family reports {task} is the hardest activity. PLOF: {plof}. Lives {living}.",
    ],
}
EVAL_O = {
    "spine": [
        "{measure_text} Lumbar AROM: flexion to mid-shin with pain, extension {deg_lext} degrees. "
        "Hip and core strength 4-/5. Sit to stand with UE push-off.",
        "{measure_text} Lumbar flexion and extension limited and painful at end range; strength "
        "4/5 in hip abductors and extensors. Antalgic gait without AD.",
    ],
    "neck": [
        "{measure_text} Cervical rotation {deg_rot} degrees each way with pain at end range; deep "
        "neck flexor endurance {sec_dnf} s. Forward head posture.",
        "{measure_text} Cervical AROM limited and painful in extension and rotation; upper "
        "trapezius tender to palpation; UE strength 4+/5.",
    ],
    "le": [
        "{measure_text} {part} AROM flexion {deg_knee} degrees; quadriceps and hip strength 4-/5. "
        "Gait {ft} ft with {ad}, {gassist}.",
        "{measure_text} Strength 3+/5 to 4/5 at the {part}; ROM limited and painful at end "
        "range. Transfers {gassist}.",
    ],
    "ue": [
        "{measure_text} {side} shoulder AROM flexion limited and painful at end range, ER "
        "{deg_small} degrees; rotator cuff strength 4-/5. Painful arc present.",
        "{measure_text} Strength 3+/5 to 4/5 in {side} shoulder flexors and external rotators; "
        "ROM limited and painful at end range.",
    ],
    "hand": [
        "{measure_text} {side} grip and pinch strength reduced versus the uninvolved hand; wrist "
        "AROM extension {deg_small} degrees. Mild edema.",
        "{measure_text} Decreased {side} wrist/hand ROM and grip strength; fine motor "
        "coordination slowed. Sensation intact to light touch.",
    ],
    "bal": [
        "{measure_text} Gait {ft} ft with {ad}, {gassist}; decreased step length and wide base. "
        "5x sit to stand {sts_base} s with UE support.",
        "{measure_text} Strength 4-/5 bilateral LEs; static standing balance fair, dynamic "
        "fair-. Transfers {gassist}.",
    ],
    "adl": [
        "{measure_text} {side} UE AROM shoulder flexion {deg_adl} degrees with mild spasticity; "
        "grip weak; light touch impaired. Transfers {assist}.",
        "{measure_text} {side} UE strength 3-/5 to 3+/5, fine motor impaired. Standing balance "
        "fair; needs assistance for LB dressing and tub transfers.",
    ],
    "dys": [
        "{measure_text} Oral mech exam: reduced lingual strength and ROM. PO trials: cough with "
        "thin liquids on {cough}/10 trials; {bolus_safe} without s/s.",
        "{measure_text} Clinical swallow eval: delayed initiation, wet vocal quality after thin "
        "liquids; puree safe with chin tuck.",
    ],
    "lang": [
        "{measure_text} Naming {pct}% on confrontation naming; auditory comprehension intact "
        "for simple commands, impaired for complex.",
        "{measure_text} Speech nonfluent with word-finding pauses; repetition of phrases {pct2}%; "
        "yes/no reliable.",
    ],
    "cog": [
        "{measure_text} Short-term recall {hep}/5 words after delay; problem solving impaired "
        "for multi-step tasks.",
        "{measure_text} Oriented x3; alternating attention reduced; recall {hep}/5 words after a "
        "delay.",
    ],
}
_EVAL_A_ORTHO = [
    "Pt presents with impairments in strength, mobility and activity tolerance limiting {task} "
    "and {task2}.",
    "Findings consistent with {dxtext} with functional limitations in {task}.",
    "Pt is below PLOF due to {dxtext}; most limited in {task}.",
    "Deficits in {part} ROM and strength and reduced tolerance ({min} min) limit {task2}.",
]
EVAL_A = {
    **{f: _EVAL_A_ORTHO for f in ORTHO},
    "bal": [
        "Pt presents with impaired balance, strength and gait limiting {task} and {task2}; fall "
        "risk is high.",
        "Findings consistent with {dxtext} with functional limitations in {task}.",
        "Pt is below PLOF due to {dxtext}; most limited in {task}.",
    ],
    "adl": [
        "Pt presents with {side} UE weakness, impaired coordination and reduced standing "
        "tolerance limiting {task} and {task2}.",
        "Findings consistent with {dxtext} with functional limitations in {task}.",
        "Pt is below PLOF due to {dxtext}; most limited in {task}.",
    ],
    "dys": [
        "Clinical swallow findings consistent with {dxtext}; pt at risk for aspiration with "
        "{task}.",
        "Pt is below PLOF due to {dxtext}; most limited in {task}.",
        "Reduced oral and pharyngeal swallow function limits {task} and {task2}.",
    ],
    "lang": [
        "Findings consistent with {dxtext}; expressive language most affected, limiting {task}.",
        "Pt is below PLOF due to {dxtext}; most limited in {task}.",
        "Word retrieval and comprehension of complex material limit {task} and {task2}.",
    ],
    "cog": [
        "Findings consistent with {dxtext}; memory and executive function deficits limit {task}.",
        "Pt is below PLOF due to {dxtext}; most limited in {task}.",
        "Reduced recall and problem solving limit {task} and {task2}.",
    ],
}
EVAL_A2 = [
    "Good rehab potential to reach goals in {dur} weeks given motivation and support.",
    "Prognosis: good rehab potential to reach goals in {dur} weeks.",
    "Rehab potential good to reach goals in {dur} weeks; barriers include {barrier}.",
    "Prognosis fair to good for goals in {dur} weeks given {barrier}.",
]
EVAL_P = {
    "*": [
        "Plan: skilled {disc_word} {freq} for {dur} weeks: therapeutic exercise, neuromuscular "
        "re-ed, functional training and HEP.",
        "POC {freq} x {dur} weeks to address impairments above with {ex}, {ex2} and {task} "
        "training.",
        "Treatment {freq} for {dur} weeks: manual therapy prn, graded exercise and education on "
        "{task2}.",
    ],
    "hand": [
        "Plan: skilled OT {freq} for {dur} weeks: therapeutic exercise, therapeutic activities, "
        "edema management and HEP.",
        "POC {freq} x {dur} weeks to address impairments above with {ex}, {ex2} and {task} "
        "training.",
        "Treatment {freq} for {dur} weeks: manual therapy prn, graded strengthening and joint "
        "protection education for {task2}.",
    ],
    "bal": [
        "Plan: skilled PT {freq} for {dur} weeks: balance and gait training, therapeutic "
        "exercise, fall prevention education and HEP.",
        "POC {freq} x {dur} weeks to address impairments above with {ex}, {ex2} and {task} "
        "training.",
    ],
    "adl": [
        "Plan: skilled OT {freq} for {dur} weeks: ADL retraining, neuromuscular re-ed of the "
        "{side} UE, therapeutic activities and caregiver training.",
        "POC {freq} x {dur} weeks: self-care training ({ex}, {ex2}) and adaptive equipment for "
        "{task}.",
    ],
    "dys": [
        "Plan: skilled ST {freq} for {dur} weeks: dysphagia therapy, compensatory strategy "
        "training and caregiver education.",
        "POC {freq} x {dur} weeks: oral motor and pharyngeal exercises ({ex}, {ex2}) with diet "
        "trials toward {task}.",
    ],
    "lang": [
        "Plan: skilled ST {freq} for {dur} weeks: language treatment, communication strategy "
        "training and caregiver education.",
        "POC {freq} x {dur} weeks targeting {ex} and {ex2} with carryover to {task}.",
    ],
    "cog": [
        "Plan: skilled ST {freq} for {dur} weeks: cognitive-communication treatment, strategy "
        "training and caregiver education.",
        "POC {freq} x {dur} weeks targeting {ex} and {ex2} with carryover to {task}.",
    ],
}
_EVAL_P2_HEP = [
    "HEP issued: {ex} {sets}x{reps} and {ex2} {sets}x{reps}, daily. Goals set with pt.",
    "Plan of care sent to {certifier} for certification; HEP of {ex3} {sets}x{reps} issued.",
    "Pt educated on diagnosis and pacing; HEP ({ex}, {ex2}) reviewed with return demonstration.",
    "Goals reviewed with pt and family; HEP issued with {reps} reps of {ex3} twice daily.",
]
EVAL_P2 = {
    "*": _EVAL_P2_HEP,
    "adl": [
        "Home program issued: {ex} daily with caregiver supervision. Goals set with pt and spouse.",
        "Plan of care sent to {certifier} for certification; caregiver educated on safe {task2}.",
        "Pt and caregiver educated on fall prevention and {side} UE positioning; return "
        "demonstration with {cue}.",
    ],
    "dys": [
        "Pt and caregiver educated on swallow precautions (upright 90 degrees, small sips) with "
        "teach-back; home program of {ex} {sets}x{reps} issued.",
        "Plan of care sent to {certifier} for certification; home program of {ex3} "
        "{sets}x{reps} issued.",
        "Diet recommendation: {bolus_safe}; strategies reviewed with return demonstration.",
    ],
    "lang": [
        "Home program: {ex} practice 10 min daily with written supports; spouse trained with "
        "return demonstration.",
        "Plan of care sent to {certifier} for certification; home practice of {ex3} issued.",
        "Goals reviewed with pt and family; communication strategies handout issued.",
    ],
    "cog": [
        "Home program: {ex} practice 10 min daily with written supports; spouse trained with "
        "return demonstration.",
        "Plan of care sent to {certifier} for certification; home practice of {ex3} issued.",
        "Goals reviewed with pt and family; memory strategies handout issued.",
    ],
}
PR_A = [
    "Progress toward goals: {goal_progress}. {measure_change}",
    "{measure_change} Progress on goals this period: {goal_progress}.",
]
PR_P = [
    "Continue POC {freq}; goals updated as above. {measure_name_plan}",
    "Continue skilled {disc_word} {freq} to address remaining deficits in {task}; HEP progressed.",
]
RECERT_P = [
    "Recertification: continue {freq} for {dur} more weeks through {poc_end_text}; updated POC "
    "sent to {certifier} for signature.",
]
REEVAL_S = [
    "Re-evaluation for a change in status after {reeval}; pt reports {task} has become harder.",
    "Re-evaluation: new symptoms since the last visit after {reeval}; {task} is harder again.",
]
DC_A = [
    "Status of goals at discharge - {goal_progress}. Reason for discharge: {reason}. "
    "{measure_change}",
    "Reason for discharge: {reason}. Goals: {goal_progress}. {measure_change}",
]
DC_P = [
    "Discharge plan: independent with HEP ({ex}, {ex2}) {freqx}x/week; follow up with "
    "{certifier} as needed.",
    "Discharged to HEP {freqx}x/week and community program; return to therapy if function "
    "declines. Follow up with {certifier} prn.",
]
UNSKILLED = {
    "subjective": ["Pt doing well.", "No complaints.", "Pt states doing well today."],
    "objective": [
        "Pt did exercises per flow sheet.",
        "Pt performed HEP.",
        "Pt seen for therapy. Same as last visit.",
    ],
    "assessment": ["Pt tolerated treatment well.", "Tolerated tx well."],
    "plan": ["Continue per plan of care.", "Continue POC."],
}
MAINTENANCE_WHY = [
    "the patient's medical and cognitive",
    "the clinical",
    "the patient's neurological",
]


# Assistive devices, from most to least support; one per episode, progressing at most one step
# (a walker or quad cane to a single-point cane, a cane to none).
DEVICES = np.array(["RW", "rollator", "quad cane", "SPC", "no AD"], dtype=object)
NEXT_DEVICE = np.array([3, 3, 3, 4, 4])
NO_AD = 4
# Device at the evaluation by band of the primary measure (0 walker, 1 cane, 2 cane, 3 none):
# per band, weights over DEVICES.
DEVICE_OF_BAND = np.array(
    [[0.7, 0.3, 0, 0, 0], [0, 0, 0.3, 0.7, 0], [0, 0, 0.15, 0.85, 0], [0, 0, 0, 0.4, 0.6]]
)
# Band thresholds of the measures that speak to gait safety (higher = safer band).
BAND_EDGES = {"Berg": (36, 45, 50), "6MWT": (200, 260, 330), "TUG": (-20, -15, -12)}
# Assistance with gait and balance work, by device (a walker user is not modified independent).
GAIT_ASSIST = {
    0: ["CGA", "SBA", "min A"],
    1: ["CGA", "SBA", "min A"],
    2: ["CGA", "SBA"],
    3: ["SBA", "supervision", "CGA"],
    4: ["supervision", "mod I", "SBA"],
}
# Cueing by level (max, mod, min); a note uses one level throughout, fading over the episode,
# and the plan fades to the next lighter level.
CUE_LEVELS = [
    ["max verbal and tactile cues"],
    ["mod verbal cues", "mod tactile cues", "mod verbal and visual cues"],
    ["min verbal cues", "min tactile cues", "min visual cues"],
]
CUE_NEXT = [["mod verbal cues"], ["min verbal cues", "min visual cues"], ["occasional verbal cues"]]
# Pooled text is shared by notes: the slots that differ per note are placeholders in it, filled
# for each note (Slots.deferred); a manual-therapy time is stated once per note (the billed one).
PLACEHOLDER = "\x01"
NOTE_SLOTS = ("ad", "gassist", "cue", "cue_next", "mt_min")
STATED_ONCE = " x {mt_min} min"
PLOF_OPTIONS = WORDS["plof"]["*"]


def _devices(rng, ep: pd.DataFrame, sk: pd.DataFrame, measures: pd.DataFrame) -> dict:
    """Per note: the assistive device (index into DEVICES) and gait assistance level; per
    episode: the device at evaluation and at the end. Gait and balance care take the device
    from the evaluation's Berg, TUG or 6MWT and step down once when a later report's score
    reaches a safer band; lower-limb care by diagnosis (walker after a hip fracture, walker or
    cane after arthroplasty, cane or none with OA), stepping down at a random visit."""
    n_ep, n = len(ep), len(sk)
    e = sk["ep"].to_numpy()
    k = sk["k"].to_numpy()
    fam = FAMILY_OF_REGION[ep["region"].to_numpy()]
    codes = ep["diagnosis_codes"].to_numpy().astype(str)
    age = ep["age"].to_numpy()
    r1, r2, r3 = rng.random(n_ep), rng.random(n_ep), rng.random(n_ep)
    dev0 = np.full(n_ep, NO_AD)
    # Lower-limb care by diagnosis.
    le = fam == "le"
    fracture = le & (np.char.find(codes, "S72") >= 0)
    arthro = le & ~fracture & (np.char.find(codes, "Z96") >= 0)
    oa = le & ~fracture & ~arthro & (np.char.find(codes, "M1") >= 0)
    dev0 = np.where(fracture, np.where(r1 < 0.8, 0, 1), dev0)
    dev0 = np.where(arthro, np.where(r1 < 0.5, 0, 3), dev0)
    old = age >= 75
    dev0 = np.where(oa, np.where(r1 < np.where(old, 0.55, 0.3), np.where(r2 < 0.3, 2, 3), 4), dev0)
    switch_p = np.select([fracture, arthro, oa], [0.7, 0.85, 0.35], 0.0)
    # Gait and balance care: band of the primary measure at each report.
    prim = measures[measures["measure"].to_numpy() != "NPRS"]
    m_note = prim["note"].to_numpy()
    m_ep = e[m_note]
    score = prim["score"].to_numpy(float)
    band = np.full(len(prim), -1)
    for name, edges in BAND_EDGES.items():
        sel = prim["measure"].to_numpy() == name
        value = -score[sel] if edges[0] < 0 else score[sel]  # (TUG: lower is safer)
        band[sel] = np.searchsorted(np.array(edges), value, "right")
    bal = fam == "bal"
    has_band = np.zeros(n_ep, bool)
    band0 = np.full(n_ep, -1)
    _, first = np.unique(m_ep, return_index=True)  # measures are in note (= date) order
    first = first[band[first] >= 0]
    band0[m_ep[first]] = band[first]
    has_band[m_ep[first]] = True
    use_band = bal & has_band
    cdf = np.cumsum(DEVICE_OF_BAND, axis=1)
    by_band = (r1[:, None] > cdf[np.maximum(band0, 0)]).sum(axis=1)
    # Without a measure (planted), by age: a walker or a cane.
    by_age = np.where(age >= 80, np.where(r1 < 0.5, 0, 3), np.where(r1 < 0.3, 0, 3))
    dev0 = np.where(bal, np.where(use_band, by_band, by_age), dev0)
    switch_p = np.where(bal & ~use_band, 0.4, switch_p)
    # Switch visit: the first report whose band is safer than at evaluation, or a random visit.
    later = (band > band0[m_ep]) & (band0[m_ep] >= 0) & use_band[m_ep]
    sw_k = np.full(n_ep, 1 << 30)
    np.minimum.at(sw_k, m_ep[later], k[m_note[later]])
    planned = ep["planned"].to_numpy()
    rand_k = np.round(planned * (0.3 + 0.4 * r3)).astype(np.int64)
    sw_k = np.where(use_band, sw_k, np.where(r2 < switch_p, rand_k, 1 << 30))
    dev1 = NEXT_DEVICE[dev0]
    note_dev = np.where(k >= sw_k[e], dev1[e], dev0[e])
    final = np.where(sw_k < 1 << 30, dev1, dev0)
    # Gait assistance per note from its device.
    assist = np.empty(n, dtype=object)
    pick = rng.random(n)
    for d, options in GAIT_ASSIST.items():
        sel = note_dev == d
        o = np.array(options, dtype=object)
        assist[sel] = o[(pick[sel] * len(o)).astype(int)]
    return {"note_dev": note_dev, "dev0": dev0, "final": final, "assist": assist}


def _note_cues(rng, ep: pd.DataFrame, sk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One cueing level per note (max, mod, min), fading over the episode; the lighter level
    the plan fades to."""
    e = sk["ep"].to_numpy()
    level0 = rng.choice(3, len(ep), p=[0.15, 0.5, 0.35])
    progress = sk["k"].to_numpy() / np.maximum(ep["planned"].to_numpy()[e], 1)
    level = np.minimum(2, level0[e] + (progress * 2.2).astype(np.int64))
    cue = np.empty(len(sk), dtype=object)
    nxt = np.empty(len(sk), dtype=object)
    pick = rng.random(len(sk))
    for lv in range(3):
        sel = level == lv
        for out, bank in ((cue, CUE_LEVELS[lv]), (nxt, CUE_NEXT[lv])):
            o = np.array(bank, dtype=object)
            out[sel] = o[(pick[sel] * len(o)).astype(int)]
    return cue, nxt


def _plof(rng, ep: pd.DataFrame, dev0: np.ndarray) -> np.ndarray:
    """Prior level of function per episode that fits the age and the current device: nobody
    was modified independent with a cane before and walks without one now."""
    age = ep["age"].to_numpy()
    fam = FAMILY_OF_REGION[ep["region"].to_numpy()]
    allowed = np.ones((len(ep), len(PLOF_OPTIONS)), bool)
    allowed[:, 1] = age < 85  # drove and walked 1 mile daily
    # (spinal care states "gait without AD")
    allowed[:, 2] = (age >= 60) & ((dev0 != NO_AD) | ~_isin(fam, ["le", "bal", "spine"]))
    allowed[:, 3] = age < 72  # worked part time
    keys = np.where(allowed, rng.random(allowed.shape), -1.0)
    return np.array(PLOF_OPTIONS, dtype=object)[keys.argmax(axis=1)]


def _family_banks(banks: dict[str, list[str]]) -> dict[str, list[str]]:
    """Expand a bank dict so every family has its list ('*' entries go to families without one)."""
    out = {}
    for fam in sorted(set(FAMILY.values())):
        out[fam] = banks.get(fam, banks.get("*", []))
    return {f: b for f, b in out.items() if b}


def _goal_progress(goals: pd.DataFrame, sk: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """'STG 1 (stairs) met; LTG 2 (LEFS) progressing' for each report note in rows."""
    rep = pd.DataFrame(
        {"note": rows, "ep": sk["ep"].to_numpy()[rows], "dos": sk["dos"].to_numpy()[rows]}
    )
    rep["dc"] = sk["note_type"].to_numpy()[rows] == "discharge"
    last = rep.groupby("ep")["dos"].transform("max")
    rep["last"] = rep["dos"] == last
    g = goals[["ep", "term", "label", "status", "target_date", "j"]]
    x = rep.merge(g, on="ep", how="inner")
    final = x["status"].to_numpy()
    due = x["target_date"].to_numpy() <= x["dos"].to_numpy() + np.timedelta64(7, "D")
    # A long-term goal is met at the last report (care ends soon after all goals are met).
    due &= x["term"].to_numpy() == "short"
    met_now = (final == "met") & (due | x["last"].to_numpy() | x["dc"].to_numpy())
    interim = np.where(met_now, "met", np.where(final == "not_met", "partially met", "progressing"))
    status = np.where(x["dc"].to_numpy(), np.where(final == "not_met", "not met", final), interim)
    piece = (
        np.where(x["term"].to_numpy() == "short", "STG ", "LTG ").astype(object)
        + (x["j"].to_numpy() + 1).astype(str).astype(object)
        + " ("
        + x["label"].to_numpy()
        + ") "
        + status.astype(object)
    )
    # At most four goals per episode: one column per goal number, joined column-wise.
    pos = np.searchsorted(rows, x["note"].to_numpy())
    grid = np.full((len(rows), 4), "", dtype=object)
    grid[pos, x["j"].to_numpy()] = piece
    out = grid[:, 0]
    for c in range(1, 4):
        out = out + np.where((out != "") & (grid[:, c] != ""), "; ", "") + grid[:, c]
    return out


def _text(rng, ep, sk, goals, measures, cert_names, services, dev) -> dict[str, np.ndarray]:
    """Subjective/objective/assessment/plan text for every note."""
    n = len(sk)
    e = sk["ep"].to_numpy()
    region = ep["region"].to_numpy()[e]
    fam = FAMILY_OF_REGION[region]
    ntype = sk["note_type"].to_numpy()
    inst = INSTRUMENT[region]
    # Measures as text: the primary instrument on its note, and change from the baseline.
    prim = measures[measures["measure"].to_numpy() != "NPRS"]
    unit = _map(prim["measure"].to_numpy(object), UNIT, default="")
    score_txt = _num_auto(prim["score"].to_numpy()) + unit
    p_note = prim["note"].to_numpy()
    m_now = np.full(n, "", dtype=object)
    m_now[p_note] = score_txt
    base_of_ep = pd.Series(score_txt).groupby(e[p_note]).first()
    m_base = np.full(len(ep), "", dtype=object)
    m_base[base_of_ep.index.to_numpy()] = base_of_ep.to_numpy()
    report = _isin(ntype, REPORT_TYPES)
    rows = np.flatnonzero(report)
    has_m = m_now[rows] != ""
    r_inst = inst[rows]
    measure_text = np.full(n, "", dtype=object)
    measure_text[rows] = np.where(has_m, r_inst + " " + m_now[rows] + ".", "")
    # The pain rating recorded with the report (NPRS) is stated with it, and is the pain the
    # evaluation's history reports.
    nprs = measures[measures["measure"].to_numpy() == "NPRS"]
    pain = np.full(n, -1, np.int64)
    pain[nprs["note"].to_numpy()] = nprs["score"].to_numpy().astype(np.int64)
    has_pain = pain >= 0
    pain_txt = np.where(has_pain, "NPRS " + _istr(np.maximum(pain, 0)) + "/10.", "")
    measure_text[has_pain] = _cat(measure_text[has_pain], pain_txt[has_pain])
    change = np.full(n, "", dtype=object)
    change[rows] = np.where(
        has_m, r_inst + " " + m_base[e[rows]] + " at evaluation, " + m_now[rows] + " today.", ""
    )
    plan_m = np.full(n, "", dtype=object)
    plan_m[rows] = np.where(has_m, "Reassess " + r_inst + " at the next progress report.", "")
    goal_progress = np.full(n, "", dtype=object)
    goal_progress[rows] = _goal_progress(goals, sk, rows)
    goal_progress = np.where(goal_progress == "", "goals reviewed with pt", goal_progress)
    disc = sk["discipline"].to_numpy()
    disc_word = np.where(disc == "SLP", "ST", disc).astype(object)
    # Evaluation complexity as billed (97161-97163, 97165-97167); SLP evaluations have none.
    complexity = np.full(n, "", dtype=object)
    for code, level in COMPLEXITY_OF_CODE.items():
        complexity[services["note"].to_numpy()[services["cpt_code"].to_numpy() == code]] = (
            COMPLEXITY_TEXT[level]
        )
    # Reason for discharge: "goals met" when every goal was met, another reason otherwise.
    g_ep = goals["ep"].to_numpy()
    met = np.bincount(g_ep, weights=goals["status"].to_numpy() == "met", minlength=len(ep))
    all_met = (met == np.bincount(g_ep, minlength=len(ep))) & (met > 0)
    other = np.array(REASONS_NOT_MET, dtype=object)[rng.integers(0, len(REASONS_NOT_MET), n)]
    reason = np.where(all_met[e], "goals met", other).astype(object)
    freq = np.array(["", "", "2x/week", "3x/week"], dtype=object)[ep["freq"].to_numpy()[e]]
    side = ep["side"].to_numpy()[e]
    poc_end = sk["poc_end"].to_numpy()
    ctx = {
        "family": fam,
        "side": side,
        "part": ep["part"].to_numpy()[e],
        "instrument": inst,
        "dxtext": ep["dx_text"].to_numpy()[e],
        "age": _istr(ep["age"].to_numpy()[e]),
        "onset": ep["onset"].to_numpy()[e],
        "complexity": complexity,
        "reason": reason,
        "disc_word": disc_word,
        "freq": freq,
        "certifier": cert_names[ep["certifier"].to_numpy()[e]],
        "dx": ep["diagnosis_codes"].to_numpy()[e],
        "dur": _istr(ep["dur_weeks"].to_numpy()[e]),
        "poc_end_text": np.where(np.isnat(poc_end), "", _fmt_dates(poc_end, "D")).astype(object),
        "measure_text": measure_text,
        "measure_change": change,
        "measure_name_plan": plan_m,
        "goal_progress": goal_progress,
        "plof": _plof(rng, ep, dev["dev0"])[e],
    }
    # Per-note values: device, assistance, cueing, manual-therapy minutes.
    cue, cue_next = _note_cues(rng, ep, sk)
    sv_note = services["note"].to_numpy()
    manual = services["cpt_code"].to_numpy() == "97140"
    mt_min = np.bincount(
        sv_note[manual], weights=services["minutes"].to_numpy()[manual], minlength=n
    ).astype(np.int64)
    # (one row per NOTE_SLOTS name)
    note_values = np.stack([DEVICES[dev["note_dev"]], dev["assist"], cue, cue_next, _istr(mt_min)])
    ctx.update(zip(NOTE_SLOTS, note_values, strict=True))
    slots = Slots(rng, ctx, n, pain=pain)
    # Pool key: region x side x frequency; these context columns are constant within a key.
    key = region * 4 + (side == "L") * 2 + (freq == "3x/week")
    constant = ["family", "side", "part", "instrument", "disc_word", "freq"]
    uniq, first = np.unique(key, return_index=True)
    key_ctx = {int(k): {c: ctx[c][i] for c in constant} for k, i in zip(uniq, first, strict=True)}

    def pooled(mask, banks, k_range):
        r = np.flatnonzero(mask)
        return r, _pooled_sections(rng, key, key_ctx, r, banks, k_range, values=note_values)

    def direct(mask, banks, star=True, tidy=False, k_range=(1, 1)):
        r = np.flatnonzero(mask)
        b = {"*": banks} if star else _family_banks(banks)
        k = rng.integers(k_range[0], k_range[1] + 1, len(r)) if k_range[1] > 1 else None
        text = _compose(slots, r, b, np.ones(len(r), np.int64) if k is None else k)
        return r, (_tidy(text) if tidy else text)  # tidy: templates with optional slots

    out = {
        c: np.full(n, "", dtype=object) for c in ("subjective", "objective", "assessment", "plan")
    }

    def put(col, part):
        r, text = part
        out[col][r] = _cat(out[col][r], text)

    daily = ntype == "daily"
    is_eval = ntype == "evaluation"
    dc = ntype == "discharge"
    pr = _isin(ntype, ["progress", "recertification", "re_evaluation"])
    put("subjective", direct(ntype == "re_evaluation", REEVAL_S))
    put("subjective", pooled(daily, S_BANK, (1, 2)))
    # (reports state the pain as the NPRS in the objective, not again in the subjective)
    s_report = {f: [t for t in b if "{pain" not in t] for f, b in S_BANK.items()}
    put("subjective", pooled(pr | dc, s_report, (1, 1)))
    put("subjective", direct(is_eval, EVAL_S))
    put("subjective", direct(is_eval, EVAL_S2, star=False))
    out["objective"][pr | dc] = measure_text[pr | dc]
    # Manual therapy is described (with its billed minutes) only on notes that bill 97140.
    has_mt = mt_min > 0
    o_no_mt = {f: [t for t in b if "{mt_min}" not in t] for f, b in O_BANK.items()}
    put("objective", pooled(daily & has_mt, O_BANK, (2, 3)))
    put("objective", pooled(daily & ~has_mt, o_no_mt, (2, 3)))
    put("objective", pooled((pr | dc) & has_mt, O_BANK, (1, 2)))
    put("objective", pooled((pr | dc) & ~has_mt, o_no_mt, (1, 2)))
    put("objective", direct(is_eval, EVAL_O, star=False, tidy=True))
    put("assessment", direct(pr, PR_A, tidy=True))
    put("assessment", direct(dc, DC_A, tidy=True))
    put("assessment", pooled(daily, A_BANK, (1, 3)))
    put("assessment", pooled(pr, A_BANK, (1, 1)))
    put("assessment", direct(is_eval, EVAL_A, star=False, k_range=(1, 2)))
    put("assessment", direct(is_eval, ["{complexity}"]))
    put("assessment", direct(is_eval, EVAL_A2))
    put("plan", pooled(daily, P_BANK, (1, 2)))
    put("plan", direct(_isin(ntype, ["progress", "re_evaluation"]), PR_P, tidy=True))
    put("plan", direct(ntype == "recertification", RECERT_P))
    put("plan", direct(dc, DC_P))
    put("plan", direct(is_eval, EVAL_P, star=False))
    put("plan", direct(is_eval, EVAL_P2, star=False))
    return out


# The day's interventions as the note lists them, in the words therapists write: a phrase per
# billed treatment code (an evaluation code is described by the evaluation itself; 97130
# continues 97129's cognitive treatment).
TX_WORDS = {
    "97110": ["ther ex", "TherEx", "therapeutic exercise", "strengthening and ROM exercise"],
    "97112": ["NMR", "neuromuscular re-ed", "balance training", "NM re-education"],
    "97140": ["manual therapy", "MT (STM, joint mobs)", "joint mobilization", "STM", "IASTM"],
    "97530": ["ther act", "therapeutic activities", "functional activities", "TherAct"],
    "97116": ["gait training", "gait trng", "gait and stair training"],
    "97035": ["US", "ultrasound", "therapeutic US"],
    "97535": ["ADL training", "self-care training", "ADL retraining", "home management training"],
    "97010": ["MHP", "moist heat", "hot pack", "cold pack"],
    "G0283": ["IFC", "e-stim (IFC)", "unattended e-stim", "premod e-stim"],
    "97014": ["IFC", "e-stim (IFC)", "unattended e-stim", "premod e-stim"],
    "97012": ["mechanical traction", "mech traction"],
    "97150": ["group ther ex", "group session"],
    "92526": ["dysphagia tx", "swallow tx", "swallowing therapy"],
    "92507": ["language tx", "speech-language tx", "aphasia tx", "communication tx"],
    "97129": ["cognitive tx", "cognitive-linguistic tx", "cognitive retraining"],
}
TX_LEAD = np.array(["Interventions:", "Tx:", "Treatment provided:", "Today's tx:"], dtype=object)


def _intervention_list(rng, n: int, services: pd.DataFrame) -> np.ndarray:
    """Per note: "Tx: ther ex, NMR, joint mobilization. " naming each billed treatment code
    once ("" for a note without one)."""
    note = services["note"].to_numpy()
    code_id, code_names = pd.factorize(services["cpt_code"])
    cid = pd.Index(list(TX_WORDS)).get_indexer(code_names)[code_id]
    rows = np.flatnonzero(cid >= 0)
    rows = rows[np.argsort(note[rows], kind="stable")]
    # One phrase per note and code (a code on two lines of a note is named once).
    key = note[rows] * len(TX_WORDS) + cid[rows]
    rows = rows[np.r_[True, key[1:] != key[:-1]]]
    note, cid = note[rows], cid[rows]
    out = np.full(n, "", dtype=object)
    if not len(note):
        return out
    starts = np.r_[0, np.flatnonzero(note[1:] != note[:-1]) + 1]
    last = np.zeros(len(note), dtype=np.int64)
    last[np.r_[starts[1:] - 1, len(note) - 1]] = 1
    lead = np.zeros(len(note), dtype=np.int64)  # 0: inside the list, else 1 + its lead
    lead[starts] = 1 + rng.integers(0, len(TX_LEAD), len(starts))
    banks = list(TX_WORDS.values())
    width = max(len(b) for b in banks)
    pick = rng.integers(0, 1 << 30, len(cid)) % np.array([len(b) for b in banks])[cid]
    # Every phrase as written in a list (lead, phrase, comma or full stop): the notes' lists
    # are joined from this table without building strings phrase by phrase.
    table = np.array(
        [
            [
                [
                    [(f"{lead_} " if lead_ else "") + b[k % len(b)] + end for end in (", ", ". ")]
                    for k in range(width)
                ]
                for b in banks
            ]
            for lead_ in ["", *TX_LEAD]
        ],
        dtype=object,
    )
    out[note[starts]] = np.add.reduceat(table[lead, cid, pick, last], starts)
    return out


# ----------------------------------------------------------------------------------------------
# Planted defects

RATES = {
    "no_evaluation": 0.04,  # of episodes
    "missed_progress_report": 0.15,  # of episodes with a progress report
    "no_recertification": 0.35,  # of episodes that needed a recertification
    "progress_by_assistant": 0.1,  # of progress reports
    "unsigned": 0.035,  # of notes
    "late_signature": 0.06,  # of notes
    "late_certification": 0.07,  # of evaluations
    "8min_over": 0.045,  # of notes with timed services
    "8min_under": 0.03,
    "97014_medicare": 0.45,  # of Medicare notes with unattended e-stim
    "missing_discipline_modifier": 0.04,  # of notes
    "missing_cq_co": 0.1,  # of PT/OT assistant notes
    "cloned_within": 0.05,  # of daily notes
    "unskilled": 0.05,  # of daily notes
    "missing_outcome_measures": 0.06,  # of episodes
    "unmeasurable_goals": 0.08,  # of episodes
}


class Planter:
    """Plants defects into the skeleton/services/text and records (note, defect) pairs."""

    def __init__(self, rng, ep: pd.DataFrame, sk: pd.DataFrame, um: np.ndarray):
        self.rng, self.ep, self.sk, self.um = rng, ep, sk, um
        self.records: list[tuple[np.ndarray, str]] = []
        self.clean_ep = um < 0  # open-request episodes stay free of planted defects
        self.no_measures = self._episodes(RATES["missing_outcome_measures"])
        self.unmeasurable = self._episodes(RATES["unmeasurable_goals"])

    def _episodes(self, rate: float, among: np.ndarray | None = None) -> np.ndarray:
        ok = self.clean_ep if among is None else self.clean_ep & among
        return ok & (self.rng.random(len(self.ep)) < rate)

    def _notes(self, rate: float, among: np.ndarray) -> np.ndarray:
        return among & (self.rng.random(len(self.sk)) < rate)

    def record(self, mask_or_idx, defect: str) -> None:
        idx = np.asarray(mask_or_idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        if len(idx):
            self.records.append((idx.astype(np.int64), defect))

    def _first_notes(self, ep_mask: np.ndarray) -> np.ndarray:
        sk = self.sk
        first = (sk["k"].to_numpy() == 0) & ep_mask[sk["ep"].to_numpy()]
        return first

    def _clear_plan(self, mask: np.ndarray) -> None:
        sk = self.sk
        for c in ("poc_start", "poc_end", "poc_sent_at", "poc_certified_at", "order_signed_at"):
            sk.loc[mask, c] = np.datetime64("NaT")
        sk.loc[mask, ["frequency", "duration"]] = None
        sk.loc[mask, "plan"] = False

    def structure(self, staff: pd.DataFrame) -> None:
        """Defects that change note types or authors (before services and text are built)."""
        sk, rng = self.sk, self.rng
        e = sk["ep"].to_numpy()
        ntype = sk["note_type"].to_numpy().copy()
        eps_no_eval = self._episodes(RATES["no_evaluation"])
        first = self._first_notes(eps_no_eval)
        ntype[first] = "daily"
        self._clear_plan(first)
        self.record(first, "no_evaluation")
        # The first progress report of some episodes is never written (the visit is a daily note).
        prog = ntype == "progress"
        first_prog = prog & (pd.Series(prog.astype(int)).groupby(e).cumsum().to_numpy() == 1)
        has_prog = np.bincount(e, weights=first_prog, minlength=len(self.ep)) > 0
        missed = self._episodes(RATES["missed_progress_report"], has_prog)
        conv = first_prog & missed[e]
        ntype[conv] = "daily"
        self.missed_pr = conv
        # Care goes on past the certified interval without recertification.
        recert = ntype == "recertification"
        has_recert = np.bincount(e, weights=recert, minlength=len(self.ep)) > 0
        no_recert = self._episodes(RATES["no_recertification"], has_recert)
        conv = recert & no_recert[e]
        ntype[conv] = "progress"
        self._clear_plan(conv)
        _set(sk, "note_type", ntype)
        # Progress reports written by an assistant.
        pool = {
            d: np.flatnonzero(
                ((staff["discipline"] == d) & (staff["role"] == "assistant")).to_numpy()
            )
            for d in ("PT", "OT", "SLP")
        }
        by_asst = self._notes(
            RATES["progress_by_assistant"], (ntype == "progress") & self.clean_ep[e]
        )
        disc = sk["discipline"].to_numpy()
        author = sk["author"].to_numpy().copy()
        role = sk["role"].to_numpy().copy()
        for d, p in pool.items():
            m = np.flatnonzero(by_asst & (disc == d))
            author[m] = p[rng.integers(0, len(p), len(m))]
            role[m] = "assistant"
        sk["author"] = author
        _set(sk, "role", role)
        self.record(by_asst, "progress_by_assistant")

    def billing(self, lines: pd.DataFrame, payer_type: np.ndarray):
        """Unit, code and modifier defects on service lines."""
        rng, sk = self.rng, self.sk
        n = len(sk)
        note = lines["note"].to_numpy()
        timed = lines["timed"].to_numpy()
        units = lines["units"].to_numpy().copy()
        has_timed = np.bincount(note, weights=timed, minlength=n) > 0
        total = np.bincount(note, weights=np.where(timed, units, 0), minlength=n)
        over = self._notes(RATES["8min_over"], has_timed)
        under = self._notes(RATES["8min_under"], has_timed & (total >= 2) & ~over)
        # One timed line per chosen note (the first in a random order).
        key = rng.random(len(lines)) + np.where(
            timed & (units >= np.where(under[note], 1, 0)), 0, 2
        )
        order = np.lexsort((key, note))
        first = np.zeros(len(lines), bool)
        first[order[np.r_[True, note[order][1:] != note[order][:-1]]]] = True
        target = first & timed & (key < 2)
        units = units + (target & over[note]) - (target & under[note])
        lines = lines.assign(units=units)
        self.record(over, "8min_over")
        self.record(under, "8min_under")
        code = lines["cpt_code"].to_numpy().copy()
        g = (code == "G0283") & (rng.random(len(lines)) < RATES["97014_medicare"])
        code[g] = "97014"
        lines = lines.copy()
        _set(lines, "cpt_code", code)
        self.record(np.unique(note[g]), "97014_medicare")
        drop_disc = self._notes(RATES["missing_discipline_modifier"], np.ones(n, bool))
        self.record(drop_disc, "missing_discipline_modifier")
        asst = (sk["role"].to_numpy() == "assistant") & _isin(
            sk["discipline"].to_numpy(), ["PT", "OT"]
        )
        drop_asst = self._notes(RATES["missing_cq_co"], asst)
        self.record(drop_asst, "missing_cq_co")
        return lines, drop_disc, drop_asst

    def text(self, text: dict[str, np.ndarray], staff: pd.DataFrame) -> None:
        """Cloned notes, stock unskilled notes, and the maintenance statement of UM episodes."""
        sk, rng = self.sk, self.rng
        n = len(sk)
        e = sk["ep"].to_numpy()
        daily = sk["note_type"].to_numpy() == "daily"
        cols = ["subjective", "objective", "assessment", "plan"]
        # Within patient: a daily note copied from the episode's previous daily note.
        order = np.lexsort((sk["k"].to_numpy(), e))
        prev = np.full(n, -1)
        same = np.r_[False, e[order][1:] == e[order][:-1]]
        prev[order[1:]] = np.where(same[1:], order[:-1], -1)
        ok = daily & (prev >= 0) & daily[np.maximum(prev, 0)] & self.clean_ep[e]
        clone = self._notes(RATES["cloned_within"], ok)
        clone &= ~clone[np.maximum(prev, 0)]  # copy from an original, not from another copy
        for c in cols:
            v = text[c]
            v[clone] = v[prev[clone]]
        touched = clone.copy()
        touched[prev[clone]] = True  # the originals stay as they are
        # Across patients: a few therapists paste one narrative into several patients' notes.
        authors = sk["author"].to_numpy()
        cand = daily & ~touched & self.clean_ep[e]
        busy = np.bincount(authors[cand], minlength=len(staff))
        therapists = np.flatnonzero((staff["role"].to_numpy() == "therapist") & (busy >= 20))
        k = min(len(therapists), max(2, len(staff) // 12))
        chosen = rng.choice(therapists, k, replace=False) if k else np.array([], np.int64)
        pool = np.flatnonzero(cand & _isin_large(authors, chosen))
        pool = pool[np.argsort(authors[pool], kind="stable")]
        bounds = np.searchsorted(authors[pool], chosen)
        ends = np.searchsorted(authors[pool], chosen, side="right")
        dos_all = sk["dos"].to_numpy()
        for lo, hi in zip(bounds, ends, strict=True):
            mine = pool[lo:hi]
            # Within three weeks, one note per patient (the audit compares 30-day windows).
            dos = dos_all[mine]
            anchor = dos[rng.integers(0, len(mine))]
            mine = mine[(dos >= anchor) & (dos <= anchor + np.timedelta64(21, "D"))]
            _, first_of_ep = np.unique(e[mine], return_index=True)
            if len(first_of_ep) < 2:
                continue
            pick = mine[np.sort(rng.permutation(first_of_ep)[: rng.integers(5, 9)])]
            for c in cols:
                v = text[c]
                v[pick[1:]] = v[pick[0]]
            touched[pick] = True
        # Unskilled stock notes.
        stock = self._notes(RATES["unskilled"], daily & ~touched & self.clean_ep[e])
        for c in cols:
            bank = np.array(UNSKILLED[c], dtype=object)
            text[c][stock] = bank[rng.integers(0, len(bank), stock.sum())]
        self.record(stock, "unskilled")
        # Skilled maintenance statement on the open-request episodes that need one: in the
        # latest report's assessment and the plan of the daily notes after it.
        maint = self.um == UM_SCENARIOS.index("plateau_maintenance")
        day = sk["dos"].to_numpy().astype("datetime64[D]").astype(np.int64)
        rep = sk["note_type"].isin(["progress", "recertification", "re_evaluation"]).to_numpy()
        last_rep = rep & maint[e]
        latest = pd.Series(np.where(last_rep, day, -1)).groupby(e).transform("max").to_numpy()
        target = last_rep & (day == latest)
        after = maint[e] & daily & (day > latest)
        pre, post = MAINTENANCE_TEXT.split("{why}")
        why = np.array(MAINTENANCE_WHY, dtype=object)[rng.integers(0, len(MAINTENANCE_WHY), n)]
        stmt = " " + pre + why + post
        text["assessment"][target] = text["assessment"][target] + stmt[target]
        text["plan"][after] = text["plan"][after] + stmt[after]
        self._clone_truth(text)

    def _clone_truth(self, text: dict[str, np.ndarray]) -> None:
        """Record exact copies as the audit sees them (texts of 20 words or more): a note whose
        narrative equals the patient's previous note in the episode (copies are planted from the
        previous note; other repeats are vanishingly rare), and assessment/plan text shared by
        different patients of one author."""
        sk = self.sk
        cols = ("subjective", "objective", "assessment", "plan")

        def words(rows: np.ndarray, sections) -> np.ndarray:
            joined = pd.Series(text[sections[0]][rows], dtype=object)
            for c in sections[1:]:
                joined = joined + " " + pd.Series(text[c][rows], dtype=object)
            return joined.str.split().str.len().to_numpy()

        ep = sk["ep"].to_numpy()  # one discipline per episode: same patient and discipline
        order = np.lexsort((sk["k"].to_numpy(), ep))
        cur, prev = order[1:], order[:-1]
        same = ep[cur] == ep[prev]
        for c in cols:
            same &= text[c][cur] == text[c][prev]
        dup = cur[same]
        self.record(dup[words(dup, cols) >= 20], "cloned_within")
        m = np.uint64(1_000_003)
        ap = pd.util.hash_array(text["assessment"], categorize=False) * m + pd.util.hash_array(
            text["plan"], categorize=False
        )
        patient = self.ep["pat"].to_numpy()[ep]
        g = pd.DataFrame({"a": sk["author"].to_numpy(), "h": ap, "p": patient})
        many = g.groupby(["a", "h"])["p"].transform("nunique").to_numpy() > 1
        rows = np.flatnonzero(many)
        self.record(rows[words(rows, ("assessment", "plan")) >= 20], "cloned_across")

    def signatures(self) -> None:
        sk, rng = self.sk, self.rng
        n = len(sk)
        dos = sk["dos"].to_numpy()
        unsigned = self._notes(RATES["unsigned"], sk["role"].to_numpy() != "student")
        room = (EXPORT_END - dos).astype(int)
        late = self._notes(RATES["late_signature"], ~unsigned & (room >= 5))
        lag = np.minimum(rng.integers(4, 13, n), np.maximum(room, 4))
        signed = sk["signed_at"].to_numpy().copy()
        signed[late] = _timestamp(rng, dos, lag)[late]
        signed[unsigned] = np.datetime64("NaT")
        sk["signed_at"] = signed
        cos = sk["cosigned_at"].to_numpy().copy()
        stud = ~np.isnat(cos)
        fix = stud & ~np.isnat(signed) & (cos < signed)
        cos[fix] = signed[fix] + np.timedelta64(90, "m")
        cos[stud & np.isnat(signed)] = np.datetime64("NaT")
        sk["cosigned_at"] = cos
        self.record(unsigned, "unsigned")
        self.record(late, "late_signature")

    def certification(self) -> None:
        sk, rng = self.sk, self.rng
        dos = sk["dos"].to_numpy()
        room = (EXPORT_END - dos).astype(int)
        ev = (sk["note_type"].to_numpy() == "evaluation") & (room >= 40)
        late = self._notes(RATES["late_certification"], ev & self.clean_ep[sk["ep"].to_numpy()])
        n = len(sk)
        lag = np.minimum(rng.integers(32, 61, n), room)
        cert = sk["poc_certified_at"].to_numpy().copy()
        cert[late] = _timestamp(rng, dos, lag, 8, 18)[late]
        sent = sk["poc_sent_at"].to_numpy().copy()
        late_sent = _timestamp(rng, dos, np.minimum(31 + rng.integers(0, 5, n), lag), 8, 18)
        sent[late] = np.where(rng.random(late.sum()) < 0.5, late_sent[late], np.datetime64("NaT"))
        sk["poc_certified_at"] = cert
        sk["poc_sent_at"] = sent
        self.record(late, "late_certification")

    def truth_from_schedule(self) -> None:
        """Record what the final schedule really contains (every affected note): treatment days
        past the 10th without a progress report, and treatment after the certified interval."""
        sk = self.sk
        e = sk["ep"].to_numpy()
        order = np.lexsort((sk["k"].to_numpy(), e))
        es = e[order]
        ntype = sk["note_type"].to_numpy()[order]
        new_ep = np.r_[True, es[1:] != es[:-1]]
        # Reports written by an assistant do not count (the audit's clinician rule).
        by_clinician = sk["role"].to_numpy()[order] != "assistant"
        closes = _isin(ntype, ["re_evaluation", "progress", "recertification", "discharge"])
        closes &= by_clinician
        # A reporting period starts at the episode's first note or after a report that closes one;
        # the evaluation day is treatment day 1.
        starts = new_ep.copy()
        starts[1:] |= closes[:-1] & ~new_ep[1:]
        period = np.cumsum(starts)
        day = pd.Series(np.ones(len(es))).groupby(period).cumsum().to_numpy()
        # Late progress reports count; a late recertification or discharge summary does not.
        late = (day > 10) & ~_isin(ntype, ["discharge", "recertification", "re_evaluation"])
        self.record(order[late], "missed_progress_report")
        plan_end = sk["poc_end"].to_numpy()[order]
        current = pd.Series(plan_end).groupby(es).ffill().to_numpy()
        dos = sk["dos"].to_numpy()[order]
        past = ~np.isnat(current) & (dos > current) & (ntype != "discharge")
        self.record(order[past], "treatment_past_poc_end")

    def truth(self) -> pd.DataFrame:
        if not self.records:
            return pd.DataFrame(columns=PLANTED_COLUMNS)
        idx = np.concatenate([r[0] for r in self.records])
        defect = np.concatenate([np.full(len(r[0]), r[1], dtype=object) for r in self.records])
        out = pd.DataFrame(
            {
                "note_id": self.sk["note_id"].to_numpy()[idx],
                "defect": defect,
                "episode_id": self.ep["episode_id"].to_numpy()[self.sk["ep"].to_numpy()[idx]],
            }
        )
        out = out.drop_duplicates().sort_values(["note_id", "defect"], kind="stable")
        return out.reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Authorizations


def _authorizations(rng, ep, sk, patients, um, plant) -> dict[str, np.ndarray]:
    """Approved authorizations for managed-care episodes, renewals, and the open UM requests."""
    e = sk["ep"].to_numpy()
    n_ep = len(ep)
    ptype = patients["payer_type"].to_numpy()[ep["pat"].to_numpy()]
    managed = _isin(ptype, ["commercial", "medicare_advantage", "workers_comp"])
    dos = sk["dos"].to_numpy()
    first = np.full(n_ep, EXPORT_END + 1)
    np.minimum.at(first, e, dos)
    last = np.full(n_ep, EXPORT_START - 1)
    np.maximum.at(last, e, dos)
    eps = np.flatnonzero(managed)
    start = first[eps]
    end = start + _days(59)
    end = np.where(um[eps] >= 0, np.maximum(end, last[eps]), end)
    order = np.lexsort((sk["k"].to_numpy(), e))
    visit_no = np.empty(len(sk), np.int64)
    visit_no[order] = pd.Series(np.ones(len(sk))).groupby(e[order]).cumsum().to_numpy()
    in_first = np.zeros(n_ep, np.int64)
    end_ep = np.full(n_ep, EXPORT_START)
    end_ep[eps] = end
    np.add.at(in_first, e, dos <= end_ep[e])
    approved = np.maximum(rng.choice([12, 16, 20, 24], len(eps)), in_first[eps])
    # Planted: fewer visits approved than were used.
    short = plant._episodes(0.06, np.isin(np.arange(n_ep), eps) & (in_first >= 8))[eps]
    approved = np.where(short, in_first[eps] - rng.integers(1, 4, len(eps)), approved)
    over = short[np.searchsorted(eps, e).clip(0, len(eps) - 1)] & managed[e]
    where = np.searchsorted(eps, e).clip(0, len(eps) - 1)
    over &= (visit_no > approved[where]) & (dos <= end[where])
    plant.record(over, "visits_over_authorization")
    req_day = start - _days(rng.integers(1, 6, len(eps)))
    rows = [
        pd.DataFrame(
            {
                "ep": eps,
                "request_date": req_day,
                "requested_visits": approved + rng.choice([0, 0, 4], len(eps)),
                "requested_through": end,
                "approved_visits": approved,
                "start": start,
                "end": end,
                "status": "approved",
            }
        )
    ]
    # Renewals for care that outlasts the first authorization (not for open-request episodes).
    renew = eps[(last[eps] > end) & (um[eps] < 0)]
    r_start = end_ep[renew] + _days(1)
    rows.append(
        pd.DataFrame(
            {
                "ep": renew,
                "request_date": end_ep[renew] - _days(rng.integers(2, 8, len(renew))),
                "requested_visits": 12,
                "requested_through": r_start + _days(59),
                "approved_visits": rng.choice([8, 12], len(renew)),
                "start": r_start,
                "end": r_start + _days(59),
                "status": "approved",
            }
        )
    )
    # Open requests under utilization review. A clinic asks for visits its certified plan of
    # care covers: through the plan's end at most, and no more than the plan's frequency gives
    # over that window (counted as the review counts it). A plan ending within two weeks of the
    # request is recertified with the next block, which then runs past the current plan.
    ume = np.flatnonzero(um >= 0)
    req = np.minimum(last[ume] + _days(rng.integers(0, 3, len(ume))), EXPORT_END)
    wanted = rng.choice([8, 10, 12], len(ume))
    through = req + _days(rng.integers(28, 43, len(ume)))
    # The current plan ends last: its notes all date before the request.
    plans = ~np.isnat(sk["poc_end"].to_numpy()) & (um[e] >= 0)
    plan_end = pd.Series(sk["poc_end"].to_numpy()[plans]).groupby(e[plans]).max()
    plan_end = plan_end.reindex(ume).to_numpy().astype("datetime64[D]")
    within = plan_end - req >= _days(14)  # False without a plan (NaT)
    through = np.where(within, np.minimum(through, plan_end), through)
    days = (through - req).astype(np.int64) + 1
    covered = np.ceil(ep["freq"].to_numpy()[ume] * days / 7 - 1e-9).astype(np.int64)
    nat = np.full(len(ume), np.datetime64("NaT"), dtype="datetime64[D]")
    rows.append(
        pd.DataFrame(
            {
                "ep": ume,
                "request_date": req,
                "requested_visits": np.where(within, np.minimum(wanted, covered), wanted),
                "requested_through": through,
                "approved_visits": np.nan,
                "start": nat,
                "end": nat,
                "status": "pending",
            }
        )
    )
    last_note = pd.Series(np.arange(len(sk))).groupby(e).max()
    for i, name in enumerate(UM_SCENARIOS):
        plant.record(last_note.reindex(np.flatnonzero(um == i)).to_numpy(), "um:" + name)
    auth = pd.concat(rows, ignore_index=True).sort_values(["ep", "request_date"], kind="stable")
    a_ep = auth["ep"].to_numpy()
    return dict(
        {
            "auth_id": _ids("AU", len(auth), 6),
            "patient_id": patients["patient_id"].to_numpy()[ep["pat"].to_numpy()[a_ep]],
            "episode_id": ep["episode_id"].to_numpy()[a_ep],
            "discipline": ep["discipline"].to_numpy()[a_ep],
            "payer": patients["payer"].to_numpy()[ep["pat"].to_numpy()[a_ep]],
            "request_date": _fmt_dates(auth["request_date"].to_numpy(), "D"),
            "requested_visits": _num(auth["requested_visits"].to_numpy()),
            "requested_through": _fmt_dates(auth["requested_through"].to_numpy(), "D"),
            "approved_visits": _num(auth["approved_visits"].to_numpy()),
            "start": _fmt_dates(auth["start"].to_numpy(), "D"),
            "end": _fmt_dates(auth["end"].to_numpy(), "D"),
            "status": auth["status"].to_numpy(),
        }
    )


# ----------------------------------------------------------------------------------------------
# Writing


_DAY0 = np.datetime64("2024-01-01", "D")
_DAY_TEXT = np.datetime_as_string(_DAY0 + np.arange(2000), unit="D").astype(object)
_HHMM = np.array([f" {h:02d}:{m:02d}" for h in range(24) for m in range(60)], dtype=object)
_SMALL_INT = np.arange(100_000).astype(str).astype(object)
_TWO_DIGITS = np.array([f"{i:02d}" for i in range(100)], dtype=object)


def _istr(values) -> np.ndarray:
    """Non-negative integers -> decimal strings (lookup table for small values)."""
    v = np.asarray(values).astype(np.int64)
    if len(v) and v.min() >= 0 and v.max() < len(_SMALL_INT):
        return _SMALL_INT[v]
    return v.astype(str).astype(object)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """prefix + zero-padded 1..n, e.g. N0000001."""
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _fmt_dates(values, unit: str) -> np.ndarray:
    """datetime64 array -> 'YYYY-MM-DD' (unit 'D') or 'YYYY-MM-DD HH:MM' (unit 'm'); NaT -> None."""
    arr = np.asarray(values).astype(f"datetime64[{unit}]")
    ok = np.flatnonzero(~np.isnat(arr))
    text = np.full(len(arr), None, dtype=object)
    if not len(ok):
        return text
    a = arr[ok]
    day = a.astype("datetime64[D]")
    off = (day - _DAY0).astype(np.int64)
    if off.min() < 0 or off.max() >= len(_DAY_TEXT):
        raise ValueError("date outside the generator's range")
    if unit == "m":
        minute = (a - day.astype("datetime64[m]")).astype(np.int64)
        text[ok] = _DAY_TEXT[off] + _HHMM[minute]
    else:
        text[ok] = _DAY_TEXT[off]
    return text


def _write_csv(columns: dict[str, np.ndarray], names: list[str], path: Path) -> int:
    """Write the named columns as UTF-8 CSV; missing columns are blank.

    Values: object arrays of str/None, numbers (NaN = blank) or datetime64[D] dates (NaT = blank).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = len(next(iter(columns.values())))
    arrays: list = []
    for c in names:
        v = columns.get(c)
        if v is None:
            arrays.append(pa.nulls(n, pa.string()))
        elif isinstance(v, Coded):
            codes = np.asarray(v.codes, dtype=np.int32)
            indices = pa.array(codes, mask=codes < 0)
            values = pa.array(np.asarray(v.values, dtype=object), type=pa.string())
            arrays.append(pa.DictionaryArray.from_arrays(indices, values))
        elif v.dtype.kind == "O":
            arrays.append(pa.array(v, type=pa.string(), from_pandas=True))
        else:
            arrays.append(pa.array(v, from_pandas=True))
    table = pa.Table.from_arrays(arrays, names=names)
    pacsv.write_csv(table, str(path), write_options=pacsv.WriteOptions(quoting_style="needed"))
    return n


def generate(
    out_dir: Path, notes: int = 1500, seed: int = 7, write_truth: Path | None = None
) -> SampleResult:
    """Write a synthetic canonical export (five CSV tables) into out_dir; see the module doc.

    notes is the approximate number of notes; the same seed gives byte-identical files. The
    planted defects are returned (and written to write_truth when given), never into out_dir.
    """
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    staff = _staff(rng, notes)
    ep, visits = _episodes(rng, notes, staff)
    n_pat = int(ep["pat"].max()) + 1
    cert_names, cert_creds = _certifiers(rng, max(8, len(staff) // 2))
    ep["certifier"] = rng.integers(0, len(cert_names), len(ep))
    # One side per patient: a stroke patient's hemiparesis is the same side in PT, OT and SLP.
    side_of_patient = rng.integers(0, 2, n_pat)
    _set(ep, "side", np.array(["R", "L"], dtype=object)[side_of_patient[ep["pat"].to_numpy()]])
    _diagnoses(rng, ep)
    # Age fits the condition, and the payer fits the age.
    patients = _patients(rng, n_pat, _ages(rng, ep, n_pat))
    ep["age"] = patients["age"].to_numpy()[ep["pat"].to_numpy()]
    part_table = np.array(
        [[PART[r].replace("{side}", sd) for sd in ("R", "L")] for r in REGION_NAMES], dtype=object
    )
    _set(
        ep, "part", part_table[ep["region"].to_numpy(), (ep["side"].to_numpy() == "L").astype(int)]
    )
    _set(ep, "episode_id", _ids("EP", len(ep), 6))
    sk = _skeleton(rng, ep, visits, staff)
    sk = sk.sort_values(["dos", "ep", "k"], kind="stable").reset_index(drop=True)
    n = len(sk)
    _set(sk, "note_id", _ids("N", n, 7))
    um = _choose_um(rng, ep, sk, notes)
    # Open authorization requests come from commercial and Medicare Advantage plans.
    um_pat = ep["pat"].to_numpy()[um >= 0]
    managed = patients["payer_type"].isin(["commercial", "medicare_advantage"]).to_numpy()
    fix = um_pat[~managed[um_pat]]
    # (Medicare Advantage from 65, a commercial plan under 65)
    older = patients["age"].to_numpy()[fix] >= 65
    pick = np.where(older, rng.choice([1, 2], len(fix)), rng.choice([3, 4, 5], len(fix)))
    patients.loc[fix, "payer"] = [PAYERS[i][0] for i in pick]
    patients.loc[fix, "payer_type"] = [PAYERS[i][1] for i in pick]

    plant = Planter(rng, ep, sk, um)
    plant.structure(staff)
    pat = ep["pat"].to_numpy()[sk["ep"].to_numpy()]
    payer_type = patients["payer_type"].to_numpy()[pat]
    lines = _services(rng, ep, sk, payer_type)
    lines, drop_disc, drop_asst = plant.billing(lines, payer_type)
    services = _finish_services(rng, lines, sk, pat, payer_type, drop_disc, drop_asst)

    first_note = sk.groupby("ep", sort=True).head(1)
    first = np.zeros(len(ep), np.int64)
    first[first_note["ep"].to_numpy()] = first_note.index.to_numpy()
    measures = _measures(
        rng, ep, sk, um, plant.no_measures | (um == UM_SCENARIOS.index("no_measures"))
    )
    m_base, m_target, m_target_short = _measure_targets(ep, sk, measures)
    dev = _devices(rng, ep, sk, measures)
    goals = _goals(
        rng, ep, sk, um, plant.unmeasurable, first, m_base, m_target, m_target_short, dev["final"]
    )
    no_outcome = um == UM_SCENARIOS.index("no_measures")
    # (recorded on the evaluation: episodes that start without one have no baseline to audit)
    evaluated = sk["note_type"].to_numpy()[first] == "evaluation"
    plant.record(first[(plant.unmeasurable | no_outcome) & evaluated], "unmeasurable_goals")
    plant.record(first[(plant.no_measures | no_outcome) & evaluated], "missing_outcome_measures")

    text = _text(rng, ep, sk, goals, measures, cert_names, services, dev)
    # (from a stream of its own: the rest of the export is drawn as it was before the list)
    listed = _intervention_list(np.random.default_rng([seed, 3]), len(sk), services)
    bare = np.flatnonzero(text["objective"] == "")  # (a list and nothing after it)
    text["objective"] = listed + text["objective"]
    text["objective"][bare] = _tidy(listed[bare])
    plant.text(text, staff)
    plant.signatures()
    plant.certification()
    plant.truth_from_schedule()
    authorizations = _authorizations(rng, ep, sk, patients, um, plant)
    tables = _assemble(ep, sk, staff, patients, cert_names, cert_creds, services)
    for col, values in text.items():
        tables["notes"][col] = values
    tables["authorizations"] = authorizations
    tables["goals"] = _goal_table(goals, ep, sk, patients)
    tables["measures"] = {
        "note_id": sk["note_id"].to_numpy()[measures["note"].to_numpy()],
        "measure": measures["measure"].to_numpy(),
        "score": measures["score"].to_numpy(),
        "date": sk["dos"].to_numpy().astype("datetime64[D]")[measures["note"].to_numpy()],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {
        name: _write_csv(tables[name], cols, out_dir / f"{name}.csv")
        for name, cols in TABLES.items()
    }
    truth = plant.truth()
    if write_truth is not None:
        Path(write_truth).parent.mkdir(parents=True, exist_ok=True)
        truth.to_csv(write_truth, index=False)
    return SampleResult(counts=counts, planted=truth)


def _measure_targets(ep, sk, measures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per episode: baseline score of the primary instrument (as text) and the goal targets
    for the whole plan and for a short-term goal (as far as the short-term weeks reach)."""
    n_ep = len(ep)
    region = ep["region"].to_numpy()
    inst = INSTRUMENT[region]
    prim = measures[measures["measure"].to_numpy() != "NPRS"]
    first = prim.groupby(sk["ep"].to_numpy()[prim["note"].to_numpy()]).head(1)
    base = np.full(n_ep, np.nan)
    base[sk["ep"].to_numpy()[first["note"].to_numpy()]] = first["score"].to_numpy()
    lo = np.array([r[4][0] for r in REGIONS], float)[region]
    hi = np.array([r[4][1] for r in REGIONS], float)[region]
    guess = np.where(np.isnan(base), (lo + hi) / 2, base)
    gain = RATE[region] * ep["dur_weeks"].to_numpy() * 0.9
    rlo = _map(inst, {k: v[0] for k, v in INSTRUMENT_RANGE.items()}, dtype=float)
    rhi = _map(inst, {k: v[1] for k, v in INSTRUMENT_RANGE.items()}, dtype=float)
    target = _round_scores(np.clip(guess + DIRECTION[region] * gain, rlo, rhi), inst)
    dur = ep["dur_weeks"].to_numpy()
    part = np.minimum(4, dur // 2) / dur  # the short-term goal's weeks (see _goals)
    short = _round_scores(np.clip(guess + DIRECTION[region] * gain * part, rlo, rhi), inst)
    return _num_auto(_round_scores(guess, inst)), _num_auto(target), _num_auto(short)


def _num_auto(values) -> np.ndarray:
    """Numbers as text: integers without decimals, others with one decimal."""
    v = np.asarray(values, float)
    whole = np.isclose(v, np.round(v))
    return np.where(whole, _num(v), _num(v, 1)).astype(object)


def _goal_table(goals, ep, sk, patients) -> dict[str, np.ndarray]:
    e = goals["ep"].to_numpy()
    return dict(
        {
            "goal_id": goals["goal_id"].to_numpy(),
            "patient_id": patients["patient_id"].to_numpy()[ep["pat"].to_numpy()[e]],
            "episode_id": ep["episode_id"].to_numpy()[e],
            "note_id": sk["note_id"].to_numpy()[goals["note"].to_numpy()],
            "term": goals["term"].to_numpy(),
            "text": goals["text"].to_numpy(),
            "target_date": _fmt_dates(goals["target_date"].to_numpy(), "D"),
            "status": goals["status"].to_numpy(),
            "baseline": goals["baseline"].to_numpy(),
            "target": goals["target"].to_numpy(),
        }
    )


def _num(values, decimals: int = 0) -> np.ndarray:
    """Non-negative numbers -> strings with `decimals` places; NaN -> None."""
    v = np.asarray(values, float)
    nan = np.isnan(v)
    scaled = np.round(np.where(nan, 0, v) * 10**decimals).astype(np.int64)
    if decimals == 0:
        text = _istr(scaled)
    else:
        frac = scaled % 10**decimals
        tail = _TWO_DIGITS[frac] if decimals == 2 else _SMALL_INT[frac]
        text = _istr(scaled // 10**decimals) + "." + tail
    text = np.array(text, dtype=object)
    text[nan] = None
    return text


def _assemble(ep, sk, staff, patients, cert_names, cert_creds, services) -> dict[str, dict]:
    e = sk["ep"].to_numpy()
    pat = ep["pat"].to_numpy()[e]
    n = len(sk)
    note_id = sk["note_id"].to_numpy()
    episode_id = ep["episode_id"]
    sv_note = services["note"].to_numpy()
    timed = services["cpt_code"].isin(TIMED).to_numpy()
    minutes = services["minutes"].to_numpy(float)
    timed_total = np.bincount(sv_note, weights=np.where(timed, minutes, 0), minlength=n)
    all_total = np.bincount(sv_note, weights=minutes, minlength=n)
    author = sk["author"].to_numpy()
    plan = sk["plan"].to_numpy()
    cert = ep["certifier"].to_numpy()[e]
    notes = dict(
        {
            "note_id": note_id,
            "patient_id": Coded(pat, patients["patient_id"].to_numpy()),
            "patient_name": Coded(pat, patients["patient_name"].to_numpy()),
            "episode_id": Coded(e, episode_id.to_numpy(object)),
            "discipline": sk["discipline"].to_numpy(),
            "note_type": sk["note_type"].to_numpy(),
            "date_of_service": sk["dos"].to_numpy().astype("datetime64[D]"),
            "therapist": Coded(author, staff["name"].to_numpy()),
            "therapist_id": Coded(author, staff["staff_id"].to_numpy()),
            "credential": Coded(author, staff["credential"].to_numpy()),
            "signed_at": _fmt_dates(sk["signed_at"], "m"),
            "cosigner": sk["cosigner"].to_numpy(),
            "cosigned_at": _fmt_dates(sk["cosigned_at"], "m"),
            "payer": Coded(pat, patients["payer"].to_numpy()),
            "payer_type": Coded(pat, patients["payer_type"].to_numpy()),
            "setting": Coded(np.zeros(n, np.int32), np.array(["outpatient"], dtype=object)),
            "diagnosis_codes": Coded(e, ep["diagnosis_codes"].to_numpy()),
            "total_timed_minutes": timed_total,
            "total_treatment_minutes": all_total,
            "poc_start": sk["poc_start"].to_numpy().astype("datetime64[D]"),
            "poc_end": sk["poc_end"].to_numpy().astype("datetime64[D]"),
            "frequency": sk["frequency"].to_numpy(),
            "duration": sk["duration"].to_numpy(),
            "poc_sent_at": _fmt_dates(sk["poc_sent_at"], "m"),
            "poc_certified_at": _fmt_dates(sk["poc_certified_at"], "m"),
            "certifier": Coded(np.where(plan, cert, -1), cert_names),
            "certifier_credential": Coded(np.where(plan, cert, -1), cert_creds),
            "order_signed_at": _fmt_dates(sk["order_signed_at"], "m"),
            "is_late_entry": Coded(np.zeros(n, np.int32), np.array(["false"], dtype=object)),
        }
    )
    sv = dict(
        {
            "note_id": Coded(sv_note, note_id),
            "cpt_code": services["cpt_code"].to_numpy(),
            "modifiers": services["modifiers"].to_numpy(),
            "units": services["units"].to_numpy(),
            "minutes": services["minutes"].to_numpy(),
            "assistant_minutes": services["assistant_minutes"].to_numpy(),
            "charge": services["charge"].to_numpy(),
            "allowed_amount": services["allowed_amount"].to_numpy(),
        }
    )
    return {"notes": notes, "services": sv}
