"""Where each CSV record starts: the row number of every row pyarrow reads, and its fields.

pyarrow parses a CSV file fast but says neither which row of the file a row was (a quoted
value may hold newlines, and blank lines are rows a spreadsheet counts) nor, without a slow row
handler, which rows were malformed. This scanner reads the file's bytes once, block by block,
with the same rules (quoted fields with doubled quotes inside; CR, LF or CRLF line ends) and
gives every record after the header: its row, its first and last line and its number of fields
(0 for a blank line). A compiled loop (numba, like the clone checks') scans about 2.7 ns a
byte: 2.4 s for a million notes' 870 MB, and it runs only for a file with a malformed row or a
blank line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

_QUOTE = 34
_CR = 13
_LF = 10

# state: 0 line (1-based) of the current byte, 1 record's first line, 2 fields so far,
# 3 bytes in the record so far, 4 inside a quoted field, 5 at a field's start, 6 a quote was
# just seen inside a quoted field, 7 the previous byte was CR (an LF after it ends nothing),
# 8 the record's row: as a spreadsheet numbers it (a blank line is a row, a value over
# several lines one row).
_STATE = 9


@njit(cache=True, nogil=True)
def scan_block(block, delimiter, state, row, first, last, fields):  # pragma: no cover
    """Scan one block, continuing from `state`; write each record that ends in it to
    row/first/last/fields (its row, first and last line, field count). Returns how many it
    wrote."""
    line, start, count, size = state[0], state[1], state[2], state[3]
    quoted, at_start, quote_seen, after_cr = state[4], state[5], state[6], state[7]
    rec = state[8]
    n = 0
    for b in block:
        if after_cr == 1:
            after_cr = 0
            if b == _LF:
                continue  # the LF of a CRLF: the line already ended
        if quoted == 1:
            if quote_seen == 1:
                quote_seen = 0
                if b == _QUOTE:
                    continue  # a doubled quote: a quote inside the value
                quoted = 0  # the closing quote; this byte is read as outside the quotes
            elif b == _QUOTE:
                quote_seen = 1
                continue
            else:
                if b == _LF or b == _CR:
                    line += 1
                    after_cr = 1 if b == _CR else 0
                continue
        if b == _LF or b == _CR:
            row[n] = rec
            first[n] = start
            last[n] = line
            fields[n] = count + 1 if size > 0 else 0  # 0: a blank line
            n += 1
            rec += 1
            line += 1
            after_cr = 1 if b == _CR else 0
            start, count, size, at_start = line, 0, 0, 1
            continue
        size += 1
        if b == delimiter:
            count += 1
            at_start = 1
        elif at_start == 1 and b == _QUOTE:
            quoted = 1
            at_start = 0
        else:
            at_start = 0
    state[0], state[1], state[2], state[3] = line, start, count, size
    state[4], state[5], state[6], state[7] = quoted, at_start, quote_seen, after_cr
    state[8] = rec
    return n


class Records:
    """The records of a delimited file after its header: `row` (numbered as a spreadsheet
    numbers them, the header row 1), `first` and `last` line (1-based) and `fields`, the
    number of fields (0 for a blank line). `open_quote`: the file ends inside a quoted value.
    For text encodings that write these characters as single ASCII bytes (UTF-8,
    Windows-1252, Latin-1)."""

    BLOCK = 1 << 24

    def __init__(self, path: Path, delimiter: str) -> None:
        state = np.zeros(_STATE, dtype=np.int64)
        state[0] = state[1] = state[8] = 1
        state[5] = 1
        parts: list[tuple[np.ndarray, ...]] = []
        sep = ord(delimiter)
        with path.open("rb") as fh:
            if fh.read(3) != b"\xef\xbb\xbf":  # a UTF-8 BOM is not part of the first value
                fh.seek(0)
            ends_line = False
            while block := fh.read(self.BLOCK):
                data = np.frombuffer(block, dtype=np.uint8)
                out = [np.empty(len(data) + 1, dtype=np.int64) for _ in range(4)]
                k = scan_block(data, sep, state, *out)
                parts.append(tuple(a[:k].copy() for a in out))
                ends_line = block[-1:] in (b"\n", b"\r")
        if state[3] > 0 or state[4] == 1:  # a last record without a line end
            end = state[0] - (1 if ends_line else 0)  # the file's last line, not the one after
            parts.append(tuple(np.array([v]) for v in (state[8], state[1], end, state[2] + 1)))
        self.open_quote = bool(state[4] == 1)
        row, first, last, fields = (
            np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, np.int64)
            for i in range(4)
        )
        # The first record is the header (blank lines before it are not rows).
        head = int(np.argmax(fields > 0)) if len(fields) else 0
        self.row, self.first, self.last, self.fields = (
            a[head + 1 :] for a in (row, first, last, fields)
        )

    def rejected(self, width: int) -> list[tuple[int, str]]:
        """(row, reason) of every record whose number of fields is not the header's, and of a
        last record that ends inside a quoted value."""
        bad = (self.fields != width) & (self.fields > 0)
        last = len(bad) - 1
        if self.open_quote and last >= 0:
            bad[last] = True
        out = []
        for i in np.flatnonzero(bad).tolist():
            n, first, end = int(self.fields[i]), int(self.first[i]), int(self.last[i])
            reason = f"row has {n} fields but the header has {width}"
            if self.open_quote and i == last and n == width:
                reason = (
                    f"a quote opened in this row is not closed: lines {first} to {end} (the end"
                    " of the file) were read as one value"
                )
            elif self.open_quote and i == last:
                reason += "; a quote opened in it is not closed before the end of the file"
            elif end > first and n > width:
                reason += (
                    f"; it runs from line {first} to line {end}: a quote opened in it is likely"
                    " not closed, so the lines after it were read into it"
                )
            out.append((int(self.row[i]), reason))
        return out
