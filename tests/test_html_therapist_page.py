"""The therapist page of a real run (sample_charts through the CLI), as a trainer reads it."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from chartaudit.cli import app
from test_html import Page

SAMPLE = Path(__file__).resolve().parent.parent / "sample_charts"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "report"
    result = CliRunner().invoke(
        app, ["run", str(SAMPLE), "--out", str(out), "--no-history", "--format", "html,csv,json"]
    )
    assert result.exit_code in (0, 1), result.output
    return out


def run_notes(tmp_path: Path, rows: list[str]) -> Path:
    """`chartaudit run` on a notes.csv of `rows` (header first) in Windows-1252: the report."""
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "notes.csv").write_text("\n".join(rows) + "\n", encoding="cp1252")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "export"), "--out", str(out), "--no-history"]
    )
    assert result.exit_code in (0, 1), result.output
    return out


def pages(out: Path) -> dict[str, tuple[str, Page]]:
    return {
        p.stem: (text, Page(text))
        for p in sorted((out / "therapists").glob("*.html"))
        for text in [p.read_text(encoding="utf-8")]
    }


def section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def test_every_rate_on_a_therapist_page_has_one_decimal(run):
    for name, (text, page) in pages(run).items():
        rate = section(page.plain, "Checklist items met", "95% interval").strip()
        median = section(page.plain, "Team median", "therapists").split()[0]
        # The chart labels the dot and the median line as precisely as the cards above it.
        chart = re.search(r'<svg class="chart"[^>]*aria-label="([^"]*)"(.*?)</svg>', text, re.S)
        assert chart.group(1) == f"Your rate {rate} against the team median {median}", name
        assert f">you {rate}</text>" in chart.group(2), name
        assert f">team median {median}</text>" in chart.group(2), name
        # Every other percentage the page prints too (the axis' tick labels are not rates).
        # (Quoted note text is the therapist's own: "82% of trials" is no rate of ours.)
        own = Page(re.sub(r"<blockquote>.*?</blockquote>", "", text, flags=re.S)).plain
        words = own.replace("95% interval", "").replace("its 95% interval", "")
        ticks = {f"{p}%" for p in range(0, 101, 5)}
        whole = [w for w in re.findall(r"(?<![\d.])\d+%", words) if w not in ticks]
        assert whole == [], (name, whole)
        labels = re.findall(r'aria-label="([^"]*%[^"]*)"', text)
        assert all(re.fullmatch(r"\d+\.\d%", label) for label in labels[1:]), (name, labels)


def test_a_strength_never_rests_on_notes_a_top_gap_left_out(run):
    """An unsigned note is never judged late, and a stock-phrase note is too short to compare
    for copying: "Signed within 3 days" and "not copied" are no strengths beside those gaps."""
    after = {
        "Note is signed": ["Signed within 3 days of the date of service"],
        "Skilled care shown, not stock phrases": [
            "Note not copied from the patient's earlier note",
            "Same text not used for different patients",
        ],
    }
    seen = 0
    for name, (text, page) in pages(run).items():
        gap_titles = top_gaps(text)
        strengths = section(page.plain, "What you do well", "Top gaps")
        for gap, undermined in after.items():
            if gap in gap_titles:
                seen += 1
                for title in undermined:
                    assert f"{title} –" not in strengths, (name, gap, title)
    assert seen >= 5  # the sample run has such pages (a dozen with "Note is signed")


def item_counts(text: str, title: str) -> tuple[int, int, int] | None:
    """(checked, passed, failed) of an item in the page's "All items" table."""
    row = re.search(
        r"<tr><td>"
        + re.escape(str(escape(title)))
        + r'</td><td>.*?</td><td class="n">([\d,]+)</td>'
        r'<td class="n">([\d,]+)</td><td class="n">([\d,]+)</td>',
        text,
    )
    return None if row is None else tuple(int(g.replace(",", "")) for g in row.groups())


