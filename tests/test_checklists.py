"""Strict checklist loading: exact messages naming file, item and field; merge semantics."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from chartaudit.checklists import builtin_names, load_checklist, load_checklists
from chartaudit.cli import app
from chartaudit.errors import ChecklistError

GOOD_ITEM = """
  - id: OUR-1
    title: Notes are signed
    severity: high
    check: required_field
    params: {field: signed_at}
    why: Unsigned notes are not valid records.
    fix: Sign every note the day you write it.
    reference: MBPM ch. 15 220.3
    examples:
      bad: [{notes: [{note_id: N1, patient_id: P1, note_type: daily, date_of_service: 2026-10-01, therapist: A, credential: PT}]}]
      good: [{notes: [{note_id: N1, patient_id: P1, note_type: daily, date_of_service: 2026-10-01, therapist: A, credential: PT, signed_at: 2026-10-01}]}]
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # Messages name the file as the user typed it; run from the folder holding it.
    monkeypatch.chdir(tmp_path)


def write(tmp_path, body: str, name: str = "ours.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return name


def head(extra: str = "") -> str:
    return f'checklist: ours\ntitle: Ours\nversion: "1"\n{extra}items:\n'


def error_of(path) -> str:
    with pytest.raises(ChecklistError) as info:
        load_checklist(str(path))
    return info.value.message


def test_valid_checklist_loads(tmp_path):
    cl = load_checklist(str(write(tmp_path, head() + GOOD_ITEM)))
    assert [i.id for i in cl.items] == ["OUR-1"]
    assert cl.items[0].params["field"] == "signed_at"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda s: s.replace("    title: Notes are signed\n", "    title: x\n    colour: red\n"),
            'ours.yaml: item OUR-1: unknown field "colour"',
        ),
        (
            lambda s: s.replace("check: required_field", "check: magic"),
            'ours.yaml: item OUR-1: unknown check kind "magic"',
        ),
        (
            lambda s: s.replace("{field: signed_at}", "{field: signed_at, days: 3}"),
            'ours.yaml: item OUR-1: unknown param "days" for check "required_field"',
        ),
        (
            lambda s: s.replace("    why: Unsigned notes are not valid records.\n", ""),
            'ours.yaml: item OUR-1: missing field "why"',
        ),
        (
            lambda s: s.replace("    fix: Sign every note the day you write it.\n", ""),
            'ours.yaml: item OUR-1: missing field "fix"',
        ),
        (
            lambda s: s.replace("severity: high", "severity: urgent"),
            "ours.yaml: item OUR-1: field \"severity\": 'urgent' is not a severity",
        ),
        (lambda s: s + s.split("items:\n")[1], "ours.yaml: item OUR-1: duplicate id"),
        (
            lambda s: s.replace("      good: [", "      nice: ["),
            'ours.yaml: item OUR-1: field "examples" must have bad: and good: lists',
        ),
    ],
)
def test_invalid_items_name_file_item_and_field(tmp_path, mutate, expected):
    path = write(tmp_path, mutate(head() + GOOD_ITEM))
    assert error_of(path) == expected


def test_unknown_top_level_key_and_bad_yaml(tmp_path):
    assert error_of(write(tmp_path, head("owner: me\n") + GOOD_ITEM)) == (
        'ours.yaml: unknown key "owner"'
    )
    bad = write(tmp_path, "checklist: [unclosed\n", "broken.yaml")
    assert error_of(bad).startswith("broken.yaml: line 2: not valid YAML")


def test_extends_overrides_disable(tmp_path):
    body = (
        head(
            "extends: [documentation-quality]\n"
            "overrides:\n  DOC-SIGN-TIMELY: {severity: critical, params: {max_days: 1}}\n"
            "disable: [DOC-CLONED-ACROSS]\n"
        )
        + GOOD_ITEM
    )
    cl = load_checklist(str(write(tmp_path, body)))
    ids = [i.id for i in cl.items]
    assert "DOC-CLONED-ACROSS" not in ids and "OUR-1" in ids and "DOC-SIGNED" in ids
    timely = next(i for i in cl.items if i.id == "DOC-SIGN-TIMELY")
    assert timely.severity == "critical" and timely.params["max_days"] == 1
    bad = head("extends: [documentation-quality]\noverrides:\n  NOPE-1: {severity: low}\n")
    assert error_of(write(tmp_path, bad + GOOD_ITEM, "b.yaml")).startswith(
        "b.yaml: overrides.NOPE-1: no such item"
    )


