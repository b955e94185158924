"""UM criteria: a registry of episode-level criterion kinds and strict loading of criteria YAML.

A criteria file has the shape of a checklist (id, title, severity, check, params, why, fix,
reference, runnable examples) plus `what_to_request` (what the request-for-information letter
asks the treating therapist for when the criterion is not met). Criterion kinds are code,
registered with `@criterion_kind`; each returns, for every reviewed episode at once, a status
(met / not_met / not_evaluable), a message and the evidence (note ids and dates).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..checklists import (
    read_yaml,
    validate_examples,
    validate_item_fields,
    validate_params,
    validate_severity,
    validate_top,
)
from ..checks.registry import Param
from ..errors import ChecklistError
from ..model import SEVERITY_ORDER

if TYPE_CHECKING:
    from .picture import Picture

STATUSES = ("met", "not_met", "not_evaluable")
# "info" criteria inform the determination but are never listed as failed (e.g. maintenance).
SEVERITIES = [*SEVERITY_ORDER, "info"]
POLICY_FILE = "policy.yaml"
DEFAULT_CRITERIA = "um-outpatient"

CRITERIA_KEYS = {
    "criteria",
    "title",
    "version",
    "description",
    "extends",
    "overrides",
    "disable",
    "items",
    "example_defaults",
}
REQUIRED_KEYS = ("criteria", "title", "version")
ITEM_KEYS = {
    "id",
    "title",
    "severity",
    "check",
    "params",
    "why",
    "fix",
    "what_to_request",
    "reference",
    "examples",
    "description",
}
REQUIRED_ITEM_KEYS = ("id", "title", "severity", "check", "why", "fix", "reference", "examples")
OVERRIDE_KEYS = {"severity", "params", "what_to_request"}
RESULT_COLUMNS = [
    "episode_id",
    "criterion_id",
    "title",
    "severity",
    "status",
    "message",
    "note_ids",
    "dates",
    "excerpt",
    "flag",
    "ask",
]


# --------------------------------------------------------------------------- registry

CriterionFn = Callable[["Picture", dict[str, Any]], pd.DataFrame]


@dataclass
class CriterionKind:
    name: str
    fn: CriterionFn
    params: dict[str, Param] = field(default_factory=dict)
    summary: str = ""


CRITERION_KINDS: dict[str, CriterionKind] = {}


def criterion_kind(
    name: str, *, params: dict[str, Param] | None = None
) -> Callable[[CriterionFn], CriterionFn]:
    """Register a function (picture, params) -> per-episode result frame under `name`."""

    def register(fn: CriterionFn) -> CriterionFn:
        if name in CRITERION_KINDS:
            raise ValueError(f"criterion kind {name!r} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        CRITERION_KINDS[name] = CriterionKind(name, fn, params or {}, doc[0] if doc else "")
        return fn

    return register


def result(
    index: pd.Index,
    met: pd.Series | np.ndarray,
    message: pd.Series | str,
    evidence: pd.DataFrame,
    *,
    not_evaluable: pd.Series | np.ndarray | None = None,
    excerpt: pd.Series | None = None,
    flag: pd.Series | None = None,
    ask: pd.Series | None = None,
) -> pd.DataFrame:
    """A criterion's per-episode result from boolean masks aligned to `index`.

    `evidence` is long: one row per (episode_id, note_id, date) the result rests on.
    Precedence: not_evaluable, then met, else not_met. `flag` is a short text for the
    reviewer that the determination carries whatever its status (e.g. recertification needed);
    `ask` what the request for information adds, for this episode, to the criterion's
    what_to_request (e.g. the instruments it names).
    """

    def mask(m, default: bool) -> np.ndarray:
        if m is None:
            return np.full(len(index), default)
        if isinstance(m, pd.Series):
            return m.reindex(index).fillna(False).to_numpy(dtype=bool)
        return np.asarray(m, dtype=bool)

    status = np.where(mask(met, False), "met", "not_met").astype(object)
    status[mask(not_evaluable, False)] = "not_evaluable"
    out = pd.DataFrame({"status": status}, index=index)
    msg = message if isinstance(message, pd.Series) else pd.Series(message, index=index)
    out["message"] = msg.reindex(index).fillna("").astype(object)
    out["excerpt"] = excerpt.reindex(index).fillna("").astype(object) if excerpt is not None else ""
    out["flag"] = flag.reindex(index).fillna("").astype(object) if flag is not None else ""
    out["ask"] = ask.reindex(index).fillna("").astype(object) if ask is not None else ""
    ev = evidence.dropna(subset=["note_id"])
    ev = ev[ev["episode_id"].isin(index)]
    ev = ev.assign(date=pd.to_datetime(ev["date"]).dt.strftime("%Y-%m-%d").fillna(""))
    ev = ev.sort_values(["episode_id", "date"], kind="stable").drop_duplicates(
        ["episode_id", "note_id"]
    )
    grouped = ev.groupby("episode_id")
    out["note_ids"] = grouped["note_id"].agg(list).reindex(index)
    out["dates"] = grouped["date"].agg(list).reindex(index)
    return out


# --------------------------------------------------------------------------- loading


@dataclass
class Criterion:
    """One UM criterion: what to check for each episode and how to explain it."""

    id: str
    title: str
    severity: str
    check: str
    params: dict[str, Any]
    why: str
    fix: str
    reference: str
    examples: dict[str, list[dict[str, list[dict[str, Any]]]]]
    what_to_request: str = ""
    description: str = ""
    example_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""


@dataclass
class CriteriaSet:
    name: str
    title: str
    version: str
    items: list[Criterion]
    description: str = ""
    source: str = ""
    builtin: bool = False

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.items]

    def get(self, criterion_id: str) -> Criterion:
        return next(c for c in self.items if c.id == criterion_id)


def builtin_dir() -> Path:
    return Path(__file__).resolve().parent


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml") if p.name != POLICY_FILE)


def resolve(name_or_path: str) -> Path:
    """A built-in criteria name or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ChecklistError(
                f"{name_or_path}: criteria file not found",
                fix=f"give a YAML path or a built-in name ({', '.join(builtin_names())})",
            )
        return path
    candidate = builtin_dir() / f"{name_or_path}.yaml"
    if candidate.is_file() and candidate.name != POLICY_FILE:
        return candidate
    raise ChecklistError(
        f"{name_or_path}: no such criteria",
        fix=f"built-in criteria are {', '.join(builtin_names())}; or give a path to a .yaml file",
    )


