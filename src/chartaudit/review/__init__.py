"""Utilization-management review: episode picture, UM criteria, a recommended determination.

The reviewing clinician decides; this package reads the record, does the arithmetic and
proposes. `review_export` is the engine (no I/O besides reading criteria/policy/threshold
files); `review.outputs` writes the files and `review.cli` is the `chartaudit review` command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..audit import AuditResult, as_of_date, run_audit
from ..checklists import Checklist, load_checklists
from ..errors import ChartauditError
from ..export import Export
from ..instruments import BUILTIN_THRESHOLDS, load_thresholds, validate_thresholds
from ..model import DETERMINATION_COLUMNS
from . import kinds as _kinds  # noqa: F401  (registers the criterion kinds)
from .criteria import CriteriaSet, load_criteria, run_criteria
from .picture import Picture, build_picture
from .policy import Policy, decide, load_policy
from .requests import RequestAccount, account_requests, select_requests

RECOMMENDATION_LABEL = {
    "approve": "Approve",
    "partial": "Approve in part",
    "deny": "Deny",
    "pend": "Pend for information",
}


@dataclass
class Review:
    """Everything the review outputs render from (identifiers not yet pseudonymised).

    - results: one row per (episode, criterion): status, message, note_ids, dates, excerpt.
    - decisions: per episode, the policy's recommendation with rule, flags, request_ids.
    - determinations: SPEC's determination columns (plus rule_id, flags and the criteria a
      pend rests on that could not be evaluated) per episode.
    - account: every authorization row accounted for (requests not reviewed listed with why).
    """

    picture: Picture
    criteria: CriteriaSet
    policy: Policy
    results: pd.DataFrame
    decisions: pd.DataFrame
    determinations: pd.DataFrame
    audit: AuditResult | None = None
    account: RequestAccount | None = None
    rejected: pd.DataFrame | None = None  # every input row rejected at load (rejected.csv)
    notices: list[str] = field(default_factory=list)  # the loader's (as `run` prints them)

    @property
    def episodes(self) -> pd.DataFrame:
        return self.picture.episodes


def read_thresholds(path: Path | str | None) -> pd.DataFrame | None:
    """The built-in instrument thresholds with the reviewer's CSV laid over them: the
    instruments the file names are replaced whole, the others kept (None: built-in only)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise ChartauditError(
            f"{path}: thresholds file not found",
            fix="give a CSV with instrument, direction, mcid, mdc columns (see "
            "chartaudit/data/instruments.csv for the full layout)",
        )
    try:
        own = load_thresholds(path)  # the file on its own first: errors name its rows
        raw = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in (BUILTIN_THRESHOLDS, path)]
        kept = raw[0][~raw[0]["instrument"].str.strip().isin(own["instrument"])]
        merged = pd.concat([kept, raw[1]], ignore_index=True).fillna("")
        # Re-validate the union: an alias of the file may not name a built-in instrument too.
        return validate_thresholds(merged, str(path))
    except ValueError as exc:
        raise ChartauditError(
            str(exc), fix="correct the thresholds CSV (direction: higher_better or lower_better)"
        ) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError):
        raise ChartauditError(
            f"{path}: cannot be read as CSV", fix="save it as UTF-8 comma-separated text"
        ) from None


def episode_picture(
    export: Export,
    episodes: list[str] | None = None,
    thresholds: pd.DataFrame | None = None,
    checklists: list[Checklist] | None = None,
    audit: bool = True,
    requests: pd.DataFrame | None = None,
) -> tuple[Picture, AuditResult | None]:
    """The picture of the episodes to review, and the audit run once over their notes.

    Both run on the reviewed episodes' part of the export (the audit's "today" stays the whole
    export's), so a review of a few episodes in a large export stays fast; cross-patient
    checks (cloned notes across patients) then compare the reviewed episodes only.
    `requests` is select_requests' frame when the caller has it already.
    """
    if requests is None:
        requests = select_requests(export, episodes)
    part = episodes_part(export, requests.index)
    result = None
    if audit and len(requests):
        result = run_audit(part, checklists or load_checklists(None), as_of=as_of_date(export))
    return build_picture(part, requests, result, thresholds), result


