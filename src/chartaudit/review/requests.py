"""Which episodes to review: open authorization requests (or --episode), matched to episodes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ChartauditError
from ..export import Export
from ..load import DATE_FIX, unreadable_notices
from ..model import SOURCE_FILE, SOURCE_ROW, TABLES

# Status words of a request still waiting for a decision, and of a closed one.
OPEN_STATUS = r"(?i)pend|request|open|submit|review|receiv|await|in[ _-]?progress|new\b"
FINAL_STATUS = r"(?i)deni|declin|withdr|cancel|closed|expired|void|complete|reject"
APPROVED_STATUS = r"(?i)approv|authori[sz]ed|active|granted|partial"

REQUEST_COLUMNS = [
    "auth_id",
    "request_status",
    "request_date",
    "requested_visits",
    "requested_through",
    "approved_visits",
    "approved_auths",
    "open_request",
    # The approved authorizations still current on the request date (their window holds it):
    # labels, visits approved, window. Their unused visits cover part of the request's period.
    "current_auths",
    "current_approved",
    "current_start",
    "current_end",
]
# One row per authorization request not reviewed (and per authorization row rejected at load).
NOT_REVIEWED_COLUMNS = ["file", "row", "auth_id", "column", "reason", "fix"]
AUTH_COLUMNS = set(TABLES["authorizations"]) | {"note_id"}


@dataclass
class RequestAccount:
    """What became of every authorization row: read = reviewed + not_reviewed + rejected +
    not_selected + decided. `listed` names each request not reviewed and each row rejected at
    load (NOT_REVIEWED_COLUMNS); `notices` are for the reviewer (e.g. no requested_visits)."""

    read: int = 0
    reviewed: int = 0  # open requests reviewed: the latest of each reviewed episode
    not_reviewed: int = 0  # open requests loaded but not reviewed (listed, with why)
    rejected: int = 0  # rows rejected at load (listed)
    not_selected: int = 0  # open requests of episodes that --episode left out
    decided: int = 0  # approved, denied or closed rows: the history, not requests
    listed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NOT_REVIEWED_COLUMNS))
    notices: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """'Authorization rows read 11 = 4 requests reviewed + 1 rejected at load + …'."""
        parts = [f"{self.reviewed:,} request(s) reviewed"]
        for n, words in (
            (self.not_reviewed, "open request(s) not reviewed"),
            (self.rejected, "rejected at load (not reviewed)"),
            (self.not_selected, "open request(s) of episodes not selected with --episode"),
            (self.decided, "already decided (approved, denied or closed)"),
        ):
            if n:
                parts.append(f"{n:,} {words}")
        return f"Authorization rows read {self.read:,} = " + " + ".join(parts)


def episode_starts(notes: pd.DataFrame) -> pd.DataFrame:
    """One row per episode: patient, discipline, first and last date of service."""
    g = notes.groupby("episode_id", sort=False)
    out = pd.DataFrame(
        {
            "patient_id": g["patient_id"].first(),
            "discipline": g["discipline"].first(),
            "first_date": g["date_of_service"].min(),
            "last_date": g["date_of_service"].max(),
        }
    )
    out.index.name = "episode_id"
    return out


def classify_authorizations(auths: pd.DataFrame) -> pd.DataFrame:
    """Authorizations with `is_open` (a request awaiting a decision) and `is_approved` flags."""
    status = auths["status"].astype("string").fillna("")
    final = status.str.contains(FINAL_STATUS, regex=True)
    openish = status.str.contains(OPEN_STATUS, regex=True) & ~final
    approved = (
        (
            status.str.contains(APPROVED_STATUS, regex=True)
            | ((status == "") & auths["approved_visits"].notna())
        )
        & ~openish
        & ~final
    )
    undecided = auths["requested_visits"].notna() & auths["approved_visits"].isna()
    is_open = ~final & (openish | (~approved & undecided))
    out = auths.copy()
    out["is_open"] = is_open.fillna(False).astype(bool).to_numpy()
    out["is_approved"] = (approved & ~is_open).fillna(False).astype(bool).to_numpy()
    return out


def match_episodes(auths: pd.DataFrame, episodes: pd.DataFrame) -> pd.Series:
    """Episode id of each authorization: its own episode_id when the export knows it; when
    episode_id is blank, the patient's latest episode (same discipline when given) that started
    on or before the request. An episode_id the notes do not have matches nothing (NA): the
    request is for an episode the export does not hold, not for the patient's other one."""
    result = pd.Series(pd.NA, index=auths.index, dtype=object)
    given = auths["episode_id"].astype(object)
    known = given.isin(episodes.index) & given.notna()
    result[known] = given[known]
    rest = auths.loc[given.isna() & auths["patient_id"].notna()]
    if rest.empty:
        return result
    ref = rest["request_date"].fillna(rest["start"])
    cand = pd.DataFrame(
        {
            "row": rest.index.to_numpy(),
            "patient_id": rest["patient_id"].astype(object).to_numpy(),
            "discipline_auth": rest["discipline"].astype(object).to_numpy(),
            "ref": ref.to_numpy(),
        }
    ).merge(
        episodes.reset_index()[["episode_id", "patient_id", "discipline", "first_date"]].astype(
            {"patient_id": object}
        ),
        on="patient_id",
    )
    same = cand["discipline_auth"].isna() | (cand["discipline_auth"] == cand["discipline"])
    started = cand["ref"].isna() | (cand["first_date"] <= cand["ref"])
    cand = cand[same.to_numpy(bool) & started.to_numpy(bool)]
    cand = cand.sort_values(["row", "first_date"]).drop_duplicates("row", keep="last")
    result.loc[cand["row"].to_numpy()] = cand["episode_id"].to_numpy()
    return result


