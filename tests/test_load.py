"""The loader on real files: every format, encoding and date style, mapping, rejection."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pytest

from chartaudit.errors import InputError, MappingError
from chartaudit.load import from_frames, load_export

HEADER = (
    "note_id,patient_id,note_type,date_of_service,therapist,credential,payer,signed_at,assessment"
)
ROWS = [
    "N1,MRN1,evaluation,2026-09-01,José Núñez,DPT,Medicare Part B,2026-09-01 16:05,Café au lait ½ step",
    "N2,MRN1,daily,2026-09-03,José Núñez,PTA,Medicare Part B,2026-09-03 12:00,Gait ’training’",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def csv_text(rows=ROWS, header=HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_round_trip_accents(tmp_path, encoding):
    write(tmp_path / "notes.csv", csv_text(), encoding)
    export = load_export(tmp_path)
    notes = export.notes
    assert list(notes["therapist"]) == ["José Núñez", "José Núñez"]
    assert notes.loc[0, "assessment"] == "Café au lait ½ step"
    assert notes.loc[1, "assessment"] == "Gait ’training’"
    assert export.files[0].encoding.replace("_", "-") in {"utf-8", "utf-8-sig", "cp1252"}
    assert notes["role"].tolist() == ["therapist", "assistant"]
    assert notes["payer_type"].tolist() == ["medicare_b", "medicare_b"]


@pytest.mark.parametrize(
    "encoding, delimiter, name",
    [
        ("utf-16", "\t", "Visit Report.txt"),  # Excel's "Unicode Text": BOM, tabs, CRLF
        ("utf-16-le", ",", "notes.csv"),  # no byte-order mark
        ("utf-16-be", ",", "notes.csv"),
    ],
)
def test_utf16_exports_load_with_their_rows_numbered(tmp_path, encoding, delimiter, name):
    rows = [*ROWS, "N3,MRN2,daily,2026-09-05,Zoë Ng,PT,Aetna", "N4,MRN2,daily,2026-09-06,Zoë Ng"]
    text = csv_text(rows).replace(",", delimiter)
    write(tmp_path / name, text.replace("\n", "\r\n") if delimiter == "\t" else text, encoding)
    export = load_export(tmp_path)
    notes = export.notes
    assert notes["note_id"].tolist() == ["N1", "N2"]
    assert notes.loc[0, "therapist"] == "José Núñez"
    assert notes.loc[1, "assessment"] == "Gait ’training’"
    assert export.files[0].encoding == "utf-16"
    rejected = {r.row: r.reason for r in export.rejected.itertuples()}
    assert set(rejected) == {4, 5}  # the short rows, numbered as in the file
    assert "fields but the header has" in rejected[4]
    f = export.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (4, 2, 2)
    # The UTF-8 copy read in its place is gone.
    assert not list(Path(tempfile.gettempdir()).glob("chartaudit-*/utf-8.txt"))


def test_a_mapping_may_say_a_file_is_utf16(tmp_path):
    write(tmp_path / "Visits.csv", csv_text(), "utf-16-le")
    write(
        tmp_path / "chartaudit-mapping.yaml",
        "tables:\n  notes:\n    files: [Visits.csv]\n    encoding: utf-16-le\n",
    )
    export = load_export(tmp_path)
    assert export.notes["therapist"].tolist() == ["José Núñez", "José Núñez"]


def test_tsv_json_jsonl_and_xlsx(tmp_path):
    write(tmp_path / "a" / "notes.tsv", csv_text().replace(",", "\t"))
    assert len(load_export(tmp_path / "a").notes) == 2

    records = [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in ROWS]
    write(tmp_path / "b" / "notes.json", json.dumps(records))
    assert load_export(tmp_path / "b").notes["note_id"].tolist() == ["N1", "N2"]

    write(tmp_path / "c" / "notes.jsonl", "\n".join(json.dumps(r) for r in records))
    assert len(load_export(tmp_path / "c").notes) == 2

    (tmp_path / "d").mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(HEADER.split(","))
    for r in records:
        row = list(r.values())
        row[3] = pd.Timestamp(row[3]).to_pydatetime()  # a real Excel date cell
        ws.append(row)
    services = wb.create_sheet("Charges")
    services.append(["Doc #", "CPT", "Units", "Mins", "Modifier"])
    services.append(["N2", 97110, 2, 30, "GP CQ"])
    wb.save(tmp_path / "d" / "Export.xlsx")
    export = load_export(tmp_path / "d")
    assert export.notes["date_of_service"].dt.strftime("%Y-%m-%d").tolist() == [
        "2026-09-01",
        "2026-09-03",
    ]
    svc = export.tables["services"]
    assert svc.loc[0, "cpt_code"] == "97110" and svc.loc[0, "units"] == 2
    assert svc.loc[0, "modifiers"] == "GP,CQ" and svc.loc[0, "note_idx"] == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-01", "2026-09-01 00:00"),
        ("2026-09-01T14:30:00", "2026-09-01 14:30"),
        ("09/01/2026", "2026-09-01 00:00"),
        ("9/1/2026 2:30 PM", "2026-09-01 14:30"),
        ("09/01/2026 14:30", "2026-09-01 14:30"),
        ("46266", "2026-09-01 00:00"),  # Excel serial
        ("46266.75", "2026-09-01 18:00"),
    ],
)
def test_date_styles(text, expected):
    frame = pd.DataFrame([dict(zip(HEADER.split(","), ROWS[0].split(","), strict=True))])
    frame["signed_at"] = text
    export = from_frames({"notes": frame})
    assert export.rejected.empty
    assert export.notes.loc[0, "signed_at"].strftime("%Y-%m-%d %H:%M") == expected


def test_broken_rows_are_rejected_and_counts_reconcile(tmp_path):
    rows = ROWS + [
        ",MRN2,daily,2026-09-04,A,PT,Aetna,,x",  # no id
        "N4,MRN2,daily,02/30/2026,A,PT,Aetna,,x",  # impossible date
        "N1,MRN2,daily,2026-09-05,A,PT,Aetna,,x",  # duplicate id
        "N6,MRN2,weird type,2026-09-05,A,PT,Aetna,,x",  # unknown note type
        "N7,MRN2,daily,2026-09-05,A,PT,Aetna",  # too few fields
    ]
    write(tmp_path / "notes.csv", csv_text(rows))
    write(tmp_path / "services.csv", "note_id,cpt_code,units\nN1,97161,1\nN4,97110,x\nN9,97110,1\n")
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1", "N2"]
    rej = export.rejected
    by_row = {(r.file, r.row): r.reason for r in rej.itertuples()}
    assert by_row[("notes.csv", 4)] == "missing note_id"
    assert by_row[("notes.csv", 5)].startswith("date_of_service '02/30/2026' is not a valid date")
    assert by_row[("notes.csv", 6)].startswith("duplicate note_id N1 (first at row 2")
    assert "note_type 'weird type' is not recognised" in by_row[("notes.csv", 7)]
    assert "fields but the header has" in by_row[("notes.csv", 8)]
    assert by_row[("services.csv", 3)] == "units 'x' is not a number"
    assert by_row[("services.csv", 4)] == (
        "note_id 'N9' matches no note in notes.csv (or that note was rejected): fix the note_id "
        "or export the note"
    )
    for f in export.files:
        assert f.rows_read == f.rows_loaded + f.rows_rejected
    notes_file = next(f for f in export.files if f.table == "notes")
    assert (notes_file.rows_read, notes_file.rows_loaded, notes_file.rows_rejected) == (7, 2, 5)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rows_keep_their_spreadsheet_numbers_past_blank_lines_quoted_lines_and_bad_rows(
    tmp_path, monkeypatch, encoding, newline
):
    import chartaudit.load.files as files

    def no_slow_path(*args):  # the rows are numbered by the scan, not by the csv module
        raise AssertionError("read again with the csv module")

    monkeypatch.setattr(files, "_read_slowly", no_slow_path)
    rows = [
        ROWS[0],
        '"N2",MRN1,daily,2026-09-03,José Núñez,PTA,Medicare,,"Gait ""heel-toe""'
        + newline
        + newline
        + 'second paragraph"',  # row 3: a quoted value over three lines
        "",  # row 4: a blank line
        "N4,MRN2,daily,2026-02-30,A,PT,Aetna,,x",  # row 5: impossible date
        "N5,MRN2,daily,2026-09-05,A,PT,Aetna",  # row 6: too few fields
        "N6,MRN2,daily,2026-09-06,A,PT,Aetna,,y",
    ]
    write(tmp_path / "notes.csv", newline.join([HEADER, *rows]) + newline, encoding)
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1", "N2", "N6"]
    assert "second paragraph" in export.notes["assessment"].iloc[1]
    by_row = {r.row: r.reason for r in export.rejected.itertuples()}
    assert sorted(by_row) == [5, 6]
    assert by_row[5].startswith("date_of_service '2026-02-30' is not a valid date")
    assert by_row[6] == "row has 7 fields but the header has 9"


def test_a_quote_never_closed_names_the_lines_it_ran_over(tmp_path):
    # Row 3's last value opens a quote that the next line's first value closes: pyarrow reads
    # the two lines as one row of 17 fields.
    rows = [ROWS[0], 'N2,MRN1,daily,2026-09-03,A,PT,Aetna,,"open', ROWS[1].replace("N2,", 'N3",')]
    write(tmp_path / "notes.csv", csv_text(rows))
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1"]
    reason = export.rejected.set_index("row").loc[3, "reason"]
    assert reason == (
        "row has 17 fields but the header has 9; it runs from line 3 to line 4: a quote opened"
        " in it is likely not closed, so the lines after it were read into it"
    )


def test_a_quote_left_open_in_the_last_row_is_rejected_not_read_to_the_end(tmp_path):
    rows = [
        ROWS[0],
        'N2,MRN1,daily,2026-09-03,A,PT,Aetna,,"open quote',
        ROWS[1].replace("N2", "N3"),
    ]
    write(tmp_path / "notes.csv", csv_text(rows))
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1"]
    assert export.rejected.set_index("row").loc[3, "reason"] == (
        "a quote opened in this row is not closed: lines 3 to 4 (the end of the file) were"
        " read as one value"
    )
    notes_file = next(f for f in export.files if f.table == "notes")
    assert notes_file.rows_read == notes_file.rows_loaded + notes_file.rows_rejected


def test_mapping_file_vendor_columns_and_values(tmp_path):
    text = (
        "Doc #,MRN,Visit Type,DOS,Provider,Creds,Insurance,Signed On,Assessment Text\n"
        "A1,77,IE,09/01/2026,Kim Lee,OTR/L,Humana Gold Plus HMO,09/01/2026 4:05 PM,ok\n"
        "A2,77,TX,09/03/2026,Kim Lee,COTA,Humana Gold Plus HMO,09/04/2026 9:00 AM,ok\n"
        "A3,77,PN,09/10/2026,Kim Lee,OTR/L,Humana Gold Plus HMO,,ok\n"
        "A4,77,DC,09/20/2026,Kim Lee,OTR/L,Humana Gold Plus HMO,,ok\n"
    )
    write(tmp_path / "Visit Report Oct.csv", text, "cp1252")
    write(
        tmp_path / "chartaudit-mapping.yaml",
        """
