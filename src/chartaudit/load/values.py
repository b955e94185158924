"""Vectorised value normalisation: dates, numbers, note types, disciplines, roles, payers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import take

from .columns import key

# Formats tried in order on the values the previous ones could not parse. ISO first (what
# canonical exports and most EMRs write), then US dates with 24- and 12-hour times.
_DATE_FORMATS = [
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M%p",
    "%m/%d/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M %p",
    "%m-%d-%Y",
    "%m-%d-%Y %I:%M %p",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%B %d, %Y",
]
# Excel's day 0 is 1899-12-30 (it counts the nonexistent 1900-02-29).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# A number is read as an Excel serial date only when it falls in the years of therapy records:
# any count ("45", a stray unit count in a date column) is a serial date of 1900 otherwise.
_EXCEL_SERIALS = (
    (pd.Timestamp("1990-01-01") - _EXCEL_EPOCH).days,
    (pd.Timestamp("2101-01-01") - _EXCEL_EPOCH).days,
)
# Dates of therapy records fall in these years; any other ("10/29/2620" typed for 2026) is
# unreadable, as "10/51/2026" is, and never a date pandas cannot hold (beyond 2262).
RECORD_YEARS = (1990, 2100)
_FIRST_DAY = pd.Timestamp(f"{RECORD_YEARS[0]}-01-01")
_AFTER_LAST_DAY = pd.Timestamp(f"{RECORD_YEARS[1] + 1}-01-01")


def _arrow(values: pd.Series) -> pa.Array:
    arr = pa.array(values.astype("string").array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values) of a column as text; code -1 marks NA.

    Exports repeat a few values a lot (dates, units, payers), so the normalisers below work on
    the distinct values and spread the results back with `_spread`. Each is a function of the
    single value, so the result is the same as computing it on every row.
    """
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    return codes, pd.Series(uniques.array)


def _spread(per_value: pd.Series, codes: np.ndarray, index: pd.Index, fill: object) -> pd.Series:
    """Results per distinct value back onto the rows; NA rows (code -1) get `fill`."""
    values = take(per_value.array, codes, allow_fill=True, fill_value=fill)
    return pd.Series(values, index=index, copy=False)  # pandas 3 would copy the new array


def per_distinct(values: pd.Series, fn) -> tuple[pd.Series, ...]:
    """`fn`'s Series results computed on the distinct values (NA included) and spread back."""
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=False)
    results = fn(pd.Series(uniques.array))
    return tuple(_spread(result, codes, values.index, pd.NA) for result in results)


def _re2_match(values: pd.Series, pattern: str) -> np.ndarray:
    """RE2 in Arrow: pandas runs any pattern with \\d or \\s through Python's re, row by row."""
    hit = pc.match_substring_regex(_arrow(values), pattern)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


