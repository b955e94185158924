"""Outcome-measure instruments as data: names and aliases, score direction, MCID/MDC thresholds.

The thresholds live in ``data/instruments.csv`` (one row per instrument and population, with
optional baseline bands such as the Berg Balance Scale's MDC by baseline score) so a reviewer
can pass an override file. Everything here is vectorised over pandas Series:

- :func:`canonical_instrument` maps names as written ("Oswestry", "BBS", "Quick-DASH") to the
  canonical instrument name ("ODI", "Berg", "QuickDASH"), NA when unknown;
- :func:`find_instruments_in_text` finds instrument mentions that carry a score in free text;
- :func:`classify_change` classifies baseline -> latest change against MDC/MCID;
- :func:`patient_conditions` and :func:`population_caveat` say when a threshold comes from a
  population other than the patient's condition (Berg's MDC from older adults, for a patient
  with Parkinson's disease).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError

BUILTIN_THRESHOLDS = Path(__file__).parent / "data" / "instruments.csv"
# Conditions studied as populations of their own (a threshold from older adults in general
# is not one for Parkinson's disease): ICD-10 code prefixes, and the words of a threshold's
# population that name the condition.
BUILTIN_CONDITIONS = Path(__file__).parent / "data" / "conditions.csv"
THRESHOLD_COLUMNS = [
    "instrument",
    "aliases",
    "direction",
    "unit",
    "range_min",
    "range_max",
    "mcid",
    "mcid_pct",
    "mdc",
    "baseline_min",
    "baseline_max",
    "population",
    "default",
    "source",
    "note",
]
_NUMERIC = ["range_min", "range_max", "mcid", "mcid_pct", "mdc", "baseline_min", "baseline_max"]
DIRECTIONS = ("higher_better", "lower_better")
CHANGE_CATEGORIES = ("meaningful", "small", "no_reliable_change", "decline")

# Words before a score that make it a goal or target, not a measurement ("Berg to be 52/56").
_TARGET_WORDS = (
    r"\b(?:will|is to|are to|to be|goals?|[LS]TGs?|target|expected|should|by discharge)\b"
)
# Units written in notes that convert to an instrument's unit (6MWT in feet -> metres).
_UNIT_FACTORS = {("m", "ft"): 0.3048, ("m", "feet"): 0.3048, ("m/s", "ft/s"): 0.3048}


def _key(text: str) -> str:
    """Case-, space- and punctuation-insensitive key of an instrument name."""
    return re.sub(r"[\W_]+", "", str(text).lower())


def load_thresholds(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an instruments CSV (the built-in one when `path` is None).

    Raises InputError naming the file, row and column for bad content. Rows with blank
    aliases inherit the aliases of the instrument's first row.
    """
    name = "instruments.csv (built in)" if path is None else str(path)
    frame = pd.read_csv(path or BUILTIN_THRESHOLDS, dtype=str, keep_default_na=False)
    return validate_thresholds(frame, name)


def _bad(message: str) -> InputError:
    return InputError(
        message,
        fix="columns: instrument, aliases (|-separated), direction (higher_better or "
        "lower_better), mcid, mdc, and optionally unit, range_min, range_max, mcid_pct, "
        "baseline_min, baseline_max, population, default, source, note",
    )


