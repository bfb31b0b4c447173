# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""At most N moves at once, across the background jobs of a drain: a sliding window, not batches.

A drain used to start its moves in batches of ``concurrency`` and wait for a batch's slowest move
before starting the next one, so one long move held every slot. Now every move is started at once
as a background job, and each job first takes one of ``slots`` slots: an exclusive ``flock`` on one
of the files ``slot-0`` ... ``slot-(N-1)`` of a directory the play made. The next waiting move
starts the moment any running one ends. The kernel drops a lock when its process exits, however it
ends (done, failed, killed, the async wrapper's time limit), so a slot is never lost.
"""

import errno
import fcntl
import os
import time


class SlotError(Exception):
    """No slot became free in time, or the slot directory cannot be used."""


class MoveSlot(object):
    """One of ``slots`` slots in ``directory``, held from acquire() until release() or the process ends."""

    def __init__(self, directory, slots, clock=time.monotonic, sleep=time.sleep):
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
            raise SlotError('slots must be a whole number of at least 1, got %r' % (slots,))
        if not os.path.isdir(directory):
            raise SlotError("slot_dir '%s' is not a directory; the play makes it before starting the moves"
                            % directory)
        self.directory = directory
        self.slots = slots
        self.index = None
        self.waited = 0.0
        self._stream = None
        self._clock = clock
        self._sleep = sleep

    def path(self, index):
        return os.path.join(self.directory, 'slot-%d' % index)

    def _try(self, index):
        stream = open(self.path(index), 'a')
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as error:
            stream.close()
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise SlotError('cannot lock %s: %s' % (self.path(index), error))
        self._stream = stream
        self.index = index
        return True

    def try_acquire(self):
        """Take a free slot now; False when all are held."""
        for index in range(self.slots):
            if self._try(index):
                return True
        return False

    def acquire(self, timeout, on_wait=None, interval=0.5):
        """Wait up to ``timeout`` seconds for a slot; ``on_wait(waited)`` is called when the wait begins.

        Raises SlotError when none became free in time.
        """
        started = self._clock()
        told = False
        while True:
            if self.try_acquire():
                self.waited = round(self._clock() - started, 1)
                return self.index
            waited = self._clock() - started
            if waited >= timeout:
                raise SlotError('no move slot of %d became free within %s s: the moves before this one '
                                'still run' % (self.slots, timeout))
            if not told and on_wait is not None:
                on_wait(round(waited, 1))
                told = True
            self._sleep(min(interval, max(timeout - waited, 0.01)))

    def release(self):
        if self._stream is not None:
            try:
                fcntl.flock(self._stream.fileno(), fcntl.LOCK_UN)
            finally:
                self._stream.close()
                self._stream = None
                self.index = None