def test_builtin_checklists_are_the_three_of_the_spec():
    assert {"medicare-part-b", "documentation-quality", "commercial"} <= set(builtin_names())
    lists = {cl.name: cl for cl in load_checklists(None)}
    assert lists["medicare-part-b"].applies_to == {
        "payer_type": ["medicare_b", "medicare_advantage"]
    }
    assert lists["commercial"].applies_to == {"payer_type": ["commercial"]}
    assert lists["documentation-quality"].applies_to == {}


SPEC_IDS = {
    "medicare-part-b": "MCR-POC-ELEMENTS MCR-POC-CERT-30 MCR-POC-90 MCR-RECERT MCR-PR-10 "
    "MCR-CLINICIAN-AUTHOR MCR-8MIN MCR-8MIN-ALLOC MCR-UNTIMED-1 MCR-G0283 MCR-DISCIPLINE-MOD "
    "MCR-CQCO MCR-KX MCR-TIMED-MIN MCR-TOTAL-TIME",
    "documentation-quality": "DOC-SIGNED DOC-SIGN-TIMELY DOC-COSIGN DOC-CREDENTIAL "
    "DOC-EVAL-FIRST DOC-SOAP DOC-GOALS-MEASURABLE DOC-OUTCOME-BASELINE DOC-OUTCOME-REPEAT "
    "DOC-SKILLED DOC-CLONED DOC-CLONED-ACROSS DOC-DISCHARGE DOC-CHRONOLOGY AUTH-VISITS",
    "commercial": "COM-8MIN-PER-CODE",
}


@pytest.mark.parametrize("name", sorted(SPEC_IDS))
def test_every_spec_item_id_exists(name):
    ids = {i.id for i in load_checklist(name).items}
    missing = set(SPEC_IDS[name].split()) - ids
    assert not missing, f"{name} lacks {sorted(missing)}"


def test_validate_command_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["checklists", "validate", write(tmp_path, head() + GOOD_ITEM)])
    assert ok.exit_code == 0 and "valid" in ok.output
    bad = write(
        tmp_path, head() + GOOD_ITEM.replace("check: required_field", "check: magic"), "bad.yaml"
    )
    result = runner.invoke(app, ["checklists", "validate", bad])
    assert result.exit_code == 2
    assert 'unknown check kind "magic"' in result.output
    assert "Traceback" not in result.output


def test_validate_runs_the_examples_of_the_checklists_own_items(tmp_path):
    bad_line = GOOD_ITEM.split("      bad: ")[1].split("\n")[0]
    good_line = GOOD_ITEM.split("      good: ")[1].split("\n")[0]
    swapped = (
        GOOD_ITEM.replace(bad_line, "@@").replace(good_line, bad_line).replace("@@", good_line)
    )
    path = write(tmp_path, head("extends: [documentation-quality]\n") + swapped, "swapped.yaml")
    load_checklist(path)  # well-formed: only running the examples shows the mistake
    result = CliRunner().invoke(app, ["checklists", "validate", path])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "swapped.yaml: item OUR-1: bad example 1 does not fail the item (pass)" in said
    assert "(and 1 more)" in said and "fix:" in said


def fix_of(path) -> str:
    with pytest.raises(ChecklistError) as info:
        load_checklist(str(path))
    return info.value.fix


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "DOC-SIGN-TIMELY: {params: {max_days: -5}}",
            'o.yaml: overrides.DOC-SIGN-TIMELY: param "max_days" of check "signature_timely" '
            "must be at least 0, not -5",
        ),
        (
            "DOC-CLONED: {params: {threshold: 7}}",
            'o.yaml: overrides.DOC-CLONED: param "threshold" of check "cloned_within_patient" '
            "must be between 0 and 1, not 7",
        ),
        (
            "MCR-PR-10: {params: {max_treatment_days: 0}}",
            'o.yaml: overrides.MCR-PR-10: param "max_treatment_days" of check '
            '"progress_report_interval" must be at least 1, not 0',
        ),
    ],
)
def test_impossible_param_values_are_rejected_with_the_default_as_the_fix(
    tmp_path, override, expected
):
    body = (
        'checklist: o\ntitle: O\nversion: "1"\nextends: [medicare-part-b, documentation-quality]\n'
    )
    path = write(tmp_path, body + f"overrides:\n  {override}\n", "o.yaml")
    assert error_of(path).replace("\n", " ") == expected
    assert "default" in fix_of(path)


