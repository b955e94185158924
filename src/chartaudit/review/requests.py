"""Which episodes to review: open authorization requests (or --episode), matched to episodes."""

from __future__ import annotations

import pandas as pd

from ..errors import ChartauditError
from ..export import Export

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
]


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
    """Episode id of each authorization: its own episode_id when the export knows it, else the
    patient's latest episode (same discipline when given) that started on or before the request."""
    result = pd.Series(pd.NA, index=auths.index, dtype=object)
    given = auths["episode_id"].astype(object)
    known = given.isin(episodes.index) & given.notna()
    result[known] = given[known]
    rest = auths.loc[~known & auths["patient_id"].notna()]
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
    notes = export.notes
    episodes = episode_starts(notes)
    auths = export.table("authorizations")
    wanted = list(dict.fromkeys(episode_ids or []))
    if auths is None and not wanted:
        raise ChartauditError(
            "nothing to review: the export has no authorizations table and no --episode was given",
            fix="pass --episode EPISODE_ID (repeat for several), or export the authorization "
            "requests as authorizations.csv (auth_id, patient_id, episode_id, status, "
            "request_date, requested_visits, approved_visits, ...)",
        )
    for n, ep in enumerate(wanted, start=1):
        if ep not in episodes.index:
            raise ChartauditError(
                f"--episode #{n} is not an episode id of this export",
                fix="use the notes' episode_id values (derived ids look like PATIENT-PT-1); "
                "`chartaudit inspect` shows the columns loaded",
            )
    if auths is None or auths.empty:
        frame = pd.DataFrame(index=pd.Index(wanted, name="episode_id", dtype=object))
        for col in REQUEST_COLUMNS:
            frame[col] = pd.NA
        frame["approved_auths"] = ""
        frame["open_request"] = False
        return _typed(frame)
    a = classify_authorizations(auths)
    a["episode_id"] = match_episodes(a, episodes).to_numpy()
    a = a[a["episode_id"].notna()]
    approved = a[a["is_approved"]]
    approved_sum = approved.groupby("episode_id")["approved_visits"].sum(min_count=1)
    approved_ids = (
        approved.assign(label=approved["auth_id"].astype("string").fillna("(no id)"))
        .groupby("episode_id")["label"]
        .agg("; ".join)
    )
    opened = a[a["is_open"]]
    if wanted:
        chosen = wanted
    else:
        chosen = list(dict.fromkeys(opened["episode_id"].tolist()))
    # The latest open request per episode; an episode given with --episode that has none is
    # reviewed without a request (no requested visits, the whole record).
    latest = (
        opened[opened["episode_id"].isin(chosen)]
        .sort_values(["episode_id", "request_date"], na_position="first")
        .drop_duplicates("episode_id", keep="last")
        .set_index("episode_id")
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
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["request_date"] = pd.to_datetime(frame["request_date"]).astype("datetime64[ns]")
    frame["requested_through"] = pd.to_datetime(frame["requested_through"]).astype("datetime64[ns]")
    for col in ("requested_visits", "approved_visits"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["auth_id"] = frame["auth_id"].astype(object)
    frame["request_status"] = frame["request_status"].astype(object)
    frame["open_request"] = frame["open_request"].astype(bool)
    return frame