tables:
  notes:
    files: ["Visit Report*.csv"]
    encoding: cp1252
    date_format: "%m/%d/%Y"
    columns: {credential: Creds, signed_at: "Signed On", assessment: "Assessment Text"}
    values:
      note_type: {IE: evaluation, TX: daily, PN: progress, DC: discharge}
""",
    )
    export = load_export(tmp_path)
    notes = export.notes
    assert notes["note_type"].tolist() == ["evaluation", "daily", "progress", "discharge"]
    assert notes["discipline"].tolist() == ["OT"] * 4  # from the credential
    assert notes["payer_type"].unique().tolist() == ["medicare_advantage"]
    assert notes.loc[0, "signed_at"] == pd.Timestamp("2026-09-01 16:05")
    assert notes["episode_id"].nunique() == 1  # derived: evaluation .. discharge
    assert export.files[0].columns["Doc #"] == "note_id"


def test_a_missing_column_message_says_how_many_columns_it_did_not_list(tmp_path):
    others = [f"Extra {i}" for i in range(20)]
    write(
        tmp_path / "notes.csv",
        ",".join(["note_id", "patient_id", *others]) + "\n1,2" + ",x" * 20 + "\n",
    )
    with pytest.raises(InputError) as info:
        load_export(tmp_path)
    assert "(columns found: note_id, patient_id, Extra 0," in str(info.value)
    assert "Extra 12 and 7 more)" in str(info.value)
    assert "_row" not in str(info.value)


def test_errors_name_the_file_and_fix(tmp_path):
    with pytest.raises(InputError, match="folder not found"):
        load_export(tmp_path / "missing")
    write(tmp_path / "x" / "notes.csv", "note_id,patient_id\n1,2\n")
    with pytest.raises(InputError) as info:
        load_export(tmp_path / "x")
    assert (
        "notes.csv: the notes table has no note_type, date_of_service, therapist and "
        "credential columns"
    ) in str(info.value)
    assert "chartaudit-mapping.yaml" in info.value.fix
    write(tmp_path / "y" / "notes.xlsx", "this is not a workbook")
    with pytest.raises(InputError, match=r"notes.xlsx: cannot be read \(not a valid Excel"):
        load_export(tmp_path / "y")
    write(tmp_path / "z" / "notes.csv", csv_text())
    write(tmp_path / "z" / "chartaudit-mapping.yaml", "tables:\n  notes:\n    colums: {}\n")
    with pytest.raises(MappingError, match="tables.notes: unknown option 'colums'"):
        load_export(tmp_path / "z")
    write(tmp_path / "w" / "readme.csv", csv_text())
    with pytest.raises(InputError, match="no notes table found"):
        load_export(tmp_path / "w")


def test_narrative_stays_on_its_own_note_when_some_notes_have_no_text():
    rows = [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in ROWS]
    frame = pd.DataFrame(rows + [{**rows[0], "note_id": "N3", "assessment": ""}])
    frame.loc[0, "assessment"] = ""
    frame["plan"] = ["", "Continue gait training", ""]
    notes = from_frames({"notes": frame}).notes
    assert notes["narrative"].tolist() == ["", "Gait ’training’\nContinue gait training", ""]


def test_a_row_with_several_problems_lists_them_all():
    rows = [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in ROWS]
    frame = pd.DataFrame(rows + [{**rows[0], "note_id": "", "date_of_service": "13/45/2026"}])
    reason = from_frames({"notes": frame}).rejected["reason"].tolist()
    assert len(reason) == 1
    assert reason[0].startswith("missing note_id; date_of_service '13/45/2026' is not a valid")


def test_common_vendor_headers_map_without_a_mapping_file(tmp_path):
    write(
        tmp_path / "Visits.csv",
        "Doc #,MRN,Visit Type,DOS,Provider,Creds\nA1,77,IE,09/01/2026,Kim Lee,OTR/L\n",
    )
    notes = load_export(tmp_path).notes
    assert notes.loc[0, ["note_id", "note_type", "credential"]].tolist() == [
        "A1",
        "evaluation",
        "OTR/L",
    ]


@pytest.mark.parametrize("chunked", [False, True])
def test_narrative_joins_each_notes_own_sections(chunked):
    rows = [dict(zip(HEADER.split(","), r.split(","), strict=True)) for r in ROWS]
    sections = [
        ("S1", "O1", "", "P1\n\n", ""),
        ("", "", "", "", ""),  # no text at all: '' and still on its own note
        ("  ", "O3", " A3 ", "", "T3"),
        ("", "\u00a0\u2003", "\t\n", "", ""),  # Unicode and control whitespace is blank too
        ("S5\nmore", "", "", "", ""),
        ("", "", "", "", ""),
        ("", "", "A7", "", ""),
    ]
    frame = pd.DataFrame([{**rows[0], "note_id": f"N{i}"} for i in range(len(sections))])
    columns = ["subjective", "objective", "assessment", "plan", "note_text"]
    for i, col in enumerate(columns):
        texts = [row[i] for row in sections]
        if chunked:  # Arrow chunks that split each column at a different row
            split = i + 1
            arrow = pa.chunked_array([texts[:split], texts[split:]], type=pa.large_string())
            frame[col] = pd.arrays.ArrowStringArray(arrow)
        else:
            frame[col] = texts
    notes = from_frames({"notes": frame}).notes
    assert notes["narrative"].tolist() == [
        "S1\nO1\nP1",
        "",
        "O3\n A3 \nT3",
        "",
        "S5\nmore",
        "",
        "A7",
    ]
    assert notes["subjective"].isna().tolist() == [False, True, True, True, False, True, True]
    assert notes.loc[2, "assessment"] == " A3 "  # narrative text keeps its own spaces


def test_values_are_stripped_and_blanks_become_na_in_every_column(tmp_path):
    write(
        tmp_path / "notes.csv",
        csv_text(
            [
                " N1 ,MRN1, evaluation ,2026-09-01 ,Kim Lee,DPT ,  , 2026-09-01 16:05,x",
                "N2,MRN1,daily,2026-09-03,Kim Lee,PTA,Aetna,,x",
            ]
        ),
    )
    write(tmp_path / "services.csv", "note_id,cpt_code,units,modifiers\n N1 ,97110.0 , 2 ,gp; cq\n")
    export = load_export(tmp_path)
    notes = export.notes
    assert notes["note_id"].tolist() == ["N1", "N2"]
    assert notes["note_type"].tolist() == ["evaluation", "daily"]
    assert notes["credential"].tolist() == ["DPT", "PTA"]
    assert notes["payer"].isna().tolist() == [True, False]
    assert notes.loc[0, "signed_at"] == pd.Timestamp("2026-09-01 16:05")
    assert pd.isna(notes.loc[1, "signed_at"])
    services = export.tables["services"]
    assert services[["note_id", "cpt_code", "units", "modifiers", "note_idx"]].values.tolist() == [
        ["N1", "97110", 2.0, "GP,CQ", 0]
    ]


GOALS_HEADER = "goal_id,note_id,term,text,status\n"


def test_an_unknown_goal_status_keeps_the_goal_and_is_reported(tmp_path):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(tmp_path / "notes.csv", csv_text())
    goals = [
        f"G{i},N1,STG,Walk 100 ft,{status}"
        for i, status in enumerate(
            [
                "Met",
                "Partially Met",
                "Revised - see POC",
                "Partially Met",
                "ongoing",
                "Partially Met",
                "Held",
                "Held",
                "Held",
                "Held",
            ],
            start=1,
        )
    ]
    write(tmp_path / "goals.csv", GOALS_HEADER + "\n".join(goals) + "\n")
    export = load_export(tmp_path)
    goals_out = export.tables["goals"]
    assert len(goals_out) == 10 and export.rejected.empty  # every goal kept
    assert goals_out["status"].tolist()[:2] == ["met", "progressing"]  # partially met: a synonym
    assert goals_out["status"].isna().sum() == 5  # "Revised - see POC" and "Held": unknown
    assert export.notices == [
        "goals.csv: 5 rows have a status that is not one of met, progressing, not_met, "
        "discontinued: 'Held' (4), 'Revised - see POC' (1), rows 4, 8, 9, 10, 11; the goals "
        "are kept with their status unknown. Map the values under tables.goals.values.status "
        "in chartaudit-mapping.yaml, or correct the export"
    ]

    result = CliRunner().invoke(app, ["inspect", str(tmp_path)])
    assert result.exit_code == 0
    output = " ".join(result.output.split())  # the console wraps long lines
    assert "note: goals.csv: 5 rows have a status that is not one of met, progressing" in output

    # mapped, the values are goal statuses and nothing is reported
    write(
        tmp_path / "chartaudit-mapping.yaml",
        "tables:\n  goals:\n    values:\n"
        "      status: {Held: progressing, 'Revised - see POC': discontinued}\n",
    )
    export = load_export(tmp_path)
    assert export.notices == []
    assert export.tables["goals"]["status"].notna().all()


def test_a_long_list_of_unknown_values_names_the_first_rows_and_values(tmp_path):
    write(tmp_path / "notes.csv", csv_text())
    goals = [f"G{i},N1,Short {i % 7},Walk,met" for i in range(1, 41)]
    write(tmp_path / "goals.csv", GOALS_HEADER + "\n".join(goals) + "\n")
    (notice,) = load_export(tmp_path).notices
    assert notice.startswith(
        "goals.csv: 40 rows have a term that is not one of short, long: 'Short 1' (6), "
        "'Short 2' (6), 'Short 3' (6), 'Short 4' (6), 'Short 5' (6) and 2 more values, "
        "rows 2, 3, 4, 5, 6 and 35 more; the goals are kept with their term unknown."
    )


def test_other_values_that_were_replaced_silently_are_reported(tmp_path):
    header = HEADER + ",discipline,payer_type,setting"
    rows = [
        ROWS[0] + ",Rehab,Medicare Part B,Clinic",  # discipline from the credential (DPT)
        ROWS[1] + ",PT,Mystery Plan,Telehealth",  # payer type from the payer's name
    ]
    write(tmp_path / "notes.csv", csv_text(rows, header))
    write(
        tmp_path / "authorizations.csv",
        "auth_id,patient_id,discipline,status\nA1,MRN1,Physio,pending\nA2,MRN1,Aquatics,pending\n",
    )
    export = load_export(tmp_path)
    notes = export.notes
    assert notes["discipline"].tolist() == ["PT", "PT"]
    assert notes["payer_type"].tolist() == ["medicare_b", "medicare_b"]
    assert notes["setting"].tolist() == ["outpatient", "other"]
    assert export.tables["authorizations"]["discipline"].fillna("?").tolist() == ["PT", "?"]
    notices = "\n".join(export.notices)
    assert (
        "notes.csv: 1 row has a discipline that is not one of PT, OT, SLP: 'Rehab' (1), row 2; "
        "the discipline was taken from the credential instead." in notices
    )
    assert (
        "notes.csv: 1 row has a payer_type that is not one of medicare_b, medicare_advantage, "
        "medicaid, commercial, workers_comp, self_pay, other: 'Mystery Plan' (1), row 3; the "
        "payer type was classified from the payer's name instead, where there is one." in notices
    )
    assert "'Telehealth' (1), row 3; the notes are counted in setting 'other'." in notices
    assert (
        "authorizations.csv: 1 row has a discipline that is not one of PT, OT, SLP: "
        "'Aquatics' (1), row 3; the authorizations are kept with their discipline unknown. "
        "Map the values under tables.authorizations.values.discipline" in notices
    )


def test_title_lines_above_a_csv_header_are_named_as_the_fix(tmp_path):
    """A report title and print date above the column names: the user is told to delete them,
    for the notes (the run stops) and for services (every row rejected, with that reason)."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    title = "Visit Report - Acme Rehab\nPrinted 11/01/2026\n\n"
    write(tmp_path / "notes.csv", title + csv_text(), "cp1252")
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out")])
    output = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "notes.csv: the notes table has no note_id, patient_id," in output
    assert "delete the title or blank rows above them" in output
    assert "Traceback" not in output

    write(tmp_path / "notes.csv", csv_text(), "cp1252")
    write(tmp_path / "services.csv", "Charges export\nnote_id,cpt_code,units\nN1,97161,1\n")
    export = load_export(tmp_path)
    reasons = set(export.rejected.loc[export.rejected["file"] == "services.csv", "reason"])
    assert len(export.rejected) == 2  # the column-names line and the row, neither lost
    assert all("delete the title or blank rows above them" in r for r in reasons)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_cp1252_file_with_a_malformed_row_of_accented_text_is_read(tmp_path):
    """The malformed row's accented name is not UTF-8: the file was refused as a whole ("CSV
    parse error") and Arrow printed a decoding error on the console."""
    rows = [*ROWS, "N3,MRN2,daily,2026-09-05,José Núñez,PT"]
    write(tmp_path / "notes.csv", csv_text(rows), "cp1252")
    export = load_export(tmp_path)
    assert export.notes["therapist"].tolist() == ["José Núñez", "José Núñez"]
    assert export.files[0].encoding == "cp1252"
    assert export.rejected[["row", "reason"]].to_dict("records") == [
        {"row": 4, "reason": "row has 6 fields but the header has 9"}
    ]


