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
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import attrs

from ..spec import ApplicationSpec, Service
from ..yarn.amrm import AllocatedContainer, ContainerRequest
from ..yarn.ids import ContainerId, NodeId
from ..yarn.records import FinalStatus, Resource
from .errors import InvalidRequestError
from .records import ACTIVE_STATES, Container, ContainerState, format_container_id, parse_container_id

__all__ = [
    "Scheduler", "Action", "RequestContainer", "CancelRequest", "LaunchContainer", "StopContainer",
    "ReleaseContainer", "ReleaseOwner", "Finish", "exit_message",
]

# YARN's ContainerExitStatus values the AM tells apart.
EXIT_SUCCESS = 0
KILLED_EXCEEDED_VMEM = -103
KILLED_EXCEEDED_PMEM = -104
KILLED_BY_APPMASTER = -105


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

    def resource(self) -> Resource:
        r = self.spec.resources
        extra = {k: v for k, v in r.yarn_resources().items() if k not in ("memory-mb", "vcores")}
        return Resource(memory=r.memory, vcores=r.vcores, resources=extra)


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
        self._services: Dict[str, _ServiceState] = {
            name: _ServiceState(name, service, spec.node_label) for name, service in spec.services.items()}
        for name, state in self._services.items():
            for dep in state.spec.depends:
                self._services[dep].dependents.append(name)
        self._by_priority: Dict[int, _Tracked] = {}
        self._by_yarn_id: Dict[ContainerId, _Tracked] = {}
        self._next_priority = 1
        self.outcome: Optional[Finish] = None

    # ------------------------------------------------------------------ queries

    @property
    def finished(self) -> bool:
        """Whether the application has reached its end (see :attr:`outcome`)."""
        return self.outcome is not None

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

    def start(self) -> List[Action]:
        """The initial containers of every service."""
        actions: List[Action] = []
        with self._lock:
            for state in self._services.values():
                for _ in range(state.spec.instances):
                    self._add(state, {}, actions)
            for state in self._services.values():
                self._check_ready(state, actions)
        return actions

    def allocated(self, allocation: AllocatedContainer) -> List[Action]:
        """The RM allocated a container: match it to its request by priority and launch it."""
        actions: List[Action] = []
        with self._lock:
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
        with self._lock:
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
        with self._lock:
            tracked = self._tracked(container_id)
            if not tracked.state.completed:
                self._finish(tracked, ContainerState.FAILED, f"Failed to start: {message}", actions)
        return actions

    def kill(self, container_id: str) -> List[Action]:
        """Kill a container at a user's request (nothing happens to one that has ended)."""
        actions: List[Action] = []
        with self._lock:
            tracked = self._tracked(container_id)
            if not tracked.state.completed:
                self._finish(tracked, ContainerState.KILLED, "Killed by user request.", actions)
        return actions

    def add_container(self, service: str, env: Optional[Mapping[str, str]] = None
                      ) -> Tuple[Container, List[Action]]:
        """One more container for ``service``, with ``env`` over the service's environment."""
        actions: List[Action] = []
        with self._lock:
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
        with self._lock:
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
        with self._lock:
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

    def _add(self, state: _ServiceState, env: Dict[str, str], actions: List[Action]) -> _Tracked:
        tracked = _Tracked(state.name, len(state.containers), env)
        state.containers.append(tracked)
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
        return [self.outcome]

    def stop_all(self) -> List[Action]:
        """Kill every active container (the application is ending)."""
        actions: List[Action] = []
        with self._lock:
            for state in self._services.values():
                for tracked in state.containers:
                    if not tracked.state.completed:
                        self._finish(tracked, ContainerState.KILLED, "Application is shutting down.",
                                     actions)
        return actions