def parse_dates(
    values: pd.Series, date_format: str | None = None, placeholders: bool = False
) -> tuple[pd.Series, ...]:
    """Parse a column of date text. Returns (datetime64 series, mask of unparseable values),
    and with `placeholders` the mask of values read as blank that stand for no value
    ("N/A", "Pending": see NO_VALUE).

    Blank values become NaT and are not errors. Accepts ISO, US MM/DD/YYYY (with 24- or
    12-hour times), Excel serial numbers and already-parsed datetimes, of the years
    RECORD_YEARS; a date outside them is unparseable.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        outside = values.notna() & ~_in_record_years(values)
        out = values.where(~outside).astype("datetime64[ns]")
        none = pd.Series(False, index=values.index)
        return (out, outside, none) if placeholders else (out, outside)
    codes, uniques = _distinct(values)
    out, todo, empty = _parse_date_text(uniques, date_format)
    parsed = (_spread(out, codes, values.index, pd.NaT), _spread(todo, codes, values.index, False))
    return (*parsed, _spread(empty, codes, values.index, False)) if placeholders else parsed


# What exports write in a date or number cell that has no value: "N/A", "-", "Pending" (a
# plan not yet certified), "Not signed", and SQL's and Excel's null dates (1900-01-01,
# 0000-00-00). Read as blank, as the export means them, not as an error that drops the row.
NO_VALUE = (
    r"(?i)^(?:n/?a|none|null|nil|nan|nat|-+|[—–]|\.|\?+|pending|tbd|unknown|unsigned|"
    r"uncertified|not (?:yet )?(?:signed|certified|applicable|available|done|received|"
    r"returned|recorded|documented)|awaiting(?: [a-z]+){0,3}|no date|"
    r"(?:0000-00-00|1900-01-01|1899-12-3[01])(?:[ t]00:00(?::00(?:\.0+)?)?)?|00/00/0000|"
    r"0?1/0?1/1900)$"
)


def no_value(text: pd.Series) -> pd.Series:
    """Which (stripped) texts are a placeholder for no value (see NO_VALUE); in RE2, as the
    distinct values of a date column are many (times of day)."""
    return pd.Series(_re2_match(text, NO_VALUE), index=text.index)


def _parse_date_text(
    values: pd.Series, date_format: str | None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    text = values.str.strip()
    empty = no_value(text)
    blank = text.isna() | (text == "") | empty
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = ~blank
    formats = ([date_format] if date_format else []) + ["ISO8601"] + _DATE_FORMATS
    for fmt in formats:
        if not todo.any():
            break
        sub = text[todo]
        if fmt == "ISO8601":
            # Only try ISO on values that look like it; pandas' ISO parser is lenient otherwise.
            looks = pd.Series(_re2_match(sub, r"^\d{4}-\d{2}-\d{2}"), index=sub.index)
            sub = sub[looks]
            if sub.empty:
                continue
        parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        ok = parsed.notna() & _in_record_years(parsed)
        if ok.any():
            out.loc[parsed.index[ok]] = parsed[ok].astype("datetime64[ns]")
            todo.loc[parsed.index[ok]] = False
    if todo.any():
        # Excel serial dates (days since 1899-12-30), optionally with a fraction of a day,
        # of the years 1990 to 2100.
        num = pd.to_numeric(text[todo], errors="coerce")
        ok = (num >= _EXCEL_SERIALS[0]) & (num < _EXCEL_SERIALS[1])
        if ok.any():
            days = num[ok]
            out.loc[days.index] = _EXCEL_EPOCH + pd.to_timedelta(days * 86400, unit="s").dt.round(
                "s"
            )
            todo.loc[days.index] = False
    return out, todo, empty


def _in_record_years(dates: pd.Series) -> pd.Series:
    return (dates >= _FIRST_DAY) & (dates < _AFTER_LAST_DAY)


def parse_numbers(values: pd.Series, placeholders: bool = False) -> tuple[pd.Series, ...]:
    """Parse numbers written with $, commas or spaces. Returns (float64, unparseable mask),
    and with `placeholders` the mask of values read as blank that stand for no value ("N/A",
    "-": see NO_VALUE)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        none = pd.Series(False, index=values.index)
        num = values.astype("float64")
        return (num, none, none) if placeholders else (num, none)
    # Distinct values only: pd.to_numeric turns Arrow text into Python objects first.
    codes, uniques = _distinct(values)
    num, bad, empty = _parse_number_text(uniques)
    parsed = (_spread(num, codes, values.index, np.nan), _spread(bad, codes, values.index, False))
    return (*parsed, _spread(empty, codes, values.index, False)) if placeholders else parsed