@pytest.mark.parametrize(
    "name, credential",
    [
        ("Jane Doe, PT, DPT, OCS", "PT, DPT"),
        ("Lee, Kim, PTA", "PTA"),
        ("Kim Lee CCC-SLP", "CCC-SLP"),
        ("Maria Santos, MS, CCC-SLP", "CCC-SLP"),
        ("ROBERTS, HANNAH, OTR/L", "OTR/L"),
        ("Kim Do", None),  # a surname, not the osteopath's DO
        ("DO, KIM", None),
        ("KIM DO", None),  # all capitals without a comma: cannot tell
        ("Dana Reyes", None),
    ],
)
def test_a_credential_is_read_from_the_end_of_a_therapists_name(name, credential):
    from chartaudit.load import credentials_in_names

    found = credentials_in_names(pd.Series([name], dtype="string")).iloc[0]
    assert (None if pd.isna(found) else found) == credential


def test_without_a_credential_column_the_names_credentials_are_used_and_said_so(tmp_path):
    header = "note_id,patient_id,note_type,date_of_service,therapist"
    rows = [
        'N1,MRN1,evaluation,2026-09-01,"Lee, Kim, DPT"',
        'N2,MRN1,daily,2026-09-03,"Ng, Zoe, PTA"',
        "N3,MRN2,daily,2026-09-04,Dana Reyes",
    ]
    write(tmp_path / "notes.csv", csv_text(rows, header))
    export = load_export(tmp_path)
    notes = export.notes.set_index("note_id")
    # The role and discipline follow, as from an exported credential column.
    assert notes.loc["N1", ["role", "discipline"]].tolist() == ["therapist", "PT"]
    assert notes.loc["N2", ["role", "discipline"]].tolist() == ["assistant", "PT"]
    assert export.notes["therapist"].tolist()[0] == "Lee, Kim, DPT"  # the name is untouched
    # N3 names no credential (nor discipline): rejected, saying so; nothing silently lost.
    assert export.rejected["row"].tolist() == [4]
    assert "discipline" in export.rejected["reason"].iloc[0]
    [notice] = [n for n in export.notices if "no credential column" in n]
    assert "for 2 of 3 rows (e.g. 'Lee, Kim, DPT' → DPT)" in notice


