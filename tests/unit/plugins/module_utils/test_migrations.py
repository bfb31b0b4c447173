# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import types

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.migrations import (
    last_line, migration_progress, newest_first, percent_copied,
)

MIB = 1024 * 1024


@pytest.mark.parametrize('total, remaining, expected', [
    (100, 25, 75.0), (100, 0, 100.0), (100, 100, 0.0), (100, 150, 0.0), (0, 0, None), (None, 5, None),
    (100, None, None), (3, 1, 66.7),
])
def test_percent_copied(total, remaining, expected):
    assert percent_copied(total, remaining) == expected


def test_progress_uses_what_remains_not_what_was_sent_again():
    record = types.SimpleNamespace(memory_total_bytes=128 * MIB, memory_processed_bytes=300 * MIB,
                                   memory_remaining_bytes=32 * MIB, disk_total_bytes=None,
                                   disk_processed_bytes=None, disk_remaining_bytes=None)
    progress = migration_progress(record)
    assert progress['memory_percent'] == 75.0
    assert progress['disk_percent'] is None
    assert progress['percent'] == 75.0


def test_progress_adds_memory_and_disk():
    record = types.SimpleNamespace(memory_total_bytes=100 * MIB, memory_processed_bytes=50 * MIB,
                                   memory_remaining_bytes=50 * MIB, disk_total_bytes=300 * MIB,
                                   disk_processed_bytes=300 * MIB, disk_remaining_bytes=0)
    progress = migration_progress(record)
    assert (progress['memory_percent'], progress['disk_percent'], progress['percent']) == (50.0, 100.0, 87.5)


def test_progress_before_nova_reports_anything():
    record = types.SimpleNamespace(memory_total_bytes=0, memory_processed_bytes=0, memory_remaining_bytes=0,
                                   disk_total_bytes=None, disk_processed_bytes=None, disk_remaining_bytes=None)
    assert migration_progress(record)['percent'] is None


def test_newest_first_by_creation_then_id():
    records = [types.SimpleNamespace(id=1, created_at='2026-11-23T22:00:01'),
               types.SimpleNamespace(id=3, created_at='2026-11-23T22:00:02'),
               types.SimpleNamespace(id=2, created_at='2026-11-23T22:00:02')]
    assert [record.id for record in newest_first(records)] == [3, 2, 1]


def test_last_line_of_a_traceback():
    assert last_line('Traceback (most recent call last):\n  File "x"\nnova.exception.Boom: it broke\n\n') == \
        'nova.exception.Boom: it broke'
    assert last_line(None) is None
