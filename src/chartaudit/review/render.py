"""HTML of the review: episode pages, letters and an index, rendered from jinja2 templates.

Python groups, computes and masks; the templates only loop. Every string that came from the
export is escaped by jinja2 autoescape (no |safe on export text) and, under --redact, has
patient ids replaced by their pseudonyms and patient names masked before it reaches a template.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from ..episodes import with_credential
from ..instruments import threshold_limits
from ..privacy import Redactor
from ..stats import not_reserved
from . import RECOMMENDATION_LABEL, Review, rationales
from .picture import fmt_score
from .requests import NOT_REVIEWED_COLUMNS

TEMPLATES = Path(__file__).resolve().parent / "templates"
APPEAL_PLACEHOLDER = (
    "[Insert the appeal-rights text from the official notice (e.g. CMS-10003 for Medicare "
    "Advantage)]"
)
DISCIPLINE_NAME = {"PT": "physical therapy", "OT": "occupational therapy", "SLP": "speech therapy"}
NOTE_TYPE_NAME = {
    "evaluation": "Evaluation",
    "re_evaluation": "Re-evaluation",
    "daily": "Daily note",
    "progress": "Progress report",
    "recertification": "Recertification",
    "discharge": "Discharge summary",
}
STATUS_LABEL = {"met": "Met", "not_met": "Not met", "not_evaluable": "Not evaluable"}


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --------------------------------------------------------------------------- masking


class Masker:
    """Under --redact: patient ids and the reviewed requests' authorization ids become
    pseudonyms wherever they occur, names are masked."""

    def __init__(
        self,
        redactor: Redactor | None,
        patient_ids: pd.Series,
        auth_ids: pd.Series | None = None,
    ) -> None:
        self.redactor = redactor
        self.pseudonym: dict[str, str] = {}
        self.pattern: re.Pattern | None = None
        if redactor is None:
            return
        ids = pd.Series(patient_ids.dropna().astype(str).unique(), dtype=object)
        ids = ids[ids.str.len() >= 2]
        self.pseudonym = dict(zip(ids, redactor.patient_ids(ids), strict=True))
        if auth_ids is not None:
            auths = pd.Series(auth_ids.dropna().astype(str).unique(), dtype=object)
            auths = auths[(auths.str.len() >= 2) & ~auths.isin(self.pseudonym)]
            self.pseudonym.update(zip(auths, redactor.auth_ids(auths), strict=True))
        if self.pseudonym:
            keys = sorted(self.pseudonym, key=len, reverse=True)
            alternation = "|".join(re.escape(i) for i in keys)
            self.pattern = re.compile(f"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])")

    @property
    def active(self) -> bool:
        return self.redactor is not None

    def text(self, values: pd.Series) -> pd.Series:
        """Free text or identifiers with patient ids pseudonymised and names masked."""
        out = values.astype(object).where(values.notna(), "")
        if self.redactor is None:
            return out
        if self.pattern is not None:
            pattern, table = self.pattern, self.pseudonym
            out = out.map(lambda t: pattern.sub(lambda m: table[m.group(0)], str(t)))
        return self.redactor.text(out)

    def one(self, value: Any) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        return str(self.text(pd.Series([value], dtype=object)).iat[0])

    def patient(self, values: pd.Series) -> pd.Series:
        if self.redactor is None:
            return values.astype(object)
        return self.redactor.patient_ids(values)

    def episode(self, values: pd.Series) -> pd.Series:
        if self.redactor is None:
            return values.astype(object)
        return self.redactor.episode_ids(values)


def safe_file_names(labels: pd.Series) -> pd.Series:
    """File-name stems from (export-written) episode labels: [A-Za-z0-9._-] only, no leading
    dot, at most 80 characters, no Windows device name, unique (collisions get -2, -3 …)."""
    stem = labels.astype(str).str.replace(r"[^A-Za-z0-9._-]+", "_", regex=True)
    stem = stem.str.lstrip("._-").str.slice(0, 80)
    stem = stem.where(stem != "", "episode").map(lambda s: not_reserved(s, "_episode"))
    count = stem.groupby(stem).cumcount()
    return stem.where(count == 0, stem + "-" + (count + 1).astype(str))


# --------------------------------------------------------------------------- chart


def measure_chart(rows: list[dict[str, Any]], width: int = 440, height: int = 190) -> dict:
    """Coordinates of an inline SVG line chart of one instrument's administrations (dicts
    with date, score, mcid, mdc, note_label, in date order), the MCID band (baseline ± MCID;
    the MDC when no MCID is on file) shaded."""
    left, right, top, bottom = 52, 16, 16, 38
    dates = [pd.Timestamp(r["date"]) for r in rows]
    scores = [float(r["score"]) for r in rows]
    baseline = scores[0]
    mcid, mdc = rows[-1]["mcid"], rows[-1]["mdc"]
    band, band_name = (mcid, "MCID") if pd.notna(mcid) else (mdc, "MDC")
    band = float(band) if pd.notna(band) else None
    lo, hi = min(scores), max(scores)
    if band is not None:
        lo, hi = min(lo, baseline - band), max(hi, baseline + band)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    days = [(d - dates[0]).days for d in dates]
    span = float(days[-1]) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(d: float) -> float:
        return left + (d / span) * plot_w if len(days) > 1 else left + plot_w / 2

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    points = [
        {
            "x": f"{x(d):.1f}",
            "y": f"{y(v):.1f}",
            "label": _score(v, r),
            "title": f"{_score(v, r)} on {t:%Y-%m-%d} ({r['note_label']})",
        }
        for d, v, t, r in zip(days, scores, dates, rows, strict=True)
    ]
    chart: dict[str, Any] = {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "points": points,
        "y_hi": f"{hi:.4g}",
        "y_lo": f"{lo:.4g}",
        "x_first": f"{dates[0]:%Y-%m-%d}",
        "x_last": f"{dates[-1]:%Y-%m-%d}",
        "baseline_y": f"{y(baseline):.1f}",
        "band": None,
        "band_caption": f"no MCID or MDC on file for {rows[0]['instrument']}",
    }
    if band is not None:
        chart["band"] = {
            "y": f"{y(baseline + band):.1f}",
            "height": f"{y(baseline - band) - y(baseline + band):.1f}",
        }
        chart["band_caption"] = (
            f"shaded: baseline {_score(baseline, rows[0])} ± {band_name} {band:g} (change "
            "inside the band is "
            f"below the {band_name})"
        )
    return chart


# --------------------------------------------------------------------------- views


@dataclass
class Views:
    """Per-episode template contexts, file names, and the masked determinations table."""

    episodes: list[dict[str, Any]] = field(default_factory=list)
    determinations: pd.DataFrame | None = None
    results: pd.DataFrame | None = None
    labels: dict[str, str] = field(default_factory=dict)  # episode id -> shown (pseudonym)
    note_labels: dict[str, str] = field(default_factory=dict)  # note id -> shown
    # Requests not reviewed and authorization rows rejected at load (NOT_REVIEWED_COLUMNS),
    # the count of every authorization row, and notices for the reviewer; masked.
    not_reviewed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=NOT_REVIEWED_COLUMNS)
    )
    account: str = ""
    notices: list[str] = field(default_factory=list)


def _dates(values: list) -> list[str]:
    return [str(v) for v in values] if isinstance(values, list) else []


def build_views(
    review: Review, redactor: Redactor | None = None, reviewer: str | None = None
) -> Views:
    """Everything the pages and letters show, masked under --redact."""
    pic = review.picture
    eps = pic.episodes
    masker = Masker(redactor, eps["patient_id"], _auth_ids(review))
    ep_label = masker.episode(pd.Series(eps.index, index=eps.index, dtype=object))
    stems = safe_file_names(ep_label)
    patient_label = masker.patient(eps["patient_id"])
    if not masker.active:
        named = eps["patient_name"].notna()
        patient_label = patient_label.where(
            ~named, eps["patient_name"].astype(str) + " (" + eps["patient_id"].astype(str) + ")"
        )
    # Masked copies of every export-derived text the views use.
    notes = pic.notes.assign(label=masker.text(pic.notes["note_id"]).to_numpy())
    note_label = dict(zip(pic.notes["note_id"], notes["label"], strict=True))
    results = review.results.copy()
    results["message"] = masker.text(results["message"]).to_numpy()
    results["excerpt"] = masker.text(results["excerpt"]).to_numpy()
    results["ask"] = masker.text(results["ask"]).to_numpy()
    goals = pic.goals.assign(text=masker.text(pic.goals["text"]).to_numpy())
    findings = pic.findings.assign(message=masker.text(pic.findings["message"]).to_numpy())
    measures = pic.measures.assign(
        note_label=pic.measures["note_id"].map(note_label),
        text=masker.text(pic.measures["text"]).to_numpy() if len(pic.measures) else [],
    )
    dets = review.determinations.copy()
    dets["episode_id"] = ep_label.to_numpy()
    dets["patient_id"] = masker.patient(dets["patient_id"]).to_numpy()
    # Flags and the count of visits name notes and authorizations: masked like the messages.
    decided = review.decisions.loc[eps.index].copy()
    for col in ("flags", "visits_basis"):
        decided[col] = masker.text(decided[col]).to_numpy()
    # Built again from the masked messages: masking the whole text would also mask a name
    # that is a word of the rule's reason or of a criterion id ("UM-PROGRESS-MCID").
    dets["rationale"] = rationales(decided, results)
    auth_ids = masker.text(eps["auth_id"])
    approved_auths = masker.text(eps["approved_auths"])
    criteria = {c.id: c for c in review.criteria.items}
    # Plain records grouped by episode once: per-episode pandas indexing is slow at scale.
    by_ep_results = _grouped(results)
    by_ep_goals = _grouped(goals)
    by_ep_findings = _grouped(findings)
    by_ep_measures = _grouped(measures.sort_values(["episode_id", "instrument", "date"]))
    by_ep_notes = _grouped(notes)
    scored = (
        measures.assign(
            s=measures["instrument"].astype(str)
            + " "
            + fmt_score(measures["score"], measures["decimals"])
        )
        .groupby("note_id")["s"]
        .agg(", ".join)
        .to_dict()
        if len(measures)
        else {}
    )
    episodes = eps.to_dict("index")
    decisions = decided.to_dict("index")
    excluded = pic.excluded if pic.excluded is not None else pd.DataFrame(columns=["episode_id"])
    by_ep_excluded = _grouped(
        excluded.assign(
            label=masker.text(excluded["note_id"]).to_numpy() if len(excluded) else [],
            reason=masker.text(excluded["reason"]).to_numpy() if len(excluded) else [],
        )
    )
    rationale = dets["rationale"].tolist()
    name, credentials = _reviewer(reviewer)
    today = dt.date.today().isoformat()
    views = Views(
        determinations=dets,
        results=results,
        labels=dict(zip(eps.index, ep_label, strict=True)),
        note_labels=note_label,
    )
    if review.account is not None:
        listed = review.account.listed.copy()
        for col in ("auth_id", "reason"):
            listed[col] = masker.text(listed[col]).to_numpy(dtype=object)
        views.not_reviewed = listed[NOT_REVIEWED_COLUMNS].reset_index(drop=True)
        views.account = review.account.summary()
    # The loader's notices (unread columns, placeholders …), as `run` prints them, then the
    # requests'.
    account_notices = review.account.notices if review.account is not None else []
    notices = pd.Series([*review.notices, *account_notices], dtype=object)
    views.notices = masker.text(notices).tolist()
    for pos, ep in enumerate(eps.index):
        e = episodes[ep]
        d = decisions[ep]
        crit_rows = []
        for r in by_ep_results.get(ep, []):
            c = criteria[r["criterion_id"]]
            crit_rows.append(
                {
                    "id": r["criterion_id"],
                    "title": r["title"],
                    "severity": r["severity"],
                    "status": r["status"],
                    "status_label": STATUS_LABEL[r["status"]],
                    "message": r["message"],
                    "excerpt": r["excerpt"],
                    "evidence": [
                        # (masker.one only for a note outside the picture: as .get's
                        # default it ran, and masked, for every piece of evidence)
                        {"note": note_label[n] if n in note_label else masker.one(n), "date": dt_}
                        for n, dt_ in zip(r["note_ids"], _dates(r["dates"]), strict=False)
                    ],
                    "why": c.why,
                    "ask": " ".join(x for x in (c.what_to_request or c.fix, r["ask"]) if x),
                    "fix": c.fix,
                    "reference": c.reference,
                }
            )
        by_id = {c["id"]: c for c in crit_rows}
        because = [by_id[c] for c in dict.fromkeys(d["because"]) if c in by_id]
        missing = [by_id[c] for c in d["request_ids"] if c in by_id]
        unevaluable = [by_id[c] for c in d["criteria_not_evaluable"].split("; ") if c in by_id]
        visits_unknown = bool(e["open_request"]) and _blank(e["requested_visits"])
        if visits_unknown:
            missing.insert(0, _visits_not_on_file(auth_ids.iat[pos], _day(e["request_date"])))
        # Not met, or not evaluable where the reviewer asks for what is missing: a plateau
        # that cannot be judged yet (too few reports) is no weakness to defend.
        asked = set(d["request_ids"])
        not_supported = [
            c
            for c in crit_rows
            if c["severity"] != "info"
            and c["id"] != "UM-UTILIZATION"
            and (c["status"] == "not_met" or (c["status"] != "met" and c["id"] in asked))
        ]
        charts, measure_rows, instruments = _measure_views(by_ep_measures.get(ep, []))
        goal_rows = [
            {
                "term": _text(r["term"]),
                "text": r["text"],
                "status": (
                    f"met by score: {r['reached_by']} reaches the target "
                    f"(recorded {_text(r['status']).replace('_', ' ') or 'without a status'})"
                    if r["target_reached"] and not_closed(r["status"])
                    else _text(r["status"]).replace("_", " ") or "not recorded"
                ),
                "open": not_closed(r["status"]) and not r["target_reached"],
                "target_date": _day(r["target_date"]),
                "note": "" if _blank(r["note_id"]) else note_label.get(r["note_id"], ""),
                "date": _day(r["date"]),
                "measurable": bool(r["measure"] and r["time_frame"]),
            }
            for r in by_ep_goals.get(ep, [])
        ]
        finding_rows = [
            {
                "date": _day(r["date"]),
                "note": note_label.get(r["note_id"], ""),
                "item": r["item_id"],
                "title": r["title"],
                "severity": r["severity"],
                "message": r["message"],
            }
            for r in by_ep_findings.get(ep, [])
        ]
        timeline = [
            {
                "date": r["date_text"],
                "note": r["label"],
                "type": NOTE_TYPE_NAME.get(r["note_type"], _text(r["note_type"])),
                "author": with_credential(r["therapist"], r["credential"]),
                "visit": int(r["visit_no"]),
                "measures": scored.get(r["note_id"], ""),
            }
            for r in by_ep_notes.get(ep, [])
        ]
        left_out = [
            {
                "note": r["label"],
                "type": NOTE_TYPE_NAME.get(r["note_type"], _text(r["note_type"])),
                "reason": r["reason"],
            }
            for r in by_ep_excluded.get(ep, [])
        ]
        rec = str(d["recommendation"])
        stem = stems.iat[pos]
        view = {
            "today": today,
            "episode": ep_label.iat[pos],
            "stem": stem,
            "patient": patient_label.iat[pos],
            "redacted": masker.active,
            "discipline": str(e["discipline"]),
            "discipline_name": DISCIPLINE_NAME.get(str(e["discipline"]), str(e["discipline"])),
            "therapist": _text(e["therapist"]),
            "credential": _text(e["credential"]),
            # "Tom Kessler, PT": the credential once, whether or not the name carries it.
            "signed_as": with_credential(e["therapist"], e["credential"]),
            "payer": _text(e["payer"]) or "the payer",
            "payer_type": _text(e["payer_type"]).replace("_", " "),
            "setting": _text(e["setting"]),
            "diagnoses": _text(e["diagnoses"]) or "none recorded",
            "first_visit": _day(e["first_date"]),
            "first_note": note_label.get(e["first_note_id"], ""),
            "first_note_type": NOTE_TYPE_NAME.get(_text(e["first_note_type"]), ""),
            "plan_note": note_label.get(e["plan_note_id"], ""),
            "plan_date": _day(e["plan_date"]),
            "last_visit": _day(e["last_date"]),
            "poc": _interval(e["poc_start"], e["poc_end"]),
            "frequency": _text(e["frequency"]) or "not recorded",
            "duration": _text(e["duration"]) or "not recorded",
            "delivered": (
                f"{e['delivered_per_week']:g} visits/week over {e['weeks']:g} calendar weeks"
            ),
            "visits_used": int(e["visits_used"]),
            "approved_visits": _count(e["approved_visits"]),
            "approved_auths": approved_auths.iat[pos],
            "request": {
                "open": bool(e["open_request"]),
                "auth_id": auth_ids.iat[pos],
                "date": _day(e["request_date"]),
                "visits": _count(e["requested_visits"]),
                "visits_text": (
                    "visits (number requested not on file)"
                    if visits_unknown
                    else f"{_count(e['requested_visits'])} visit(s)"
                ),
                "through": _day(e["requested_through"]),
                "status": _text(e["request_status"]),
            },
            "recommendation": {
                "code": rec,
                "label": RECOMMENDATION_LABEL.get(rec, rec),
                "visits": _count(d["recommended_visits"]),
                "level_of_care": str(d["level_of_care"]),
                "rule": str(d["rule_id"]),
                "reason": str(d["rule_reason"]),
                "flags": str(d["flags"]),
                "visits_basis": str(d["visits_basis"]),
                "criteria_failed": str(d["criteria_failed"]),
                "criteria_not_evaluable": str(d["criteria_not_evaluable"]),
                "rationale": str(rationale[pos]),
            },
            "criteria": crit_rows,
            "because": because,
            "missing": missing,
            "not_evaluable": unevaluable,
            "not_supported": not_supported,
            "open_goals": [x for x in goal_rows if x["open"]],
            "met_goals": [x for x in goal_rows if not x["open"]],
            "goals": goal_rows,
            "charts": charts,
            "measures": measure_rows,
            "instruments": instruments,
            "findings": finding_rows,
            "timeline": timeline,
            "left_out": left_out,
            "skilled": by_id.get("UM-SKILLED-NEED"),
            "maintenance": by_id.get("UM-MAINTENANCE"),
            "reviewer": {"name": name, "credentials": credentials},
            "appeal_placeholder": APPEAL_PLACEHOLDER,
            "files": {
                "page": f"{stem}.html",
                "request_info": f"{stem}-request-info.html" if rec == "pend" else "",
                "determination": f"{stem}-determination.html" if rec != "pend" else "",
                "justification": f"{stem}-justification.html",
            },
        }
        views.episodes.append(view)
    return views


def _auth_ids(review: Review) -> pd.Series:
    """The authorization ids the review's texts name: the reviewed requests', the episodes'
    approved authorizations' and those of the requests not reviewed."""
    eps = review.picture.episodes
    labels = pd.concat([eps["approved_auths"], eps["current_auths"]]).astype(str)
    parts = [eps["auth_id"], labels.str.split("; ").explode()]
    if review.account is not None:
        parts.append(review.account.listed["auth_id"])
    ids = pd.concat(parts, ignore_index=True).dropna().astype(str)
    return ids[(ids != "") & (ids != "(no auth_id)")]


