"""The determination policy: ordered rules over criterion statuses, first match wins.

Loaded strictly from YAML (the built-in policy.yaml or --policy FILE). Whatever the rules
say, an episode whose record documents a skilled maintenance need is never recommended for
denial (Jimmo v. Sebelius): the policy's `maintenance_guard` (approve or partial) applies and
the episode is flagged for the reviewer. And an approval (in whole or in part) of an open
request whose number of visits is not on file becomes a pend asking for that number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ChecklistError
from .criteria import STATUSES, CriteriaSet, builtin_dir, read_yaml
from .picture import unused_text

RECOMMENDATIONS = ("approve", "partial", "deny", "pend")
POLICY_KEYS = {"policy", "title", "version", "description", "maintenance_guard", "rules"}
RULE_KEYS = {
    "id",
    "title",
    "when",
    "recommend",
    "visits",
    "frequency",
    "level_of_care",
    "reason",
    "flag",
    "request",
}
GUARD_KEYS = {"recommend", "visits", "frequency", "level_of_care", "reason", "flag"}
WHEN_KEYS = ("all", "any", "none")
FRACTION_KEYS = {"fraction", "minimum", "maximum"}
MAINTENANCE_KIND = "maintenance_need"
VISITS_NOT_ON_FILE_RULE = "pend-visits-not-on-file"
NO_RULE_MATCHED = "no-rule-matched"
DEFAULT_GUARD = {
    "recommend": "approve",
    "visits": "requested",
    "level_of_care": "skilled maintenance program at the planned frequency",
    "flag": "maintenance — reviewer to confirm",
    "reason": "The record documents a skilled maintenance need; denial for lack of progress "
    "is not recommended.",
}


@dataclass
class Rule:
    """One policy rule: conditions on criterion statuses and the recommendation they give."""

    id: str
    recommend: str
    when: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    title: str = ""
    # "requested" | "plan" | "attended" | int | {"fraction", "minimum", "maximum"} | None
    visits: Any = None
    frequency: str | None = None  # "lower" | "delivered" | text
    level_of_care: str = ""
    reason: str = ""
    flag: str = ""
    request: list[str] = field(default_factory=list)

    def criteria(self) -> list[str]:
        return [c for part in self.when.values() for c in part]


@dataclass
class Policy:
    name: str
    title: str
    version: str
    rules: list[Rule]
    guard: Rule
    description: str = ""
    source: str = ""


def load_policy(path: Path | str | None, criteria: CriteriaSet) -> Policy:
    """Read and strictly validate a policy file against the loaded criteria."""
    builtin = path is None
    path = Path(path) if path is not None else builtin_dir() / "policy.yaml"
    where = "policy.yaml (built in)" if builtin else str(path)
    if not path.is_file():
        raise ChecklistError(f"{where}: policy file not found", fix="give the path to a YAML file")
    raw = read_yaml(path, where, "policy, title, version and rules")
    unknown = set(raw) - POLICY_KEYS
    if unknown:
        raise ChecklistError(
            f'{where}: unknown key "{sorted(unknown)[0]}"',
            fix=f"policy keys are {', '.join(sorted(POLICY_KEYS))}",
        )
    for k in ("policy", "title", "version", "rules"):
        if not raw.get(k):
            raise ChecklistError(f'{where}: missing "{k}"', fix=f"add {k}: at the top")
    if not isinstance(raw["rules"], list):
        raise ChecklistError(f"{where}: rules: expected a list of rules")
    ids = set(criteria.ids)
    rules: list[Rule] = []
    for i, spec in enumerate(raw["rules"]):
        rule = _rule(spec, f"{where}: rules[{i}]", where, ids, RULE_KEYS)
        if any(r.id == rule.id for r in rules):
            raise ChecklistError(f"{where}: rule {rule.id}: duplicate id", fix="rename one")
        rules.append(rule)
    guard_spec = raw.get("maintenance_guard") or {}
    if not isinstance(guard_spec, dict):
        raise ChecklistError(f"{where}: maintenance_guard: expected a mapping")
    guard = _rule(
        {"id": "maintenance-guard", **DEFAULT_GUARD, **guard_spec},
        f"{where}: maintenance_guard",
        where,
        ids,
        GUARD_KEYS | {"id"},
        label=f"{where}: maintenance_guard",
    )
    if guard.recommend not in ("approve", "partial"):
        raise ChecklistError(
            f"{where}: maintenance_guard: recommend must be approve or partial, not "
            f"{guard.recommend!r}",
            fix="a documented skilled maintenance need is never a reason to deny (Jimmo)",
        )
    return Policy(
        name=str(raw["policy"]),
        title=str(raw["title"]),
        version=str(raw["version"]),
        rules=rules,
        guard=guard,
        description=str(raw.get("description") or "").strip(),
        source=where,
    )


def _rule(
    spec: Any, position: str, where: str, ids: set[str], keys: set[str], label: str = ""
) -> Rule:
    if not isinstance(spec, dict):
        raise ChecklistError(f"{position}: expected a mapping with id, when and recommend")
    rule_id = spec.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ChecklistError(f'{position}: missing "id"', fix="give every rule an id")
    label = label or f"{where}: rule {rule_id}"
    unknown = set(spec) - keys
    if unknown:
        raise ChecklistError(
            f'{label}: unknown key "{sorted(unknown)[0]}"',
            fix=f"rule keys are {', '.join(sorted(keys))}",
        )
    recommend = spec.get("recommend")
    if recommend not in RECOMMENDATIONS:
        raise ChecklistError(
            f'{label}: field "recommend": {recommend!r} is not a recommendation',
            fix=f"use one of {', '.join(RECOMMENDATIONS)}",
        )
    when = _when(spec.get("when"), label, ids)
    visits = spec.get("visits", _default_visits(recommend))
    visits = _visits(visits, recommend, label)
    frequency = spec.get("frequency")
    if frequency is not None and not isinstance(frequency, str):
        raise ChecklistError(f'{label}: field "frequency" must be text such as lower or 1x/week')
    for k in ("title", "level_of_care", "reason", "flag"):
        if k in spec and not isinstance(spec[k], str):
            raise ChecklistError(f'{label}: field "{k}" must be text')
    request = spec.get("request") or []
    if not isinstance(request, list) or not all(isinstance(r, str) for r in request):
        raise ChecklistError(f'{label}: field "request" must be a list of criterion ids')
    for r in request:
        if r not in ids:
            raise ChecklistError(
                f'{label}: field "request": unknown criterion "{r}"',
                fix=f"criteria are {', '.join(sorted(ids))}",
            )
    return Rule(
        id=rule_id.strip(),
        recommend=recommend,
        when=when,
        title=str(spec.get("title") or "").strip(),
        visits=visits,
        frequency=frequency,
        level_of_care=str(spec.get("level_of_care") or "").strip(),
        reason=" ".join(str(spec.get("reason") or "").split()),
        flag=str(spec.get("flag") or "").strip(),
        request=list(request),
    )


def _default_visits(recommend: str) -> Any:
    return {"approve": "requested", "deny": 0, "partial": None, "pend": None}[recommend]


def _when(spec: Any, label: str, ids: set[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    if spec is None:
        return {}
    if not isinstance(spec, dict) or not spec:
        raise ChecklistError(
            f'{label}: field "when": expected all:/any:/none: mappings of criterion: status'
        )
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, conditions in spec.items():
        if key not in WHEN_KEYS:
            raise ChecklistError(
                f'{label}: unknown condition "{key}"',
                fix="conditions are all:, any: and none:, each a mapping of criterion: status",
            )
        if not isinstance(conditions, dict) or not conditions:
            raise ChecklistError(f"{label}: when.{key}: expected a mapping of criterion: status")
        part: dict[str, tuple[str, ...]] = {}
        for criterion, status in conditions.items():
            if criterion not in ids:
                raise ChecklistError(
                    f'{label}: when.{key}: unknown criterion "{criterion}"',
                    fix=f"the criteria in use are {', '.join(sorted(ids))}; a policy may only "
                    "name those (pass --policy with your own rules when your criteria file "
                    "disables some)",
                )
            values = [status] if isinstance(status, str) else status
            if not isinstance(values, list) or not values:
                raise ChecklistError(f"{label}: when.{key}.{criterion}: expected a status")
            for v in values:
                if v not in STATUSES:
                    raise ChecklistError(
                        f"{label}: when.{key}.{criterion}: unknown status {v!r}",
                        fix=f"use {', '.join(STATUSES)}",
                    )
            part[criterion] = tuple(values)
        out[key] = part
    return out


def _visits(value: Any, recommend: str, label: str) -> Any:
    if recommend == "pend":
        if value not in (None, 0):
            raise ChecklistError(f'{label}: field "visits": a pend recommends no visits')
        return None
    if value is None:
        raise ChecklistError(
            f'{label}: field "visits" is needed for {recommend}',
            fix="use requested, a number, or {fraction: 0.5, minimum: 1}",
        )
    if value in ("plan", "attended"):
        what = {
            "plan": "the visits the plan of care supports",
            "attended": "the visits the frequency delivered needs",
        }[value]
        if recommend != "partial":
            raise ChecklistError(
                f'{label}: field "visits": {value} ({what}) is for a partial approval',
                fix="use requested for an approval",
            )
        return value
    if value == "requested":
        if recommend in ("partial", "deny"):
            raise ChecklistError(
                f'{label}: field "visits": a {recommend} cannot give the visits requested'
            )
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        if recommend == "deny" and value > 2:
            raise ChecklistError(
                f'{label}: field "visits": a deny allows at most 2 transition visits',
                fix="use partial for more visits",
            )
        return value
    if isinstance(value, dict) and recommend != "deny":
        bad = set(value) - FRACTION_KEYS
        if bad or "fraction" not in value:
            raise ChecklistError(
                f'{label}: field "visits": expected {{fraction: 0.5, minimum: 1, maximum: N}}'
                + (f' (unknown key "{sorted(bad)[0]}")' if bad else "")
            )
        frac = value["fraction"]
        if not isinstance(frac, int | float) or isinstance(frac, bool) or not 0 < frac <= 1:
            raise ChecklistError(f'{label}: field "visits.fraction" must be between 0 and 1')
        for k in ("minimum", "maximum"):
            if k == "maximum" and value.get(k) == "plan":
                continue
            if k in value and (not isinstance(value[k], int) or isinstance(value[k], bool)):
                raise ChecklistError(
                    f'{label}: field "visits.{k}" must be a whole number'
                    + (" (or plan)" if k == "maximum" else "")
                )
        return dict(value)
    raise ChecklistError(
        f'{label}: field "visits": {value!r} is not requested, plan, attended, a number or a '
        "fraction",
        fix="use requested, plan, attended, a number, or {fraction: 0.5, minimum: 1}",
    )


# --------------------------------------------------------------------------- deciding


def _recommended_visits(rule: Rule, episodes: pd.DataFrame) -> pd.Series:
    """Visits the rule recommends for each episode (NaN when not computable); "plan" is what
    the current plan of care supports from the request on, less the approved visits still
    unused that fall in that period (picture: plan_needed_visits), "attended" the same at the
    frequency delivered (attended_visits)."""
    requested = episodes["requested_visits"]
    plan = episodes["plan_supported_visits"]
    spec = rule.visits
    if spec is None:
        return pd.Series(np.nan, index=requested.index)
    if spec == "requested":
        return requested.astype("float64")
    if spec in ("plan", "attended"):
        column = {"plan": "plan_needed_visits", "attended": "attended_visits"}[spec]
        needed = episodes[column]
        fewer = needed.isna() | (needed < requested)  # a partial is always fewer than requested
        return needed.where(fewer, requested - 1).clip(lower=0).astype("float64")
    if isinstance(spec, int):
        # A few transition visits, never more than were requested, less those the approved
        # visits still unused pay for.
        few = requested.clip(upper=float(spec)).fillna(float(spec))
        return (few - _transition_covered(spec, episodes)).clip(lower=0).astype("float64")
    visits = np.floor(requested * float(spec["fraction"]) + 0.5)
    if "minimum" in spec:
        visits = visits.clip(lower=spec["minimum"])
    if spec.get("maximum") == "plan":
        visits = visits.where(~(visits > plan), plan)
    elif "maximum" in spec:
        visits = visits.clip(upper=spec["maximum"])
    if rule.recommend == "partial":
        # A partial approval is always fewer visits than requested.
        visits = visits.where(visits < requested, requested - 1).clip(lower=0)
    return visits.astype("float64")


def _transition_covered(spec: int, episodes: pd.DataFrame) -> pd.Series:
    """Of `spec` transition visits, those the approved visits still unused pay for (as many
    as fit before they run out at the plan's frequency: picture plan_covered)."""
    return episodes["plan_covered"].fillna(0).clip(upper=float(spec))


def _visits_basis(rule: Rule, episodes: pd.DataFrame, visits: pd.Series) -> pd.Series:
    """How the number of visits was counted when approved visits still unused bear on it
    ('Visits: the plan's frequency needs 8 from … to …; 4 approved visits of A-1 are still
    unused until 2026-11-06 and pay for 1 of them, so 7 are recommended.'); '' otherwise, and
    for `attended`, whose criterion (UM-ATTENDANCE) gives the same count."""
    unused = episodes["unused_visits"].fillna(0)
    out = pd.Series("", index=episodes.index, dtype=object)
    has = (unused > 0).to_numpy(bool) & visits.notna().to_numpy(bool)
    if not has.any() or rule.visits == "attended":
        return out
    e = episodes[has]
    spare = unused_text(e["unused_visits"], e["current_auths"], e["unused_until"])
    if rule.visits == "plan":
        covered = e["plan_covered"]
        text = (
            "Visits: the plan's frequency needs "
            + _number(e["plan_supported_visits"])
            + " from "
            + e["window_start"].dt.strftime("%Y-%m-%d")
            + " to "
            + e["window_end"].dt.strftime("%Y-%m-%d")
            + "; "
            + spare
            + np.where(covered > 0, " and pay for " + _number(covered) + " of them", "")
            + ", so "
            + _number(visits[has])
            + np.where(visits[has] == 1, " is recommended.", " are recommended.")
        )
    elif isinstance(rule.visits, int) and rule.visits > 0:
        covered = _transition_covered(rule.visits, e)
        text = (
            "Visits: "
            + spare
            + np.where(
                covered > 0,
                " and pay for " + _number(covered) + " of the transition visit(s), so ",
                "; ",
            )
            + _number(visits[has])
            + np.where(visits[has] == 1, " more is recommended.", " more are recommended.")
        )
    else:
        text = "Note: " + spare + "; the visits recommended here are in addition to them."
    out[has] = text.to_numpy(dtype=object)
    return out


def _number(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "?" if pd.isna(v) else f"{v:g}").astype(object)


def _lower_frequency(episodes: pd.DataFrame) -> pd.Series:
    """One visit a week fewer than planned (at least weekly; every other week below that)."""
    low = episodes["planned_low"]
    lower = (low - 1).clip(lower=1)
    text = lower.map(lambda v: "" if pd.isna(v) else f"{v:g}x/week").astype(object)
    text[(low <= 1).fillna(False)] = "every other week"
    text[low.isna()] = "a lower frequency than planned"
    return text


def decide(
    results: pd.DataFrame, episodes: pd.DataFrame, criteria: CriteriaSet, policy: Policy
) -> pd.DataFrame:
    """The recommendation for each episode.

    Returns one row per episode (index episode_id): recommendation, recommended_visits,
    level_of_care, rule_id, rule_reason, visits_basis (how the number was counted when
    approved visits still unused bear on it), because (criterion ids the rule rested on), flags,
    request_ids (criteria the request-for-information letter asks about), criteria_failed
    and criteria_not_evaluable (see _pended_on).
    """
    idx = episodes.index
    status = results.pivot(index="episode_id", columns="criterion_id", values="status")
    status = status.reindex(index=idx, columns=criteria.ids).fillna("not_evaluable")
    decided = np.zeros(len(idx), bool)
    out = pd.DataFrame(index=idx)
    out["recommendation"] = pd.Series(pd.NA, index=idx, dtype=object)
    out["recommended_visits"] = np.nan
    out["level_of_care"] = ""
    out["rule_id"] = ""
    out["rule_reason"] = ""
    out["flags"] = ""
    out["visits_basis"] = ""
    because = pd.Series([[] for _ in range(len(idx))], index=idx, dtype=object)
    extra_request = pd.Series([[] for _ in range(len(idx))], index=idx, dtype=object)
    lower = _lower_frequency(episodes)
    delivered = (
        "about "
        + episodes["delivered_per_week"].map(lambda v: f"{v:g}").astype(str)
        + " visits/week (the frequency delivered)"
    )

    def apply(rule: Rule, mask: np.ndarray) -> None:
        visits = _recommended_visits(rule, episodes)
        out.loc[mask, "recommendation"] = rule.recommend
        out.loc[mask, "recommended_visits"] = visits[mask]
        out.loc[mask, "visits_basis"] = _visits_basis(rule, episodes, visits)[mask]
        loc = pd.Series(rule.level_of_care, index=idx, dtype=object)
        if rule.frequency == "lower":
            loc = loc + np.where(loc != "", " at ", "") + lower
        elif rule.frequency == "delivered":
            loc = loc + np.where(loc != "", " at ", "") + delivered
        elif rule.frequency:
            loc = loc + np.where(loc != "", " at ", "") + rule.frequency
        out.loc[mask, "level_of_care"] = loc[mask]
        out.loc[mask, "rule_id"] = rule.id
        out.loc[mask, "rule_reason"] = rule.reason
        if rule.flag:
            out.loc[mask, "flags"] = rule.flag

    for rule in policy.rules:
        hold = np.ones(len(idx), bool)
        matched: list[tuple[str, np.ndarray]] = []
        for key, conditions in rule.when.items():
            masks = {c: status[c].isin(v).to_numpy(bool) for c, v in conditions.items()}
            if key == "all":
                part = np.logical_and.reduce(list(masks.values()))
                matched += [(c, m) for c, m in masks.items()]
            elif key == "any":
                part = np.logical_or.reduce(list(masks.values()))
                matched += [(c, m) for c, m in masks.items()]
            else:
                part = ~np.logical_or.reduce(list(masks.values()))
            hold &= part
        take = hold & ~decided
        if not take.any():
            continue
        apply(rule, take)
        for c, m in matched:
            for pos in np.flatnonzero(take & m):
                because.iat[pos] = because.iat[pos] + [c]
        for pos in np.flatnonzero(take):
            extra_request.iat[pos] = list(rule.request) + (
                because.iat[pos] if rule.recommend == "pend" else []
            )
        decided |= take
    if not decided.all():
        # No rule matched and the policy has no fallback: the reviewer decides.
        out.loc[~decided, "recommendation"] = "pend"
        out.loc[~decided, "rule_id"] = NO_RULE_MATCHED
        out.loc[~decided, "rule_reason"] = "No rule of the policy applies; the reviewer decides."

    maintenance = [c.id for c in criteria.items if c.check == MAINTENANCE_KIND]
    if maintenance:
        documented = np.logical_or.reduce(
            [(status[c] == "met").to_numpy(bool) for c in maintenance]
        )
        guarded = documented & (out["recommendation"] == "deny").to_numpy(bool)
        if guarded.any():
            apply(policy.guard, guarded)
            out.loc[guarded, "flags"] = policy.guard.flag
            for pos in np.flatnonzero(guarded):
                because.iat[pos] = because.iat[pos] + maintenance
    # Flags the criteria raise (e.g. recertification needed) ride along whatever the rule.
    if "flag" in results.columns:
        raised = results[results["flag"].astype(str) != ""]
        raised = raised.groupby("episode_id")["flag"].agg(lambda f: "; ".join(dict.fromkeys(f)))
        raised = raised.reindex(idx).fillna("")
        both = (out["flags"] != "") & (raised != "")
        out["flags"] = out["flags"] + np.where(both, "; ", "") + raised
    # A discharge summary dated after the request: the care may have ended without the visits.
    if "discharged_note_id" in episodes.columns:
        gone = episodes["discharged_note_id"].notna().to_numpy(bool)
        if gone.any():
            text = (
                "discharged after the request ("
                + episodes["discharged_note_id"].astype(str)
                + ", "
                + episodes["discharged_date"].dt.strftime("%Y-%m-%d").fillna("")
                + ") — confirm the request still stands"
            ).to_numpy(dtype=object)
            has = (out["flags"] != "").to_numpy(bool)
            out.loc[gone, "flags"] = (
                np.where(has[gone], out["flags"].to_numpy(dtype=object)[gone] + "; ", "")
                + text[gone]
            )
    # A partial approval of no visit: the approved visits still unused pay for all the visits
    # counted, and the reviewer decides whether a new authorization is needed yet.
    covered_all = (
        (out["recommendation"] == "partial").to_numpy(bool)
        & (out["recommended_visits"] == 0).to_numpy(bool)
        & (episodes["unused_visits"].fillna(0) > 0).to_numpy(bool)
    )
    if covered_all.any():
        has = (out["flags"] != "").to_numpy(bool)
        text = "the approved visits still unused pay for every visit counted: no new visit yet"
        out.loc[covered_all, "flags"] = (
            np.where(has[covered_all], out["flags"].to_numpy(dtype=object)[covered_all] + "; ", "")
            + text
        )
    # Notes left out of the picture as date errors (CHK-DATA-01): the reviewer must know that
    # the visits and the frequency counted may be too few.
    if "excluded_text" in episodes.columns:
        left = (episodes["excluded_text"].astype(str) != "").to_numpy(bool)
        if left.any():
            text = (
                "note(s) dated before the evaluation left out as date errors (CHK-DATA-01): "
                + episodes["excluded_text"].astype(str)
            ).to_numpy(dtype=object)
            has = (out["flags"] != "").to_numpy(bool)
            out.loc[left, "flags"] = (
                np.where(has[left], out["flags"].to_numpy(dtype=object)[left] + "; ", "")
                + text[left]
            )
    # An approval of "the visits requested" (or fewer) needs that number: without it, pend.
    no_count = (
        episodes["open_request"].astype(bool) & episodes["requested_visits"].isna()
    ).to_numpy(bool) & out["recommendation"].isin(["approve", "partial"]).to_numpy(bool)
    if no_count.any():
        would = out.loc[no_count, "recommendation"].map(
            {"approve": "approval", "partial": "approval in part"}
        )
        out.loc[no_count, "recommendation"] = "pend"
        out.loc[no_count, "recommended_visits"] = np.nan
        out.loc[no_count, "level_of_care"] = ""
        out.loc[no_count, "rule_id"] = VISITS_NOT_ON_FILE_RULE
        out.loc[no_count, "visits_basis"] = ""
        out.loc[no_count, "rule_reason"] = (
            "The number of visits requested is not on file for this request, so no number of "
            "visits can be recommended; the treating therapist is asked for it (the criteria "
            "alone would support " + would + ")."
        )
    out["because"] = because
    severity = {c.id: c.severity for c in criteria.items}
    failed_ids = [c for c in criteria.ids if severity[c] != "info"]
    failed = pd.Series([[] for _ in range(len(idx))], index=idx, dtype=object)
    for c in failed_ids:
        for pos in np.flatnonzero((status[c] == "not_met").to_numpy(bool)):
            failed.iat[pos] = failed.iat[pos] + [c]
    out["criteria_failed"] = failed.map("; ".join)
    out["criteria_not_evaluable"] = _pended_on(out, status, extra_request, policy, criteria)
    askable = {c.id for c in criteria.items if c.what_to_request}
    missing = status.apply(lambda col: col == "not_met")  # episode x criterion, few columns
    requests = []
    for pos, ep in enumerate(idx):
        wanted = [c for c in criteria.ids if c in askable and missing.at[ep, c]]
        # The rule's own requests (and a pend's reasons) are asked even without what_to_request.
        wanted += [c for c in extra_request.iat[pos] if c not in wanted]
        requests.append(wanted)
    out["request_ids"] = pd.Series(requests, index=idx, dtype=object)
    return out


def _pended_on(
    out: pd.DataFrame, status: pd.DataFrame, asked: pd.Series, policy: Policy, criteria: CriteriaSet
) -> pd.Series:
    """Per episode, '; '-joined, the criteria a pend rests on that the record does not allow
    to evaluate: those of the pend rule's conditions and requests (`asked`); for a pend by a
    rule without conditions (a fallback) or by no rule, when none of those, every criterion
    not evaluable. A pend for the number of visits and any other recommendation rest on none.
    (criteria_failed lists only criteria not met: for such a pend it would say none.)"""
    scored = [c.id for c in criteria.items if c.severity != "info"]
    ne = status[scored] == "not_evaluable"
    fallback = {r.id for r in policy.rules if not r.when} | {NO_RULE_MATCHED}
    names = []
    for ep, rec, rule, wanted in zip(
        out.index, out["recommendation"], out["rule_id"], asked, strict=True
    ):
        found = []
        if rec == "pend" and rule != VISITS_NOT_ON_FILE_RULE:
            found = [c for c in dict.fromkeys(wanted) if c in ne.columns and ne.at[ep, c]]
            if not found and rule in fallback:
                found = [c for c in scored if ne.at[ep, c]]
        names.append("; ".join(found))
    return pd.Series(names, index=out.index, dtype=object)