def validate_thresholds(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The thresholds table checked and typed; raises InputError naming file, row and column."""
    missing = [c for c in ("instrument", "direction", "mcid", "mdc") if c not in frame.columns]
    if missing:
        raise _bad(f"{name}: missing column(s) {', '.join(missing)}")
    frame = frame.copy()
    for col in THRESHOLD_COLUMNS:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[THRESHOLD_COLUMNS]
    frame = frame.apply(lambda c: c.str.strip())
    if (frame["instrument"] == "").any():
        row = int(np.flatnonzero(frame["instrument"] == "")[0]) + 2
        raise _bad(f"{name}, row {row}: instrument is blank")
    bad = ~frame["direction"].isin(DIRECTIONS)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise _bad(
            f"{name}, row {row}: direction must be higher_better or lower_better, "
            f"got {frame['direction'][bad].iloc[0]!r}"
        )
    for col in _NUMERIC:
        values = pd.to_numeric(frame[col].replace("", np.nan), errors="coerce")
        bad = values.isna() & (frame[col] != "")
        if bad.any():
            row = int(np.flatnonzero(bad)[0]) + 2
            raise _bad(f"{name}, row {row}: {col} is not a number: {frame[col][bad].iloc[0]!r}")
        frame[col] = values.astype("float64")
    frame["default"] = frame["default"].str.lower().isin(["1", "true", "yes", "y", ""])
    first_aliases = frame.groupby("instrument", sort=False)["aliases"].transform("first")
    frame["aliases"] = frame["aliases"].where(frame["aliases"] != "", first_aliases)
    # Every instrument answers to its own name too; an alias may not name two instruments.
    pairs = {}
    for instrument, aliases in frame[["instrument", "aliases"]].drop_duplicates().itertuples(False):
        for alias in [instrument, *aliases.split("|")]:
            key = _key(alias)
            if not key:
                continue
            if pairs.setdefault(key, instrument) != instrument:
                raise _bad(f"{name}: alias {alias!r} names both {pairs[key]!r} and {instrument!r}")
    return frame.reset_index(drop=True)


@lru_cache(maxsize=1)
def _builtin() -> pd.DataFrame:
    return load_thresholds()


def builtin_thresholds() -> pd.DataFrame:
    """The built-in instrument table (data/instruments.csv), read once per process."""
    return _builtin()


def _table(thresholds: pd.DataFrame | None) -> pd.DataFrame:
    return _builtin() if thresholds is None else thresholds


def _alias_map(thresholds: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    for instrument, aliases in (
        thresholds[["instrument", "aliases"]].drop_duplicates().itertuples(False)
    ):
        for alias in [instrument, *str(aliases).split("|")]:
            if _key(alias):
                out[_key(alias)] = instrument
    return out


def _alias_pattern(thresholds: pd.DataFrame, lookahead: bool = False) -> str:
    """Alternation of every alias, longest first, tolerant of case, spaces and punctuation.

    With `lookahead` (Python re only; RE2 has no look-arounds) the alternation is tried only
    where a letter or digit follows the word boundary, which every alias starts with: re then
    skips word ends at once instead of trying each alias there (40% of the text search).
    """
    aliases = {
        alias.strip()
        for instrument, al in thresholds[["instrument", "aliases"]].itertuples(False)
        for alias in [instrument, *str(al).split("|")]
        if _key(alias)
    }
    parts = []
    for alias in sorted(aliases, key=lambda a: (-len(_key(a)), a)):
        tokens = re.findall(r"[a-z0-9]+", alias.lower())
        parts.append(r"[\W_]*".join(re.escape(t) for t in tokens))
    ahead = r"(?=[a-z0-9])" if lookahead and all(parts) else ""
    # Grouped by first character ("b(?:erg balance scale|bs|...)"): at each word start re tries
    # only the aliases that begin with its letter, not all two hundred of them (longest first
    # within a group, as before: two aliases with different first letters never compete).
    groups: dict[str, list[str]] = {}
    for part in parts:
        groups.setdefault(part[:1], []).append(part[1:])
    grouped = "|".join(
        first + ("(?:" + "|".join(rest) + ")" if len(rest) > 1 or rest[0] else "")
        for first, rest in groups.items()
    )
    return r"\b" + ahead + "(?:" + grouped + r")\b"  # RE2-compatible without lookahead


def instrument_name_pattern(thresholds: pd.DataFrame | None = None) -> str:
    """A regex alternation matching any instrument name or alias as a whole word."""
    return _alias_pattern(_table(thresholds))


def canonical_instrument(series: pd.Series, thresholds: pd.DataFrame | None = None) -> pd.Series:
    """Canonical name of each instrument ("Oswestry" -> "ODI", "BBS" -> "Berg"); NA if unknown.

    A value matches when it equals an alias ignoring case, spaces and punctuation, or contains
    one as a whole word ("LEFS score", "Berg Balance Scale (BBS)").
    """
    table = _table(thresholds)
    aliases = _alias_map(table)
    series = pd.Series(series)
    # Names repeat a few values: look each distinct one up once, then spread the results.
    codes, distinct = pd.factorize(series, use_na_sentinel=True)
    if len(distinct) == 0:
        return pd.Series(pd.NA, index=series.index, dtype=object)
    uniques = pd.Series(np.asarray(distinct, dtype=object)).astype(str).astype(object)
    exact = uniques.map(lambda v: aliases.get(_key(v)))
    found = uniques.str.extract("(" + _alias_pattern(table) + ")", flags=re.IGNORECASE)[0]
    by_search = found.map(lambda v: aliases.get(_key(v)) if isinstance(v, str) else None)
    result = exact.where(exact.notna(), by_search).to_numpy(dtype=object)
    out = pd.Series(np.append(result, None)[codes], index=series.index, dtype=object)
    return out.where(out.notna(), pd.NA)


# Between the name and its score: no other number, but a date, an ordinal or a test's edition
# glued to a word ("Peabody Developmental Motor Scales, 2nd ed. (PDMS-2): fine motor 82").
_SCORE = (
    r"(?P<gap>(?:[^0-9\n;]|\d{1,2}/\d{1,2}/\d{2,4}|\d(?:st|nd|rd|th)\b|(?<=[A-Za-z]-)\d{1,2}\b"
    r"|(?<=[A-Za-z])\d{1,2}\b){0,80}?)"
    r"(?<![\d.])(?<![A-Za-z]-)(?<![A-Za-z])(?P<score>\d++(?:\.\d++)?)(?!st\b|nd\b|rd\b|th\b)"
    r"(?:\s*/\s*(?P<out_of>\d++(?:\.\d++)?))?"
    r"(?!\s*/\s*\d)(?![\d])"  # not a date such as 03/02/2026
    r"(?:\s*(?P<unit>percent|points|point|pts|metres|meters|metre|meter|m/sec|m/s|ft/s|feet|ft"
    r"|seconds|second|secs|sec|%|s|m)(?![a-z]))?"
)


def find_instruments_in_text(
    series: pd.Series, thresholds: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Instrument mentions followed by a score in free text, one row per mention.

    Columns: ``row`` (index label of the text), ``instrument`` (canonical), ``score`` (float, in
    the instrument's unit: feet become metres for 6MWT), ``out_of``, ``unit`` (as written) and
    ``text`` (the matched span exactly as written, for highlighting). The score is the first
    number within 80 characters after the name on the same line, skipping dates; scores outside the
    instrument's range, and goals or targets ("Berg balance to be 52/56", "patient will walk
    1000 ft in the 6MWT"), are ignored.
    """
    table = _table(thresholds)
    columns = ["row", "instrument", "score", "out_of", "unit", "text"]
    series = pd.Series(series)
    text = series.dropna()
    if text.empty:
        return pd.DataFrame(columns=columns)
    aliases = _alias_pattern(table)
    # RE2 through pyarrow picks the texts that name an instrument; Python re does the rest.
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        arrow = pa.array(text.array).cast(pa.large_string())  # the text's own buffers
    else:
        text = text.astype(str)
        arrow = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
    named = pc.match_substring_regex(arrow, aliases, ignore_case=True)
    candidates = text[pc.fill_null(named, False).to_numpy(zero_copy_only=False)]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    # The match starts at the instrument's name; the 40 characters before it (within the
    # sentence) are sliced off afterwards. A leading "[^.\n]{0,40}" in the pattern made the
    # engine retry every alias at 40 offsets of every position: 1 s per 100k notes.
    names = _alias_pattern(table, lookahead=True)
    pattern = re.compile(r"(?P<text>(?P<name>" + names + ")" + _SCORE + ")", re.IGNORECASE)
    rows = []
    for label, value in candidates.items():  # only texts that name an instrument
        for m in pattern.finditer(value):
            pre = re.split(r"[.\n]", value[max(0, m.start() - 40) : m.start()])[-1]
            rows.append({"row": label, "pre": pre, **m.groupdict()})
    if not rows:
        return pd.DataFrame(columns=columns)
    found = pd.DataFrame(rows)
    found["instrument"] = canonical_instrument(found["name"], table)
    found["score"] = pd.to_numeric(found["score"], errors="coerce").astype("float64")
    found["out_of"] = pd.to_numeric(found["out_of"], errors="coerce").astype("float64")
    unit_written = found["unit"].fillna("").str.lower()
    info = table.drop_duplicates("instrument").set_index("instrument")
    inst_unit = found["instrument"].map(info["unit"]).fillna("")
    factor = pd.Series(
        [_UNIT_FACTORS.get((iu, uw), 1.0) for iu, uw in zip(inst_unit, unit_written, strict=True)],
        index=found.index,
        dtype="float64",
    )
    found["score"] = found["score"] * factor
    lo = found["instrument"].map(info["range_min"]).astype("float64")
    hi = found["instrument"].map(info["range_max"]).astype("float64")
    context = found["pre"].fillna("") + " " + found["gap"].fillna("")
    target = context.str.contains(_TARGET_WORDS, case=False, regex=True)
    ok = (
        ~target
        & found["instrument"].notna()
        & found["score"].notna()
        & ~(found["score"] < lo)
        & ~(found["score"] > hi)
        & ~(found["out_of"] < found["score"])
    )
    found["text"] = found["text"].str.rstrip()
    found["unit"] = found["unit"].where(found["unit"].notna(), pd.NA)
    return found.loc[ok, columns].reset_index(drop=True)


def select_thresholds(
    instrument: pd.Series,
    baseline: pd.Series,
    thresholds: pd.DataFrame | None = None,
    population: str | None = None,
) -> pd.DataFrame:
    """The threshold row that applies to each (instrument, baseline) pair, aligned to the input.

    Uses the instrument's rows for `population` when it has any (case-insensitive substring),
    else its default rows; among those, the row whose baseline band contains the baseline.
    Returns columns direction, mcid, mcid_pct, mdc, population, source (NA where none applies).
    """
    table = _table(thresholds)
    inst = canonical_instrument(pd.Series(instrument), table)
    base = pd.to_numeric(pd.Series(baseline), errors="coerce").astype("float64")
    frame = pd.DataFrame({"instrument": inst.to_numpy(), "baseline": base.to_numpy()})
    frame["pos"] = np.arange(len(frame))
    rows = table.copy()
    if population:
        hit = rows["population"].str.contains(re.escape(population), case=False, regex=True)
        has_pop = hit.groupby(rows["instrument"]).transform("any")
        rows = rows[(has_pop & hit) | (~has_pop & rows["default"])]
    else:
        rows = rows[rows["default"]]
    merged = frame.dropna(subset=["instrument"]).merge(rows, on="instrument", how="inner")
    in_band = ~(merged["baseline"] < merged["baseline_min"]) & ~(
        merged["baseline"] > merged["baseline_max"]
    )
    banded = merged["baseline_min"].notna() | merged["baseline_max"].notna()
    merged = merged[in_band & ~(banded & merged["baseline"].isna())]
    merged = merged.drop_duplicates("pos")
    keep = ["direction", "mcid", "mcid_pct", "mdc", "population", "source"]
    out = frame[["pos"]].merge(merged[["pos", *keep]], on="pos", how="left")
    out.index = pd.Series(instrument).index
    return out[keep]


def classify_change(
    instrument: pd.Series,
    baseline: pd.Series,
    latest: pd.Series,
    thresholds: pd.DataFrame | None = None,
    population: str | None = None,
) -> pd.Series:
    """Classify each baseline -> latest change, direction-aware, against the instrument's MDC/MCID.

    'meaningful': improvement >= MCID (and >= MDC when both are known), or >= MCID% of baseline;
    'small': improvement >= MDC but below MCID; 'decline': worse by at least MDC (MCID when the
    instrument has no MDC); 'no_reliable_change' otherwise. When only an MCID is on file, changes
    below it count as no reliable change. NA when a score is missing or the instrument has no
    threshold (e.g. TUG) or is unknown.
    """
    index = pd.Series(instrument).index
    th = select_thresholds(instrument, baseline, thresholds, population)
    b = pd.to_numeric(pd.Series(baseline), errors="coerce").to_numpy(dtype="float64")
    latest_v = pd.to_numeric(pd.Series(latest), errors="coerce").to_numpy(dtype="float64")
    sign = np.where(th["direction"].to_numpy() == "lower_better", -1.0, 1.0)
    gain = (latest_v - b) * sign
    mcid = th["mcid"].to_numpy(dtype="float64")
    mdc = th["mdc"].to_numpy(dtype="float64")
    pct = th["mcid_pct"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_gain = np.where(np.abs(b) > 0, gain / np.abs(b) * 100.0, np.nan)
    meaningful_bar = np.fmax(mcid, mdc)  # fmax ignores NaN: a lone MDC or MCID still counts
    reliable_bar = np.where(np.isnan(mdc), mcid, mdc)
    meaningful = (~np.isnan(mcid) & (gain >= meaningful_bar)) | (
        ~np.isnan(pct) & (rel_gain >= pct) & (gain > 0)
    )
    small = ~meaningful & ~np.isnan(mdc) & (gain >= mdc)
    decline = ~np.isnan(reliable_bar) & (gain <= -reliable_bar)
    result = np.select(
        [meaningful, small, decline], ["meaningful", "small", "decline"], "no_reliable_change"
    ).astype(object)
    unknown = np.isnan(gain) | (np.isnan(mcid) & np.isnan(mdc) & np.isnan(pct))
    result[unknown] = pd.NA
    return pd.Series(result, index=index, dtype=object)


@lru_cache(maxsize=1)
def _conditions() -> pd.DataFrame:
    return pd.read_csv(BUILTIN_CONDITIONS, dtype=str, keep_default_na=False)


def patient_conditions(diagnosis_codes: pd.Series) -> pd.Series:
    """The conditions of data/conditions.csv each text of ICD-10 codes names, '; '-joined in
    the table's order, '' when none: 'G20.A1; R26.89' -> "Parkinson's disease"."""
    codes = pd.Series(diagnosis_codes).astype("string").fillna("").str.upper()
    out = pd.Series("", index=codes.index, dtype=object)
    for condition, icd in _conditions()[["condition", "icd10"]].itertuples(index=False):
        prefixes = "|".join(re.escape(c.strip().upper()) for c in icd.split("|") if c.strip())
        has = codes.str.contains(rf"(?:^|[^A-Z0-9.])(?:{prefixes})", regex=True).to_numpy(bool)
        out[has] = np.where(out[has] == "", condition, out[has] + "; " + condition)
    return out


def threshold_limits(row: pd.Series | dict) -> str:
    """'MCID 6', 'MDC 5' or 'MCID 7.5, MDC 10.2' of a row with mcid and mdc ('' for neither)."""
    named = (("MCID", "mcid"), ("MDC", "mdc"))
    return ", ".join(f"{name} {row[col]:g}" for name, col in named if pd.notna(row[col]))


def population_caveat(
    instrument: pd.Series,
    population: pd.Series,
    conditions: pd.Series,
    thresholds: pd.DataFrame | None = None,
) -> pd.Series:
    """What a reviewer must know when a threshold's population (the `population` of the row
    select_thresholds used for `instrument`) is not the patient's condition (`conditions`, as
    patient_conditions gives them): "no value for Parkinson's disease in the table", or "for
    subacute stroke the table has MCID 6" when another row is for it. '' when the population
    names every condition, no threshold was used or no condition is known; aligned to the input.
    """
    table = _table(thresholds)
    words = dict(_conditions()[["condition", "population_words"]].itertuples(index=False))
    frame = pd.DataFrame(
        {"instrument": instrument, "population": population, "conditions": conditions}
    )
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    said: dict[tuple[str, str, str], str] = {}
    # Few distinct (instrument, population, conditions) triples: each is worded once.
    for key in frame.drop_duplicates().itertuples(index=False, name=None):
        inst, pop, conds = key
        parts = []
        for condition in conds.split("; ") if pop and conds else []:
            word = words.get(condition, "")
            if not word or re.search(word, pop, re.IGNORECASE):
                continue
            rows = table[table["instrument"] == inst]
            own = rows[rows["population"].str.contains(word, case=False, regex=True)]
            own = own[own["mcid"].notna() | own["mdc"].notna()]
            if own.empty:
                parts.append(f"no value for {condition} in the table")
            else:
                row = own.iloc[0]
                parts.append(f"for {row['population']} the table has {threshold_limits(row)}")
        said[key] = "; ".join(parts)
    keys = frame.itertuples(index=False, name=None)
    return pd.Series([said[k] for k in keys], index=frame.index, dtype=object)