def _visits_not_on_file(auth_id: str, date: str) -> dict[str, Any]:
    """The request-for-information item when the request has no number of visits."""
    which = f"authorization request {auth_id}" if auth_id else "the authorization request"
    return {
        "id": "requested_visits",
        "title": "Number of visits requested",
        "status": "not_met",
        "message": f"{which}{f' of {date}' if date else ''} does not state the number of "
        "visits requested",
        "evidence": [],
        "why": "A determination approves a number of visits; without the number requested "
        "none can be recommended or compared with the plan of care's frequency and duration",
        "ask": "The number of visits requested and the date through which they are requested",
        "fix": "state the number of visits requested",
    }


def _grouped(frame: pd.DataFrame) -> dict[Any, list[dict[str, Any]]]:
    """Rows as dicts, grouped by episode_id (order kept)."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        out.setdefault(row["episode_id"], []).append(row)
    return out


def not_closed(status: Any) -> bool:
    """A goal's status that leaves it to be met (progressing, not met or not recorded)."""
    return _blank(status) or status in ("progressing", "not_met")


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, str | list) and pd.isna(value))


def _measure_views(rows: list[dict[str, Any]]) -> tuple[list, list, list]:
    """Charts, administration rows and per-instrument summaries of one episode's measures."""
    charts, table, instruments = [], [], []
    by_instrument: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_instrument.setdefault(str(r["instrument"]), []).append(r)
    for instrument, part in by_instrument.items():
        last = part[-1]
        chart = measure_chart(part)
        chart["instrument"] = instrument
        chart["direction"] = {
            "lower_better": "lower is better",
            "higher_better": "higher is better",
        }.get(last["direction"], "direction unknown")
        charts.append(chart)
        later = last["seq"] > 1
        instruments.append(
            {
                "instrument": instrument,
                "recognised": bool(last["recognised"]),
                "direction": chart["direction"],
                "baseline": _score(last["baseline"], last),
                "baseline_note": str(part[0]["note_label"]),
                "baseline_date": _day(part[0]["date"]),
                "latest": _score(last["score"], last),
                "latest_note": str(last["note_label"]),
                "latest_date": _day(last["date"]),
                "n": int(last["n"]),
                "change": _score(last["change"], last, "+") if later else "",
                "category": last["baseline_words"] if later else "",
                "mcid": "" if _blank(last["mcid"]) else f"{last['mcid']:g}",
                "mdc": "" if _blank(last["mdc"]) else f"{last['mdc']:g}",
                "source": _text(last["threshold_source"]),
                "population": _text(last["threshold_population"]),
                "caveat": _text(last["population_caveat"]),
                "limits": threshold_limits(last),
            }
        )
        for r in part:
            first = r["seq"] == 1
            table.append(
                {
                    "instrument": instrument,
                    "date": _day(r["date"]),
                    "note": str(r["note_label"]),
                    "score": _score(r["score"], r),
                    "vs_baseline": "baseline"
                    if first
                    else f"{_score(r['change'], r, '+')} ({r['baseline_words']})",
                    "vs_previous": ""
                    if first
                    else f"{_score(r['change_prev'], r, '+')} ({r['previous_words']})",
                    "source": r["source"] + (f": “{r['text']}”" if r["text"] else ""),
                }
            )
    return charts, table, instruments