def select_requests(export: Export, episode_ids: list[str] | None = None) -> pd.DataFrame:
    """The episodes to review, indexed by episode_id, with their request (REQUEST_COLUMNS).

    Without `episode_ids`: every episode with an open request in `authorizations`. Raises
    ChartauditError when there is neither an authorizations table nor --episode, or when a
    given episode id is not in the export.
    """
    return account_requests(export, episode_ids)[0]


def account_requests(
    export: Export, episode_ids: list[str] | None = None
) -> tuple[pd.DataFrame, RequestAccount]:
    """select_requests' frame, and the account of every authorization row: which requests
    are reviewed, which are not and why (file, row, column, reason, fix), and the counts."""
    notes = export.notes
    episodes = episode_starts(notes)
    auths = export.table("authorizations")
    wanted = list(dict.fromkeys(episode_ids or []))
    if auths is None and not wanted:
        empty = [f.path for f in export.files if f.table == "authorizations" and not f.rows_read]
        what = (
            f"the authorizations file {', '.join(empty)} holds no rows"
            if empty
            else "the export has no authorizations table"
        )
        raise ChartauditError(
            f"nothing to review: {what} and no --episode was given",
            fix="pass --episode EPISODE_ID (repeat for several), or export the authorization "
            "requests as authorizations.csv (auth_id, patient_id, episode_id, status, "
            "request_date, requested_visits, approved_visits, ...)",
        )
    for n, ep in enumerate(wanted, start=1):
        if ep not in episodes.index:
            raise ChartauditError(
                f"--episode #{n} ({_shown(ep)}) is not an episode id of this export",
                fix="use the notes' episode_id values (derived ids look like PATIENT-PT-1); "
                "`chartaudit inspect` shows the columns loaded",
            )
    rejected = rejected_requests(export.rejected)
    account = RequestAccount(rejected=len(rejected), listed=rejected)
    if auths is None or auths.empty:
        frame = pd.DataFrame(index=pd.Index(wanted, name="episode_id", dtype=object))
        for col in REQUEST_COLUMNS:
            frame[col] = pd.NA
        frame["approved_auths"] = ""
        frame["current_auths"] = ""
        frame["open_request"] = False
        account.read = len(rejected)
        return _typed(frame), account
    a = classify_authorizations(auths)
    # A row with a value that could not be read is left out, as a row rejected at load was.
    unread = _unreadable(export, a)
    read_all = len(a)
    a = a.drop(index=unread.index)
    given = a["episode_id"].astype(object)
    a["episode_id"] = match_episodes(a, episodes).to_numpy()
    unknown = given.notna() & a["episode_id"].isna()
    unmatched = given.isna() & a["episode_id"].isna()
    a["_label"] = a["auth_id"].astype("string").fillna("(no auth_id)")
    unlinked = a[unknown & a["is_approved"]]
    if len(unlinked):
        account.notices.append(
            _rows_text(unlinked)
            + ": approved authorization(s) whose episode_id is not an episode_id of the notes "
            "are not counted as visits approved for any episode. Correct episode_id to the "
            "episode's id in the notes, or leave it blank to match the patient's episode"
        )
    a = a.assign(_given=given)
    # A patient with no notes at all: no episode of theirs can be matched, blank or not.
    no_notes = ~a["patient_id"].astype(object).isin(episodes["patient_id"].astype(object))
    problems = [
        _listed(auths.loc[unread.index], unread["column"], unread["reason"], unread["fix"]),
        _listed(
            a[unknown & a["is_open"]],
            "episode_id",
            "episode_id '"
            + a["_given"].astype(str).str.slice(0, 40)
            + "' is not an episode_id of the notes; the request is not reviewed against "
            "another episode"
            + pd.Series(
                np.where(no_notes, "; this patient has no notes in the export", ""),
                index=a.index,
            ),
            pd.Series(
                np.where(
                    no_notes,
                    "check that the export holds this patient's notes (none has their "
                    "patient_id), or correct patient_id and episode_id, then run the review "
                    "again",
                    "correct episode_id to the id this episode of care has in the notes (or "
                    "leave it blank to match the patient's latest episode of that "
                    "discipline), then run the review again",
                ),
                index=a.index,
            ),
        ),
        _unmatched(a[unmatched & a["is_open"]], episodes),
    ]
    matched = a[a["episode_id"].notna()]
    approved = matched[matched["is_approved"]]
    approved_sum = approved.groupby("episode_id")["approved_visits"].sum(min_count=1)
    approved_ids = approved.groupby("episode_id")["_label"].agg("; ".join)
    opened = matched[matched["is_open"]]
    if wanted:
        chosen = wanted
    else:
        chosen = list(dict.fromkeys(opened["episode_id"].tolist()))
    # The latest open request per episode; an episode given with --episode that has none is
    # reviewed without a request (no requested visits, the whole record).
    in_chosen = opened[opened["episode_id"].isin(chosen)].sort_values(
        ["episode_id", "request_date"], na_position="first", kind="stable"
    )
    last = ~in_chosen.duplicated("episode_id", keep="last")
    latest = in_chosen[last].set_index("episode_id")
    earlier = in_chosen[~last]
    if len(earlier):
        later = earlier["episode_id"].map(latest["_label"]).astype(str)
        when = earlier["episode_id"].map(latest["request_date"])
        when_text = when.dt.strftime("%Y-%m-%d").fillna("undated").astype(str)
        problems.append(
            _listed(
                earlier,
                "status",
                "another open request of the same episode is later ("
                + later
                + ", requested "
                + when_text
                + "); only an episode's latest open request is reviewed",
                "record the decision already made on this request in its status (approved, "
                "denied, withdrawn), or fold its visits into the latest request",
            )
        )
    account.listed = pd.concat([rejected, *problems], ignore_index=True)[NOT_REVIEWED_COLUMNS]
    account.read = read_all + len(rejected)
    account.reviewed = len(latest)
    account.not_reviewed = len(account.listed) - len(rejected)
    account.not_selected = int((~opened["episode_id"].isin(chosen)).sum())
    account.decided = int((~a["is_open"]).sum())
    # The notes', goals' and measures' values that could not be read shape the picture too.
    account.notices += unreadable_notices(
        export.unreadable[export.unreadable["table"] != "authorizations"]
    )
    if not export.has("authorizations.requested_visits"):
        files = sorted({f.path for f in export.files if f.table == "authorizations"})
        where = ", ".join(files) or "the authorizations table"
        account.notices.append(
            f"{where}: no requested_visits column, so the number of visits requested is not "
            "known for any request and every approval is pended for it. Add a requested_visits "
            "column, or map yours in chartaudit-mapping.yaml under "
            'tables.authorizations.columns: {requested_visits: "Your Column"}'
        )
    else:
        blank = latest[latest["requested_visits"].isna()]
        if len(blank):
            account.notices.append(
                _rows_text(blank)
                + ": requested_visits is blank; the request is reviewed, and an approval is "
                "pended until the number of visits requested is on file. Fill in "
                "requested_visits (a whole number of visits)"
            )
    frame = pd.DataFrame(index=pd.Index(chosen, name="episode_id", dtype=object))
    frame["auth_id"] = latest["auth_id"].reindex(frame.index)
    frame["request_status"] = latest["status"].reindex(frame.index)
    frame["request_date"] = latest["request_date"].reindex(frame.index)
    frame["requested_visits"] = latest["requested_visits"].reindex(frame.index)
    frame["requested_through"] = latest["requested_through"].reindex(frame.index)
    frame["open_request"] = frame.index.isin(latest.index)
    frame["approved_visits"] = approved_sum.reindex(frame.index)
    frame["approved_auths"] = approved_ids.reindex(frame.index).fillna("")
    on = latest["request_date"].reindex(approved["episode_id"]).to_numpy(dtype="datetime64[ns]")
    current = approved[
        (approved["end"].to_numpy(dtype="datetime64[ns]") >= on)
        & (approved["start"].isna().to_numpy(bool) | (approved["start"].to_numpy() <= on))
    ].groupby("episode_id")
    frame["current_auths"] = current["_label"].agg("; ".join).reindex(frame.index).fillna("")
    frame["current_approved"] = current["approved_visits"].sum(min_count=1).reindex(frame.index)
    frame["current_start"] = current["start"].min().reindex(frame.index)
    frame["current_end"] = current["end"].max().reindex(frame.index)
    return _typed(frame), account


