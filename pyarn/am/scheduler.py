"""The services' containers as a state machine: what to request, launch, stop, and when to finish.

No I/O: each event (start, an allocation, a completion, a user's scale or
kill, ...) updates the state and returns the :data:`Action` objects the
ApplicationMaster must carry out. The rules are Skein's:

* a service's containers are REQUESTED at once when the services it
  ``depends`` on are ready, else WAITING; a service is ready once all its
  instances have been allocated (RUNNING) for the first time (a service of
  0 instances whose own dependencies are ready counts as ready), and stays so;
* each request gets a priority of its own (older requests rank higher), so an
  allocation names the instance it is for;
* a FAILED container is replaced while the service's restarts stay within
  ``max_restarts`` (-1: no limit); a service whose failures outrun its
  restarts fails the application, unless ``allow_failures``;
* without a master script, the application SUCCEEDS once no service has an
  active container (checked when a container ends), and FAILS as soon as a
  service fails. With one, the script's exit ends it (:meth:`Scheduler.driver_exited`);
* scaling down stops WAITING containers first, then REQUESTED (oldest
  first), then RUNNING (oldest first), marking them KILLED.

For the journal (:mod:`pyarn.am.recovery`), :meth:`Scheduler.dump` gives the
services' state as JSON, :meth:`Scheduler.restore` loads it into a new
scheduler, and the :attr:`~Scheduler.recorder` is handed what each event
changed (under the scheduler's lock), in the same form::

    {"containers": {"worker_0": {"service": "worker", "instance": 0, "state": "RUNNING",
                                 "env": {}, "start": 1700000000.5, "finish": null,
                                 "message": "", "exit": null,
                                 "yarn": {"id": "container_..._000002", "node": "host:8041",
                                          "http": "host:8042", "memory": 512, "vcores": 1,
                                          "priority": 3}}},
     "services": {"worker": {"succeeded": 0, "failed": 1, "killed": 0, "restarted": 1,
                             "ready": true}},
     "outcome": {"status": "SUCCEEDED", "diagnostics": "...", "by_user": false}}

Only an outcome that ends the application on any attempt is kept (SUCCEEDED,
or asked for by a user). A restored scheduler :meth:`starts <Scheduler.start>`
by adopting its RUNNING containers that YARN hands back from the previous
attempt (releasing any others) and asking again for its REQUESTED ones;
after the first heartbeat, :meth:`Scheduler.settle` replaces the RUNNING
containers that were lost with the previous attempt, without spending
their services' restarts. A restored state whose services failed beyond
their budget is dropped: such an application's next attempt starts its
services afresh, as in Skein.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import attrs

from ..application.errors import InvalidRequestError
from ..application.records import (
    ACTIVE_STATES,
    Container,
    ContainerState,
    format_container_id,
    parse_container_id,
)
from ..spec import ApplicationSpec, Service
from ..yarn.amrm import AllocatedContainer, ContainerRequest
from ..yarn.ids import ContainerId, NodeId
from ..yarn.records import FinalStatus, Resource

__all__ = [
    "Scheduler", "Action", "RequestContainer", "CancelRequest", "LaunchContainer", "StopContainer",
    "ReleaseContainer", "ReleaseOwner", "Finish", "exit_message", "LOST_MESSAGE",
]

log = logging.getLogger(__name__)

# YARN's ContainerExitStatus values the AM tells apart.
EXIT_SUCCESS = 0
ABORTED = -100
KILLED_EXCEEDED_VMEM = -103
KILLED_EXCEEDED_PMEM = -104
KILLED_BY_APPMASTER = -105
#: The exit message of a container that did not survive a restart of the application master.
LOST_MESSAGE = "Lost when the application master restarted."


@attrs.frozen
class RequestContainer:
    """Ask the ResourceManager for a container."""

    container_id: str
    request: ContainerRequest


@attrs.frozen
class CancelRequest:
    """Withdraw a request (it was allocated, or its container is no longer wanted)."""

    container_id: str
    request: ContainerRequest


@attrs.frozen
class LaunchContainer:
    """Start ``service``'s container ``container_id`` on an allocation, with ``env`` over the service's."""

    container_id: str
    service: str
    instance: int
    allocation: AllocatedContainer
    env: Mapping[str, str]


@attrs.frozen
class StopContainer:
    """Stop a running container (through its NodeManager) and release it."""

    container_id: str
    yarn_container_id: ContainerId
    node_id: NodeId


@attrs.frozen
class ReleaseContainer:
    """Give back an allocation nobody wants."""

    yarn_container_id: ContainerId


@attrs.frozen
class ReleaseOwner:
    """The container ended: delete the keys it owns."""

    container_id: str


@attrs.frozen
class Finish:
    """End the application; ``by_user`` when a client asked for it."""

    status: FinalStatus
    diagnostics: str
    by_user: bool = False


Action = Union[RequestContainer, CancelRequest, LaunchContainer, StopContainer, ReleaseContainer,
               ReleaseOwner, Finish]


def exit_message(exit_status: int, diagnostics: str) -> Tuple[ContainerState, str]:
    """The state and message of a container YARN reports completed."""
    if exit_status == EXIT_SUCCESS:
        return ContainerState.SUCCEEDED, "Completed successfully."
    if exit_status in (KILLED_EXCEEDED_PMEM, KILLED_EXCEEDED_VMEM):
        kind = "physical" if exit_status == KILLED_EXCEEDED_PMEM else "virtual"
        return ContainerState.FAILED, f"Container exceeded its {kind} memory limit. {diagnostics}".strip()
    if exit_status > 0:
        return ContainerState.FAILED, (f"Container failed with exit code {exit_status}, "
                                       "see logs for more information.")
    return ContainerState.FAILED, diagnostics or f"Container failed with exit status {exit_status}."


def _lasting(outcome: Finish) -> bool:
    """Whether ``outcome`` ends the application on any attempt (so the journal keeps it)."""
    return outcome.status is FinalStatus.SUCCEEDED or outcome.by_user


def _moment(seconds: Optional[float]) -> Optional[datetime]:
    return None if seconds is None else datetime.fromtimestamp(seconds, timezone.utc)  # noqa: UP017


@attrs.define
class _Tracked:
    """One container of a service, as it goes from WAITING to a final state."""

    service: str
    instance: int
    env: Dict[str, str]
    state: ContainerState = ContainerState.WAITING
    request: Optional[ContainerRequest] = None
    allocation: Optional[AllocatedContainer] = None
    start_time: Optional[float] = None
    finish_time: Optional[float] = None
    exit_message: str = ""
    exit_status: Optional[int] = None

    @property
    def id(self) -> str:
        return format_container_id(self.service, self.instance)

    def to_json(self) -> Dict[str, Any]:
        allocation = self.allocation
        yarn = None if allocation is None else {
            "id": str(allocation.id), "node": str(allocation.node_id), "http": allocation.node_http_address,
            "memory": allocation.resource.memory, "vcores": allocation.resource.vcores,
            "priority": allocation.priority}
        return {"service": self.service, "instance": self.instance, "state": self.state.value,
                "env": self.env, "start": self.start_time, "finish": self.finish_time,
                "message": self.exit_message, "exit": self.exit_status, "yarn": yarn}

    @classmethod
    def from_json(cls, item: Dict[str, Any]) -> _Tracked:
        yarn = item.get("yarn")
        allocation = None if yarn is None else AllocatedContainer(
            id=ContainerId.parse(yarn["id"]), node_id=NodeId.parse(yarn["node"]),
            node_http_address=yarn.get("http"),
            resource=Resource(memory=int(yarn["memory"]), vcores=int(yarn["vcores"])),
            priority=int(yarn["priority"]), token=None)
        state = ContainerState(item["state"])
        if state is ContainerState.RUNNING and allocation is None:
            raise ValueError(f"running container {item['service']}_{item['instance']} has no YARN container")
        exit_status = item.get("exit")
        return cls(service=str(item["service"]), instance=int(item["instance"]),
                   env={str(k): str(v) for k, v in item.get("env", {}).items()}, state=state,
                   allocation=allocation, start_time=item.get("start"), finish_time=item.get("finish"),
                   exit_message=str(item.get("message", "")),
                   exit_status=None if exit_status is None else int(exit_status))

    def snapshot(self) -> Container:
        allocation = self.allocation
        return Container(
            service_name=self.service, instance=self.instance, state=self.state,
            yarn_container_id=str(allocation.id) if allocation else None,
            yarn_node_id=str(allocation.node_id) if allocation else None,
            yarn_node_http_address=allocation.node_http_address if allocation else None,
            start_time=_moment(self.start_time), finish_time=_moment(self.finish_time),
            exit_message=self.exit_message, exit_status=self.exit_status)


class _ServiceState:
    """The containers of one service and its counters."""

    def __init__(self, name: str, spec: Service, node_label: str) -> None:
        self.name = name
        self.spec = spec
        self.node_label = spec.node_label or node_label
        self.containers: List[_Tracked] = []
        self.depends_left = set(spec.depends)
        self.dependents: List[str] = []
        self.ready = False  # latched: every instance was allocated once
        self.succeeded = self.failed = self.killed = self.restarted = 0

    def active(self, state: ContainerState) -> List[_Tracked]:
        return [c for c in self.containers if c.state is state]

    @property
    def num_active(self) -> int:
        return sum(1 for c in self.containers if not c.state.completed)

    @property
    def finished(self) -> bool:
        return self.num_active == 0

    @property
    def failed_over_budget(self) -> bool:
        return self.failed > self.restarted and not self.spec.allow_failures

    _COUNTERS = ("succeeded", "failed", "killed", "restarted")

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {name: getattr(self, name) for name in self._COUNTERS}
        out["ready"] = self.ready
        return out

    def load_json(self, item: Dict[str, Any]) -> None:
        for name in self._COUNTERS:
            setattr(self, name, int(item.get(name, 0)))
        self.ready = bool(item.get("ready", False))

    def resource(self) -> Resource:
        return self.spec.resources.to_yarn()


class Scheduler:
    """The containers of every service of ``spec``; thread-safe.

    ``has_driver``: the master runs a script whose exit ends the application.
    ``clock`` gives wall-clock seconds (for container start and finish times).
    """

    def __init__(self, spec: ApplicationSpec, *, has_driver: Optional[bool] = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.has_driver = bool(spec.master.script) if has_driver is None else has_driver
        self._clock = clock
        self._lock = threading.RLock()
        self._services = self._new_services()
        self._by_priority: Dict[int, _Tracked] = {}
        self._by_yarn_id: Dict[ContainerId, _Tracked] = {}
        self._next_priority = 1
        self.outcome: Optional[Finish] = None
        #: Called with what each event changed (under the scheduler's lock); None: not recorded.
        self.recorder: Optional[Callable[[Dict[str, Any]], None]] = None
        self._depth = 0
        self._touched: Dict[str, _Tracked] = {}
        self._touched_services: Dict[str, _ServiceState] = {}
        self._outcome_touched = False
        self._restored = False
        self._unconfirmed: List[_Tracked] = []

    def _new_services(self) -> Dict[str, _ServiceState]:
        services = {name: _ServiceState(name, service, self.spec.node_label)
                    for name, service in self.spec.services.items()}
        for name, state in services.items():
            for dep in state.spec.depends:
                services[dep].dependents.append(name)
        return services

    # ------------------------------------------------------------------ queries

    @property
    def finished(self) -> bool:
        """Whether the application has reached its end (see :attr:`outcome`)."""
        return self.outcome is not None

    @property
    def resumed(self) -> bool:
        """Whether this scheduler carries on from an earlier attempt (:meth:`restore`)."""
        return self._restored

    @property
    def pending(self) -> bool:
        """Whether requests are outstanding at the RM (heartbeat faster then)."""
        with self._lock:
            return bool(self._by_priority)

    def containers(self, services: Optional[Iterable[str]] = None,
                   states: Optional[Iterable[ContainerState]] = None) -> List[Container]:
        """Snapshots of the containers of ``services`` (all) in ``states`` (the active ones)."""
        with self._lock:
            names = list(self._services) if services is None else list(dict.fromkeys(services))
            for name in names:
                self._service(name)
            wanted = set(ACTIVE_STATES if states is None else (ContainerState(s) for s in states))
            return [c.snapshot() for name in sorted(names) for c in self._services[name].containers
                    if c.state in wanted]

    def owner_check(self, owner: str) -> Optional[str]:
        """None if container ``owner`` may own keys (it exists and has not ended), else why not."""
        try:
            service, instance = parse_container_id(owner)
        except ValueError as exc:
            return str(exc)
        with self._lock:
            state = self._services.get(service)
            if state is None:
                return f"there is no service {service!r}"
            if instance >= len(state.containers):
                return f"service {service!r} has no instance {instance}"
            if state.containers[instance].state.completed:
                return "it has completed"
        return None

    def _service(self, name: str) -> _ServiceState:
        state = self._services.get(name)
        if state is None:
            known = ", ".join(repr(s) for s in self._services) or "none"
            raise InvalidRequestError(f"unknown service {name!r} (the services are {known})")
        return state

    # ------------------------------------------------------------------ events

    def start(self, previous: Sequence[AllocatedContainer] = ()) -> List[Action]:
        """The initial containers of every service, or, after :meth:`restore`, the resumed ones.

        ``previous`` are the containers YARN hands back from the previous
        attempt: those RUNNING here are adopted, the others released.
        """
        actions: List[Action] = []
        with self._changing():
            handed = {c.id: c for c in previous}
            if not self._restored:
                for state in self._services.values():
                    for _ in range(state.spec.instances):
                        self._add(state, {}, actions)
            else:
                self._resume(handed, actions)
            for container_id in handed:
                log.info("releasing %s, a container of the previous attempt not known here", container_id)
                actions.append(ReleaseContainer(container_id))
            for state in self._services.values():
                self._check_ready(state, actions)
        return actions

    def _resume(self, handed: Dict[ContainerId, AllocatedContainer], actions: List[Action]) -> None:
        for state in self._services.values():
            for tracked in state.containers:
                if tracked.state is ContainerState.RUNNING:
                    assert tracked.allocation is not None
                    adopted = handed.pop(tracked.allocation.id, None)
                    if adopted is not None:
                        log.info("adopting %s (%s) from the previous attempt", tracked.id, adopted.id)
                        tracked.allocation = adopted
                    else:
                        self._unconfirmed.append(tracked)
                    self._by_yarn_id[tracked.allocation.id] = tracked
                elif tracked.state is ContainerState.REQUESTED:
                    tracked.state = ContainerState.WAITING
        for state in self._services.values():
            if not state.depends_left:
                for tracked in state.active(ContainerState.WAITING):
                    self._request(state, tracked, actions)

    def settle(self) -> List[Action]:
        """After the first heartbeat of a resumed attempt: the containers recorded RUNNING that
        YARN neither handed back nor reported completed were lost with the previous attempt;
        each is marked KILLED and replaced, without spending its service's restarts."""
        actions: List[Action] = []
        with self._changing():
            lost, self._unconfirmed = self._unconfirmed, []
            for tracked in lost:
                if tracked.state is ContainerState.RUNNING and not self.finished:
                    log.info("%s was lost with the previous attempt; replacing it", tracked.id)
                    state = self._services[tracked.service]
                    self._add(state, dict(tracked.env), actions)  # first: the service never looks finished
                    self._finish(tracked, ContainerState.KILLED, LOST_MESSAGE, actions, exit_status=ABORTED)
        return actions

    def allocated(self, allocation: AllocatedContainer) -> List[Action]:
        """The RM allocated a container: match it to its request by priority and launch it."""
        actions: List[Action] = []
        with self._changing():
            tracked = self._by_priority.get(allocation.priority)
            if tracked is None or self.finished:
                actions.append(ReleaseContainer(allocation.id))
                return actions
            state = self._services[tracked.service]
            if allocation.resource.memory < state.spec.resources.memory:
                actions.append(ReleaseContainer(allocation.id))  # not what was asked for; keep asking
                return actions
            del self._by_priority[allocation.priority]
            assert tracked.request is not None
            actions.append(CancelRequest(tracked.id, tracked.request))
            tracked.request = None
            tracked.state = ContainerState.RUNNING
            tracked.allocation = allocation
            tracked.start_time = self._clock()
            self._touch(tracked)
            self._by_yarn_id[allocation.id] = tracked
            actions.append(LaunchContainer(tracked.id, tracked.service, tracked.instance, allocation,
                                           dict(tracked.env)))
            self._check_ready(state, actions)
            self._update_next_priority()
        return actions

    def completed(self, yarn_container_id: ContainerId, exit_status: int, diagnostics: str = ""
                  ) -> List[Action]:
        """YARN reports a container completed."""
        actions: List[Action] = []
        with self._changing():
            tracked = self._by_yarn_id.get(yarn_container_id)
            if tracked is None or tracked.state.completed:
                return actions  # released before launch, or already ended by the AM
            if exit_status == KILLED_BY_APPMASTER:
                state, message = ContainerState.KILLED, "Killed by the application master."
            else:
                state, message = exit_message(exit_status, diagnostics)
            self._finish(tracked, state, message, actions, exit_status=exit_status)
        return actions

    def launch_failed(self, container_id: str, message: str) -> List[Action]:
        """Starting a container through its NodeManager failed."""
        actions: List[Action] = []
        with self._changing():
            tracked = self._tracked(container_id)
            if not tracked.state.completed:
                self._finish(tracked, ContainerState.FAILED, f"Failed to start: {message}", actions)
        return actions

    def kill(self, container_id: str) -> List[Action]:
        """Kill a container at a user's request (nothing happens to one that has ended)."""
        actions: List[Action] = []
        with self._changing():
            tracked = self._tracked(container_id)
            if not tracked.state.completed:
                self._finish(tracked, ContainerState.KILLED, "Killed by user request.", actions)
        return actions

    def add_container(self, service: str, env: Optional[Mapping[str, str]] = None
                      ) -> Tuple[Container, List[Action]]:
        """One more container for ``service``, with ``env`` over the service's environment."""
        actions: List[Action] = []
        with self._changing():
            state = self._service(service)
            tracked = self._add(state, dict(env or {}), actions)
            return tracked.snapshot(), actions

    def scale(self, service: str, count: Optional[int] = None, delta: Optional[int] = None
              ) -> Tuple[List[Container], List[Action]]:
        """Scale ``service`` to ``count`` active containers, or by ``delta``.

        A negative delta beyond the active containers scales to 0. Returns the
        containers added or killed.
        """
        if (count is None) == (delta is None):
            raise InvalidRequestError("scale: give exactly one of count and delta")
        if count is not None and count < 0:
            raise InvalidRequestError(f"scale: count must be >= 0, got {count}")
        actions: List[Action] = []
        changed: List[_Tracked] = []
        with self._changing():
            state = self._service(service)
            active = state.num_active
            change = count - active if count is not None else max(delta or 0, -active)
            for _ in range(change):
                changed.append(self._add(state, {}, actions))
            if change < 0:
                victims = (state.active(ContainerState.WAITING) + state.active(ContainerState.REQUESTED)
                           + state.active(ContainerState.RUNNING))[:-change]
                for tracked in victims:
                    self._finish(tracked, ContainerState.KILLED, "Killed by user request.", actions)
                    changed.append(tracked)
            return [c.snapshot() for c in changed], actions

    def shutdown(self, status: FinalStatus, diagnostics: str, *, by_user: bool = False) -> List[Action]:
        """End the application now (a user's request, the driver's exit, or a failure of the AM)."""
        with self._changing():
            return self._end(status, diagnostics, by_user)

    def driver_exited(self, exit_code: int) -> List[Action]:
        """The master script exited; its exit code decides the final status, as in Skein."""
        if exit_code == 0:
            return self.shutdown(FinalStatus.SUCCEEDED, "Application driver completed successfully.")
        if exit_code == 143:
            return self.shutdown(FinalStatus.FAILED, (
                "Application driver failed with exit code 143. This is often due to the application "
                "master memory limit being exceeded. See the diagnostics for more information."))
        return self.shutdown(FinalStatus.FAILED, f"Application driver failed with exit code {exit_code}, "
                                                 "see logs for more information.")

    # ----------------------------------------------------------------- internals

    def _tracked(self, container_id: str) -> _Tracked:
        try:
            service, instance = parse_container_id(container_id)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        state = self._service(service)
        if not 0 <= instance < len(state.containers):
            raise InvalidRequestError(f"service {service!r} has no container instance {instance}")
        return state.containers[instance]

    def _touch(self, tracked: _Tracked) -> None:
        self._touched[tracked.id] = tracked
        self._touched_services[tracked.service] = self._services[tracked.service]

    def _add(self, state: _ServiceState, env: Dict[str, str], actions: List[Action]) -> _Tracked:
        tracked = _Tracked(state.name, len(state.containers), env)
        state.containers.append(tracked)
        self._touch(tracked)
        if not state.depends_left:
            self._request(state, tracked, actions)
        return tracked

    def _request(self, state: _ServiceState, tracked: _Tracked, actions: List[Action]) -> None:
        spec = state.spec
        priority = self._next_priority
        self._next_priority += 1
        located = bool(spec.nodes or spec.racks)
        tracked.request = ContainerRequest(
            capability=state.resource(), priority=priority, nodes=spec.nodes, racks=spec.racks,
            relax_locality=spec.relax_locality if located else True, node_label=state.node_label or None)
        tracked.state = ContainerState.REQUESTED
        self._touch(tracked)
        self._by_priority[priority] = tracked
        actions.append(RequestContainer(tracked.id, tracked.request))

    def _update_next_priority(self) -> None:
        self._next_priority = max(self._by_priority, default=0) + 1

    def _check_ready(self, state: _ServiceState, actions: List[Action]) -> None:
        """Latch ``state`` ready once nothing of it waits or is requested; wake its dependents."""
        if state.ready or state.depends_left:
            return
        if state.active(ContainerState.WAITING) or state.active(ContainerState.REQUESTED):
            return
        state.ready = True
        self._touched_services[state.name] = state
        for name in state.dependents:
            dependent = self._services[name]
            dependent.depends_left.discard(state.name)
            if not dependent.depends_left:
                for tracked in dependent.active(ContainerState.WAITING):
                    self._request(dependent, tracked, actions)
                self._check_ready(dependent, actions)

    def _finish(self, tracked: _Tracked, final: ContainerState, message: str, actions: List[Action],
                exit_status: Optional[int] = None) -> None:
        state = self._services[tracked.service]
        if tracked.state is ContainerState.REQUESTED:
            assert tracked.request is not None
            self._by_priority.pop(tracked.request.priority, None)
            actions.append(CancelRequest(tracked.id, tracked.request))
            tracked.request = None
            self._update_next_priority()
        elif tracked.state is ContainerState.RUNNING:
            assert tracked.allocation is not None
            if final is not ContainerState.SUCCEEDED and exit_status is None:
                actions.append(StopContainer(tracked.id, tracked.allocation.id, tracked.allocation.node_id))
            tracked.finish_time = self._clock()
        tracked.state = final
        tracked.exit_message = message
        tracked.exit_status = exit_status
        self._touch(tracked)
        actions.append(ReleaseOwner(tracked.id))
        if final is ContainerState.SUCCEEDED:
            state.succeeded += 1
        elif final is ContainerState.KILLED:
            state.killed += 1
        else:
            state.failed += 1
            budget = state.spec.max_restarts
            if not self.finished and (budget == -1 or state.restarted < budget):
                state.restarted += 1
                self._add(state, dict(tracked.env), actions)
        if state.finished or state.failed_over_budget:
            self._maybe_end(actions)

    def _maybe_end(self, actions: List[Action]) -> None:
        for state in self._services.values():
            if state.failed_over_budget:
                actions.extend(self._end(FinalStatus.FAILED,
                                         f"Failure in service {state.name}, see logs for more information."))
                return
        if not self.has_driver and all(s.finished for s in self._services.values()):
            actions.extend(self._end(FinalStatus.SUCCEEDED, "Application completed successfully."))

    def _end(self, status: FinalStatus, diagnostics: str, by_user: bool = False) -> List[Action]:
        if self.outcome is not None:
            return []
        self.outcome = Finish(FinalStatus(status), diagnostics, by_user)
        self._outcome_touched = _lasting(self.outcome)
        return [self.outcome]

    def stop_all(self) -> List[Action]:
        """Kill every active container (the application is ending)."""
        actions: List[Action] = []
        with self._changing():
            for state in self._services.values():
                for tracked in state.containers:
                    if not tracked.state.completed:
                        self._finish(tracked, ContainerState.KILLED, "Application is shutting down.",
                                     actions)
        return actions

    # ------------------------------------------------------------------ journal

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """The lock, for an event; on leaving the outermost one, hand what changed to the recorder."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._emit()

    def _emit(self) -> None:
        if self.recorder is not None and (self._touched or self._touched_services or self._outcome_touched):
            change: Dict[str, Any] = {
                "containers": {cid: t.to_json() for cid, t in self._touched.items()},
                "services": {name: s.to_json() for name, s in self._touched_services.items()}}
            if self._outcome_touched and self.outcome is not None:
                change["outcome"] = _outcome_json(self.outcome)
            self.recorder(change)
        self._touched.clear()
        self._touched_services.clear()
        self._outcome_touched = False

    def dump(self) -> Dict[str, Any]:
        """The services' state as JSON (see the module docstring)."""
        with self._lock:
            out: Dict[str, Any] = {
                "containers": {t.id: t.to_json() for s in self._services.values() for t in s.containers},
                "services": {name: s.to_json() for name, s in self._services.items()}}
            if self.outcome is not None and _lasting(self.outcome):
                out["outcome"] = _outcome_json(self.outcome)
            return out

    def restore(self, state: Dict[str, Any]) -> bool:
        """Load a state saved by :meth:`dump` (and later changes), before :meth:`start`; False
        when it is dropped (its services failed beyond their budget). ValueError for a state
        that does not read or does not fit the spec."""
        services = self._new_services()
        try:
            found: Dict[str, Dict[int, _Tracked]] = {name: {} for name in services}
            for container_id, item in state.get("containers", {}).items():
                tracked = _Tracked.from_json(item)
                if tracked.service not in services or tracked.id != container_id:
                    raise ValueError(f"container {container_id!r} is not one of the spec's services")
                found[tracked.service][tracked.instance] = tracked
            for name, item in state.get("services", {}).items():
                if name not in services:
                    raise ValueError(f"there is no service {name!r} in the spec")
                services[name].load_json(item)
            for name, tracked_by_instance in found.items():
                if sorted(tracked_by_instance) != list(range(len(tracked_by_instance))):
                    raise ValueError(f"service {name!r} is missing some of its containers")
                services[name].containers = [tracked_by_instance[i] for i in range(len(tracked_by_instance))]
            outcome = state.get("outcome")
            finish = None if outcome is None else Finish(
                FinalStatus(outcome["status"]), str(outcome["diagnostics"]), bool(outcome["by_user"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"the services' saved state does not read: {exc!r}") from None
        if finish is None and any(s.failed_over_budget for s in services.values()):
            return False
        for state_ in services.values():
            state_.depends_left = {d for d in state_.spec.depends if not services[d].ready}
        with self._lock:
            self._services = services
            self.outcome = finish
            self._restored = True
        return True


def _outcome_json(outcome: Finish) -> Dict[str, Any]:
    return {"status": outcome.status.value, "diagnostics": outcome.diagnostics, "by_user": outcome.by_user}