def test_without_a_credential_column_or_any_in_the_names_the_fix_is_given(tmp_path):
    header = "note_id,patient_id,discipline,note_type,date_of_service,therapist"
    write(tmp_path / "notes.csv", csv_text(["N1,MRN1,PT,daily,2026-09-03,Dana Reyes"], header))
    with pytest.raises(InputError, match="no credential column"):
        load_export(tmp_path)


def test_a_blank_date_of_service_or_units_cell_is_rejected_and_the_run_goes_on(tmp_path):
    """One empty DOS cell loaded a note without a date, and the statistics then stopped the
    whole run with an internal error."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    rows = [*ROWS, "N3,MRN2,daily,,Kim Lee,PT,Aetna,2026-09-05 12:00,Gait training 150 ft"]
    write(tmp_path / "notes.csv", csv_text(rows), "cp1252")
    write(tmp_path / "services.csv", "note_id,cpt_code,units\nN1,97161,1\nN2,97110,\n")
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output
    output = " ".join(result.output.split())
    assert "Rows read 5 = loaded 3 + rejected 2" in output
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", encoding="utf-8-sig")
    assert sorted(zip(rejected["file"], rejected["row"], rejected["reason"], strict=True)) == [
        ("notes.csv", 4, "missing date_of_service"),
        ("services.csv", 3, "missing units"),
    ]


def test_every_missing_notes_column_is_named_at_once(tmp_path):
    write(tmp_path / "notes.csv", "Doc #,Patient MRN,DOS\nN1,P1,09/01/2026\n", "cp1252")
    with pytest.raises(InputError) as err:
        load_export(tmp_path)
    # "Patient MRN" is the patient id; the three others are each named, with one fix.
    assert "has no note_type, therapist and credential columns" in str(err.value)
    assert 'note_type: "Your Column", therapist: "Your Column"' in err.value.fix


def test_summary_records_the_folders_mapping_file(tmp_path):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(tmp_path / "Visits.csv", csv_text(), "cp1252")
    write(tmp_path / "chartaudit-mapping.yaml", "tables:\n  notes:\n    files: [Visits.csv]\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(out), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["options"]["mapping"] == str(tmp_path / "chartaudit-mapping.yaml")


def test_one_title_line_above_the_header_of_a_short_notes_file_is_named_not_a_crash(tmp_path):
    """Every row below a one-field title line is malformed, so nothing was left to map and the
    run stopped with an internal error (found trying a broken file before stopping)."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(
        tmp_path / "notes.csv",
        'Visit Report\nDoc #,Patient MRN,DOS,Provider\nN1,P1,,"Lee, Kim, DPT"\n',
        "cp1252",
    )
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out")])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "internal error" not in output
    assert "delete the title or blank rows above them" in output


