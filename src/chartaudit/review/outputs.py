"""Write the review: determinations.csv/.xlsx, episode pages, letters and an index, atomically."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..model import DETERMINATION_COLUMNS
from ..privacy import Redactor
from ..report.files import write_csv, write_rejected_rows
from ..report.safety import FORMULA_START
from ..report.staging import staged
from . import Review
from .render import Views, build_views, environment, index_rows, render

CRITERIA_SHEET_COLUMNS = [
    "episode_id",
    "criterion_id",
    "title",
    "severity",
    "status",
    "message",
    "evidence",
]


def write_review(
    review: Review,
    out_dir: Path,
    redactor: Redactor | None = None,
    reviewer: str | None = None,
) -> tuple[list[Path], Views]:
    """Write every output into `out_dir` (all or nothing); returns the final paths and views."""
    views = build_views(review, redactor, reviewer)
    env = environment()
    names: list[str] = []
    with staged(Path(out_dir)) as stage:
        dets = views.determinations[DETERMINATION_COLUMNS]
        write_csv(dets, stage / "determinations.csv")
        criteria = _criteria_sheet(views)
        write_csv(views.not_reviewed, stage / "not-reviewed.csv")
        write_xlsx(
            {"Determinations": dets, "Criteria": criteria, "Not reviewed": views.not_reviewed},
            stage / "determinations.xlsx",
        )
        names += ["determinations.csv", "determinations.xlsx", "not-reviewed.csv"]
        if review.rejected is not None:
            write_rejected_rows(review.rejected, redactor, stage)
            names.append("rejected.csv")
        (stage / "episodes").mkdir()
        (stage / "letters").mkdir()
        for v in views.episodes:
            files = v["files"]
            _write(stage, "episodes", files["page"], render(env, "episode.html", v=v), names)
            if files["request_info"]:
                html = render(env, "request_info.html", v=v)
                _write(stage, "letters", files["request_info"], html, names)
            if files["determination"]:
                html = render(env, "determination.html", v=v)
                _write(stage, "letters", files["determination"], html, names)
            html = render(env, "justification.html", v=v)
            _write(stage, "letters", files["justification"], html, names)
        counts = Counter(v["recommendation"]["code"] for v in views.episodes)
        meta = {
            "count": len(views.episodes),
            "criteria": f"{review.criteria.name} {review.criteria.version}",
            "policy": f"{review.policy.name} {review.policy.version}",
            "counts": ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none",
            "account": views.account,
            "notices": views.notices,
            "rejected": 0 if review.rejected is None else len(review.rejected),
        }
        html = render(
            env,
            "index.html",
            rows=index_rows(views),
            meta=meta,
            not_reviewed=views.not_reviewed.fillna("").to_dict("records"),
        )
        (stage / "index.html").write_text(html, encoding="utf-8")
        names.append("index.html")
    out = Path(out_dir)
    return [out / n for n in names], views


def _write(stage: Path, folder: str, name: str, html: str, names: list[str]) -> None:
    target = (stage / folder / name).resolve()
    # File names come from export text: make sure they cannot leave their folder.
    if target.parent != (stage / folder).resolve():
        raise ValueError("unsafe output file name")
    target.write_text(html, encoding="utf-8")
    names.append(f"{folder}/{name}")


def _criteria_sheet(views: Views) -> pd.DataFrame:
    r = views.results
    if r is None or r.empty:
        return pd.DataFrame(columns=CRITERIA_SHEET_COLUMNS)
    evidence = [
        "; ".join(f"{views.note_labels.get(n, '')} ({d})" for n, d in zip(ids, dates, strict=False))
        for ids, dates in zip(r["note_ids"], r["dates"], strict=True)
    ]
    return pd.DataFrame(
        {
            "episode_id": r["episode_id"].map(views.labels).to_numpy(dtype=object),
            "criterion_id": r["criterion_id"].to_numpy(dtype=object),
            "title": r["title"].to_numpy(dtype=object),
            "severity": r["severity"].to_numpy(dtype=object),
            "status": r["status"].to_numpy(dtype=object),
            "message": r["message"].to_numpy(dtype=object),
            "evidence": evidence,
        }
    )


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """A workbook with one sheet per frame: frozen bold header, filter, readable widths.

    Text is written as text: a cell starting with = + - @ is stored as a string with Excel's
    quote prefix, never as a formula.
    """
    wb = Workbook()
    wb.remove(wb.active)
    header_fill = PatternFill("solid", fgColor="EEF1F4")
    for title, frame in sheets.items():
        ws = wb.create_sheet(title)
        columns = list(frame.columns)
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
        for row in frame.itertuples(index=False):
            values = []
            for value in row:
                if value is None or (not isinstance(value, str) and pd.isna(value)):
                    values.append(None)
                elif hasattr(value, "item"):
                    values.append(value.item())
                else:
                    values.append(value)
            ws.append(values)
        for col_cells in ws.iter_cols(min_row=2):
            for cell in col_cells:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                    cell.data_type = "s"  # openpyxl took it for a formula
                    cell.quotePrefix = True
        for i, col in enumerate(columns, start=1):
            lengths = [len(str(col))] + [
                len(str(v)) for v in frame[col].head(200).tolist() if v is not None
            ]
            width = min(max(lengths) + 2, 70)
            ws.column_dimensions[get_column_letter(i)].width = width
            if width >= 70:
                for cell in ws[get_column_letter(i)][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        if ws.max_row > 1:
            ws.auto_filter.ref = ws.dimensions
    wb.save(path)
