"""Reference data for billing checks: therapy CPT/HCPCS codes, the words that describe them,
and the Medicare KX thresholds.

The tables ship inside `chartaudit.data` (rules are data, not constants in code):

- `cpt_codes.csv`: code, discipline, billing_type, description (our own words), source.
- `kx_thresholds.csv`: year, threshold_usd, status (verified | secondary), source.
- `interventions.yaml`: per code, the words a note uses to describe the service (its name,
  what the note should describe, and regular expressions; DOC-INTERVENTION).

`source` holds keys of /work/shared/reference/domain-rules.md §F (e.g. DYNCHIRO-TIMED) or a
domain-rules check id (CHK-TX-08). Keys not (yet) in §F:
  WEBPT-8MIN      WebPT's 8-minute-rule guide (timed vs service-based code lists)
  MEYER-CODES101  Meyer PT "Codes 101: the 8-minute rule" article
  CPTA-2011-11    AMA CPT Assistant, Nov 2011, physical medicine Q&A (reproduced by findacode)
  HNS-MODALITIES  Health Network Solutions' page on supervised modalities
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import NamedTuple

import pandas as pd
import yaml

TIMED = "timed_15min"
UNTIMED_SERVICE_BASED = "untimed_service_based"
UNTIMED_PER_SESSION = "untimed_per_session"
UNTIMED_SUPERVISED_MODALITY = "untimed_supervised_modality"
GROUP = "group"
BILLING_TYPES = (
    TIMED,
    UNTIMED_SERVICE_BASED,
    UNTIMED_PER_SESSION,
    UNTIMED_SUPERVISED_MODALITY,
    GROUP,
)
# Billed once per day whatever the time spent (CHK-TX-08); group codes have their own item.
UNTIMED_TYPES = (UNTIMED_SERVICE_BASED, UNTIMED_PER_SESSION, UNTIMED_SUPERVISED_MODALITY)


def _read(name: str) -> pd.DataFrame:
    with files("chartaudit.data").joinpath(name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@cache
def _cpt_codes() -> pd.DataFrame:
    df = _read("cpt_codes.csv")
    df["code"] = df["code"].str.strip().str.upper()
    bad = sorted(set(df["billing_type"]) - set(BILLING_TYPES))
    if bad or df["code"].duplicated().any():
        raise ValueError(f"cpt_codes.csv: unknown billing_type {bad} or duplicate code")
    return df.set_index("code", drop=False)


@cache
def _kx_thresholds() -> pd.DataFrame:
    df = _read("kx_thresholds.csv")
    df["year"] = df["year"].astype(int)
    df["threshold_usd"] = df["threshold_usd"].astype(float)
    return df.set_index("year", drop=False)


class Intervention(NamedTuple):
    """How a note describes one billed service (interventions.yaml)."""

    name: str  # the service, as a finding names it
    describes: str  # what the note should describe
    patterns: tuple[str, ...]  # regular expressions, any of which describes it


@cache
def _interventions() -> dict[str, Intervention]:
    with files("chartaudit.data").joinpath("interventions.yaml").open(encoding="utf-8") as fh:
        # libyaml's safe loader where installed: the pure-Python one takes ~50 ms here
        raw = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return {
        str(code).strip().upper(): Intervention(
            entry["name"], entry["describes"], tuple(entry["patterns"])
        )
        for code, entry in raw.items()
        if not str(code).startswith("_")  # shared pattern lists (YAML anchors)
    }


def cpt_codes() -> pd.DataFrame:
    """The therapy code table, indexed by upper-case code (a copy; safe to modify)."""
    return _cpt_codes().copy()


def kx_thresholds() -> pd.DataFrame:
    """The KX threshold table, indexed by calendar year (a copy; safe to modify)."""
    return _kx_thresholds().copy()


def interventions() -> dict[str, Intervention]:
    """Per upper-case code: how a note describes the service (a copy; safe to modify)."""
    return dict(_interventions())


def billing_type(codes: pd.Series) -> pd.Series:
    """The billing_type of each code (NA for codes not in the table), aligned to `codes`."""
    return codes.map(_cpt_codes()["billing_type"]).astype(object)


def codes_of_type(*types: str) -> list[str]:
    """Codes whose billing_type is one of `types`."""
    df = _cpt_codes()
    return df.index[df["billing_type"].isin(types)].tolist()