def episodes_part(export: Export, episode_ids: pd.Index) -> Export:
    """The export restricted to the notes of `episode_ids` (and their services, measures,
    goals; every authorization), with note_idx renumbered to the new notes table."""
    notes = export.notes
    keep = notes["episode_id"].isin(episode_ids).to_numpy(bool)
    if keep.all():
        return export
    position = np.full(len(notes), -1, dtype="int64")
    position[keep] = np.arange(int(keep.sum()))
    tables = {"notes": notes.loc[keep].reset_index(drop=True)}
    for name, frame in export.tables.items():
        if name == "notes":
            continue
        if "note_idx" not in frame.columns or frame.empty:
            tables[name] = frame
            continue
        idx = frame["note_idx"]
        linked = idx.notna().to_numpy(bool)
        old = idx.fillna(0).astype("int64").to_numpy()
        inside = linked & keep[old]
        if name == "goals":
            # Goals not tied to a note stay when they name a reviewed episode or patient.
            loose = ~linked & (
                frame["episode_id"].isin(episode_ids)
                | frame["patient_id"].isin(tables["notes"]["patient_id"])
            ).to_numpy(bool)
            sub = frame.loc[inside | loose].copy()
            new = pd.array(position[old[inside | loose]], dtype="Int64")
            new[~linked[inside | loose]] = pd.NA
            sub["note_idx"] = new
        else:
            sub = frame.loc[inside].copy()
            sub["note_idx"] = position[old[inside]]
        tables[name] = sub.reset_index(drop=True)
    return Export(
        tables=tables,
        present=export.present,
        files=export.files,
        rejected=export.rejected,
        root=export.root,
    )


def review_export(
    export: Export,
    episodes: list[str] | None = None,
    criteria: CriteriaSet | str | None = None,
    policy: Policy | Path | str | None = None,
    thresholds: pd.DataFrame | Path | str | None = None,
    checklists: list[Checklist] | None = None,
    audit: bool = True,
) -> Review:
    """Review the episodes with an open request (or `episodes`) and recommend a determination."""
    crit = criteria if isinstance(criteria, CriteriaSet) else load_criteria(criteria)
    pol = policy if isinstance(policy, Policy) else load_policy(policy, crit)
    if thresholds is not None and not isinstance(thresholds, pd.DataFrame):
        thresholds = read_thresholds(thresholds)
    requests, account = account_requests(export, episodes)
    picture, result = episode_picture(export, episodes, thresholds, checklists, audit, requests)
    results = run_criteria(picture, crit)
    decisions = decide(results, picture.episodes, crit, pol)
    determinations = _determinations(picture, results, decisions, crit)
    return Review(
        picture=picture,
        criteria=crit,
        policy=pol,
        results=results,
        decisions=decisions,
        determinations=determinations,
        audit=result,
        account=account,
        rejected=export.rejected,
        notices=list(export.notices),
    )


def _determinations(
    picture: Picture, results: pd.DataFrame, decisions: pd.DataFrame, criteria: CriteriaSet
) -> pd.DataFrame:
    eps = picture.episodes
    out = pd.DataFrame(index=eps.index)
    out["episode_id"] = eps.index.to_numpy(dtype=object)
    for col in ("patient_id", "discipline", "therapist"):
        out[col] = eps[col].astype(object)
    out["requested_visits"] = eps["requested_visits"].astype("Float64").round().astype("Int64")
    out["visits_used"] = eps["visits_used"].astype("int64")
    out["recommendation"] = decisions["recommendation"].astype(object)
    out["recommended_visits"] = (
        decisions["recommended_visits"].astype("Float64").round().astype("Int64")
    )
    out["level_of_care"] = decisions["level_of_care"].astype(object)
    out["criteria_failed"] = decisions["criteria_failed"].astype(object)
    out["rationale"] = rationales(decisions.loc[eps.index], results)
    out["rule_id"] = decisions["rule_id"].astype(object)
    out["flags"] = decisions["flags"].astype(object)
    out["criteria_not_evaluable"] = decisions["criteria_not_evaluable"].astype(object)
    extra = ["rule_id", "flags", "criteria_not_evaluable"]
    return out.reset_index(drop=True)[[*DETERMINATION_COLUMNS, *extra]]


def rationales(decisions: pd.DataFrame, results: pd.DataFrame) -> np.ndarray:
    """Each episode's rationale: the rule's reason, then the messages of the criteria it rests
    on (`results`, masked or not: the rule text and criterion ids around them never are)."""
    message = results.set_index(["episode_id", "criterion_id"])["message"]
    out = []
    for ep, d in decisions.iterrows():
        parts = []
        if d["flags"]:
            parts.append(f"[{d['flags']}]")
        parts.append(d["rule_reason"])
        # A pend that rests on a criterion the record does not allow to evaluate names it.
        unevaluable = [c for c in d["criteria_not_evaluable"].split("; ") if c]
        evidence = [
            f"{c}{' (not evaluable)' if c in unevaluable else ''}: {message.get((ep, c), '')}"
            for c in dict.fromkeys([*d["because"], *unevaluable])
        ]
        if evidence:
            parts.append("Evidence: " + "; ".join(evidence) + ".")
        others = [c for c in d["criteria_failed"].split("; ") if c and c not in d["because"]]
        if others:
            parts.append("Also not met: " + ", ".join(others) + ".")
        parts.append(d.get("visits_basis", ""))
        out.append(" ".join(p for p in parts if p))
    return np.array(out, dtype=object)


__all__ = [
    "RECOMMENDATION_LABEL",
    "Review",
    "episode_picture",
    "episodes_part",
    "rationales",
    "read_thresholds",
    "review_export",
]
