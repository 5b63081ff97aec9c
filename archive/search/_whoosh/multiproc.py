"""Whoosh's multi-process writer, guarded: workers die with the ingest, a dead worker raises
instead of hanging, and each worker writes with ``FastSegmentWriter``.

Overrides private methods of ``MpWriter`` and patches its job queue (see ``PRIVATE_NAMES``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
import time

from whoosh.writing import SegmentWriter

from archive.errors import ArchiveError

from ..folder import REINDEX_HINT
from . import WhooshInternalsChanged, took
from .segment import FastSegmentWriter, store_offsets


def _die_with_parent(parent_pid: int) -> None:
    """Make a Whoosh worker process exit when the ingest that forked it dies.

    After kill -9 of the parent, MpWriter's workers block forever on their job queue and keep
    the inherited Whoosh lock. PR_SET_PDEATHSIG (Linux) kills them at once; the polling thread
    covers other POSIX systems and the race where the parent died before prctl ran.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def can_fork() -> bool:
    import multiprocessing

    method = multiprocessing.get_start_method(allow_none=True)
    return (method or multiprocessing.get_all_start_methods()[0]) == "fork"


@functools.cache
def mp_writer_class():
    """Whoosh's multi-process writer, guarded; defined on first use because importing
    multiprocessing would cost every search ~10 ms."""
    import queue

    from whoosh import multiproc

    class GuardedTask(multiproc.SubWriterTask):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._parent_pid = os.getpid()

        def run(self):
            _die_with_parent(self._parent_pid)
            # This runs in the forked worker only: have Whoosh's task build our faster writer.
            if not hasattr(multiproc, "SegmentWriter"):
                raise WhooshInternalsChanged("whoosh.multiproc builds no SegmentWriter")
            multiproc.SegmentWriter = FastSegmentWriter
            super().run()

    class GuardedMpWriter(multiproc.MpWriter):
        """Workers die with the parent, cancel() really stops them (Whoosh's only flips a flag
        in the parent's copy of the task), and a dead worker raises instead of hanging."""

        def __init__(self, ix, **kwargs):
            super().__init__(ix, **kwargs)
            took("writer.multiprocess")
            store_offsets(self)
            jobs = self.jobqueue
            put = jobs.put

            def guarded_put(item, block=True, timeout=None):
                while True:  # the queue is bounded: a dead worker would block us forever
                    try:
                        return put(item, timeout=1.0)
                    except queue.Full:
                        self._check_workers()

            jobs.put = guarded_put

        def _check_workers(self):
            failed = [t.exitcode for t in self.tasks if t.exitcode not in (0, None)]
            if failed:
                raise ArchiveError(
                    f"an index worker process failed (exit code {failed[0]})",
                    hint=REINDEX_HINT,
                )

        def _new_task(self):
            task = GuardedTask(
                self.storage,
                self.indexname,
                self.jobqueue,
                self.resultqueue,
                self.subargs,
                self.multisegment,
            )
            task.daemon = True  # also reaped when the parent exits without commit/cancel
            self.tasks.append(task)
            task.start()
            return task

        def cancel(self):
            for task in self.tasks:
                with contextlib.suppress(Exception):
                    task.kill()
                    task.join(5)
            self.tasks = []
            for q in (self.jobqueue, self.resultqueue):
                with contextlib.suppress(Exception):
                    q.cancel_join_thread()  # else exit waits to feed a queue nobody reads
            SegmentWriter.cancel(self)

        def _commit(self, mergetype, optimize, merge):
            self._check_workers()
            super()._commit(mergetype, optimize, merge)
            # A worker that died after its last job leaves its documents out of the commit.
            self._check_workers()

    return GuardedMpWriter

