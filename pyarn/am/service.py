"""The handler of ``pyarn.am.ApplicationMasterProtocol``: each RPC method of ``pyarn.proto``.

It turns requests into calls on the :class:`~pyarn.am.scheduler.Scheduler`
and the :class:`~pyarn.am.kvstore.KeyValueStore`, and hands the resulting
actions to the ApplicationMaster (``execute``). A call that changes
something is answered once ``sync`` returns (the journal has written the
change).

Long polls (``kvWait``, ``kvWatch``) are held at most :data:`MAX_POLL`
seconds; clients poll again. pyarn's IPC server cannot yet answer a call
later from another thread, so a held poll occupies a handler thread. Long
polls get a bounded set of them: at most ``long_poll_slots`` polls are held
at once, and the AM's server runs that many handler threads on top of
``ordinary_threads`` kept for every other call
(:attr:`AppMasterHandler.handler_threads`), so no ordinary call ever queues
behind long polls. A poll that finds every slot taken is answered at once
with what there is now (the key if it exists, the events so far); the
client, answered early with nothing, waits a little, backing off, and polls
again (:mod:`pyarn.application.kv`).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator, List

from hadoop_protos import pyarn_pb2 as pb

from ..application.errors import InvalidRequestError
from ..application.records import ContainerState
from ..spec import ApplicationSpec
from ..yarn.records import FinalStatus
from .kvstore import KeyValueStore
from .scheduler import Action, Scheduler

__all__ = ["AppMasterHandler", "MAX_POLL", "LONG_POLL_SLOTS", "ORDINARY_THREADS"]

#: Longest a kvWait or kvWatch call is held by the server, in seconds.
MAX_POLL = 30.0
#: Long polls held at once, at most (each holds a handler thread).
LONG_POLL_SLOTS = 96
#: Handler threads kept for every call that is not a held long poll.
ORDINARY_THREADS = 32

Execute = Callable[[List[Action]], None]


def _poll_timeout(request) -> float:
    timeout = request.timeout_ms / 1000.0 if request.HasField("timeout_ms") else MAX_POLL
    return min(max(timeout, 0.0), MAX_POLL)


class _Slots:
    """At most ``size`` long polls held at once; counts them."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"long_poll_slots must be at least 1, got {size}")
        self.size = size
        self._lock = threading.Lock()
        self.held = 0

    @contextmanager
    def take(self) -> Iterator[bool]:
        """Yields whether a slot was free (it is then taken until the block ends)."""
        with self._lock:
            free = self.held < self.size
            if free:
                self.held += 1
        try:
            yield free
        finally:
            if free:
                with self._lock:
                    self.held -= 1