# --- Billing exports with a column per modifier (acceptance test M-3): GP in "Mod 1", CQ in
# "Mod 2". Read from "Mod 1" alone, every line of a PTA's note lacked its CQ.

VISIT_REPORT = (
    "Doc ID,Patient Acct #,Doc Type,DOS,Rendering Provider,Provider Credentials,"
    "Primary Insurance,Timed Mins,Total Mins,Subjective\n"
    'LPT-1001,100571,Initial Evaluation,10/01/2026,"Martínez, José",PT,Medicare B,0,45,'
    "Pt reports R shoulder pain 6/10 reaching overhead.\n"
    'LPT-1003,100571,Daily Note,10/03/2026,"Côté, Renée",PTA,Medicare B,38,40,'
    "Pt reports less pain; 4/10 after HEP.\n"
)


def _billing_export(folder: Path, mods: list[str], mapping: str | None) -> Path:
    header = ",".join(["Doc ID", "CPT Code", *mods, "Units", "Minutes"])
    blanks = [""] * (len(mods) - 2)
    lines = [
        ["LPT-1001", "97161", "GP", "", *blanks, "1", "45"],
        ["LPT-1003", "97110", "GP", "CQ", *blanks, "2", "28"],
        ["LPT-1003", "97140", "", "CQ", *blanks, "1", "10"],
    ]
    write(folder / "Visit Report 2026-10.csv", VISIT_REPORT, "cp1252")
    billing = "\n".join([header, *(",".join(line) for line in lines)]) + "\n"
    write(folder / "Billing Detail 2026-10.csv", billing, "cp1252")
    if mapping is not None:
        write(folder / "chartaudit-mapping.yaml", mapping)
    return folder


_BILLING_MAPPING = """
tables:
  services:
    files: ["Billing Detail*.csv"]
    encoding: cp1252
    columns: {{note_id: "Doc ID", cpt_code: "CPT Code", units: Units, modifiers: {modifiers}}}
"""


