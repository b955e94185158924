"""The run's memory settings are its own: the process is left as it was found."""

from __future__ import annotations

import sys

import pytest

from chartaudit import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux process setting")
def test_small_pages_only_while_the_block_runs_and_restored_after_an_error():
    prctl = memory.c_library().prctl
    assert prctl(42, 0, 0, 0, 0) == 0  # huge pages allowed, as a process starts
    with memory.small_pages():
        assert prctl(42, 0, 0, 0, 0) == 1
    assert prctl(42, 0, 0, 0, 0) == 0
    with pytest.raises(ValueError), memory.small_pages():
        assert prctl(42, 0, 0, 0, 0) == 1
        raise ValueError
    assert prctl(42, 0, 0, 0, 0) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux process setting")
def test_small_pages_leaves_a_process_that_chose_small_pages_itself_alone():
    prctl = memory.c_library().prctl
    assert prctl(41, 1, 0, 0, 0) == 0
    try:
        with memory.small_pages():
            assert prctl(42, 0, 0, 0, 0) == 1
        assert prctl(42, 0, 0, 0, 0) == 1
    finally:
        prctl(41, 0, 0, 0, 0)
