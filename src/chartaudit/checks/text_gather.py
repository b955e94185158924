"""The texts of chosen notes, copied back to back into one reused buffer, to search with Arrow.

A check that searches a few words in the notes that billed each of twenty codes copies each
note's text once per code: millions of small copies at a million notes. Arrow's take writes
every copy into freshly allocated memory, and the first touch of each new page costs the kernel
more than the copy itself. Here the copies go into one buffer that grows to the largest batch
and is reused for every later one, and a copy may stop after its first `limit` bytes (where
most services are named).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _copy(typingctx, dst, at, src, start, count):
    """memcpy(&dst[at], &src[start], count) for byte arrays: numba's slice assignment copies
    byte by byte, six times slower on these short texts."""
    sig = types.void(dst, types.intp, src, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        d, d_at, s, s_at, n = args
        d_arr = context.make_array(signature.args[0])(context, builder, d)
        s_arr = context.make_array(signature.args[2])(context, builder, s)
        to = builder.gep(d_arr.data, [d_at])
        cgutils.raw_memcpy(builder, to, builder.gep(s_arr.data, [s_at]), n, 1)

    return sig, codegen


@njit(cache=True, nogil=True)
def _gather(offsets, data, valid, rows, limit, out_offsets, out, at, written):
    """Copy text rows[i] of one Arrow chunk (at most `limit` bytes; nothing for a null) to
    out[written:], recording its end in out_offsets[at + i + 1]. Returns the bytes written."""
    for i in range(len(rows)):
        r = rows[i]
        a = offsets[r]
        k = min(offsets[r + 1] - a, limit) if valid[r] else 0
        _copy(out, written, data, a, k)
        written += k
        out_offsets[at + i + 1] = written
    return written


class TextGather:
    """Copies of the texts of notes text columns (Arrow large_string, chunked as loaded, by
    name), all made in one buffer.

    `take` returns an Arrow array over that buffer: search it before the next `take`, which
    overwrites it.
    """

    def __init__(self, columns: dict[str, pa.ChunkedArray]):
        self.columns = {name: _Column(column) for name, column in columns.items()}
        self.out_offsets = np.zeros(1, np.int64)
        self.out = np.zeros(0, np.uint8)

    def take(self, column: str, pos: np.ndarray, limit: int | None = None) -> pa.Array:
        """The texts of `column` at row positions `pos` (at most `limit` bytes of each, nulls
        as empty texts), in that order."""
        col = self.columns[column]
        pos = np.asarray(pos, dtype=np.int64)
        if len(pos) and (pos.min() < 0 or pos.max() >= col.size):
            raise IndexError(f"{column}: row positions outside 0..{col.size - 1}")
        if len(col.chunks) == 1:
            parts = [(0, pos)]
        else:
            chunk_of = np.searchsorted(col.ends, pos, side="right")
            if (np.diff(chunk_of) < 0).any():
                # Copied chunk by chunk, then put back in the order asked for.
                order = np.argsort(chunk_of, kind="stable")
                back = np.empty(len(pos), np.int64)
                back[order] = np.arange(len(pos))
                return self.take(column, pos[order], limit).take(pa.array(back))
            parts = [(c, pos[chunk_of == c] - col.starts[c]) for c in np.unique(chunk_of)]
        if limit is not None:
            need = len(pos) * int(limit)  # at most
        else:
            limit = np.iinfo(np.int64).max
            need = sum(int((col.chunks[c][0][r + 1] - col.chunks[c][0][r]).sum()) for c, r in parts)
        if len(self.out_offsets) < len(pos) + 1:
            size = max(len(pos) + 1, len(self.out_offsets) * 3 // 2)
            self.out_offsets = np.zeros(size, np.int64)
        if len(self.out) < need:
            self.out = np.zeros(max(need, len(self.out) * 3 // 2), np.uint8)
        written, at = 0, 0
        for c, rows in parts:
            offsets, data, valid = col.chunks[c]
            written = _gather(
                offsets, data, valid, rows, limit, self.out_offsets, self.out, at, written
            )
            at += len(rows)
        return pa.Array.from_buffers(
            pa.large_string(),
            len(pos),
            [
                None,
                pa.py_buffer(self.out_offsets[: len(pos) + 1]),
                pa.py_buffer(self.out[:written]),
            ],
        )


class _Column:
    """One text column's chunks as numpy views: (offsets, data, valid) each."""

    def __init__(self, column: pa.ChunkedArray):
        column = column.cast(pa.large_string())  # 64-bit offsets (a no-op when they are)
        self.size = len(column)
        self.chunks = []
        for chunk in column.chunks:
            buffers = chunk.buffers()
            offsets = np.frombuffer(buffers[1], dtype=np.int64) if buffers[1] else np.zeros(1)
            offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(
                np.int64, copy=False
            )
            data = (
                np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] else np.zeros(0, np.uint8)
            )
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            self.chunks.append((offsets, data, valid))
        lengths = np.array([len(c) for c in column.chunks], dtype=np.int64)
        self.ends = np.cumsum(lengths)
        self.starts = self.ends - lengths


@njit(cache=True, nogil=True)
def _gather_ranges(starts, ends, data, out, out_offsets):
    """Copy data[starts[i]:ends[i]] back to back into out, recording each end in
    out_offsets[i + 1]."""
    written = 0
    for i in range(len(starts)):
        k = ends[i] - starts[i]
        _copy(out, written, data, starts[i], k)
        written += k
        out_offsets[i + 1] = written


def cut_before(text: pa.Array, cut: np.ndarray) -> pa.Array:
    """Each text of a large_string array without its first cut[i] bytes (cut at a UTF-8
    boundary, e.g. where a regex matched), as a new array: one copy of the bytes kept (a
    regex that removes a leading `.*?` costs several times more). Nulls become empty texts."""
    text = text.cast(pa.large_string())
    if text.null_count:
        text = pc.fill_null(text, "")
    buffers = text.buffers()
    offsets = np.frombuffer(buffers[1], np.int64)[text.offset : text.offset + len(text) + 1]
    data = np.frombuffer(buffers[2], np.uint8) if buffers[2] else np.zeros(0, np.uint8)
    starts = offsets[:-1] + np.asarray(cut, dtype=np.int64)
    ends = offsets[1:]
    out = np.empty(int((ends - starts).sum()), np.uint8)
    out_offsets = np.zeros(len(text) + 1, np.int64)
    _gather_ranges(starts, ends, data, out, out_offsets)
    return pa.Array.from_buffers(
        pa.large_string(), len(text), [None, pa.py_buffer(out_offsets), pa.py_buffer(out)]
    )