def _run(folder: Path, out: Path):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    result = CliRunner().invoke(
        app,
        ["run", str(folder), "--out", str(out), "--no-history", "--format", "csv,json"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code in (0, 1), result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    "mods, mapping",
    [
        (["Mod 1", "Mod 2"], _BILLING_MAPPING.format(modifiers='["Mod 1", "Mod 2"]')),
        (["Mod 1", "Mod 2", "Mod 3", "Mod 4"], None),  # recognised without a mapping file
        (["Modifier 1", "Modifier 2", "Modifier 3"], None),
    ],
    ids=["mapped-as-a-list", "mod-1-to-4", "modifier-1-to-3"],
)
def test_modifiers_in_several_columns_are_read_together(tmp_path, mods, mapping):
    folder = _billing_export(tmp_path / "export", mods, mapping)
    console = _run(folder, tmp_path / "out")
    assert "not read" not in console
    findings = pd.read_csv(tmp_path / "out" / "findings.csv")
    assert "MCR-CQCO" not in set(findings["item_id"])  # the PTA's lines carry their CQ
    assert "MCR-DISCIPLINE-MOD" in set(findings["item_id"])  # 97140 has no GP: still found
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    (billing,) = [f for f in summary["files"] if f["table"] == "services"]
    assert [s for s, c in billing["columns"].items() if c == "modifiers"] == mods
    assert billing["ignored_columns"] == []


def test_a_modifier_column_left_unread_is_named_in_the_notices(tmp_path):
    mapping = _BILLING_MAPPING.format(modifiers='"Mod 1"')
    folder = _billing_export(tmp_path / "export", ["Mod 1", "Mod 2", "Mod 3"], mapping)
    console = _run(folder, tmp_path / "out")
    expected = (
        "Billing Detail 2026-10.csv: columns 'Mod 2', 'Mod 3' are not read, though they look "
        "like part of modifiers, which is read from 'Mod 1'; to read them all, map "
        'tables.services.columns.modifiers: ["Mod 1", "Mod 2", "Mod 3"] in '
        "chartaudit-mapping.yaml"
    )
    assert expected in console
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert expected in summary["notices"]
    # What was read lacks the CQ: the finding a column per modifier otherwise causes.
    findings = pd.read_csv(tmp_path / "out" / "findings.csv")
    assert "MCR-CQCO" in set(findings["item_id"])


@pytest.mark.parametrize(
    "columns, message, fix",
    [
        (
            '{cpt_code: ["CPT Code", "Code"]}',
            "tables.services.columns.cpt_code: expected one source column name, not a list",
            "in the services table a list of columns can fill modifiers only; map one column here",
        ),
        (
            "{modifiers: []}",
            "tables.services.columns.modifiers: expected a list of source column names",
            'e.g. modifiers: ["Mod 1", "Mod 2"]',
        ),
        (
            "{modifiers: {first: Mod 1}}",
            "tables.services.columns.modifiers: expected the source column name",
            "",
        ),
    ],
)
def test_a_mapping_of_several_columns_is_validated(tmp_path, columns, message, fix):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    folder = _billing_export(tmp_path, ["Mod 1", "Mod 2"], None)
    mapping = write(
        folder / "chartaudit-mapping.yaml", f"tables:\n  services:\n    columns: {columns}\n"
    )
    result = CliRunner().invoke(app, ["inspect", str(folder)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"error: {mapping}: {message}"
    assert lines[1:] == ([f"  fix: {fix}"] if fix else [])


def test_diagnosis_codes_in_numbered_columns_are_joined(tmp_path):
    write(
        tmp_path / "notes.csv",
        "note_id,patient_id,note_type,date_of_service,therapist,credential,Dx 1,Dx 2,Dx 3\n"
        "N1,P1,evaluation,2026-10-01,Kim Lee,DPT,M75.121,M25.511,\n"
        "N2,P1,daily,2026-10-03,Kim Lee,DPT,,,\n",
    )
    export = load_export(tmp_path)
    assert export.notes["diagnosis_codes"].tolist() == ["M75.121;M25.511", pd.NA]
    assert export.has("notes.diagnosis_codes") and export.notices == []


def test_an_unread_column_close_to_a_canonical_one_is_named_in_the_notices(tmp_path):
    """A column whose name abbreviates (or misspells) a canonical column nothing fills is not
    dropped without a word: the run says which column it may be and the mapping line."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(
        tmp_path / "export" / "Visit Report.csv",
        VISIT_REPORT.replace("Subjective\n", "Subjective,Plan Dur,Frequncy\n", 1)
        .replace("overhead.\n", "overhead.,6 wks,2x/wk\n")
        .replace("HEP.\n", "HEP.,,\n"),
        "cp1252",
    )
    result = CliRunner().invoke(
        app,
        ["run", str(tmp_path / "export"), "--out", str(tmp_path / "out"), "--no-history"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code in (0, 1), result.output
    console = " ".join(result.output.split())
    for col, canon in (("Plan Dur", "duration"), ("Frequncy", "frequency")):
        assert (
            f"note: Visit Report.csv: column '{col}' is not read; if it holds {canon}, map it in "
            f'chartaudit-mapping.yaml: tables.notes.columns.{canon}: "{col}"'
        ) in console
    # Columns close to nothing canonical, or to a column already read, are left alone.
    assert "'Subjective'" not in console and "'Total Mins'" not in console


def test_a_missing_required_column_is_offered_the_column_close_to_it(tmp_path):
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(
        tmp_path / "Visit Report.csv",
        "Doc #,MRN,Visit Type,DOS,Provder,Credentails\nA1,77,IE,10/01/2026,Kim Lee,OTR/L\n",
        "cp1252",
    )
    result = CliRunner().invoke(app, ["inspect", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    # (after the file's table and its columns, which inspect shows before the error)
    assert "ignored: Provder, Credentails" in result.output
    assert result.output.splitlines()[-2:] == [
        "error: Visit Report.csv: the notes table has no therapist and credential columns "
        "(columns found: Doc #, MRN, Visit Type, DOS, Provder, Credentails)",
        "  fix: add the columns, or map yours in chartaudit-mapping.yaml under "
        'tables.notes.columns: {therapist: "Provder", credential: "Credentails"}',
    ]


def test_a_stray_number_in_a_date_column_is_not_an_excel_date_of_1900(tmp_path):
    """A "45" in a CSV's co-sign date column was read as the serial date 1900-02-13, and the
    note got a false "co-signed before the author signed" finding (acceptance minor 4)."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    report = (
        "Doc ID,Patient Acct #,Doc Type,DOS,Rendering Provider,Provider Credentials,"
        "Signed Date,Co-Signed By,Co-Signed Date\n"
        'LPT-2001,100571,Daily Note,10/01/2026,"Côté, Renée",PTA,10/01/2026,"Martínez, José",'
        "46297\n"  # a serial date of 2026-10-02, as Excel writes a date cell to a CSV
        'LPT-2002,100571,Daily Note,10/02/2026,"Côté, Renée",PTA,10/02/2026,"Martínez, José",'
        "45\n"
    )
    write(tmp_path / "export" / "Visit Report.csv", report, "cp1252")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "export"), "--out", str(out), "--no-history"]
    )
    assert result.exit_code in (0, 1), result.output
    said = " ".join(result.output.split())
    # cosigned_at is optional: the note is audited, the value named, not taken for a date.
    assert "Rows read 2 = loaded 2 + rejected 0" in said
    assert (
        "Visit Report.csv: 1 row has a cosigned_at value that could not be read as a date: "
        "'45' (1), row 3;"
    ) in said
    findings = pd.read_csv(out / "findings.csv")
    assert "DOC-CHRONOLOGY" not in set(findings["item_id"])
    notes = pd.read_csv(out / "notes.csv")
    assert notes["note_id"].tolist() == ["LPT-2001", "LPT-2002"]