class AppMasterHandler:
    """Serves ``PYARN_APP_MASTER`` for one application.

    Serve it with :attr:`handler_threads` handler threads (see the module docstring):
    ``long_poll_slots`` for held long polls, ``ordinary_threads`` for the rest.
    """

    def __init__(self, spec: ApplicationSpec, scheduler: Scheduler, kv: KeyValueStore, execute: Execute,
                 set_progress: Callable[[float], None], sync: Callable[[], None] = lambda: None, *,
                 long_poll_slots: int = LONG_POLL_SLOTS, ordinary_threads: int = ORDINARY_THREADS) -> None:
        if ordinary_threads < 1:
            raise ValueError(f"ordinary_threads must be at least 1, got {ordinary_threads}")
        self._spec_json = spec.to_json()
        self._scheduler = scheduler
        self._kv = kv
        self._execute = execute
        self._set_progress = set_progress
        self._sync = sync
        self._slots = _Slots(long_poll_slots)
        self._ordinary_threads = ordinary_threads

    @property
    def handler_threads(self) -> int:
        """How many handler threads the IPC server serving this handler should run."""
        return self._ordinary_threads + self._slots.size

    @property
    def long_polls_held(self) -> int:
        """Long polls being held now."""
        return self._slots.held

    def _synced(self, response):
        self._sync()
        return response

    # -------------------------------------------------------------- application

    def getSpec(self, request: pb.GetSpecRequestProto, ctx) -> pb.GetSpecResponseProto:
        return pb.GetSpecResponseProto(spec_json=self._spec_json)

    def getContainers(self, request: pb.GetContainersRequestProto, ctx) -> pb.GetContainersResponseProto:
        states = [ContainerState.from_proto(s) for s in request.states] or None
        containers = self._scheduler.containers(list(request.services) or None, states)
        return pb.GetContainersResponseProto(containers=[c.to_proto() for c in containers])

    def scale(self, request: pb.ScaleRequestProto, ctx) -> pb.ScaleResponseProto:
        containers, actions = self._scheduler.scale(
            request.service_name, count=request.count if request.HasField("count") else None,
            delta=request.delta if request.HasField("delta") else None)
        self._execute(actions)
        return self._synced(pb.ScaleResponseProto(containers=[c.to_proto() for c in containers]))

    def addContainer(self, request: pb.AddContainerRequestProto, ctx) -> pb.AddContainerResponseProto:
        env = {entry.key: entry.value for entry in request.env}
        container, actions = self._scheduler.add_container(request.service_name, env)
        self._execute(actions)
        return self._synced(pb.AddContainerResponseProto(container=container.to_proto()))

    def killContainer(self, request: pb.KillContainerRequestProto, ctx) -> pb.KillContainerResponseProto:
        self._execute(self._scheduler.kill(request.container_id))
        return self._synced(pb.KillContainerResponseProto())

    def shutdown(self, request: pb.ShutdownRequestProto, ctx) -> pb.ShutdownResponseProto:
        status = FinalStatus.from_proto(request.final_status)
        if status not in (FinalStatus.SUCCEEDED, FinalStatus.FAILED, FinalStatus.KILLED):
            raise InvalidRequestError(f"shutdown: the final status must be SUCCEEDED, FAILED or KILLED, "
                                      f"not {status}")
        diagnostics = request.diagnostics or "Shutdown requested by user."
        self._execute(self._scheduler.shutdown(status, diagnostics, by_user=True))
        return self._synced(pb.ShutdownResponseProto())

    def setProgress(self, request: pb.SetProgressRequestProto, ctx) -> pb.SetProgressResponseProto:
        if not 0.0 <= request.progress <= 1.0:
            raise InvalidRequestError(f"progress must be between 0 and 1, got {request.progress}")
        self._set_progress(request.progress)
        return self._synced(pb.SetProgressResponseProto())

    # ------------------------------------------------------------ key-value store

    def kvRange(self, request: pb.RangeRequestProto, ctx) -> pb.RangeResponseProto:
        return self._kv.range(request)

    def kvPut(self, request: pb.PutRequestProto, ctx) -> pb.PutResponseProto:
        return self._synced(self._kv.put(request))

    def kvDeleteRange(self, request: pb.DeleteRangeRequestProto, ctx) -> pb.DeleteRangeResponseProto:
        return self._synced(self._kv.delete_range(request))

    def kvTransaction(self, request: pb.TransactionRequestProto, ctx) -> pb.TransactionResponseProto:
        return self._synced(self._kv.transaction(request))

    def kvWait(self, request: pb.WaitRequestProto, ctx) -> pb.WaitResponseProto:
        if not request.key:
            raise InvalidRequestError("wait: the key is empty")
        with self._slots.take() as held:
            return self._kv.wait(request.key, _poll_timeout(request) if held else 0.0)

    def kvWatch(self, request: pb.WatchRequestProto, ctx) -> pb.WatchResponseProto:
        with self._slots.take() as held:
            capped = pb.WatchRequestProto()
            capped.CopyFrom(request)
            capped.timeout_ms = int(_poll_timeout(request) * 1000) if held else 0
            return self._kv.watch(capped)
