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