def test_a_rejected_service_line_names_its_column_value_and_fix(tmp_path):
    """rejected.csv gave "units is negative" and "note_id LPT-9999 is not in the notes
    table": no value, no fix (acceptance minor 5)."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    folder = _billing_export(tmp_path / "export", ["Mod 1", "Mod 2"], None)
    with (folder / "Billing Detail 2026-10.csv").open("a", encoding="cp1252") as fh:
        fh.write("LPT-1003,97112,GP,CQ,-1,8\nLPT-9999,97110,GP,,1,15\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(folder), "--out", str(out), "--no-history"])
    assert result.exit_code in (0, 1), result.output
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected[["file", "row", "table", "reason"]].values.tolist() == [
        [
            "Billing Detail 2026-10.csv",
            5,
            "services",
            "units '-1' is negative: if the line reverses (credits) a charge, export the "
            "charges net of reversals (remove the reversal and the charge it reverses); "
            "otherwise write the units billed, 0 or more",
        ],
        [
            "Billing Detail 2026-10.csv",
            6,
            "services",
            "note_id 'LPT-9999' matches no note in Visit Report 2026-10.csv (or that note was "
            "rejected): fix the note_id or export the note",
        ],
    ]
    book = openpyxl.load_workbook(out / "compliance.xlsx", read_only=True)
    problems = [row for row in book["Input problems"].iter_rows(values_only=True)]
    assert any(
        "units '-1' is negative: if the line reverses" in str(c) for r in problems for c in r
    )


def test_placeholders_for_no_value_are_read_as_blank_and_named(tmp_path):
    """Exports write "N/A", "-", "Pending" (a plan not yet certified) in date and number
    cells: the note is audited with the value missing, not rejected, and the run says so."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    write(
        tmp_path / "export" / "notes.csv",
        "note_id,patient_id,note_type,date_of_service,therapist,credential,signed_at,"
        "poc_certified_at,total_timed_minutes\n"
        "E1,P1,evaluation,2026-09-01,Renée Côté,DPT,2026-09-01,Pending,45\n"
        "D1,P1,daily,2026-09-03,Renée Côté,DPT,N/A,,-\n"
        "D2,P1,daily,2026-09-05,Renée Côté,DPT,1900-01-01,,38\n",
        encoding="cp1252",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", str(tmp_path / "export"), "--out", str(out), "--no-history"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    assert "Rows read 3 = loaded 3 + rejected 0" in result.output
    said = " ".join(result.output.split())
    assert "notes.csv: poc_certified_at 'Pending' (1) read as blank (no value), row 2" in said
    assert "signed_at 'N/A' (1), '1900-01-01' (1) read as blank" in said
    assert "total_timed_minutes '-' (1) read as blank" in said
    findings = pd.read_csv(out / "findings.csv")
    unsigned = findings[findings["item_id"] == "DOC-SIGNED"]["note_id"]
    assert sorted(unsigned) == ["D1", "D2"]


def _unreadable_values_export(folder: Path) -> Path:
    """An episode whose evaluation has a signature and certification date that are no dates,
    a daily note whose late-entry flag is neither yes nor no (signed 6 days late) and a
    services line whose minutes are no number; one note and one line with a required value
    that is no date or number. cp1252, as a Windows export writes it."""
    write(
        folder / "notes.csv",
        "note_id,patient_id,note_type,date_of_service,therapist,credential,payer,signed_at,"
        "poc_certified_at,poc_end,is_late_entry,assessment\n"
        "E1,P1,evaluation,2026-09-01,Renée Côté,DPT,Medicare Part B,2026-13-45,31/31/2026,"
        "2026-11-29,,Pt will walk 500 ft independently in 8 weeks; prognosis good\n"
        "D1,P1,daily,2026-09-03,Renée Côté,DPT,Medicare Part B,2026-09-03,,,,Gait training\n"
        "D2,P1,daily,2026-09-05,Renée Côté,DPT,Medicare Part B,2026-09-11,,,see addendum,"
        "Gait training\n"
        "D3,P1,daily,2026-02-30,Renée Côté,DPT,Medicare Part B,2026-09-07,,,,Gait training\n",
        encoding="cp1252",
    )
    write(
        folder / "goals.csv",
        "note_id,term,text,target_date\n"
        "E1,long,Pt will walk 500 ft independently with no device in 8 weeks,2026-10-27\n",
    )
    write(folder / "measures.csv", "note_id,measure,score\nE1,LEFS,40\n")
    write(
        folder / "services.csv",
        "note_id,cpt_code,modifiers,units,minutes\nE1,97161,GP,1,30\nD1,97110,GP,2,abc\n"
        "D2,97110,GP,2,30\nD2,97140,GP,two,15\n",
    )
    return folder


