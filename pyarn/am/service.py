"""The handler of ``pyarn.am.ApplicationMasterProtocol``: each RPC method of ``pyarn.proto``.

It turns requests into calls on the :class:`~pyarn.am.scheduler.Scheduler`
and the :class:`~pyarn.am.kvstore.KeyValueStore`, and hands the resulting
actions to the ApplicationMaster (``execute``). Long polls (``kvWait``,
``kvWatch``) are capped at :data:`MAX_POLL` seconds so a handler thread is
never held for long; clients poll again. A call that changes something is
answered once ``sync`` returns (the journal has written the change).
"""
from __future__ import annotations

from typing import Callable, List

from hadoop_protos import pyarn_pb2 as pb

from ..spec import ApplicationSpec
from ..yarn.records import FinalStatus
from .errors import InvalidRequestError
from .kvstore import KeyValueStore
from .records import ContainerState
from .scheduler import Action, Scheduler

__all__ = ["AppMasterHandler", "MAX_POLL"]

#: Longest a kvWait or kvWatch call is held by the server, in seconds.
MAX_POLL = 30.0

Execute = Callable[[List[Action]], None]


def _poll_timeout(request) -> float:
    timeout = request.timeout_ms / 1000.0 if request.HasField("timeout_ms") else MAX_POLL
    return min(max(timeout, 0.0), MAX_POLL)


class AppMasterHandler:
    """Serves ``PYARN_APP_MASTER`` for one application."""

    def __init__(self, spec: ApplicationSpec, scheduler: Scheduler, kv: KeyValueStore, execute: Execute,
                 set_progress: Callable[[float], None], sync: Callable[[], None] = lambda: None) -> None:
        self._spec_json = spec.to_json()
        self._scheduler = scheduler
        self._kv = kv
        self._execute = execute
        self._set_progress = set_progress
        self._sync = sync

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
        return self._kv.wait(request.key, _poll_timeout(request))

    def kvWatch(self, request: pb.WatchRequestProto, ctx) -> pb.WatchResponseProto:
        capped = pb.WatchRequestProto()
        capped.CopyFrom(request)
        capped.timeout_ms = int(_poll_timeout(request) * 1000)
        return self._kv.watch(capped)