def _score(value: float, row: dict[str, Any], sign: str = "") -> str:
    """A score (or a change, sign '+') with its instrument's decimals: 0.70, not 0.7."""
    decimals = int(row.get("decimals", 2))
    return f"{float(value):{sign}.{decimals}f}"


def _reviewer(reviewer: str | None) -> tuple[str, str]:
    """'Jane Doe, PT, DPT' -> ('Jane Doe', 'PT, DPT')."""
    if not reviewer or not reviewer.strip():
        return "", ""
    name, _, creds = reviewer.strip().partition(",")
    return name.strip(), creds.strip()


def _text(value: Any) -> str:
    return "" if _blank(value) else str(value)


def _day(value: Any) -> str:
    return "" if _blank(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


def _count(value: Any) -> str:
    return "" if _blank(value) else f"{float(value):g}"


def _interval(start: Any, end: Any) -> str:
    if pd.isna(start) and pd.isna(end):
        return "not recorded"
    return f"{_day(start) or '?'} to {_day(end) or '?'}"


# --------------------------------------------------------------------------- render


def render(env: jinja2.Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)


def index_rows(views: Views) -> list[dict[str, Any]]:
    return [
        {
            "episode": v["episode"],
            "patient": v["patient"],
            "discipline": v["discipline"],
            "therapist": v["therapist"],
            "requested": v["request"]["visits"] or ("not on file" if v["request"]["open"] else ""),
            "used": v["visits_used"],
            "recommendation": v["recommendation"],
            "files": v["files"],
        }
        for v in views.episodes
    ]


__all__ = [
    "APPEAL_PLACEHOLDER",
    "Masker",
    "Views",
    "build_views",
    "environment",
    "index_rows",
    "measure_chart",
    "render",
    "safe_file_names",
]
