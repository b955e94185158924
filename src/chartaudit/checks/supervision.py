"""Who answers for a finding on an assistant's or student's note: the supervising therapist.

Some findings are the supervising therapist's to resolve whoever saw the patient that day: the
progress report, the recertification, the evaluation and the discharge summary are a
therapist's to write, and a co-signature is theirs to give (MBPM ch.15 220.3, 230.1-230.2). A
check kind says so with its `supervisor_duty`; on an assistant's or student's note such a
finding counts against the supervising therapist, and its message says whose it is and whose
visit it was found on. The supervising therapist is the co-signer named on the note when that
is a therapist of the export, else the therapist of the note's discipline in the episode (the
latest one at or before the visit, else the episode's first). When the export shows none, the
finding stays with the note's author.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from .context import AuditContext
from .episodes import (
    CLINICIAN_LABEL,
    credential_facts,
    discipline_clinicians,
    note_codes,
    note_is,
    sorted_notes,
)

SUPERVISED_ROLES = ("assistant", "student")


def _name_key(text: str) -> str:
    """A name compared without case, accents or spacing: "Martínez,  José" ~ "martinez, jose"."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


# Credentials typed after a name without a comma ("Martinez, Jose PT"); only these, and only
# at the end, so a surname such as Do or Ma is never taken for one.
_CREDENTIAL_WORDS = frozenset(
    "pt dpt mpt mspt pta spt ot otr otd cota sot slp slpa ccc cf cfy atc ocs ncs gcs scs cht"
    " clt cscs phd md np".split()
)


def _words_key(text: str) -> str:
    """A name as its words in order, initials, punctuation and trailing credentials left out:
    "Martínez, José A. PT" and "José Martínez" are both "jose martinez" (the order a name is
    written in varies between an EMR's provider list and a typed co-signature)."""
    words = "".join(c if c.isalnum() else " " for c in _name_key(text)).split()
    words = [w for w in words if len(w) > 1]
    while len(words) > 1 and words[-1] in _CREDENTIAL_WORDS:
        words.pop()
    return " ".join(sorted(words))


def _cosigner_notes(ctx: AuditContext, supervised: np.ndarray) -> np.ndarray:
    """Per note: a note written by the therapist its co-signer names, -1 when the note names
    none or no single therapist of the export goes by that name (only the `supervised` notes
    are looked at). The co-signer is matched by the therapist's id or display name, with or
    without credentials after a comma ("Mia Park, OTR/L"), in either order ("Park, Mia") and
    with or without initials."""
    n = len(ctx.notes)
    if not ctx.has("notes.cosigner"):
        return np.full(n, -1, dtype=np.int64)
    cosigner_codes, cosigners = note_codes(ctx, "cosigner")
    if not (supervised & (cosigner_codes >= 0)).any():
        return np.full(n, -1, dtype=np.int64)
    cred_codes, facts = credential_facts(ctx)
    therapist = (facts["role"] == "therapist").fillna(False).to_numpy(dtype=bool)[cred_codes]
    author_codes, _ = note_codes(ctx, "therapist_id")
    # One note per therapist (their first: a hash pass, no sort), and its display name.
    rows = np.flatnonzero(therapist & (author_codes >= 0))
    first = rows[~pd.Series(author_codes[rows]).duplicated().to_numpy()]
    names = ctx.notes["therapist"].iloc[first].astype(str).tolist()
    ids = ctx.notes["therapist_id"].iloc[first].astype(str).tolist()
    by_name: dict[str, set[int]] = {}
    by_words: dict[str, set[int]] = {}
    by_id = {_name_key(i): note for i, note in zip(ids, first.tolist(), strict=True)}
    for name, note in zip(names, first.tolist(), strict=True):
        by_name.setdefault(_name_key(name), set()).add(note)
        by_words.setdefault(_words_key(name), set()).add(note)
    found = np.full(len(cosigners) + 1, -1, dtype=np.int64)  # the last: a blank co-signer
    for c, value in enumerate(cosigners.tolist()):
        key = _name_key(str(value))
        if key in by_id:  # the co-signer column holds the therapist's id (an NPI, a staff id)
            found[c] = by_id[key]
            continue
        parts = key.split(",")
        # The whole value first, then without its last comma-separated parts (credentials);
        # each as written, then as its words in any order.
        for end in range(len(parts), 0, -1):
            text = ",".join(parts[:end]).strip()
            notes = by_name.get(text) or by_words.get(_words_key(text))
            if notes:
                if len(notes) == 1:
                    found[c] = next(iter(notes))
                break
    return found[cosigner_codes]