def test_the_strength_that_stays_is_met_on_nine_in_ten_of_its_notes(run):
    """Every strength is met on at least 90% of the notes it concerns, and those are never
    fewer than the notes it judged (an unsigned note, never judged late, still counts)."""
    seen = 0
    for name, (text, page) in pages(run).items():
        strengths = section(page.plain, "What you do well", "Top gaps")
        for title, passed, concerned in re.findall(
            r"✓ (.+?) – met in ([\d,]+) of ([\d,]+) ", strengths
        ):
            passed, concerned = int(passed.replace(",", "")), int(concerned.replace(",", ""))
            assert passed / concerned >= 0.9, (name, title, passed, concerned)
            judged = item_counts(text, title)
            assert judged is not None and concerned >= judged[0], (name, title, judged)
            seen += 1
    assert seen


def test_notes_without_a_finding_with_counts_and_the_team_figure(run):
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    team = f"{summary['overall']['notes_without_findings_rate'] * 100:.1f}%"
    rows = list(csv.DictReader((run / "notes.csv").open(encoding="utf-8-sig")))
    # A note is without a finding on its author's page when no finding counts against the
    # author (findings.csv names whom each counts against: a report overdue on an assistant's
    # visit counts against the supervising therapist).
    findings = list(csv.DictReader((run / "findings.csv").open(encoding="utf-8-sig")))
    against = {(f["note_id"], f["therapist"]) for f in findings}
    by_name: dict[str, list[bool]] = {}
    for r in rows:
        by_name.setdefault(r["therapist"], []).append((r["note_id"], r["therapist"]) not in against)
    moved = sum(
        int(r["failed"]) > 0 and (r["note_id"], r["therapist"]) not in against for r in rows
    )
    assert moved  # the sample run has notes whose only finding is the supervisor's
    for name, (_, page) in pages(run).items():
        who = re.match(r"\s*(.+?) – documentation audit", page.plain).group(1)
        found = re.search(
            r"(\d+) of (\d+) notes \((\d+\.\d)%\) had no finding; team (\S+)\.", page.plain
        )
        assert found, name
        clean, total, rate, team_shown = found.groups()
        assert (int(clean), int(total)) == (sum(by_name[who]), len(by_name[who])), name
        assert rate == f"{int(clean) / int(total) * 100:.1f}" and team_shown == team, name
        card = section(page.plain, "Notes without a finding", "Critical findings").split()
        assert card == [f"{rate}%", clean, "of", total, "notes", "·", "team", team], card
    # The overview: the team's card and a column of the therapists' table.
    index = Page((run / "index.html").read_text(encoding="utf-8"))
    assert f"Notes without a finding {team}" in index.plain
    table = section(index.plain, "Therapist Credential Discipline", "Checklist items")
    assert "Notes without a finding" in table


def test_the_example_is_written_for_the_therapists_discipline(run):
    """OT and SLP pages show OT and SLP notes under "What good looks like", PT pages PT ones."""
    shown = {"PT": 0, "OT": 0, "SLP": 0}
    for name, (text, page) in pages(run).items():
        discipline = re.search(r"Documentation audit · (\w+) ·", page.plain).group(1)
        headings = re.findall(r'<div class="heading">([^<]*)<', text)
        headings += re.findall(r"<tr><td>([^<]*)</td><td>[^<]*</td>\s*<td>", text)
        kinds = {h.split(" · ")[1] for h in headings if h.count(" · ") >= 1}
        assert kinds <= {discipline}, (name, kinds)
        shown[discipline] += bool(kinds)
    assert all(shown.values()), shown


def top_gaps(text: str) -> list[str]:
    """The titles under "Top gaps" (the other items missed follow under their own heading)."""
    top = text.split('id="gaps"', 1)[1].split('id="other-gaps"', 1)[0]
    return [
        Page(m).plain.strip()
        for m in re.findall(r'<h3><span class="num">\d+\.</span> (.*?) <span', top)
    ]


def strength_titles(page: Page) -> list[str]:
    return re.findall(r"✓ (.+?) – met in", section(page.plain, "What you do well", "Top gaps"))


