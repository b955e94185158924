"""Rates and Wilson intervals: known values, empty groups, per-therapist sums."""

from __future__ import annotations

import numpy as np
import pytest

from chartaudit.stats import slugify, unique_slugs, wilson


def test_wilson_known_values():
    # Worked example: 81 of 263 -> (0.2553, 0.3662) (Wilson 1927 / Newcombe 1998 tables).
    low, high = wilson(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4)
    assert high == pytest.approx(0.3662, abs=1e-4)
    low, high = wilson(10, 10)
    assert float(high) == pytest.approx(1.0) and float(low) == pytest.approx(0.7225, abs=1e-4)
    low, high = wilson(np.array([0, 5]), np.array([0, 10]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert low[1] < 0.5 < high[1]


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("José Núñez", "jose-nunez"),
        ("../../x", "x"),
        ("O'Brien-Smith, PT", "o-brien-smith-pt"),
        ("..", "therapist"),
        ("李小龍", "therapist"),
    ],
)
def test_slugify_is_a_safe_file_name(name, slug):
    assert slugify(name) == slug
    assert "/" not in slugify(name) and not slugify(name).startswith(".")


def test_unique_slugs_resolve_collisions():
    import pandas as pd

    slugs = unique_slugs(pd.Series(["Ann Lee", "Ann  Lee!", "ann lee"]))
    assert slugs.tolist() == ["ann-lee", "ann-lee-2", "ann-lee-3"]
