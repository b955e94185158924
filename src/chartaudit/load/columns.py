"""Built-in synonyms that map vendors' column and file names to the canonical ones."""

from __future__ import annotations

import difflib
import re

from ..model import TABLES


def key(name: object) -> str:
    """Comparison key for a column or value: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z#]+", "", str(name).lower()).replace("#", "no")


_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "notes": {
        "note_id": [
            "note id",
            "doc #",
            "doc id",
            "doc no",
            "document id",
            "document #",
            "visit id",
            "encounter id",
            "encounter #",
            "note #",
            "note number",
            "record id",
        ],
        "patient_id": [
            "mrn",
            "patient id",
            "patient #",
            "patient number",
            "chart #",
            "chart number",
            "pt id",
            "account #",
            "account number",
            "acct #",
            "patient acct #",
            "patient account #",
            "patient account number",
            "client id",
            "medical record number",
            "patient mrn",
            "pt mrn",
            "mrn #",
            "mrn number",
            "medical record #",
            "med rec #",
        ],
        "patient_name": ["patient name", "patient", "client name", "client", "pt name"],
        "episode_id": [
            "episode",
            "episode id",
            "episode #",
            "case id",
            "case #",
            "plan of care id",
            "poc id",
        ],
        "discipline": ["discipline", "therapy type", "service line", "therapy discipline"],
        "note_type": [
            "note type",
            "visit type",
            "document type",
            "doc type",
            "type",
            "note kind",
            "encounter type",
            "enc type",
            "visit kind",
        ],
        "date_of_service": [
            "dos",
            "date of service",
            "visit date",
            "service date",
            "date",
            "treatment date",
            "appointment date",
        ],
        "therapist": [
            "provider",
            "clinician",
            "therapist",
            "author",
            "rendering provider",
            "treating therapist",
            "provider name",
            "clinician name",
            "therapist name",
        ],
        "therapist_id": [
            "npi",
            "provider npi",
            "provider id",
            "therapist id",
            "clinician id",
            "author id",
            "rendering npi",
        ],
        "credential": [
            "credentials",
            "credential",
            "creds",
            "cred",
            "provider credential",
            "provider credentials",
            "provider cred",
            "therapist cred",
            "therapist credential",
            "therapist credentials",
            "clinician cred",
            "clinician credentials",
            "license type",
            "clinician credential",
            "title",
        ],
        "signed_at": [
            "signed",
            "signed at",
            "signature date",
            "date signed",
            "signed date",
            "signed on",
            "signed datetime",
            "finalized",
            "finalized at",
            "signature",
        ],
        "cosigner": [
            "cosigner",
            "co-signer",
            "cosigned by",
            "co-signed by",
            "supervising therapist",
        ],
        "cosigned_at": [
            "cosigned",
            "cosigned at",
            "co-signed",
            "cosign date",
            "co-signed date",
            "cosigned date",
        ],
        "payer": [
            "payer",
            "payor",
            "insurance",
            "primary insurance",
            "insurance name",
            "plan name",
            "primary payer",
            "primary payor",
        ],
        "payer_type": [
            "payer type",
            "payor type",
            "financial class",
            "insurance type",
            "fin class",
        ],
        "setting": ["setting", "care setting", "location type"],
        "diagnosis_codes": [
            "diagnosis codes",
            "diagnosis",
            "diagnoses",
            "dx",
            "dx codes",
            "icd10",
            "icd 10",
            "icd-10 codes",
            "icd codes",
        ],
        "total_timed_minutes": [
            "total timed minutes",
            "timed minutes",
            "timed mins",
            "total timed mins",
            "timed code minutes",
            "timed",
        ],
        "total_treatment_minutes": [
            "total treatment minutes",
            "treatment minutes",
            "total minutes",
            "total treatment time",
            "total time",
            "tx minutes",
            "tx mins",
            "treatment mins",
            "total tx minutes",
            "total tx mins",
            "total mins",
        ],
        "subjective": ["subjective", "s"],
        "objective": ["objective", "o", "interventions"],
        "assessment": ["assessment", "a"],
        "plan": ["plan", "p"],
        "note_text": [
            "note text",
            "narrative",
            "note",
            "text",
            "body",
            "note body",
            "documentation",
        ],
        "poc_start": [
            "poc start",
            "plan start",
            "cert start",
            "certification start",
            "poc from",
            "plan of care start",
            "cert from",
        ],
        "poc_end": [
            "poc end",
            "plan end",
            "cert end",
            "certification end",
            "poc through",
            "plan of care end",
            "cert through",
            "cert to",
            "poc to",
        ],
        "frequency": [
            "frequency",
            "freq",
            "visit frequency",
            "poc frequency",
            "poc freq",
            "plan frequency",
            "treatment frequency",
            "tx frequency",
            "tx freq",
        ],
        "duration": [
            "duration",
            "dur",
            "plan duration",
            "poc duration",
            "poc dur",
            "plan of care duration",
            "treatment duration",
            "tx duration",
            "duration of care",
        ],
        "poc_sent_at": [
            "poc sent",
            "poc sent at",
            "plan sent",
            "sent to physician",
            "poc sent date",
            "plan sent date",
        ],
        "poc_certified_at": [
            "poc certified",
            "poc certified at",
            "poc signed",
            "cert signed",
            "certification date",
            "physician signature date",
            "certified",
            "poc signed by physician",
            "certified at",
            "poc cert date",
            "poc cert",
            "poc certified date",
            "poc certification date",
            "cert date",
            "date certified",
            "plan certified",
            "plan certified date",
            "poc signed date",
            "physician signed date",
        ],
        "certifier": [
            "certifier",
            "certifying physician",
            "certifying provider",
            "certifying practitioner",
            "certifying md",
            "certifying npp",
            "signing physician",
            "certified by",
            "physician",
        ],
        "certifier_credential": [
            "certifier credential",
            "physician credential",
            "physician cred",
            "certifier credentials",
            "certifier cred",
            "certifying physician credential",
            "certifying provider credential",
        ],
        "order_signed_at": [
            "order signed",
            "order signed at",
            "referral signed",
            "order date",
            "referral date",
            "referral signed at",
        ],
        "is_late_entry": ["is late entry", "late entry", "addendum", "late"],
    },
    "services": {
        "note_id": [
            "note id",
            "doc #",
            "doc id",
            "document id",
            "visit id",
            "encounter id",
            "encounter #",
            "note #",
        ],
        "cpt_code": [
            "cpt",
            "cpt code",
            "code",
            "procedure code",
            "hcpcs",
            "cpt/hcpcs",
            "procedure",
            "cpt hcpcs",
        ],
        "modifiers": ["modifiers", "modifier", "mod", "mods", "modifier(s)"],
        "units": ["units", "unit", "qty", "quantity", "billed units"],
        "minutes": ["minutes", "mins", "min", "time", "service minutes"],
        "assistant_minutes": [
            "assistant minutes",
            "pta minutes",
            "ota minutes",
            "pta/ota minutes",
            "assistant mins",
        ],
        "charge": [
            "charge",
            "charges",
            "billed amount",
            "amount",
            "charge amount",
            "charge amt",
            "fee",
        ],
        "allowed_amount": ["allowed amount", "allowed", "allowable", "expected reimbursement"],
    },
    "goals": {
        "goal_id": ["goal id", "goal #", "id"],
        "patient_id": ["mrn", "patient id", "patient #", "chart #"],
        "episode_id": ["episode", "episode id", "case id"],
        "note_id": ["note id", "doc #", "doc id", "document id", "visit id"],
        "term": ["term", "goal term", "goal type", "stg/ltg", "type"],
        "text": ["text", "goal", "goal text", "description", "goal description"],
        "target_date": ["target date", "due date", "goal date", "target"],
        "status": ["status", "goal status"],
        "baseline": ["baseline", "baseline value"],
        "target": ["target value", "goal value"],
    },
    "measures": {
        "note_id": ["note id", "doc #", "doc id", "document id", "visit id"],
        "measure": ["measure", "instrument", "outcome measure", "test", "outcome", "tool"],
        "score": ["score", "value", "result", "raw score"],
        "date": ["date", "date administered", "administered", "test date"],
    },
    "authorizations": {
        "auth_id": [
            "auth id",
            "auth #",
            "authorization id",
            "authorization #",
            "auth number",
            "auth no",
            "auth ref",
            "auth ref #",
            "authorization number",
            "authorization ref",
            "reference #",
            "reference number",
        ],
        "patient_id": ["mrn", "patient id", "patient #", "chart #"],
        "episode_id": ["episode", "episode id", "case id"],
        "discipline": ["discipline", "therapy type"],
        "payer": ["payer", "payor", "insurance"],
        "request_date": ["request date", "requested on", "date requested", "submitted"],
        "requested_visits": ["requested visits", "visits requested", "requested"],
        "requested_through": ["requested through", "requested end", "request through"],
        "approved_visits": [
            "approved visits",
            "visits approved",
            "authorized visits",
            "approved",
            "visits authorized",
        ],
        "start": [
            "start",
            "start date",
            "auth start",
            "auth from",
            "from",
            "effective date",
            "effective",
        ],
        "end": [
            "end",
            "end date",
            "auth end",
            "auth to",
            "auth through",
            "through",
            "to",
            "expiration date",
            "expires",
        ],
        "status": ["status", "auth status", "decision"],
    },
}

# Identifiers are written alike in every table of one export ("Case No" and "Service Line" on
# the visits and on the authorization requests): each table knows the notes' names for them.
for _table, _columns in TABLES.items():
    for _col in ("note_id", "patient_id", "episode_id", "discipline"):
        if _table != "notes" and _col in _columns:
            _own = _SYNONYMS.setdefault(_table, {}).setdefault(_col, [])
            _own += [n for n in _SYNONYMS["notes"][_col] if n not in _own]

# Per table: comparison key -> canonical column. Canonical names match themselves.
COLUMN_SYNONYMS: dict[str, dict[str, str]] = {}
for _table, _columns in TABLES.items():
    _lookup: dict[str, str] = {}
    for _canonical, _names in _SYNONYMS.get(_table, {}).items():
        for _name in _names:
            _lookup.setdefault(key(_name), _canonical)
    for _canonical in _columns:
        _lookup[key(_canonical)] = _canonical
    COLUMN_SYNONYMS[_table] = _lookup

# Words in a file or sheet name that say which table it is.
TABLE_WORDS: dict[str, list[str]] = {
    "notes": ["notes", "note", "visits", "visit", "documents", "documentation", "encounters"],
    "services": ["services", "service", "charges", "charge", "billing", "cpt", "lines"],
    "goals": ["goals", "goal"],
    "measures": ["measures", "measure", "outcomes", "outcome", "scores"],
    "authorizations": [
        "authorizations",
        "authorization",
        "auths",
        "auth",
        "authorisations",
        "priorauth",
        "requests",
    ],
}


def table_for_name(name: str) -> str | None:
    """The table a file or sheet name points at, or None when no or several tables match."""
    words = set(re.findall(r"[a-z]+", name.lower()))
    hits = [table for table, names in TABLE_WORDS.items() if words & set(names)]
    if len(hits) == 1:
        return hits[0]
    # "Visit Charges" names both notes and services: the more specific word wins.
    specific = [t for t in hits if t != "notes"]
    return specific[0] if len(specific) == 1 else None


# Canonical columns a list of source columns may fill, and the separator of their values:
# billing exports give each modifier its own column (Mod 1 .. Mod 4), some exports each
# diagnosis (Dx 1, Dx 2, ...).
JOINED: dict[str, dict[str, str]] = {
    "services": {"modifiers": ","},
    "notes": {"diagnosis_codes": ";"},
}

# Numbered columns ("Mod 1", "Modifier #2", "Dx 3") recognised as the parts of a JOINED column:
# the name without its number.
_NUMBERED: dict[str, dict[str, list[str]]] = {
    "services": {
        "modifiers": ["mod", "modifier", "cpt mod", "cpt modifier", "mod code", "modifier code"]
    },
    "notes": {
        "diagnosis_codes": [
            "dx",
            "dx code",
            "diagnosis",
            "diagnosis code",
            "diag",
            "icd",
            "icd code",
            "icd-10",
            "icd-10 code",
            "icd10 code",
        ]
    },
}
_NUMBERED_KEYS: dict[str, re.Pattern] = {
    table: re.compile(
        "^(?:"
        + "|".join(re.escape(key(n)) for names in families.values() for n in names)
        + ")(?:no)?[0-9]{1,2}$"
    )
    for table, families in _NUMBERED.items()
}


def numbered_part(table: str, column: str) -> str | None:
    """The JOINED column a numbered source column ("Mod 2") is a part of, or None."""
    pattern = _NUMBERED_KEYS.get(table)
    if pattern is None or not pattern.match(key(column)):
        return None
    stem = re.sub(r"(?:no)?[0-9]+$", "", key(column))
    for canon, names in _NUMBERED[table].items():
        if stem in {key(n) for n in names}:
            return canon
    return None


def map_columns(
    table: str, source_columns: list[str], explicit: dict[str, list[str]] | None = None
) -> tuple[dict[str, str], list[str]]:
    """Map source column names to canonical ones: explicit mapping first, then synonyms, then
    numbered parts of a JOINED column (Mod 1, Mod 2 -> modifiers).

    Returns (source -> canonical, ignored source columns). A canonical column is taken by the
    first source column that claims it, or by all the numbered parts there are of it.
    """
    explicit = explicit or {}
    by_source = {src: canon for canon, sources in explicit.items() for src in sources}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in source_columns:
        if col in by_source:
            mapping[col] = by_source[col]
            taken.add(by_source[col])
    lookup = COLUMN_SYNONYMS[table]
    parts: dict[str, list[str]] = {}
    for col in source_columns:
        if col in mapping:
            continue
        canon = lookup.get(key(col))
        if canon and canon not in taken:
            mapping[col] = canon
            taken.add(canon)
        elif not canon and (joined := numbered_part(table, col)):
            parts.setdefault(joined, []).append(col)
    for canon, cols in parts.items():
        if canon not in taken:
            mapping.update(dict.fromkeys(cols, canon))
            taken.add(canon)
    ignored = [col for col in source_columns if col not in mapping]
    return mapping, ignored


def unused_column_hints(
    table: str, ignored: list[str], mapping: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(column, canonical column, kind) for the ignored source columns that look as if they
    were meant to be loaded: kind "part" for a numbered companion of a mapped column ("Mod 2"
    beside "Mod 1" -> modifiers), "close" for a name close to a canonical column that no
    source column fills ("Dur" -> duration)."""
    mapped = set(mapping.values())
    stems = {_stem(src): canon for src, canon in mapping.items() if _stem(src) != key(src)}
    hints = []
    for col in ignored:
        canon = numbered_part(table, col)
        if canon in mapped:
            hints.append((col, canon, "part"))
        elif _stem(col) != key(col) and _stem(col) in stems:
            hints.append((col, stems[_stem(col)], "part"))
        elif canon := _close_canonical(table, col, mapped):
            hints.append((col, canon, "close"))
    return hints