def supervising_notes(ctx: AuditContext) -> np.ndarray:
    """Per note: a note written by the therapist who supervises it (the co-signer, else the
    discipline's therapist in the episode); -1 for a note not written by an assistant or
    student, or with no supervising therapist on record (cached)."""

    def build() -> np.ndarray:
        supervised = note_is(ctx, "role", SUPERVISED_ROLES)
        out = np.full(len(ctx.notes), -1, dtype=np.int64)
        if not supervised.any():
            return out
        s = sorted_notes(ctx)
        row = discipline_clinicians(ctx, s)[s.row_of]
        episode_therapist = np.where(row >= 0, s.order[np.maximum(row, 0)], -1)
        cosigner = _cosigner_notes(ctx, supervised)
        chosen = np.where(cosigner >= 0, cosigner, episode_therapist)
        # A therapist's own note under another credential is not supervised by them.
        authors = note_codes(ctx, "therapist_id")[0]
        other = (chosen >= 0) & (authors[np.maximum(chosen, 0)] != authors)
        keep = supervised & other
        out[keep] = chosen[keep]
        return out

    return ctx.cached("supervision:notes", build)


def answerable(ctx: AuditContext) -> np.ndarray:
    """Per note: the note whose author answers for its supervised items (those of a kind with
    a supervisor_duty): the supervising therapist's note, else the note itself."""
    supervisor = supervising_notes(ctx)
    return np.where(supervisor >= 0, supervisor, np.arange(len(supervisor)))


def _who(notes: pd.DataFrame, at: np.ndarray) -> np.ndarray:
    """ "Name, credential" of the authors of the notes at positions `at`."""
    name = notes["therapist"].iloc[at].astype(object).fillna("").to_numpy(dtype=object)
    cred = notes["credential"].iloc[at].astype(object).fillna("").to_numpy(dtype=object)
    return np.where(cred != "", name + ", " + cred, name)


def supervisor_clause(ctx: AuditContext, positions: np.ndarray, duty: str) -> np.ndarray:
    """Per note at `positions` (failing notes of a kind with a supervisor_duty): what to add to
    its message, "" unless an assistant or student wrote it. `duty` names the task with a
    `{who}` for the supervisor: "the report is {who} to write" gives "; the report is the
    supervising physical therapist's to write (Mia Park, OTR/L); on a visit by Lee Wong, COTA"
    (the visit named only when the finding moves to the therapist)."""
    notes = ctx.notes
    out = np.full(len(positions), "", dtype=object)
    supervised = note_is(ctx, "role", SUPERVISED_ROLES)[positions]
    if not supervised.any():
        return out
    p = positions[supervised]
    label = (
        notes["discipline"]
        .iloc[p]
        .astype(object)
        .map(CLINICIAN_LABEL)
        .fillna("therapist")
        .to_numpy(dtype=object)
    )
    who = "the supervising " + label + "'s"
    before, _, after = duty.partition("{who}")
    text = "; " + before + who + after
    supervisor = supervising_notes(ctx)[p]
    found = supervisor >= 0
    if found.any():
        text[found] = (
            text[found]
            + " ("
            + _who(notes, supervisor[found])
            + "); on a visit by "
            + _who(notes, p[found])
        )
    out[supervised] = text
    return out
