"""Geometry of the reports' inline SVG charts; the templates draw it (and escape every label).

Only numbers and labels leave this module: no markup is built here, so chart text can never
reach a page unescaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

BAR_WIDTH = 120  # px of a table's mini bar


def _ok(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _x(rate: float, width: float, left: float = 0.0, floor: float = 0.0) -> float:
    """x of a rate on a scale from `floor` to 100% that is `width` wide (clipped to it)."""
    share = (rate - floor) / (1.0 - floor)
    return round(left + max(0.0, min(1.0, share)) * width, 1)


def scale_floor(rates: Sequence[float]) -> float:
    """Where a 0-100% scale may start so close rates stay apart: the lowest rate rounded down
    to 10%, but never above 50%."""
    values = [float(r) for r in rates if _ok(r)]
    return min(0.5, math.floor(min(values) * 10) / 10) if values else 0.0


AXIS_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25)  # gridline steps a rate axis may take
AXIS_INTERVALS = 6  # at most this many steps between the axis's floor and 100%
AXIS_MIN_SPAN = 0.05  # the axis spans at least 5 points below 100%


def rate_axis(rates: Sequence[float | None]) -> tuple[float, float]:
    """(floor, step) of a y axis up to 100% that fits the rates: the lowest rate, less a point,
    rounded down to the step, the step the smallest of AXIS_STEPS that needs at most
    AXIS_INTERVALS gridlines. Rates of 96-99% get 95-100% in 1% steps, not 50-100%."""
    values = [float(r) for r in rates if _ok(r)]
    low = min([*values, 1.0 - AXIS_MIN_SPAN + 0.01]) - 0.01
    for step in AXIS_STEPS:
        floor = max(0.0, math.floor(round(low / step, 6)) * step)
        if (1.0 - floor) / step <= AXIS_INTERVALS + 1e-9:
            return round(floor, 4), step
    return 0.0, AXIS_STEPS[-1]


def mini_bar(
    rate: float | None,
    low: float | None = None,
    high: float | None = None,
    mark: float | None = None,
    width: int = BAR_WIDTH,
) -> dict:
    """A rate as a small horizontal bar with its interval as a whisker and an optional tick
    (e.g. the team's rate) for a table cell; `fill` is None when there is no rate."""
    has_ci = _ok(low) and _ok(high)
    return {
        "width": width,
        "fill": _x(rate, width) if _ok(rate) else None,
        "ci_low": _x(low, width) if has_ci else None,
        "ci_high": _x(high, width) if has_ci else None,
        "mark": _x(mark, width) if _ok(mark) else None,
    }


def mini_bars(
    rate: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    mark: np.ndarray,
    width: int = BAR_WIDTH,
) -> dict[str, list]:
    """mini_bar for many rows at once (float arrays, NaN for none): {key: a value per row}."""
    has_ci = ~np.isnan(low) & ~np.isnan(high)
    bars: dict[str, list] = {"width": [width] * len(rate)}
    for key, values, ok in (
        ("fill", rate, ~np.isnan(rate)),
        ("ci_low", low, has_ci),
        ("ci_high", high, has_ci),
        ("mark", mark, ~np.isnan(mark)),
    ):
        # _x's float operations, then Python's round (numpy's rounds some halves differently)
        # once per distinct value: rates repeat a lot.
        xs = (np.clip(np.where(ok, values, 0.0), 0.0, 1.0) * width + 0.0).tolist()
        rounded = {x: round(x, 1) for x in set(xs)}
        bars[key] = [rounded[x] if y else None for x, y in zip(xs, ok.tolist(), strict=True)]
    return bars


def _percent_ticks(width: float, left: float, floor: float = 0.0) -> list[dict]:
    step = 10 if floor >= 0.5 else 25
    start = math.ceil(floor * 100 / step) * step
    return [
        {"x": _x(p / 100, width, left, floor), "label": f"{p}%"} for p in range(start, 101, step)
    ]


SCALE_WIDTH, SCALE_LEFT = 700, 16


def team_ticks(rates: Sequence[float], floor: float = 0.0, width: int = SCALE_WIDTH) -> list[float]:
    """x of every colleague's rate on the score scale, one per pixel at most (computed once
    per run: the same ticks appear on every therapist's page)."""
    plot = width - 2 * SCALE_LEFT
    values = np.asarray([r for r in rates if _ok(r)], dtype=float)
    share = np.clip((values - floor) / (1.0 - floor), 0, 1)
    return [float(x) for x in np.unique(np.round(SCALE_LEFT + share * plot, 0))]


def score_scale(
    rate: float | None,
    low: float | None,
    high: float | None,
    median: float | None,
    team: Sequence[float] = (),
    floor: float = 0.0,
    width: int = SCALE_WIDTH,
) -> dict:
    """A `floor`-100% scale: the therapist's rate (dot) with its interval, the team median
    (line), and every colleague's rate as a faint tick (`team`, from team_ticks)."""
    left = SCALE_LEFT
    plot = width - 2 * left
    has_ci = _ok(low) and _ok(high)
    return {
        "width": width,
        "height": 74,
        "left": left,
        "right": left + plot,
        "axis_y": 44,
        "dot": _x(rate, plot, left, floor) if _ok(rate) else None,
        "ci_low": _x(low, plot, left, floor) if has_ci else None,
        "ci_high": _x(high, plot, left, floor) if has_ci else None,
        "median": _x(median, plot, left, floor) if _ok(median) else None,
        "team": team,
        "ticks": _percent_ticks(plot, left, floor),
    }


def line_chart(
    labels: Sequence[str],
    rates: Sequence[float | None],
    counts: Sequence[int] = (),
    width: int = 640,
    height: int = 220,
) -> dict:
    """Monthly rates as a line: points, y gridlines in %, and x labels thinned to fit."""
    left, right, top, bottom = 44, 16, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    # Fitted to the range the rates use so month-to-month change is visible.
    floor, grid_step = rate_axis(rates)
    span = 1.0 - floor
    n = len(labels)
    step_x = plot_w / max(n - 1, 1)

    def y_of(r: float) -> float:
        return round(top + (1 - (r - floor) / span) * plot_h, 1)

    points = []
    for i, (label, rate) in enumerate(zip(labels, rates, strict=True)):
        if not _ok(rate):
            continue
        x = round(left + (i * step_x if n > 1 else plot_w / 2), 1)
        points.append(
            {
                "x": x,
                "y": y_of(float(rate)),
                "label": label,
                "rate": float(rate),
                "count": int(counts[i]) if len(counts) > i else None,
            }
        )
    every = max(1, math.ceil(n / 12))
    xlabels = [
        {"x": round(left + (i * step_x if n > 1 else plot_w / 2), 1), "label": label}
        for i, label in enumerate(labels)
        if i % every == 0 or i == n - 1
    ]
    grid = []
    value = 1.0
    while value >= floor - 1e-9:
        grid.append({"y": y_of(value), "label": f"{round(value * 100)}%"})
        value = round(value - grid_step, 4)
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": left + plot_w,
        "bottom": top + plot_h,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "points": points,
        "xlabels": xlabels,
        "grid": grid,
    }