def _stem(column: str) -> str:
    """A column's key without a trailing number ("Mod 2" -> "mod")."""
    return re.sub(r"(?:no)?[0-9]+$", "", key(column)) or key(column)


def _words(name: str) -> tuple[str, ...]:
    """A name's words, lower case ("poc_certified_at" and "POC Certified At" alike)."""
    return tuple(re.findall(r"[a-z0-9]+", name.lower().replace("_", " ")))


# Per table: the words of each synonym and canonical name of several words, for names that
# abbreviate one word by word ("Certifying Prov" -> "certifying provider").
_PHRASES: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _table, _columns in TABLES.items():
    _names = [(n, c) for c, names in _SYNONYMS.get(_table, {}).items() for n in names]
    _PHRASES[_table] = [
        (_words(n), c) for n, c in [*_names, *((c, c) for c in _columns)] if len(_words(n)) > 1
    ]


def _close_canonical(table: str, column: str, mapped: set[str]) -> str | None:
    """The canonical column, filled by no source column, whose name or a synonym the column's
    name abbreviates ("Dur" -> duration; word by word, "Certifying Prov" -> certifier)
    or nearly spells ("Frequncy" -> frequency)."""
    k = key(column)
    if len(k) < 3:
        return None
    words = _words(column)
    if len(words) > 1:
        for phrase, canon in _PHRASES[table]:
            if canon not in mapped and _abbreviates(words, phrase):
                return canon
    best, best_ratio = None, 0.0
    for name, canon in COLUMN_SYNONYMS[table].items():
        if canon in mapped or len(name) < 3:
            continue
        if name.startswith(k):
            return canon
        ratio = difflib.SequenceMatcher(None, k, name).ratio()
        if ratio > best_ratio:
            best, best_ratio = canon, ratio
    return best if best_ratio >= 0.9 else None


def _abbreviates(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Each word begins the phrase's word in its place ("cert" "certification")."""
    return len(words) == len(phrase) and all(
        p.startswith(w) for w, p in zip(words, phrase, strict=True)
    )