def load_criteria(name_or_path: str | None = None, _seen: tuple[str, ...] = ()) -> CriteriaSet:
    """Load, validate and merge a criteria file (default: the built-in um-outpatient)."""
    path = resolve(name_or_path or DEFAULT_CRITERIA)
    builtin = path.parent == builtin_dir()
    where = path.name if builtin else str(path)
    if str(path.resolve()) in _seen:
        raise ChecklistError(f"{where}: extends itself in a cycle", fix="remove the cycle")
    raw = read_yaml(path, where, "criteria, title, version and items")
    validate_top(raw, where, CRITERIA_KEYS, REQUIRED_KEYS, noun="criteria")
    items: dict[str, Criterion] = {}
    for parent in raw.get("extends") or []:
        for item in load_criteria(str(parent), _seen + (str(path.resolve()),)).items:
            if item.id in items:
                raise ChecklistError(
                    f"{where}: criterion {item.id} comes from two extended criteria files",
                    fix="extend only one of them or disable the duplicate",
                )
            items[item.id] = item
    for key, change in (raw.get("overrides") or {}).items():
        label = f"{where}: overrides.{key}"
        if key not in items:
            raise ChecklistError(
                f"{label}: no such criterion in the extended criteria",
                fix="check the id in the extended file",
            )
        if not isinstance(change, dict):
            raise ChecklistError(f"{label}: expected severity/params/what_to_request")
        bad = set(change) - OVERRIDE_KEYS
        if bad:
            raise ChecklistError(
                f'{label}: unknown field "{sorted(bad)[0]}"',
                fix=f"an override may change {', '.join(sorted(OVERRIDE_KEYS))}",
            )
        item = copy.deepcopy(items[key])
        if "severity" in change:
            item.severity = _severity(change["severity"], label)
        if "params" in change:
            item.params = _params(item.check, {**item.params, **(change["params"] or {})}, label)
        if "what_to_request" in change:
            item.what_to_request = str(change["what_to_request"] or "").strip()
        items[key] = item
    for key in raw.get("disable") or []:
        if key not in items:
            raise ChecklistError(
                f"{where}: disable: no criterion {key} in the extended criteria",
                fix="check the id in the extended file",
            )
        del items[key]
    defaults = raw.get("example_defaults") or {}
    for i, spec in enumerate(raw.get("items") or []):
        item = _item(spec, i, where, defaults)
        if item.id in items:
            raise ChecklistError(
                f"{where}: criterion {item.id}: duplicate id",
                fix="criterion ids must be unique; use overrides: to change an extended one",
            )
        items[item.id] = item
    if not items:
        raise ChecklistError(f"{where}: has no criteria", fix="add items: or extends:")
    return CriteriaSet(
        name=str(raw["criteria"]),
        title=str(raw["title"]),
        version=str(raw["version"]),
        items=list(items.values()),
        description=str(raw.get("description") or "").strip(),
        source=where,
        builtin=builtin,
    )


