# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.novaops.migration.plugins.module_utils.move_slots import MoveSlot, SlotError


class FakeClock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_slots_must_be_a_positive_whole_number(tmp_path):
    for bad in (0, -1, True, '2', 1.5):
        with pytest.raises(SlotError, match='slots must be a whole number'):
            MoveSlot(str(tmp_path), bad)


def test_the_directory_must_exist(tmp_path):
    with pytest.raises(SlotError, match='is not a directory'):
        MoveSlot(str(tmp_path / 'missing'), 2)


def test_at_most_slots_holders_at_once(tmp_path):
    first, second, third = (MoveSlot(str(tmp_path), 2) for _slot in range(3))
    assert first.try_acquire() and second.try_acquire()
    assert {first.index, second.index} == {0, 1}
    assert not third.try_acquire()
    first.release()
    assert third.try_acquire()
    assert third.index == 0


def test_a_window_not_batches(tmp_path):
    """The third move starts when any one of the first two ends, while the other still runs."""
    slow, quick, waiting = (MoveSlot(str(tmp_path), 2) for _slot in range(3))
    slow.try_acquire()
    quick.try_acquire()
    assert not waiting.try_acquire()
    quick.release()
    assert waiting.try_acquire()
    assert slow.index is not None, 'the slow move still holds its slot'


def test_acquire_waits_says_so_once_and_gives_up(tmp_path):
    holder = MoveSlot(str(tmp_path), 1)
    holder.try_acquire()
    clock = FakeClock()
    told = []
    waiting = MoveSlot(str(tmp_path), 1, clock=clock.clock, sleep=clock.sleep)
    with pytest.raises(SlotError, match='no move slot of 1 became free within 3 s'):
        waiting.acquire(3, on_wait=told.append, interval=0.5)
    assert told == [0.0]
    assert sum(clock.sleeps) == pytest.approx(3.0)


def test_acquire_returns_when_a_slot_frees(tmp_path):
    holder = MoveSlot(str(tmp_path), 1)
    holder.try_acquire()
    clock = FakeClock()

    def sleep_then_release(seconds):
        clock.sleep(seconds)
        holder.release()

    waiting = MoveSlot(str(tmp_path), 1, clock=clock.clock, sleep=sleep_then_release)
    assert waiting.acquire(60) == 0
    assert waiting.waited == 0.5


def test_a_killed_holder_frees_its_slot(tmp_path):
    """The kernel drops the lock with the process: a crashed or killed move never keeps its slot."""
    code = textwrap.dedent('''
        import sys, time
        from ansible_collections.novaops.migration.plugins.module_utils.move_slots import MoveSlot
        slot = MoveSlot(sys.argv[1], 1)
        assert slot.try_acquire()
        print('held', flush=True)
        time.sleep(60)
    ''')
    holder = subprocess.Popen([sys.executable, '-c', code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ))
    try:
        assert holder.stdout.readline().strip() == 'held'
        assert not MoveSlot(str(tmp_path), 1).try_acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not MoveSlot(str(tmp_path), 1).try_acquire():
            assert time.monotonic() < deadline, 'the slot stayed held after its process died'
            time.sleep(0.05)
    finally:
        holder.kill()
        holder.wait(timeout=30)