def test_an_unreadable_optional_value_keeps_the_note_and_is_not_judged_as_blank(tmp_path):
    """An evaluation with signed_at "2026-13-45" was rejected whole, with its goals and
    measures: the episode then "started with a daily note". Now it is audited, the value is
    named, and no item fails it on the strength of a value that could not be read."""
    from typer.testing import CliRunner

    from chartaudit.cli import app

    folder = _unreadable_values_export(tmp_path / "export")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", str(folder), "--out", str(out), "--no-history"], env={"COLUMNS": "300"}
    )
    assert result.exit_code in (0, 1), result.output
    said = " ".join(result.output.split())
    # Only the required values that are no date or number reject their rows.
    assert "Rows read 10 = loaded 8 + rejected 2" in said
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected[["file", "row", "reason"]].values.tolist() == [
        [
            "notes.csv",
            5,
            "date_of_service '2026-02-30' is not a valid date (write it as YYYY-MM-DD or "
            "MM/DD/YYYY, a date of the years 1990 to 2100, or set date_format in "
            "chartaudit-mapping.yaml)",
        ],
        ["services.csv", 5, "units 'two' is not a number"],
    ]
    # Each unreadable value named: file, column, row, value, what was done and the fix.
    assert (
        "notes.csv: 1 row has a signed_at value that could not be read as a date: "
        "'2026-13-45' (1), row 2; read as blank and the row kept, and the items that judge by "
        "signed_at count that note as not evaluable (neither passed nor failed). Correct the "
        "value in the export (write it as YYYY-MM-DD or MM/DD/YYYY, a date of the years 1990 "
        "to 2100, or set date_format in chartaudit-mapping.yaml), or map the column to another one in chartaudit-mapping.yaml "
        "(tables.notes.columns.signed_at)"
    ) in said
    assert (
        "poc_certified_at value that could not be read as a date: '31/31/2026' (1), row 2" in said
    )
    assert (
        "is_late_entry value that could not be read as a yes or no: 'see addendum' (1), row 4"
        in said
    )
    assert (
        "services.csv: 1 row has a minutes value that could not be read as a number: 'abc' (1), "
        "row 3; read as blank and the row kept, and the items that judge by minutes count the "
        "note that row belongs to as not evaluable"
    ) in said
    # The evaluation, its goals and measures are audited: no "episode starts with a daily note".
    notes = pd.read_csv(out / "notes.csv").set_index("note_id")
    assert sorted(notes.index) == ["D1", "D2", "E1"]
    findings = pd.read_csv(out / "findings.csv")
    assert "DOC-EVAL-FIRST" not in set(findings["item_id"])
    assert not {"DOC-OUTCOME-BASELINE", "DOC-GOALS-MEASURABLE"} & set(
        findings.loc[findings["note_id"] == "E1", "item_id"]
    )
    # Not "unsigned", "not certified", "late" or "minutes not documented" for want of a value
    # that was there, only not readable: those (note, item) pairs are not evaluable.
    failed = set(zip(findings["note_id"], findings["item_id"], strict=True))
    for pair in [
        ("E1", "DOC-SIGNED"),
        ("E1", "MCR-POC-CERT-30"),
        ("D2", "DOC-SIGN-TIMELY"),
        ("D1", "MCR-TIMED-MIN"),
        ("D1", "MCR-8MIN"),
    ]:
        assert pair not in failed
    assert notes.loc["E1", "not_evaluable"] >= 2 and notes.loc["D2", "not_evaluable"] >= 1
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reasons = {r["item_id"]: r["reasons"] for r in summary["not_evaluable"]}
    assert reasons["DOC-SIGNED"] == {"the note's signed_at could not be read as a date": 1}
    assert reasons["MCR-POC-CERT-30"] == {
        "the note's poc_certified_at could not be read as a date": 1
    }
    assert reasons["DOC-SIGN-TIMELY"] == {
        "the note's is_late_entry could not be read as a yes or no": 1
    }
    # D2, whose other services row was rejected, is not judged on the row left either.
    assert reasons["MCR-TIMED-MIN"] == {
        "the minutes of one of the note's services rows could not be read as a number": 1,
        "one of the note's services rows was rejected at load (see rejected.csv)": 1,
    }
    # An evaluation closes no reporting period: its signature decides no progress report.
    assert "MCR-PR-10" not in reasons
    # For whoever reads only the report.
    [notice] = [n for n in summary["notices"] if "signed_at value" in n]
    sheet = openpyxl.load_workbook(out / "compliance.xlsx", read_only=True)["Summary"]
    assert notice in [c for row in sheet.iter_rows(values_only=True) for c in row]


def test_an_unreadable_optional_value_in_a_workbook_keeps_the_note(tmp_path):
    """A workbook's date cells are read as dates; a text cell or an error cell ('#VALUE!') in
    an optional date column is no date, and the note is audited all the same."""
    import datetime as dt

    from typer.testing import CliRunner

    from chartaudit.cli import app
    from test_load_xlsx import write_xlsx

    header = ["note_id", "patient_id", "note_type", "date_of_service", "therapist", "credential"]
    rows = [
        [*header, "signed_at", "poc_certified_at"],
        ["E1", "P1", "evaluation", dt.date(2026, 9, 1), "Kim Lee", "PT", "#VALUE!", "31/31/2026"],
        ["D1", "P1", "daily", dt.date(2026, 9, 3), "Kim Lee", "PT", dt.datetime(2026, 9, 3, 17)],
        ["D2", "P1", "daily", "not a date", "Kim Lee", "PT", dt.datetime(2026, 9, 5, 17)],
    ]
    write_xlsx(tmp_path / "export" / "notes.xlsx", {"Notes": rows}, engine="openpyxl")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", str(tmp_path / "export"), "--out", str(out), "--no-history"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code in (0, 1), result.output
    said = " ".join(result.output.split())
    assert "Rows read 3 = loaded 2 + rejected 1" in said
    assert (
        "notes.xlsx [Notes]: 1 row has a signed_at value that could not be read as a date: "
        "'#VALUE!' (1), row 2;"
    ) in said
    assert (
        "poc_certified_at value that could not be read as a date: '31/31/2026' (1), row 2" in said
    )
    rejected = pd.read_csv(out / "rejected.csv")
    assert rejected["reason"].tolist() == [
        "date_of_service 'not a date' is not a valid date (write it as YYYY-MM-DD or "
        "MM/DD/YYYY, a date of the years 1990 to 2100, or set date_format in "
        "chartaudit-mapping.yaml)"
    ]
    findings = pd.read_csv(out / "findings.csv")
    failed = set(zip(findings["note_id"], findings["item_id"], strict=True))
    assert ("E1", "DOC-SIGNED") not in failed
    assert sorted(pd.read_csv(out / "notes.csv")["note_id"]) == ["D1", "E1"]


def test_a_placeholder_in_a_required_date_or_number_is_a_missing_value(tmp_path):
    write(
        tmp_path / "notes.csv",
        "note_id,patient_id,note_type,date_of_service,therapist,credential\n"
        "N1,P1,daily,2026-10-01,Ann Lee,DPT\n"
        "N2,P1,daily,N/A,Ann Lee,DPT\n",
        encoding="cp1252",
    )
    write(tmp_path / "services.csv", "note_id,cpt_code,units\nN1,97110,N/A\nN1,97140,1\n")
    export = load_export(tmp_path)
    assert export.notes["note_id"].tolist() == ["N1"]
    assert export.tables["services"]["cpt_code"].tolist() == ["97140"]
    assert sorted(export.rejected["reason"]) == [
        "missing date_of_service ('N/A' stands for no value)",
        "missing units ('N/A' stands for no value)",
    ]