def _parse_number_text(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    text = values.str.strip()
    empty = no_value(text)
    blank = (text.isna() | (text == "")).fillna(True).astype(bool) | empty
    num = pd.to_numeric(text.mask(blank), errors="coerce").astype("float64")
    retry = num.isna() & ~blank
    if retry.any():
        # "$1,234.50", "1 200" or accounting negatives "(12.50)": clean only those values.
        cleaned = text[retry].str.replace(r"[$,\s]", "", regex=True)
        cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
        num.loc[retry] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    bad = num.isna() & ~blank
    return num, bad.fillna(False).astype(bool), empty


def map_unique(values: pd.Series, fn) -> pd.Series:
    """Apply a Python function once per distinct value (exports repeat a few values a lot)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object, copy=False)


def map_values(
    values: pd.Series, table: dict[str, str], user: dict[str, str] | None = None
) -> pd.Series:
    """Map free text to canonical values via comparison keys. Unmapped non-blank values -> NA.

    `user` (from the mapping file) is consulted first, by exact text and then by key.
    """
    codes, uniques = _distinct(values)
    return _spread(_map_text(uniques, table, user), codes, values.index, pd.NA)


def _map_text(values: pd.Series, table: dict[str, str], user: dict[str, str] | None) -> pd.Series:
    text = values.str.strip()
    keys = map_unique(text, key)
    lookup = dict(table)
    if user:
        lookup.update({key(k): v for k, v in user.items()})
    out = keys.map(lookup)
    if user:
        exact = text.map({str(k): v for k, v in user.items()})
        out = exact.fillna(out) if exact.notna().any() else out
    return out.astype("string")


NOTE_TYPE_VALUES = {
    **dict.fromkeys(
        [
            "evaluation",
            "eval",
            "ie",
            "initialevaluation",
            "initialeval",
            "initialexam",
            "initialexamination",
            "ptevaluation",
            "otevaluation",
            "slpevaluation",
            "pteval",
            "oteval",
            "slpeval",
            "evaluationandplanofcare",
            "evalpoc",
            "initial",
            "e",
        ],
        "evaluation",
    ),
    **dict.fromkeys(
        ["reevaluation", "reeval", "re", "reexam", "reexamination", "reassessment", "reev"],
        "re_evaluation",
    ),
    **dict.fromkeys(
        [
            "daily",
            "dailynote",
            "treatmentnote",
            "treatment",
            "tx",
            "txnote",
            "visitnote",
            "visit",
            "soapnote",
            "soap",
            "dailytreatmentnote",
            "dailyvisit",
            "dn",
            "tn",
            "followup",
            "treatmentencounter",
            "encounter",
        ],
        "daily",
    ),
    **dict.fromkeys(
        [
            "progress",
            "progressnote",
            "progressreport",
            "pn",
            "pr",
            "progressreportnote",
            "10thvisitprogressnote",
            "tenthvisitprogressnote",
        ],
        "progress",
    ),
    **dict.fromkeys(
        [
            "recertification",
            "recert",
            "rc",
            "recertificationnote",
            "updatedplanofcare",
            "recertificationprogressreport",
        ],
        "recertification",
    ),
    **dict.fromkeys(
        [
            "discharge",
            "dischargesummary",
            "dc",
            "dcsummary",
            "dischargenote",
            "dischargereport",
            "discontinuationsummary",
            "discharged",
            "dcnote",
        ],
        "discharge",
    ),
}

DISCIPLINE_VALUES = {
    **dict.fromkeys(["pt", "physicaltherapy", "physio", "physiotherapy", "physical"], "PT"),
    **dict.fromkeys(["ot", "occupationaltherapy", "occupational"], "OT"),
    **dict.fromkeys(
        [
            "slp",
            "st",
            "speech",
            "speechtherapy",
            "speechlanguagepathology",
            "speechlanguage",
            "speechlanguagetherapy",
            "sp",
        ],
        "SLP",
    ),
}

_MA_BRANDS = re.compile(
    r"advantage|humana gold|gold plus|aarp|wellcare|devoted|alignment health|scan health|"
    r"senior advantage|dual complete|medicare complete|secure horizons|securehorizons|"
    r"\bsnp\b|d-snp|dsnp|medicare.*\b(hmo|ppo|pffs|plan|premier|choice|value|assure|essential)\b|"
    r"\b(hmo|ppo)\b.*medicare",
    re.IGNORECASE,
)
_MEDICAID = re.compile(
    r"medicaid|medi-cal|medical\s*\(ca\)|masshealth|tenncare|soonercare|badgercare|"
    r"healthy (?:blue|connections)|chip\b|state plan",
    re.IGNORECASE,
)
_WORKERS = re.compile(r"workers'? ?comp|work comp|workman|\bwc\b|work(?:er)?s compensation", re.I)
_SELF = re.compile(r"self[- ]?pay|cash|private pay|uninsured", re.I)
_OTHER = re.compile(r"tricare|champva|\bva\b|veterans|auto|no[- ]fault|liability|pip\b", re.I)

PAYER_TYPE_VALUES = {
    **dict.fromkeys(
        [
            "medicareb",
            "medicarepartb",
            "medicare",
            "partb",
            "mcr",
            "mcrb",
            "traditionalmedicare",
            "originalmedicare",
            "medicareffs",
        ],
        "medicare_b",
    ),
    **dict.fromkeys(
        [
            "medicareadvantage",
            "ma",
            "mapd",
            "medicarepartc",
            "partc",
            "mcradv",
            "medicarereplacement",
            "managedmedicare",
        ],
        "medicare_advantage",
    ),
    **dict.fromkeys(["medicaid", "mcd", "managedmedicaid"], "medicaid"),
    **dict.fromkeys(
        [
            "commercial",
            "comm",
            "private",
            "privateinsurance",
            "bcbs",
            "hmo",
            "ppo",
            "managedcare",
            "insurance",
        ],
        "commercial",
    ),
    **dict.fromkeys(["workerscomp", "workerscompensation", "wc", "workcomp"], "workers_comp"),
    **dict.fromkeys(["selfpay", "cash", "privatepay"], "self_pay"),
    **dict.fromkeys(["other", "tricare", "va", "auto", "liability"], "other"),
}


def payer_type_from_name(payer: pd.Series) -> pd.Series:
    """Classify payer names: Medicare Part B, Medicare Advantage plans, Medicaid, ... commercial."""
    # Distinct names only: an export has a handful of payers however many notes it has.
    codes, names = _distinct(payer)
    text = names.str.strip()
    has = (text != "").to_numpy(dtype=bool)
    classes = pd.Series(pd.NA, index=names.index, dtype="string")
    classes[has] = [_payer_class(name) for name in text[has]]
    return _spread(classes, codes, payer.index, pd.NA)


def _payer_class(name: str) -> str:
    low = name.lower()
    if _MEDICAID.search(low):
        return "medicaid"
    if _MA_BRANDS.search(low):
        return "medicare_advantage"
    if "medicare" in low:
        return "medicare_b"
    if _WORKERS.search(low):
        return "workers_comp"
    if _SELF.search(low):
        return "self_pay"
    if _OTHER.search(low):
        return "other"
    return "commercial"


SETTING_VALUES = {
    **dict.fromkeys(
        [
            "outpatient",
            "op",
            "opd",
            "clinic",
            "office",
            "outpatientclinic",
            "hospitaloutpatient",
            "privatepractice",
            "11",
            "22",
        ],
        "outpatient",
    ),
    **dict.fromkeys(
        ["snf", "skillednursing", "skillednursingfacility", "nursinghome", "ltc", "31", "32"], "snf"
    ),
    **dict.fromkeys(["homehealth", "hh", "home", "hha", "12"], "home_health"),
    **dict.fromkeys(
        ["inpatient", "ip", "acute", "acutecare", "irf", "inpatientrehab", "21", "61"], "inpatient"
    ),
    **dict.fromkeys(["school", "schoolbased", "03"], "school"),
    **dict.fromkeys(["other"], "other"),
}

GOAL_STATUS_VALUES = {
    **dict.fromkeys(["met", "achieved", "goalmet", "completed", "attained"], "met"),
    **dict.fromkeys(
        [
            "progressing",
            "ongoing",
            "inprogress",
            "partiallymet",
            "partially",
            "active",
            "continue",
            "continued",
            "progressingtowardgoal",
        ],
        "progressing",
    ),
    **dict.fromkeys(["notmet", "unmet", "notachieved", "notattained"], "not_met"),
    **dict.fromkeys(
        ["discontinued", "dc", "deferred", "removed", "revised", "inactive"], "discontinued"
    ),
}

GOAL_TERM_VALUES = {
    **dict.fromkeys(["short", "stg", "shortterm", "shorttermgoal", "st", "s"], "short"),
    **dict.fromkeys(["long", "ltg", "longterm", "longtermgoal", "lt", "l"], "long"),
}

TRUE_VALUES = {"y", "yes", "true", "1", "x", "lateentry", "late", "addendum", "t"}
FALSE_VALUES = {"n", "no", "false", "0", "f", "off", "notlate", "ontime", "timely", "original"}


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a yes/no column. Returns (bool series, mask of values that are neither a yes nor
    a no). Blank values and placeholders ("N/A": see NO_VALUE) are no, and not errors."""
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool), pd.Series(False, index=values.index)
    codes, uniques = _distinct(values)
    text = uniques.str.strip()
    keys = map_unique(text, key)
    yes = keys.isin(TRUE_VALUES).fillna(False).astype(bool)
    blank = (text == "").fillna(True).astype(bool) | no_value(text)
    bad = ~yes & ~keys.isin(FALSE_VALUES).fillna(False).astype(bool) & ~blank
    return _spread(yes, codes, values.index, False), _spread(bad, codes, values.index, False)


