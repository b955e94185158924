"""Check kinds over a note's own fields: required values, signatures, co-signatures, credentials."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..model import TABLES
from .context import AuditContext
from .episodes import (
    DISCIPLINE_LABEL,
    credential_facts,
    fmt_date,
    midnight,
    non_blank,
    not_evaluable_all,
    note_clinical_fellow,
    note_codes,
    note_columns,
    service_dates,
    texts,
)
from .registry import CheckOutcome, Param, check_kind, outcome

# Whose notes DOC-COSIGN may require a co-signature on: the author roles, and clinical fellows.
COSIGN_ROLES = ("student", "assistant", "clinical_fellow", "therapist", "unknown")


@check_kind(
    "required_field",
    params={
        "field": Param(str, required=True, choices=tuple(TABLES["notes"]), help="notes column"),
        "label": Param(str, "", help="what the field is, for the message (default: its name)"),
    },
    reads=("notes.{field}",),
)
def required_field(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The note has a value in the given column (e.g. signed_at: the note is signed)."""
    field = params["field"]
    label = params["label"] or field.replace("_", " ")
    if not ctx.has(f"notes.{field}"):
        return not_evaluable_all(idx, f"the export has no {field} column")
    present = non_blank(ctx.notes[field].reindex(idx))
    return outcome(idx, ~present, f"no {label} ({field} is blank)", "")


@check_kind(
    "signature_timely",
    topic="signature",
    params={
        "max_days": Param(int, 3, help="calendar days after the date of service to sign"),
        "late_entry_ok": Param(
            bool, True, help="labelled late entries signed late are not judged here"
        ),
    },
    needs=("notes.signed_at",),
    reads=("notes.signed_at", "notes.is_late_entry"),
)
def signature_timely(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Signed within a set number of calendar days after the date of service (default 3)."""
    if not ctx.has("notes.signed_at"):
        return not_evaluable_all(idx, "the export has no signature date column")
    pos = ctx.positions(idx)
    max_days = int(params["max_days"])
    signed = midnight(ctx.notes["signed_at"])[pos]
    dos = service_dates(ctx)[pos]
    undated = np.isnat(signed)
    lag = np.where(undated, 0, (signed - dos).astype("timedelta64[D]").astype(np.int64))
    late = ~undated & (lag > max_days)
    # Unsigned notes are DOC-SIGNED's finding; a labelled late entry is the documented way to
    # record care late (PIM ch.3 3.3.2.5), so with late_entry_ok it is not held to the deadline.
    applicable = ~undated
    if params["late_entry_ok"]:
        labelled = ctx.notes["is_late_entry"].fillna(False).to_numpy(dtype=bool)[pos]
        applicable &= ~(late & labelled)
    before = ~undated & (lag < 0)
    shown = late & applicable

    def day(values: np.ndarray) -> np.ndarray:
        return fmt_date(pd.Series(values[shown])).to_numpy()

    message = np.full(len(idx), "", dtype=object)
    evidence = message.copy()
    if shown.any():
        signed_on = day(signed)
        message[shown] = (
            "signed "
            + lag[shown].astype(str).astype(object)
            + " days after the date of service ("
            + day(dos)
            + " → "
            + signed_on
            + f"); sign within {max_days} day{'' if max_days == 1 else 's'}"
        )
        evidence[shown] = signed_on
    return outcome(
        idx,
        late,
        pd.Series(message, index=idx, dtype=object),
        pd.Series(evidence, index=idx, dtype=object),
        applicable=applicable,
        not_evaluable=before,
        not_evaluable_reason="signed before the date of service (see DOC-CHRONOLOGY)",
    )


@check_kind(
    "cosign_required",
    topic="signature",
    supervisor_duty="the co-signature is {who} to give",
    params={
        "roles": Param(
            list,
            ["student"],
            help="author roles whose notes need a co-signature; clinical_fellow: a clinical "
            "fellow's (CF-SLP), who is otherwise a therapist",
            choices=COSIGN_ROLES,
        ),
    },
    reads=("notes.cosigned_at",),
)
def cosign_required(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """Notes by students (and assistants or clinical fellows where policy says so) carry a
    dated co-signature."""
    notes = note_columns(ctx, idx, ["role", "cosigner", "cosigned_at", "credential"])
    applicable = notes["role"].isin(params["roles"]).fillna(False).astype(bool)
    fellow = pd.Series(note_clinical_fellow(ctx)[ctx.positions(idx)], index=idx)
    if "clinical_fellow" in params["roles"]:
        applicable |= fellow
    has_name, has_date = ctx.has("notes.cosigner"), ctx.has("notes.cosigned_at")
    if not (has_name or has_date):
        return outcome(
            idx,
            np.zeros(len(idx), bool),
            applicable=applicable,
            not_evaluable=np.ones(len(idx), bool),
            not_evaluable_reason="the export has no co-signer or co-signature date column",
        )
    name = non_blank(notes["cosigner"]) if has_name else pd.Series(True, index=idx)
    dated = notes["cosigned_at"].notna() if has_date else pd.Series(True, index=idx)
    fail = applicable & ~(name & dated)
    cred = notes["credential"].astype("string").fillna("")

    def message(m: np.ndarray) -> pd.Series:
        role = notes["role"][m].astype("string").fillna("")
        role = role.where(~fellow[m], "clinical fellow")
        who = role + " note (" + cred[m] + ")"
        text = who + " is not co-signed"
        text = text.where(~name[m], who + ": co-signer named but the co-signature is not dated")
        return text.where(~dated[m], who + ": co-signature dated but no co-signer named")

    return outcome(idx, fail, texts(idx, fail, message), cred, applicable=applicable)


@check_kind("credential_recognised", params={})
def credential_recognised(ctx: AuditContext, idx: pd.Index, params: dict[str, Any]) -> CheckOutcome:
    """The author's credential is a recognised therapy credential of the note's discipline."""
    pos = ctx.positions(idx)
    code, facts = credential_facts(ctx)
    code = code[pos]
    unknown = (facts["role"] == "unknown").to_numpy()[code]
    # The credential's discipline as a code of the notes' disciplines (-1: a value none has).
    disc_code, disciplines = note_codes(ctx, "discipline")
    disc_code = disc_code[pos]
    cred_disc = pd.Index(disciplines, dtype=object).get_indexer(facts["discipline"].astype(object))
    has_disc = facts["discipline"].notna().to_numpy()
    mismatch = has_disc[code] & (disc_code >= 0) & (cred_disc[code] != disc_code)
    fail = unknown | mismatch

    def credential(m: np.ndarray) -> pd.Series:
        return ctx.notes["credential"].iloc[pos[m]].astype("string").str.strip().fillna("")

    def message(m: np.ndarray) -> pd.Series:
        c = credential(m)
        text = (
            c
            + " is a "
            + facts["discipline"].iloc[code[m]].set_axis(c.index).map(DISCIPLINE_LABEL).fillna("")
            + " credential but the note's discipline is "
            + ctx.notes["discipline"].iloc[pos[m]].astype("string").fillna("")
        )
        text = text.where(
            ~unknown[m], 'credential "' + c + '" is not a recognised PT/OT/SLP credential'
        )
        return text.where(
            c != "", "no credential: the author's professional identification is missing"
        )

    return outcome(idx, fail, texts(idx, fail, message), texts(idx, fail, credential))
