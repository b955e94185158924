"""The report pages in a real headless Chromium: they draw something and print to PDF."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from chartaudit.report import html, pdf
from test_html import report_data

BROWSER = pdf.find_chromium()
needs_chromium = pytest.mark.skipif(
    BROWSER is None,
    reason="Chromium is not installed (apt-get install chromium, or set $CHARTAUDIT_CHROMIUM)",
)


def png_colours(path: Path, limit: int = 3) -> set[bytes]:
    """Distinct pixel colours of an 8-bit RGB/RGBA PNG (stops counting at `limit`)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour_type in (2, 6), "unexpected PNG format"
            bpp = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    colours: set[bytes] = set()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):  # undo the PNG row filter
            a = line[x - bpp] if x >= bpp else 0
            b = previous[x]
            c = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i : i + bpp]) for i in range(0, stride, bpp * 7))
        if len(colours) >= limit:
            break
        previous = line
    return colours


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chromium")
    data = report_data(tmp)
    out = tmp / "report"
    html.write_html(data, out)
    slug = data.stats.therapists.set_index("therapist").loc["Zoë Ćwik", "slug"]
    return out, out / "index.html", out / "therapists" / f"{slug}.html"


@needs_chromium
@pytest.mark.parametrize("which", ["index", "therapist"])
def test_pages_draw_something_in_headless_chromium(pages, which):
    out, index, therapist = pages
    shot = out / f"{which}.png"
    page = index if which == "index" else therapist
    assert pdf.render(BROWSER, page, shot, screenshot=True, window=(1024, 900)) is None
    assert len(png_colours(shot)) > 1, "the screenshot is blank"


@needs_chromium
def test_overview_prints_to_pdf(pages):
    out, index, _ = pages
    printed = out / "index.pdf"
    assert pdf.render(BROWSER, index, printed) is None
    assert printed.read_bytes()[:4] == b"%PDF"
    assert printed.stat().st_size > 1024


@needs_chromium
def test_write_pdfs_prints_one_pdf_per_therapist_page(pages, monkeypatch):
    out, _, therapist = pages
    monkeypatch.setattr(pdf, "WORKERS", 2)
    # Print just one page to keep the suite fast: the others are the same template.
    others = [p for p in (out / "therapists").glob("*.html") if p != therapist]
    for p in others:
        p.rename(p.with_suffix(".skip"))
    try:
        written, message = pdf.write_pdfs(out)
    finally:
        for p in others:
            p.with_suffix(".skip").rename(p)
    assert message is None
    assert written == [therapist.with_suffix(".pdf")]
    assert written[0].read_bytes().startswith(b"%PDF")
    assert written[0].stat().st_size > 1024


def test_missing_chromium_is_a_message_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHARTAUDIT_CHROMIUM", raising=False)
    (tmp_path / "therapists").mkdir()
    (tmp_path / "therapists" / "a.html").write_text("<p>x</p>", encoding="utf-8")
    written, message = pdf.write_pdfs(tmp_path)
    assert written == []
    assert message == pdf.MISSING
    assert "apt-get install chromium" in message


def test_a_browser_that_hangs_is_stopped_and_reported(tmp_path, monkeypatch):
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\nsleep 30\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("CHARTAUDIT_CHROMIUM", str(fake))
    (tmp_path / "therapists").mkdir()
    (tmp_path / "therapists" / "a.html").write_text("<p>x</p>", encoding="utf-8")
    written, message = pdf.write_pdfs(tmp_path, timeout=0.5)
    assert written == []
    assert "could not print 1 of 1" in message and "timed out" in message
    assert not (tmp_path / "therapists" / "a.pdf").exists()