def _shown(value: str, limit: int = 40) -> str:
    """A value the user typed, quoted for a message and cut to `limit` characters."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _rows_text(frame: pd.DataFrame) -> str:
    """'authorizations.csv row 4 (A-12), row 9 (A-15)' for the rows of a loaded table."""
    parts = []
    for file, rows in frame.groupby(SOURCE_FILE, sort=False):
        items = [
            f"row {r} ({lab})" for r, lab in zip(rows[SOURCE_ROW], rows["_label"], strict=True)
        ]
        more = f" and {len(items) - 5} more" if len(items) > 5 else ""
        parts.append(f"{file} " + ", ".join(items[:5]) + more)
    return "; ".join(parts)


def _listed(frame: pd.DataFrame, column, reason, fix) -> pd.DataFrame:
    """NOT_REVIEWED_COLUMNS rows for loaded authorization rows (`column`, `reason` and `fix`
    each one text or a Series by row)."""

    def per_row(value):
        return value if isinstance(value, str) else value.reindex(frame.index).to_numpy(object)

    return pd.DataFrame(
        {
            "file": frame[SOURCE_FILE].astype(str).to_numpy(dtype=object),
            "row": frame[SOURCE_ROW].to_numpy(),
            "auth_id": frame["auth_id"].astype(object).to_numpy(),
            "column": per_row(column),
            "reason": per_row(reason),
            "fix": per_row(fix),
        },
        columns=NOT_REVIEWED_COLUMNS,
    )


def _unreadable(export: Export, auths: pd.DataFrame) -> pd.DataFrame:
    """The authorization rows with a value the loader could not read (Export.unreadable), by
    their index in `auths`: the column(s), the reason and the fix."""
    found = export.unreadable[export.unreadable["table"] == "authorizations"]
    if found.empty:
        return pd.DataFrame(columns=["column", "reason", "fix"])
    at = pd.MultiIndex.from_arrays(
        [auths[SOURCE_FILE].astype(str), auths[SOURCE_ROW].astype(np.int64)]
    ).get_indexer(pd.MultiIndex.from_arrays([found["file"].astype(str), found["row"]]))
    found = found.assign(at=auths.index.to_numpy()[at])[at >= 0]
    fix = np.where(
        found["expected"] == "a date",
        DATE_FIX,
        "write " + found["column"] + " as a whole number of visits, e.g. 12",
    )
    found = found.assign(
        reason=found["column"]
        + " '"
        + found["value"].astype(str)
        + "' could not be read as "
        + found["expected"]
        + ", so the row is left out of the review",
        fix=fix,
    )
    return found.groupby("at", sort=True).agg(
        column=("column", ", ".join),
        reason=("reason", "; ".join),
        fix=("fix", lambda f: "; ".join(dict.fromkeys(f))),
    )


def _unmatched(frame: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """Open requests without episode_id that no episode of the patient matches."""
    if frame.empty:
        return _listed(frame, "patient_id", "", "")
    has_notes = frame["patient_id"].astype(object).isin(episodes["patient_id"].astype(object))
    discipline = frame["discipline"].astype("string").fillna("")
    of = np.where(discipline != "", " of discipline " + discipline, "")
    date = frame["request_date"].fillna(frame["start"]).dt.strftime("%Y-%m-%d").fillna("")
    by = np.where(date != "", " started on or before the request date " + date, "")
    reason = pd.Series(
        np.where(
            frame["patient_id"].isna(),
            "patient_id and episode_id are blank, so the request matches no episode",
            np.where(
                has_notes,
                "episode_id is blank and no episode of this patient" + of + by,
                "episode_id is blank and this patient_id has no notes in the export",
            ),
        ),
        index=frame.index,
    )
    return _listed(
        frame,
        "patient_id",
        reason,
        "set episode_id to the notes' episode_id of the episode this request is for, or "
        "correct patient_id, discipline or request_date",
    )


def rejected_requests(rejected: pd.DataFrame) -> pd.DataFrame:
    """The authorization rows rejected at load as NOT_REVIEWED_COLUMNS: the loader's reason,
    the column(s) it names and the fix."""
    rej = rejected[rejected["table"] == "authorizations"]
    reasons = rej["reason"].astype(str)
    parts = [_explain(r) for r in reasons]
    return pd.DataFrame(
        {
            "file": rej["file"].astype(str).to_numpy(dtype=object),
            "row": rej["row"].to_numpy(),
            "auth_id": (
                rej["auth_id"].astype(object).to_numpy()
                if "auth_id" in rej.columns
                else np.full(len(rej), pd.NA, dtype=object)
            ),
            "column": [p[0] for p in parts],
            "reason": ["rejected at load: " + p[1] for p in parts],
            "fix": [p[2] for p in parts],
        },
        columns=NOT_REVIEWED_COLUMNS,
    )


_COLUMN_AT = re.compile(r"^(?:missing |the authorizations file has no )?([a-z_]+)\b")
_DATE_FIX = re.compile(r" \((write it as [^)]*)\)")


def _explain(reason: str) -> tuple[str, str, str]:
    """(columns, reason, fix) of a loader's rejection reason ("; "-joined problems)."""
    columns, texts, fixes = [], [], []
    for part in reason.split("; "):
        found = _COLUMN_AT.match(part)
        column = found.group(1) if found and found.group(1) in AUTH_COLUMNS else ""
        date_fix = _DATE_FIX.search(part)
        if date_fix:
            fix = date_fix.group(1)
            part = part[: date_fix.start()] + part[date_fix.end() :]
        elif part.startswith("missing "):
            fix = f"fill in {column or 'the value'} on this row"
        elif "is not a number" in part:
            fix = f"write {column} as a whole number of visits, e.g. 12"
        elif "has no" in part and "column" in part:
            fix = (
                f"add a {column} column, or map yours in chartaudit-mapping.yaml under "
                f'tables.authorizations.columns: {{{column}: "Your Column"}}'
            )
        elif part.startswith("note_id"):
            fix = "correct note_id to a note of the notes table, or leave it blank"
        elif "fields" in part or "quote" in part:
            fix = "re-export the file, or close the quote so the row has the header's fields"
        else:
            fix = "correct the row in the export"
        if column and column not in columns:
            columns.append(column)
        texts.append(part)
        if fix not in fixes:
            fixes.append(fix)
    return ", ".join(columns), "; ".join(texts), "; ".join(fixes)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["request_date"] = pd.to_datetime(frame["request_date"]).astype("datetime64[ns]")
    frame["requested_through"] = pd.to_datetime(frame["requested_through"]).astype("datetime64[ns]")
    for col in ("current_start", "current_end"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    for col in ("requested_visits", "approved_visits", "current_approved"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["auth_id"] = frame["auth_id"].astype(object)
    frame["current_auths"] = frame["current_auths"].astype(object)
    frame["request_status"] = frame["request_status"].astype(object)
    frame["open_request"] = frame["open_request"].astype(bool)
    return frame