def test_no_strength_shares_its_topic_with_a_top_gap(run):
    """ "Units allocated among the day's codes" is no strength beside a missed 8-minute rule
    for the day, nor "progress report every 10 days" beside a report the assistant wrote."""
    from chartaudit.checklists import load_checklists
    from chartaudit.checks import REGISTRY

    topic = {i.title: REGISTRY[i.check].topic for cl in load_checklists(None) for i in cl.items}
    seen = 0
    for name, (text, page) in pages(run).items():
        gap_topics = {topic[g] for g in top_gaps(text)} - {""}
        seen += bool(gap_topics)
        for title in strength_titles(page):
            assert topic[title] not in gap_topics, (name, title)
    assert seen >= 5


def test_a_strength_is_something_the_therapists_peers_can_miss(run):
    """Nobody praises a speech-language pathologist for not billing 97014, or a therapist for
    the assistant modifier: a strength is an item that someone of the same discipline missed."""
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    discipline = {t["therapist"]: t["discipline"] for t in summary["therapists"]}
    missed: dict[str, set[str]] = {}
    for f in csv.DictReader((run / "findings.csv").open(encoding="utf-8-sig")):
        missed.setdefault(discipline[f["therapist"]], set()).add(f["item_title"])
    listed = 0
    for name, (_, page) in pages(run).items():
        who = re.match(r"\s*(.+?) – documentation audit", page.plain).group(1)
        for title in strength_titles(page):
            listed += 1
            assert title in missed.get(discipline[who], set()), (name, title)
        if discipline[who] == "SLP":
            assert "97014 not billed to Medicare (bill G0283)" not in strength_titles(page)
    assert listed


def test_the_strongest_item_so_far_is_never_one_of_the_pages_top_gaps(tmp_path):
    """Two therapists who each left one of six notes unsigned: "Note is signed" is a top gap
    on each page, so it is not also praised as the therapist's strongest item."""
    text = (
        "S: pain 4/10. O: gait training 200 ft with SPC, min A, cues for heel strike. "
        "A: improved stance time. P: progress distance."
    )
    rows = ["note_id,patient_id,note_type,date_of_service,therapist,credential,signed_at,note_text"]
    for t, who in enumerate(["Ann Lee", "Bo Kim"]):
        for day in range(1, 7):
            signed = "" if day == 6 else f"2026-09-0{day}"
            rows.append(f'{"AB"[t]}{day},P{t},daily,2026-09-0{day},{who},DPT,{signed},"{text}"')
    out = run_notes(tmp_path, rows)
    for name, (text, page) in pages(out).items():
        assert "Note is signed" in top_gaps(text), name
        assert "Nothing stands out yet" in page.plain, name
        assert "Your strongest so far: Note is signed" not in page.plain, name


