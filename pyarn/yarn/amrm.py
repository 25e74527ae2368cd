"""The ApplicationMaster's side of ``ApplicationMasterProtocol``: register, allocate, finish.

:class:`AMRMClient` is what Java's ``AMRMClientImpl`` is: it keeps the
application's outstanding container requests in a table and sends only
what changed (``ask``) with each ``allocate`` heartbeat, with the releases
and blacklist changes made since the last one:

* :meth:`~AMRMClient.add_container_request` adds one container to the
  request at its priority, capability and every location it names (its
  nodes, their racks, its racks, and always ``*``, "anywhere");
  :meth:`~AMRMClient.remove_container_request` takes it away again. The
  ResourceManager counts a request down by itself when it allocates a
  container, so an AM removes the request it matched each allocated
  container to, which brings both counts back in line (the RM reads the
  numbers it is sent as absolute values).
* ``response_id`` is 0 after registering and then whatever the last
  response carried; a failed ``allocate`` puts its asks, releases and
  blacklist changes back to be sent again, unless newer ones replaced them.
* A rolled-over AMRM token arriving in a response replaces the current one
  for later connections; NMTokens are cached by ``host:port``.
* When the ResourceManager no longer knows the attempt (``AM_RESYNC`` or
  ``ApplicationMasterNotRegisteredException``, after an RM restart),
  the client registers again and re-sends every outstanding request (once
  per heartbeat: an RM that still does not know the attempt is an error).

:class:`RequestTable` is the bookkeeping alone, without any I/O.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import APPLICATION_MASTER_PROTOCOL

from ..conf import Configuration, rm_addresses
from ..errors import ApplicationMasterNotRegisteredError, PyarnError
from ..ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from ..ipc.client import AddressLike, format_address, parse_address
from ..security.credentials import Credentials
from ..security.tokens import AMRM_TOKEN_KIND, Token
from ..security.user import User
from .ids import ContainerId, NodeId
from .records import ContainerState, ExecutionType, FinalStatus, NodeReport, Resource

log = logging.getLogger(__name__)

__all__ = [
    "ANY", "DEFAULT_RACK", "ContainerRequest", "AllocatedContainer", "CompletedContainer",
    "Registration", "AllocateResult", "RequestTable", "AMRMClient", "amrm_token_service",
]

#: The resource name meaning "any node" (``ResourceRequest.ANY``).
ANY = "*"
#: The rack of every node when no topology is configured (``NetworkTopology.DEFAULT_RACK``).
DEFAULT_RACK = "/default-rack"
#: ``AMRMClientUtils`` response id rules: ids are masked to 31 bits.
_RESPONSE_ID_MASK = 0x7FFFFFFF
_UNREGISTER_POLL = 0.1

RackResolver = Callable[[str], str]


def _default_rack(node: str) -> str:
    return DEFAULT_RACK


def _names(values: Iterable[str]) -> Tuple[str, ...]:
    return tuple(values)


@attrs.frozen(eq=False)
class ContainerRequest:
    """A request for one container; compares by identity, like Java's ``ContainerRequest``.

    ``nodes`` and ``racks`` name preferred (or, without ``relax_locality``,
    required) locations; ``node_label`` is a node label expression.
    """

    capability: Resource
    priority: int
    nodes: Tuple[str, ...] = attrs.field(default=(), converter=_names)
    racks: Tuple[str, ...] = attrs.field(default=(), converter=_names)
    relax_locality: bool = True
    node_label: Optional[str] = None
    execution_type: ExecutionType = ExecutionType.GUARANTEED

    def __attrs_post_init__(self) -> None:
        if self.priority < 0:
            raise ValueError(f"ContainerRequest.priority must be >= 0, got {self.priority}")
        if not self.relax_locality and not (self.nodes or self.racks):
            raise ValueError("ContainerRequest: relax_locality=False needs nodes or racks")


@attrs.frozen
class AllocatedContainer:
    """A container the ResourceManager allocated (``ContainerProto``)."""

    id: ContainerId
    node_id: NodeId
    node_http_address: Optional[str]
    resource: Resource
    priority: int
    token: Optional[Token] = attrs.field(repr=False)
    execution_type: ExecutionType = ExecutionType.GUARANTEED
    allocation_request_id: int = -1

    @classmethod
    def from_proto(cls, proto: pb.ContainerProto) -> AllocatedContainer:
        return cls(
            id=ContainerId.from_proto(proto.id), node_id=NodeId.from_proto(proto.nodeId),
            node_http_address=proto.node_http_address or None, resource=Resource.from_proto(proto.resource),
            priority=proto.priority.priority,
            token=Token.from_proto(proto.container_token) if proto.HasField("container_token") else None,
            execution_type=ExecutionType.from_proto(proto.execution_type),
            allocation_request_id=proto.allocation_request_id)


@attrs.frozen
class CompletedContainer:
    """A container that has ended (``ContainerStatusProto``)."""

    id: ContainerId
    state: ContainerState
    exit_status: int
    diagnostics: str = ""

    @classmethod
    def from_proto(cls, proto: pb.ContainerStatusProto) -> CompletedContainer:
        return cls(ContainerId.from_proto(proto.container_id), ContainerState.from_proto(proto.state),
                   proto.exit_status, proto.diagnostics if proto.HasField("diagnostics") else "")


@attrs.frozen
class Registration:
    """What ``registerApplicationMaster`` answers."""

    maximum_capability: Resource
    queue: Optional[str]
    containers_from_previous_attempts: Tuple[AllocatedContainer, ...]
    #: The attempt's client-to-AM token master key (secure clusters only).
    client_to_am_token_master_key: Optional[bytes] = attrs.field(default=None, repr=False)

    @classmethod
    def from_proto(cls, proto: rpc.RegisterApplicationMasterResponseProto) -> Registration:
        return cls(Resource.from_proto(proto.maximumCapability), proto.queue or None,
                   tuple(AllocatedContainer.from_proto(c) for c in proto.containers_from_previous_attempts),
                   proto.client_to_am_token_master_key or None)


@attrs.frozen
class AllocateResult:
    """What one ``allocate`` heartbeat brought back.

    ``command`` is ``AM_RESYNC`` or ``AM_SHUTDOWN`` when the RM sends one;
    ``available`` is the headroom (``limit``).
    """

    response_id: int
    allocated: Tuple[AllocatedContainer, ...]
    completed: Tuple[CompletedContainer, ...]
    updated_nodes: Tuple[NodeReport, ...]
    num_cluster_nodes: int
    available: Resource
    command: Optional[str] = None

    @classmethod
    def from_proto(cls, proto: rpc.AllocateResponseProto) -> AllocateResult:
        command = pb.AMCommandProto.Name(proto.a_m_command) if proto.HasField("a_m_command") else None
        return cls(
            response_id=proto.response_id,
            allocated=tuple(AllocatedContainer.from_proto(c) for c in proto.allocated_containers),
            completed=tuple(CompletedContainer.from_proto(s) for s in proto.completed_container_statuses),
            updated_nodes=tuple(NodeReport.from_proto(n) for n in proto.updated_nodes),
            num_cluster_nodes=proto.num_cluster_nodes, available=Resource.from_proto(proto.limit),
            command=command)


# ----------------------------------------------------------------- bookkeeping

_Key = Tuple[int, str, ExecutionType, Tuple]


def _capability_key(resource: Resource) -> Tuple:
    return (resource.memory, resource.vcores, tuple(sorted(resource.resources.items())))


@attrs.define
class _RemoteRequest:
    """One row of the table: a ``ResourceRequestProto`` being built up, and who asked."""

    priority: int
    resource_name: str
    capability: Resource
    execution_type: ExecutionType
    num_containers: int = 0
    relax_locality: bool = True
    node_label: Optional[str] = None
    requests: List[ContainerRequest] = attrs.field(factory=list)

    def to_proto(self) -> pb.ResourceRequestProto:
        return pb.ResourceRequestProto(
            priority=pb.PriorityProto(priority=self.priority), resource_name=self.resource_name,
            capability=self.capability.to_proto(), num_containers=self.num_containers,
            relax_locality=self.relax_locality, node_label_expression=self.node_label,
            execution_type_request=pb.ExecutionTypeRequestProto(
                execution_type=self.execution_type.to_proto(), enforce_execution_type=False))


class RequestTable:
    """Outstanding requests, pending releases and blacklist changes; no I/O.

    :meth:`take` hands out what the next ``allocate`` must carry and forgets
    it; :meth:`restore` puts it back after a failed call; :meth:`resync`
    queues everything again for a fresh registration.
    """

    def __init__(self, rack_of: RackResolver = _default_rack) -> None:
        self._rack_of = rack_of
        self._table: Dict[_Key, _RemoteRequest] = {}
        self._ask: Dict[_Key, pb.ResourceRequestProto] = {}
        self._release: Dict[ContainerId, None] = {}
        self._pending_release: Dict[ContainerId, None] = {}
        self._blacklist_add: Dict[str, None] = {}
        self._blacklist_remove: Dict[str, None] = {}
        self._blacklisted: Dict[str, None] = {}

    # -- requests

    def _locations(self, request: ContainerRequest) -> List[Tuple[str, bool]]:
        """(resource name, relax locality) for each row a request counts in, as AMRMClientImpl."""
        racks = list(dict.fromkeys(request.racks))
        nodes = list(dict.fromkeys(request.nodes))
        inferred = [r for r in dict.fromkeys(self._rack_of(n) for n in nodes) if r not in racks]
        return ([(n, True) for n in nodes] + [(r, True) for r in racks]
                + [(r, request.relax_locality) for r in inferred] + [(ANY, request.relax_locality)])

    def add(self, request: ContainerRequest) -> None:
        """Count ``request`` in at each of its locations."""
        for name, relax in self._locations(request):
            key = (request.priority, name, request.execution_type, _capability_key(request.capability))
            row = self._table.get(key)
            if row is None:
                row = self._table[key] = _RemoteRequest(request.priority, name, request.capability,
                                                        request.execution_type)
            row.num_containers += 1
            row.relax_locality = relax
            if name == ANY:
                row.node_label = request.node_label or None
            row.requests.append(request)
            self._ask[key] = row.to_proto()

    def remove(self, request: ContainerRequest) -> None:
        """Count ``request`` out again (sending 0 when nothing is left, to cancel at the RM)."""
        for name, _relax in self._locations(request):
            key = (request.priority, name, request.execution_type, _capability_key(request.capability))
            row = self._table.get(key)
            if row is None:
                continue
            row.num_containers = max(row.num_containers - 1, 0)
            if request in row.requests:
                row.requests.remove(request)
            self._ask[key] = row.to_proto()
            if row.num_containers == 0:
                del self._table[key]

    def outstanding(self, priority: int, resource_name: str = ANY,
                    execution_type: ExecutionType = ExecutionType.GUARANTEED) -> List[ContainerRequest]:
        """The requests counted at ``priority`` and ``resource_name``, oldest first."""
        return [r for (p, name, et, _cap), row in self._table.items()
                if p == priority and name == resource_name and et is execution_type for r in row.requests]

    def count(self, priority: int, resource_name: str = ANY) -> int:
        """How many containers are asked for at ``priority`` and ``resource_name``."""
        return sum(row.num_containers for (p, name, _et, _cap), row in self._table.items()
                   if p == priority and name == resource_name)

    @property
    def has_requests(self) -> bool:
        """Whether any container is still asked for."""
        return any(row.num_containers for row in self._table.values())

    # -- releases and blacklist

    def release(self, container_id: ContainerId) -> None:
        self._release[container_id] = None
        self._pending_release[container_id] = None

    def completed(self, container_ids: Iterable[ContainerId]) -> None:
        """Containers the RM reported completed need no release any more."""
        for container_id in container_ids:
            self._pending_release.pop(container_id, None)

    def update_blacklist(self, additions: Iterable[str] = (), removals: Iterable[str] = ()) -> None:
        for node in additions:
            self._blacklist_add[node] = None
            self._blacklisted[node] = None
            self._blacklist_remove.pop(node, None)
        for node in removals:
            self._blacklist_remove[node] = None
            self._blacklisted.pop(node, None)
            self._blacklist_add.pop(node, None)

    # -- one heartbeat

    def take(self) -> rpc.AllocateRequestProto:
        """The asks, releases and blacklist changes for the next ``allocate``, then forgotten."""
        request = rpc.AllocateRequestProto(
            ask=list(self._ask.values()), release=[c.to_proto() for c in self._release])
        if self._blacklist_add or self._blacklist_remove:
            request.blacklist_request.CopyFrom(pb.ResourceBlacklistRequestProto(
                blacklist_additions=list(self._blacklist_add),
                blacklist_removals=list(self._blacklist_remove)))
        self._ask.clear()
        self._release.clear()
        self._blacklist_add.clear()
        self._blacklist_remove.clear()
        return request

    def restore(self, sent: rpc.AllocateRequestProto) -> None:
        """Put back what a failed ``allocate`` carried, unless something newer replaced it."""
        for ask in sent.ask:
            key = (ask.priority.priority, ask.resource_name,
                   ExecutionType.from_proto(ask.execution_type_request.execution_type),
                   _capability_key(Resource.from_proto(ask.capability)))
            self._ask.setdefault(key, ask)
        for container in sent.release:
            self._release[ContainerId.from_proto(container)] = None
        blacklist = sent.blacklist_request
        for node in blacklist.blacklist_additions:
            if node not in self._blacklist_remove:
                self._blacklist_add[node] = None
        for node in blacklist.blacklist_removals:
            if node not in self._blacklist_add:
                self._blacklist_remove[node] = None

    def resync(self) -> None:
        """Queue every outstanding request, pending release and blacklisted node again."""
        for key, row in self._table.items():
            self._ask[key] = row.to_proto()
        for container_id in self._pending_release:
            self._release[container_id] = None
        for node in self._blacklisted:
            self._blacklist_add[node] = None


# --------------------------------------------------------------------- client


def amrm_token_service(addresses: Sequence[AddressLike]) -> str:
    """The AMRM token service for the scheduler addresses: ``ip:port`` joined by commas
    (``ClientRMProxy.getAMRMTokenService``; hosts that do not resolve stay as they are)."""
    services = []
    for address in addresses:
        host, port = parse_address(address)
        try:
            host = socket.gethostbyname(host)
        except OSError:
            pass
        services.append(format_address((host, port)))
    return ",".join(services)


class AMRMClient:
    """Talks to the ResourceManager's scheduler (``ApplicationMasterProtocol``) for one attempt.

    ``addresses`` are the scheduler addresses (every RM's with HA);
    ``token`` is the attempt's ``YARN_AM_RM_TOKEN``. Thread-safe: requests
    may be added from any thread while another heartbeats.
    """

    def __init__(self, addresses: Sequence[AddressLike], token: Token, *,
                 rpc_client: Optional[RpcClient] = None, settings: Optional[IpcSettings] = None,
                 policy: Optional[RetryPolicy] = None,
                 user: Optional[User] = None, rack_of: RackResolver = _default_rack) -> None:
        if token.kind != AMRM_TOKEN_KIND:
            raise ValueError(f"AMRMClient needs a {AMRM_TOKEN_KIND} token, not {token.kind!r}")
        self._owns_rpc = rpc_client is None
        self.rpc = rpc_client if rpc_client is not None else RpcClient(settings)
        self._service = amrm_token_service(addresses)
        self.proxy = FailoverProxy(self.rpc, addresses, APPLICATION_MASTER_PROTOCOL,
                                   user or User("pyarn-am"), policy=policy,
                                   token=token.with_service(self._service))
        self._lock = threading.RLock()
        self._table = RequestTable(rack_of)
        self._response_id = 0
        self._registration_args: Optional[rpc.RegisterApplicationMasterRequestProto] = None
        self.nm_tokens: Dict[str, Token] = {}
        self.registration: Optional[Registration] = None

    @classmethod
    def from_conf(cls, conf: Configuration, credentials: Credentials, **kwargs) -> AMRMClient:
        """A client for the scheduler(s) ``conf`` names, with the AMRM token of ``credentials``."""
        token = credentials.find_token(AMRM_TOKEN_KIND)
        if token is None:
            raise PyarnError(f"no {AMRM_TOKEN_KIND} token in the container's credentials "
                             "(HADOOP_TOKEN_FILE_LOCATION): is this running as an ApplicationMaster?")
        addresses = [(host, port) for _rm_id, host, port in rm_addresses(conf, "scheduler.address")]
        kwargs.setdefault("settings", IpcSettings.from_conf(conf))
        kwargs.setdefault("policy", RetryPolicy.from_conf(conf, "yarn"))
        return cls(addresses, token, **kwargs)

    def __repr__(self) -> str:
        return f"AMRMClient({self._service})"

    @property
    def token(self) -> Token:
        """The AMRM token in use (the latest rolled-over one)."""
        assert self.proxy.token is not None
        return self.proxy.token

    @property
    def response_id(self) -> int:
        return self._response_id

    def close(self) -> None:
        if self._owns_rpc:
            self.rpc.close()

    def __enter__(self) -> AMRMClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, method: str, request: Any) -> Any:
        return self.proxy.call(method, request)

    # -------------------------------------------------------------- lifecycle

    def register(self, host: str = "", rpc_port: int = -1, tracking_url: str = "") -> Registration:
        """Register the attempt; ``host``/``rpc_port`` are where clients reach the AM."""
        self._registration_args = rpc.RegisterApplicationMasterRequestProto(
            host=host, rpc_port=rpc_port, tracking_url=tracking_url)
        return self._register()

    def _register(self) -> Registration:
        assert self._registration_args is not None
        response = self._call("registerApplicationMaster", self._registration_args)
        with self._lock:
            self._response_id = 0
            self._store_nm_tokens(response.nm_tokens_from_previous_attempts)
            self.registration = Registration.from_proto(response)
        return self.registration

    def allocate(self, progress: float = 0.0) -> AllocateResult:
        """One heartbeat: send what changed, return what the RM allocated and completed.

        When the RM does not know the attempt (``ApplicationMasterNotRegisteredException``),
        registers again once and re-sends everything outstanding; if the RM still does not know
        it, the error is raised (with everything kept for the next heartbeat)."""
        if progress < 0:
            raise ValueError(f"progress must not be negative, got {progress}")
        registered_again = False
        while True:
            with self._lock:
                request = self._table.take()
                request.response_id = self._response_id
                request.progress = progress
            try:
                response = self._call("allocate", request)
                break
            except ApplicationMasterNotRegisteredError:
                with self._lock:
                    self._table.restore(request)
                    self._table.resync()
                if registered_again:  # registering did not help: the caller decides what now
                    raise
                log.warning("the ResourceManager does not know this attempt any more; registering again")
                self._register()
                registered_again = True
            except BaseException:
                with self._lock:
                    self._table.restore(request)
                raise
        with self._lock:
            self._response_id = response.response_id & _RESPONSE_ID_MASK
            self._store_nm_tokens(response.nm_tokens)
            if response.HasField("am_rm_token"):
                self.proxy.token = Token.from_proto(response.am_rm_token).with_service(self._service)
                log.info("the AMRM token was rolled over")
            result = AllocateResult.from_proto(response)
            self._table.completed(c.id for c in result.completed)
            if result.command == "AM_RESYNC":
                self._table.resync()
        if result.command == "AM_RESYNC":
            log.warning("the ResourceManager asks to resync; registering again")
            self._register()
        return result

    def finish(self, status: FinalStatus, diagnostics: str = "", tracking_url: str = "") -> None:
        """Unregister with a final status, waiting until the RM has recorded it."""
        request = rpc.FinishApplicationMasterRequestProto(
            final_application_status=FinalStatus(status).to_proto(), diagnostics=diagnostics,
            tracking_url=tracking_url)
        resynced = False
        while True:
            try:
                response = self._call("finishApplicationMaster", request)
            except ApplicationMasterNotRegisteredError:
                if resynced:
                    raise
                resynced = True
                self._register()
                continue
            if response.isUnregistered:
                return
            time.sleep(_UNREGISTER_POLL)

    # -------------------------------------------------------------- requests

    def add_container_request(self, request: ContainerRequest) -> None:
        with self._lock:
            self._table.add(request)

    def remove_container_request(self, request: ContainerRequest) -> None:
        with self._lock:
            self._table.remove(request)

    def release_assigned_container(self, container_id: ContainerId) -> None:
        with self._lock:
            self._table.release(container_id)

    def update_blacklist(self, additions: Iterable[str] = (), removals: Iterable[str] = ()) -> None:
        with self._lock:
            self._table.update_blacklist(additions, removals)

    def outstanding(self, priority: int, resource_name: str = ANY) -> List[ContainerRequest]:
        """The requests still counted at ``priority`` and ``resource_name``, oldest first."""
        with self._lock:
            return self._table.outstanding(priority, resource_name)

    @property
    def has_requests(self) -> bool:
        """Whether any container is still asked for (heartbeat faster then)."""
        with self._lock:
            return self._table.has_requests

    def nm_token(self, node: NodeId) -> Optional[Token]:
        """The cached NMToken for ``node``."""
        with self._lock:
            return self.nm_tokens.get(str(node))

    def _store_nm_tokens(self, tokens: Iterable[rpc.NMTokenProto]) -> None:
        for nm_token in tokens:
            node = str(NodeId.from_proto(nm_token.nodeId))
            self.nm_tokens[node] = Token.from_proto(nm_token.token).with_service(node)