def normalise_modifiers(values: pd.Series) -> pd.Series:
    """'gp, cq' / 'GP CQ' / 'GP;CQ' -> 'GP,CQ'; blank -> ''."""
    codes, uniques = _distinct(values)
    text = uniques.str.upper().str.strip()
    joined = pc.replace_substring_regex(_arrow(text), r"[\s,;/|]+", ",")
    cleaned = pc.utf8_trim(joined, ",").to_numpy(zero_copy_only=False)
    # One Python string per distinct value, shared by its rows.
    per_row = np.append(cleaned, "").astype(object)[codes]
    return pd.Series(per_row, index=values.index, dtype=object, copy=False)


def normalise_codes(values: pd.Series) -> pd.Series:
    """CPT/HCPCS: upper case, no spaces; Excel's 97110.0 -> 97110."""
    codes, uniques = _distinct(values)
    text = uniques.str.strip().str.upper().str.replace(r"\.0+$", "", regex=True)
    return _spread(text, codes, values.index, pd.NA)


def blank_to_na(values: pd.Series) -> pd.Series:
    """Strip text and turn empty strings into NA (keeps the column's values otherwise)."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    text = arrow_text(values)
    stripped = pc.utf8_trim_whitespace(text)
    if not pc.any(pc.not_equal(pc.binary_length(stripped), pc.binary_length(text))).as_py():
        stripped = text  # nothing to strip: keep the original buffers, not a copy
    return _text_series(
        _null_where(stripped, pc.equal(pc.binary_length(stripped), 0)), values.index
    )


def blank_text_to_na(values: pd.Series) -> pd.Series:
    """Narrative text as is, with blank (whitespace-only) values made NA."""
    text = arrow_text(values)
    # utf8_is_space is exactly "utf8_trim_whitespace leaves nothing" for a non-empty value, and
    # needs no trimmed copy of the text.
    blank = pc.or_(pc.equal(pc.binary_length(text), 0), pc.utf8_is_space(text))
    return _text_series(_null_where(text, blank), values.index)


def arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow large_string chunks (zero-copy for Arrow-backed text)."""
    arr = pa.array(values.astype("string").array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def join_text(parts: list[pa.ChunkedArray], separator: str) -> pa.ChunkedArray:
    """Each row's non-null parts joined with `separator` ('' when every part is null)."""
    sep = pa.scalar(separator, type=pa.large_string())
    # pyarrow 26's binary_join_element_wise with null_handling="skip" drops rows whose parts
    # are all null, shifting every later row onto the wrong one: such rows get an '' part.
    none = parts[0].is_null()
    for part in parts[1:]:
        none = pc.and_(none, part.is_null())
    if pc.any(none).as_py():
        parts = [pc.if_else(none, pa.scalar("", type=pa.large_string()), parts[0]), *parts[1:]]
    joined = pc.binary_join_element_wise(*parts, sep, null_handling="skip")
    assert len(joined) == len(parts[0])
    return joined


def join_columns(columns: list[pd.Series], separator: str) -> pd.Series:
    """The non-blank values of several source columns of one canonical column (Mod 1, Mod 2,
    ... -> modifiers) joined with `separator`; NA where all are blank."""
    parts = [arrow_text(blank_to_na(c)) for c in columns]
    joined = join_text(parts, separator)
    blank = pc.equal(pc.binary_length(joined), 0)
    return _text_series(_null_where(joined, blank), columns[0].index)


def _text_series(arr: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)


def _null_where(text: pa.ChunkedArray, blank: pa.ChunkedArray) -> pa.ChunkedArray:
    """`text` with NA where `blank` is true.

    Only validity bitmaps are new: the text buffers are shared, so a gigabyte of narrative is
    not copied to blank out a few empty sections.
    """
    keep = pc.invert(pc.fill_null(blank, True))
    if (pc.sum(keep).as_py() or 0) == len(text) - text.null_count:
        return text
    if [len(c) for c in keep.chunks] != [len(c) for c in text.chunks]:
        return pc.if_else(keep, text, pa.scalar(None, text.type))
    chunks = []
    for chunk, kept in zip(text.chunks, keep.chunks, strict=True):
        if chunk.offset == 0 and kept.offset == 0:
            buffers = [kept.buffers()[1], *chunk.buffers()[1:]]
            nulls = len(kept) - kept.true_count
            chunks.append(pa.Array.from_buffers(chunk.type, len(chunk), buffers, null_count=nulls))
        else:
            chunks.append(pc.if_else(kept, chunk, pa.scalar(None, chunk.type)))
    return pa.chunked_array(chunks, type=pa.large_string())


def non_blank(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.notna().to_numpy()
    text = values.astype("string").str.strip()
    return (text.notna() & (text != "")).fillna(False).to_numpy(dtype=bool)
