"""Keeping write leases alive while files are open for writing.

The NameNode gives the writer of a file a lease, held by the client's name.
Unless it is renewed within the soft limit (60 s), another client may take
the file over, and after the hard limit the NameNode closes it. Like Java's
``LeaseRenewer``, :class:`LeaseRenewer` runs one daemon thread per client
name that renews every 30 s (half the soft limit) while at least one file is
open, and stops when the last one closes (or on :meth:`LeaseRenewer.close`).

The same thread keeps idle write pipelines alive: each open file that has a
``heartbeat()`` method gets it called on every tick (the block writer sends a
heartbeat packet only when nothing went out for a while). Files are held
weakly: one dropped without being closed stops being renewed.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Callable, Optional

__all__ = ["LeaseRenewer", "RENEW_INTERVAL", "TICK"]

log = logging.getLogger(__name__)

#: Half of ``HdfsConstants.LEASE_SOFTLIMIT_PERIOD`` (60 s), as Java renews.
RENEW_INTERVAL = 30.0
#: How often the thread wakes to send pipeline heartbeats.
TICK = 5.0


class LeaseRenewer:
    """Calls ``renew`` every ``interval`` seconds while files are registered with :meth:`begin`.

    A failed renewal is logged and tried again on the next tick.
    ``clock`` is there for tests.
    """

    def __init__(self, renew: Callable[[], None], *, interval: float = RENEW_INTERVAL, tick: float = TICK,
                 name: str = "pyarn lease renewer", clock: Callable[[], float] = time.monotonic) -> None:
        if interval <= 0 or tick <= 0:
            raise ValueError("interval and tick must be positive")
        self._renew = renew
        self.interval = interval
        self.tick = min(tick, interval)
        self.name = name
        self._clock = clock
        self._cond = threading.Condition()
        # Weak: a writer dropped without close stops being renewed once it is collected.
        self._files: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._last_renewal = clock()
        #: Renewals done (for tests and diagnostics).
        self.renewals = 0

    def __repr__(self) -> str:
        return f"LeaseRenewer({self.name!r}, {len(self._files)} open file(s))"

    @property
    def open_files(self) -> int:
        """How many files are registered."""
        with self._cond:
            return len(self._files)

    @property
    def running(self) -> bool:
        """Whether the renewing thread is alive."""
        with self._cond:
            return self._thread is not None

    def begin(self, stream: object) -> None:
        """Register a file just opened for writing; starts renewing if it is the first."""
        with self._cond:
            if self._closed:
                raise ValueError(f"{self.name} is closed")
            if not self._files:
                self._last_renewal = self._clock()  # create/append just granted the lease
            self._files[id(stream)] = stream
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def end(self, stream: object) -> None:
        """Unregister a file (closed or abandoned); the thread stops after the last one."""
        with self._cond:
            if self._files.pop(id(stream), None) is not None and not self._files:
                self._cond.notify_all()

    def close(self) -> None:
        """Stop renewing, whatever is still open; waits for the thread to end."""
        with self._cond:
            self._closed = True
            self._files.clear()
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._closed or not self._files:
                    self._thread = None
                    return
                wait = min(self.tick, max(self._last_renewal + self.interval - self._clock(), 0.0))
                self._cond.wait(wait)
                if self._closed or not self._files:
                    self._thread = None
                    return
                files = list(self._files.values())
                due = self._clock() - self._last_renewal >= self.interval
            if due:
                self._renew_now()
            for stream in files:
                heartbeat = getattr(stream, "heartbeat", None)
                if heartbeat is not None:
                    try:
                        heartbeat()
                    except Exception:  # the writer sees its own failure on its next write
                        log.debug("heartbeat of %r failed", stream, exc_info=True)

    def _renew_now(self) -> None:
        try:
            self._renew()
        except Exception as exc:
            log.warning("%s: renewing the lease failed (%s: %s); retrying", self.name,
                        type(exc).__name__, exc)
            with self._cond:  # try again after one tick, not a whole interval
                self._last_renewal = self._clock() - self.interval + self.tick
            return
        with self._cond:
            self._last_renewal = self._clock()
            self.renewals += 1