def _severity(value: Any, where: str) -> str:
    return validate_severity(value, where, SEVERITIES)


def _params(check: str, params: Any, where: str) -> dict[str, Any]:
    return validate_params(CRITERION_KINDS[check].params, check, params, where)


def _item(spec: Any, position: int, where: str, defaults: dict) -> Criterion:
    item_id, label = validate_item_fields(
        spec, position, where, ITEM_KEYS, REQUIRED_ITEM_KEYS, noun="criterion"
    )
    if "what_to_request" in spec and not isinstance(spec["what_to_request"], str):
        raise ChecklistError(f'{label}: field "what_to_request" must be text')
    check = spec["check"]
    if check not in CRITERION_KINDS:
        raise ChecklistError(
            f'{label}: unknown check kind "{check}"',
            fix=f"criterion kinds are {', '.join(sorted(CRITERION_KINDS))}",
        )
    _examples(spec["examples"], label)
    return Criterion(
        id=item_id,
        title=spec["title"].strip(),
        severity=_severity(spec["severity"], label),
        check=check,
        params=_params(check, spec.get("params") or {}, label),
        why=spec["why"].strip(),
        fix=spec["fix"].strip(),
        what_to_request=str(spec.get("what_to_request") or "").strip(),
        reference=spec["reference"].strip(),
        examples=spec["examples"],
        description=str(spec.get("description") or "").strip(),
        example_defaults=defaults,
        source=where,
    )


def _examples(examples: Any, label: str) -> None:
    validate_examples(examples, label, met="met", unmet="not met")


def example_frames(item: Criterion, case: dict) -> dict[str, list[dict]]:
    """An example mini export with the file's example_defaults filled in."""
    return {
        table: [{**item.example_defaults.get(table, {}), **row} for row in rows]
        for table, rows in case.items()
    }


# --------------------------------------------------------------------------- running


def run_criteria(picture: Picture, criteria: CriteriaSet) -> pd.DataFrame:
    """Every criterion for every episode: RESULT_COLUMNS, one row per (episode, criterion).

    A result that names no note cites the episode's latest note, so every result has evidence.
    """
    eps = picture.episodes
    parts = []
    for item in criteria.items:
        out = CRITERION_KINDS[item.check].fn(picture, item.params).reindex(eps.index)
        out["status"] = out["status"].fillna("not_evaluable")
        out["flag"] = out["flag"].fillna("") if "flag" in out else ""
        out["ask"] = out["ask"].fillna("") if "ask" in out else ""
        last_dates = eps["last_date"].dt.strftime("%Y-%m-%d").fillna("")
        ids, dates = out["note_ids"].tolist(), out["dates"].tolist()
        cited = [isinstance(v, list) and len(v) > 0 for v in ids]
        fallback = zip(cited, eps["last_note_id"], last_dates, strict=True)
        pairs = [(ids[i], dates[i]) if ok else ([n], [d]) for i, (ok, n, d) in enumerate(fallback)]
        out["note_ids"] = pd.Series([p[0] for p in pairs], index=eps.index, dtype=object)
        out["dates"] = pd.Series([p[1] for p in pairs], index=eps.index, dtype=object)
        out["criterion_id"] = item.id
        out["title"] = item.title
        out["severity"] = item.severity
        parts.append(out.rename_axis("episode_id").reset_index())
    if not parts:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]


def status_matrix(results: pd.DataFrame) -> pd.DataFrame:
    """episode x criterion table of statuses."""
    return results.pivot(index="episode_id", columns="criterion_id", values="status")