def test_every_checklist_error_comes_with_a_fix(tmp_path):
    cases = {
        "list.yaml": "- just\n- a list\n",
        "empty.yaml": "",
        "ext.yaml": head("extends: [nope-list]\n") + GOOD_ITEM,
        "type.yaml": head() + GOOD_ITEM.replace("{field: signed_at}", "{field: [signed_at]}"),
    }
    for name, body in cases.items():
        path = write(tmp_path, body, name)
        assert fix_of(path), name
    assert error_of("ext.yaml") == "ext.yaml: extends: nope-list: no such checklist"


def test_an_overridden_param_shows_in_the_item_title(tmp_path):
    body = (
        'checklist: strict\ntitle: Strict\nversion: "1"\nextends: [documentation-quality]\n'
        "overrides:\n  DOC-SIGN-TIMELY: {params: {max_days: 1}}\n"
    )
    strict = load_checklist(str(write(tmp_path, body, "strict.yaml")))
    timely = next(i for i in strict.items if i.id == "DOC-SIGN-TIMELY")
    assert timely.title == "Signed within 1 day of the date of service"
    builtin = next(i for i in load_checklist("documentation-quality").items if i.id == timely.id)
    assert builtin.title == "Signed within 3 days of the date of service"
    bad = head() + GOOD_ITEM.replace("title: Notes are signed", "title: Signed in {days} days")
    assert error_of(write(tmp_path, bad, "t.yaml")) == (
        't.yaml: item OUR-1: field "title": {days} is not a param of check "required_field"'
    )


def test_the_readme_example_checklist_validates_with_its_examples(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("Write your own by extending a built-in one:")[1]
    body = block.split("```yaml", 1)[1].split("```", 1)[0]
    path = write(tmp_path, body, "our-clinic.yaml")
    result = CliRunner().invoke(app, ["checklists", "validate", path])
    assert result.exit_code == 0, result.output
    assert "examples fail and pass as they should" in " ".join(result.output.split())


def test_overriding_any_one_param_of_a_builtin_item_with_its_own_value_validates(tmp_path):
    """An override of one param keeps the item's other params as they were, a None default
    ("all sections", "the shared phrase list") included (it was re-validated as a wrong type)."""
    import yaml

    for name in builtin_names():
        items = load_checklist(name).items
        rounds = max(len(i.params) for i in items)
        for r in range(rounds):
            overrides = {
                i.id: {"params": {k: v}}
                for i in items
                for k, v in list(i.params.items())[r : r + 1]
            }
            body = {"checklist": "ours", "title": "Ours", "version": "1", "extends": [name]}
            path = tmp_path / f"{name}-{r}.yaml"
            path.write_text(yaml.safe_dump({**body, "overrides": overrides}), encoding="utf-8")
            merged = {i.id: i for i in load_checklist(str(path)).items}
            assert all(merged[i.id].params == i.params for i in items), (name, r)


def test_the_readmes_clone_threshold_override_validates_and_keeps_every_section(tmp_path):
    body = (
        'checklist: ours\ntitle: Ours\nversion: "1"\nextends: [documentation-quality]\n'
        "overrides:\n  DOC-CLONED: {params: {threshold: 0.9}}\n"
        "  DOC-SKILLED: {params: {min_skilled_indicators: 3}}\n"
    )
    path = write(tmp_path, body, "t1.yaml")
    result = CliRunner().invoke(app, ["checklists", "validate", path])
    assert result.exit_code == 0, result.output
    items = {i.id: i for i in load_checklist(path).items}
    assert items["DOC-CLONED"].params["threshold"] == 0.9
    assert items["DOC-CLONED"].params["sections"] is None
    assert items["DOC-SKILLED"].params["min_skilled_indicators"] == 3
    assert items["DOC-SKILLED"].params["stock_phrases"] is None


def test_validate_names_the_example_note_that_fails_and_what_the_item_said(tmp_path):
    good = GOOD_ITEM.split("      good: ")[1].split("\n")[0]
    unsigned = good.replace("N1", "N7").replace(", signed_at: 2026-10-01", ", signed_at: ''")
    body = head() + GOOD_ITEM.replace(good, f"[{good[1:-1]}, {unsigned[1:-1]}]")
    result = CliRunner().invoke(app, ["checklists", "validate", write(tmp_path, body)])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert (
        "ours.yaml: item OUR-1: good example 2 does not pass the item (fail): note N7 fails: "
        '"no signed at (signed_at is blank)"'
    ) in said, said
    # The first good example passes: it is not judged with the second one's blank signed_at.
    assert "good example 1" not in said


def test_the_builtin_checklists_validate_with_their_examples():
    for name in builtin_names():
        result = CliRunner().invoke(app, ["checklists", "validate", name])
        assert result.exit_code == 0, result.output
