"""--redact: keyed, stable pseudonyms; names and raw ids masked in any free text."""

from __future__ import annotations

import pandas as pd

from chartaudit.privacy import MASK, Redactor

NOTES = pd.DataFrame(
    {
        "patient_id": ["MRN004512", "MRN0045", "P-77"],
        "episode_id": ["MRN004512-PT-1", "MRN0045-OT-1", "P-77-SLP-1"],
        "patient_name": ["Ángel Núñez", "Ann Lee", "Mary O'Neil-Park"],
    }
)


def test_pseudonyms_are_stable_per_key_and_differ_across_keys():
    a = Redactor("key-1", NOTES).patient_ids(NOTES["patient_id"]).tolist()
    assert a == Redactor("key-1", NOTES).patient_ids(NOTES["patient_id"]).tolist()
    assert a != Redactor("key-2", NOTES).patient_ids(NOTES["patient_id"]).tolist()
    assert all(p.startswith("P-") and "MRN" not in p for p in a)
    episodes = Redactor("key-1", NOTES).episode_ids(NOTES["episode_id"]).tolist()
    assert not any("MRN" in e for e in episodes)


def test_names_and_ids_are_masked_in_text_whole_words_only():
    r = Redactor("k", NOTES)
    out = r.text(
        pd.Series(
            [
                "Ángel Núñez walked; MRN004512 and MRN0045 seen",
                "ann lee tolerated; Annabel and Leeward are other words",
                "Mrs. O'Neil-Park and Mr. Park",
                None,
                "P-77x is not P-77",
            ]
        )
    ).tolist()
    assert out[0] == f"{MASK} {MASK} walked; [patient id] and [patient id] seen"
    assert out[1] == f"{MASK} {MASK} tolerated; Annabel and Leeward are other words"
    assert "O'Neil" not in out[2] and "Park" not in out[2]
    assert pd.isna(out[3])
    assert out[4] == "P-77x is not [patient id]"


def test_a_surname_that_is_a_word_is_masked_as_a_name_not_as_the_word():
    notes = pd.DataFrame(
        {"patient_id": ["MRN1"], "episode_id": ["E1"], "patient_name": ["Rita Walker"]}
    )
    out = (
        Redactor("k", notes)
        .text(
            pd.Series(
                [
                    "Ambulates 150 ft with a walker; Walker reports less pain.",
                    "PATIENT: RITA WALKER",
                    "rita walker seen today",
                    "Walker, Rita: no falls",
                ]
            )
        )
        .tolist()
    )
    assert out[0] == f"Ambulates 150 ft with a walker; {MASK} reports less pain."
    assert out[1] == f"PATIENT: {MASK} {MASK}"
    assert out[2] == f"{MASK} {MASK} seen today"
    assert out[3] == f"{MASK} {MASK}: no falls"


def test_ids_are_replaced_only_where_they_can_be_and_exactly_as_everywhere():
    import pyarrow as pa

    from chartaudit.privacy import _replace_all, _replace_ids

    ids = ["MRN004512", "MRN0045", "P-77", "123456"]
    texts = pa.array(
        [
            "seen MRN004512 and MRN0045",
            "xMRN0045 is not an id; P-77x is not P-77",
            "no id here at all",
            "(123456)-PT-1, 1234567",
            None,
        ],
        type=pa.large_string(),
    )
    assert _replace_ids(texts, ids, "[id]").equals(_replace_all(texts, ids, "[id]", False))
    assert _replace_ids(texts, ids, "[id]")[3].as_py() == "([id])-PT-1, 1234567"


def test_a_name_after_a_relation_word_is_masked_as_a_relatives():
    r = Redactor("k", NOTES)
    out = r.text(
        pd.Series(
            [
                "by her daughter Rosalind Núñez-Park today",
                "Wife: Mary reports; his son, Tom, drives",
                "Jason Smith and a sonogram Normal; caregiver training",
            ]
        )
    ).tolist()
    assert out[0] == "by her daughter [relative] today"
    assert out[1] == "Wife: [relative] reports; his son, [relative], drives"
    assert out[2] == "Jason Smith and a sonogram Normal; caregiver training"


def test_relatives_names_phones_emails_ssns_and_birth_dates_are_masked():
    r = Redactor("k", NOTES)
    out = r.text(
        pd.Series(
            [
                "Wife Maria assisted; daughter, Jo Ann Smith, present; son's friend Bo helped",
                "Call (555) 123-4567, 555.123.4567 or +1 555 123 4567; ann.lee@example.com",
                "SSN 123-45-6789; DOB: 03/14/1950; born on March 14, 1950",
                # Clinical numbers stay: ranges, sets, dates of service, codes, times.
                "HR 72-88; 10-15 reps; 3x10; 12/10/2026 visit; M17.11; 97110; 2:30 pm",
            ]
        )
    ).tolist()
    assert out[0] == (
        "Wife [relative] assisted; daughter, [relative], present; son's friend [relative] helped"
    )
    assert out[1] == "Call [phone], [phone] or [phone]; [email]"
    assert out[2] == "SSN [ssn]; DOB: [date of birth]; born on [date of birth]"
    assert out[3] == "HR 72-88; 10-15 reps; 3x10; 12/10/2026 visit; M17.11; 97110; 2:30 pm"


def test_a_redacted_run_shows_no_relative_phone_email_or_birth_date(tmp_path):
    """The therapist page quotes the note around its finding; under --redact the quote keeps
    the clinical words and loses the identifiers."""
    import csv
    import zipfile
    from pathlib import Path

    from typer.testing import CliRunner

    from chartaudit.cli import app

    data = Path(__file__).parent / "data" / "workbooks"
    rows = list(csv.DictReader((data / "notes.csv").open(encoding="utf-8")))
    for row in rows:
        if row["note_type"] == "daily":
            row["assessment"] = (
                "Pt tolerated treatment well. Wife Maria (555-123-4567, maria.k@example.com) "
                "asked about DOB 03/14/1950 forms."
            )
            row["plan"] = "Continue per POC."
    export = tmp_path / "export"
    export.mkdir()
    with (export / "notes.csv").open("w", newline="", encoding="cp1252") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    identifiers = ["Maria", "555-123-4567", "maria.k@example.com", "03/14/1950"]

    def texts(out: Path) -> str:
        parts = [p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*.html")]
        parts += [p.read_text(encoding="utf-8-sig") for p in out.glob("*.csv")]
        parts.append((out / "summary.json").read_text(encoding="utf-8"))
        with zipfile.ZipFile(out / "compliance.xlsx") as zf:
            parts += [zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".xml")]
        return "\n".join(parts)

    runner = CliRunner()
    plain = runner.invoke(app, ["run", str(export), "--out", str(tmp_path / "plain")])
    assert plain.exit_code in (0, 1), plain.output
    shown = texts(tmp_path / "plain")
    assert all(i in shown for i in identifiers)  # the report does quote this text
    redacted = runner.invoke(app, ["run", str(export), "--out", str(tmp_path / "red"), "--redact"])
    assert redacted.exit_code in (0, 1), redacted.output
    shown = texts(tmp_path / "red")
    assert "tolerated treatment well" in shown
    assert [i for i in identifiers if i in shown] == []
    assert "Wife [relative]" in shown and "[phone]" in shown and "[date of birth]" in shown