def test_every_item_a_therapist_missed_is_explained_with_their_own_notes(run):
    """Not only the top five: each missed item has its why, its fix and an excerpt of the
    therapist's notes on their page (a trainer's teaching items are often the rarer ones)."""
    with (run / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        findings = list(csv.DictReader(fh))
    explained = 0
    for name, (text, _) in pages(run).items():
        therapist = Page(re.search(r"<h1>(.*?)</h1>", text, re.S).group(1)).plain
        missed = {f["item_title"] for f in findings if therapist.startswith(f["therapist"] + ",")}
        sections = {
            Page(title).plain.strip(): body
            for title, body in re.findall(
                r'<section class="gap"[^>]*>\s*<h3><span class="num">\d+\.</span> (.*?) <span'
                r"(.*?)</section>",
                text,
                re.S,
            )
        }
        assert set(sections) == missed, name
        for title, body in sections.items():
            assert "Why it matters" in body and "How to fix it" in body, (name, title)
            assert '<div class="excerpt">' in body, (name, title)
        explained += len(sections)
    assert explained > 5 * len(pages(run))  # more than the top five gaps of each page


def test_a_copied_note_is_quoted_with_the_copied_passage_highlighted(run):
    """A trainer sees what was copied, not only that it was: the clone findings quote the
    passage both notes share, and the therapist's page highlights it inside the note."""
    with open(run / "findings.csv", encoding="utf-8", newline="") as f:
        clones = [r for r in csv.DictReader(f) if r["item_id"].startswith("DOC-CLONED")]
    assert {r["item_id"] for r in clones} == {"DOC-CLONED", "DOC-CLONED-ACROSS"}
    texts = {text for text, _ in pages(run).values()}
    highlighted = 0
    for r in clones:
        # a sentence of the note, not a reference to the other note (that is the message's)
        assert len(r["evidence"].split()) >= 5 and "note N" not in r["evidence"], r
        highlighted += any(f"<mark>{escape(r['evidence'])}</mark>" in t for t in texts)
    assert highlighted >= 10


def test_the_only_assistant_and_the_only_pt_get_strengths_from_a_wider_peer_group(tmp_path):
    """A clinic's only COTA has no peer of her discipline and role: her strengths are what her
    OT colleagues miss; the only PT's, what the team misses. Each page names the group."""
    text = (
        "S: reports buttoning shirt with less effort. O: fine motor training 20 min, in-hand "
        "manipulation with min verbal cues. A: improved dexterity. P: progress to zippers."
    )
    staff = [
        ("Ann Lee", "OTR/L", "OT"),
        ("Bo Kim", "OTR/L", "OT"),
        ("Cy Day", "COTA/L", "OT"),
        ("Di Roe", "DPT", "PT"),
    ]
    head = "note_id,patient_id,note_type,date_of_service,therapist,credential,discipline,"
    rows = [head + "signed_at,note_text"]
    for t, (who, credential, discipline) in enumerate(staff):
        for day in range(1, 7):
            # Ann leaves a note unsigned: "Note is signed" is something OT clinicians miss.
            signed = "" if (t == 0 and day == 6) else f"2026-09-0{day}"
            rows.append(
                f"{'ABCD'[t]}{day},P{t},daily,2026-09-0{day},{who},{credential},{discipline},"
                f'{signed},"{text}"'
            )
    out = run_notes(tmp_path, rows)
    shown = pages(out)
    for name, peers in (
        ("cy-day", "OT clinicians of any role"),
        ("bo-kim", "OT therapists"),
        ("di-roe", "the team"),
    ):
        page = shown[name][1]
        assert "Note is signed" in strength_titles(page), name
        assert f"Items that {peers} sometimes miss" in page.plain, name
        assert "Nothing stands out yet" not in page.plain, name


def test_the_supervised_visits_sentence_points_only_to_a_section_the_page_has(run):
    """'listed under Visits you supervise' on a page without that section (nothing missed on
    the visits) sent the reader looking for it (acceptance test m-3)."""
    all_met = 0
    for name, (text, page) in pages(run).items():
        has_section = 'id="supervised"' in text
        assert ('href="#supervised"' in text) == has_section, name
        if "on the visits of assistants or students you supervise" in page.plain:
            all_met += not has_section
            assert ("all met." in page.plain) != has_section, name
    assert all_met  # sample_charts has supervising therapists with and without misses


def test_a_run_limited_to_one_therapist_makes_no_team_comparison(tmp_path):
    """A --therapist run's 'team' is the therapist alone: no 'team median' of one therapist,
    no 'the team meets it' (acceptance test m-2)."""
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        ["run", str(SAMPLE), "--out", str(out), "--no-history", "--format", "html"]
        + ["--therapist", "jamal chen"],
    )
    assert result.exit_code in (0, 1), result.output
    (name, (text, page)), *others = pages(out).items()
    assert not others and name == "jamal-chen"
    assert "makes no comparison with the team" in page.plain
    for team_words in ("Team median", "team median", "the team meets it", "; team ", "· team "):
        assert team_words not in page.plain, team_words
    assert 'class="median"' not in text and 'class="team"' not in text
    assert "Top gaps" in page.plain and "Missed on" in page.plain  # the page itself is there
    index = Page((out / "index.html").read_text(encoding="utf-8"))
    assert "Team median" not in index.plain and "no team median" in index.plain
