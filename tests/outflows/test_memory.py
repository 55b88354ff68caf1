"""outflows/memory.py: inside a computation large arrays come from glibc's heap and freed ones are reused;
outside, glibc's defaults; the figures are the same either way."""

import ctypes
import os

import numpy as np
import pytest

from outflows import memory
from outflows.models import OutflowStat
from outflows.services import outflow_run_compute
from tests.outflows.factories import BASE, add_transfers, random_transfers

needs_glibc = pytest.mark.skipif(memory._glibc() is None, reason="mallopt and malloc_trim are glibc's")
BIG = 64 << 20  # far above glibc's mmap threshold (at most 32 MB)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")
    ]  # fmt: skip


def _mmapped_bytes() -> int:
    """Bytes glibc holds in blocks of their own mmap (mallinfo2's hblkhd)."""
    libc = memory._glibc()
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2().hblkhd


def _big_array_is_mmapped() -> bool:
    before = _mmapped_bytes()
    array = np.ones(BIG, np.uint8)
    grew = _mmapped_bytes() - before >= BIG
    del array
    return grew


@needs_glibc
def test_inside_large_arrays_come_from_the_heap_and_glibc_defaults_come_back_after(settings):
    settings.OUTFLOW_REUSE_MEMORY = True
    assert _big_array_is_mmapped()  # glibc's default: a block this large is an mmap of its own
    with memory.reused_memory():
        assert not _big_array_is_mmapped()
        with memory.reused_memory():  # nested: the outer block's settings hold until it ends
            pass
        assert not _big_array_is_mmapped()
    assert _big_array_is_mmapped()


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@needs_glibc
def test_freed_arrays_are_reused_inside_and_handed_back_to_the_system_after(settings):
    settings.OUTFLOW_REUSE_MEMORY = True
    with memory.reused_memory():
        first = np.ones(BIG, np.uint8)
        address = first.ctypes.data
        del first
        second = np.empty(BIG, np.uint8)
        assert abs(second.ctypes.data - address) < BIG // 2  # the freed block's pages, already touched
        del second
        held = _resident_bytes()  # freed, still resident
    assert _resident_bytes() <= held - BIG // 2  # malloc_trim(0) on leaving


@needs_glibc
def test_the_setting_turns_it_off(settings):
    settings.OUTFLOW_REUSE_MEMORY = False
    with memory.reused_memory():
        assert _big_array_is_mmapped()


@pytest.mark.django_db
def test_a_run_has_the_same_figures_with_and_without_reused_memory(settings):
    add_transfers(*random_transfers(400, seed=11))
    as_of = BASE.replace(year=BASE.year + 2)
    figures = []
    for reuse in (True, False):
        settings.OUTFLOW_REUSE_MEMORY = reuse
        run = outflow_run_compute(as_of=as_of)
        columns = ("dimension", "key", "cohort", "outbound_count", "outbound_value_byn", "returned_value_byn")
        figures.append(sorted(OutflowStat.objects.filter(run=run).values_list(*columns, "non_return_share")))
        assert run.input_rows == 400
    assert figures[0] == figures[1]
    assert figures[0]
