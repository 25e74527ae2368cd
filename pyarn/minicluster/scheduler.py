"""A capacity-aware FIFO scheduler over the NodeManagers' memory and vcores.

Asks follow YARN's ``AppSchedulingInfo``: a ``ResourceRequest`` is keyed by
(priority, allocation request id, resource name) and each new one replaces
the outstanding count under its key; the ``*`` (ANY) request carries the
number of containers wanted, host and rack requests only say where. Attempts
are served in submission order, each ask by priority (lower number first);
a container goes to the eligible node with the most free memory, which
spreads an application over the cluster. There is no reservation: what does
not fit waits and later applications may go ahead. At most
``am_resource_percent`` of the cluster's memory runs ApplicationMasters
(the first AM always may), as the CapacityScheduler's
``maximum-am-resource-percent``.

Everything here runs under the ResourceManager's lock.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

import attrs

from hadoop_protos import yarn_records_pb2 as pb

from ..yarn.ids import ApplicationAttemptId, NodeId
from .state import DEFAULT_RACK, RMNode

ANY = "*"

Key = Tuple[int, int, str]


@attrs.define
class Ask:
    """One outstanding ResourceRequest (already normalized)."""

    priority: int
    allocation_request_id: int
    resource_name: str
    memory: int
    vcores: int
    count: int
    relax_locality: bool = True


@attrs.define
class Placement:
    """A container the scheduler decided to create."""

    attempt_id: ApplicationAttemptId
    node: RMNode
    memory: int
    vcores: int
    priority: int
    allocation_request_id: int
    is_am: bool


@attrs.define
class _AttemptAsks:
    asks: Dict[Key, Ask] = attrs.field(factory=dict)
    blacklist: Set[str] = attrs.field(factory=set)
    #: The ApplicationMaster's own container, until it is placed.
    am_ask: Optional[Ask] = None


class FifoScheduler:
    """Places containers for attempts, first submitted first served."""

    def __init__(self, min_memory: int, min_vcores: int, am_resource_percent: float = 0.5) -> None:
        self.min_memory = min_memory
        self.min_vcores = min_vcores
        self.am_resource_percent = am_resource_percent
        self.nodes: Dict[NodeId, RMNode] = {}
        self._attempts: Dict[ApplicationAttemptId, _AttemptAsks] = {}
        self.am_memory = 0

    # -- cluster ------------------------------------------------------------------------------

    def add_node(self, node: RMNode) -> None:
        self.nodes[node.node_id] = node

    @property
    def max_memory(self) -> int:
        return max((n.capability.memory for n in self.nodes.values()), default=0)

    @property
    def max_vcores(self) -> int:
        return max((n.capability.vcores for n in self.nodes.values()), default=0)

    def total(self) -> Tuple[int, int]:
        return (sum(n.capability.memory for n in self.nodes.values()),
                sum(n.capability.vcores for n in self.nodes.values()))

    def available(self) -> Tuple[int, int]:
        nodes = self.nodes.values()
        return sum(n.free_memory for n in nodes), sum(n.free_vcores for n in nodes)

    def normalize(self, memory: int, vcores: int) -> Tuple[int, int]:
        """Round up to a multiple of the minimum allocation (``SchedulerUtils.normalizeRequest``)."""
        memory = max(memory, self.min_memory)
        memory = -(-memory // self.min_memory) * self.min_memory
        vcores = max(vcores, self.min_vcores)
        return min(memory, max(self.max_memory, self.min_memory)), min(vcores, max(self.max_vcores, 1))

    # -- attempts -----------------------------------------------------------------------------

    def add_attempt(self, attempt_id: ApplicationAttemptId, am_memory: Optional[int] = None,
                    am_vcores: int = 1, blacklist: Iterable[str] = ()) -> None:
        """Track ``attempt_id``; with ``am_memory``, ask for its ApplicationMaster's container.

        ``blacklist`` is the one a previous attempt hands over when it keeps its
        containers (``AppSchedulingInfo.transferStateFromPreviousAppSchedulingInfo``).
        """
        asks = _AttemptAsks(blacklist=set(blacklist))
        if am_memory is not None:
            memory, vcores = self.normalize(am_memory, am_vcores)
            asks.am_ask = Ask(0, -1, ANY, memory, vcores, 1)
        self._attempts[attempt_id] = asks

    def remove_attempt(self, attempt_id: ApplicationAttemptId) -> Set[str]:
        """Forget ``attempt_id``'s asks; returns its blacklist."""
        asks = self._attempts.pop(attempt_id, None)
        return asks.blacklist if asks is not None else set()

    def update(self, attempt_id: ApplicationAttemptId, requests: Iterable[pb.ResourceRequestProto],
               blacklist_add: Iterable[str] = (), blacklist_remove: Iterable[str] = ()) -> None:
        """Apply an AM's asks and blacklist changes (already validated)."""
        asks = self._attempts.get(attempt_id)
        if asks is None:
            return
        for request in requests:
            memory, vcores = self.normalize(request.capability.memory, request.capability.virtual_cores)
            key = (request.priority.priority, request.allocation_request_id, request.resource_name)
            asks.asks[key] = Ask(key[0], key[1], key[2], memory, vcores, max(request.num_containers, 0),
                                 request.relax_locality)
        asks.blacklist.update(blacklist_add)
        asks.blacklist.difference_update(blacklist_remove)

    def pending(self, attempt_id: ApplicationAttemptId) -> Tuple[int, int]:
        """Memory and vcores still asked for by ``attempt_id``."""
        asks = self._attempts.get(attempt_id)
        if asks is None:
            return 0, 0
        anys = [a for a in asks.asks.values() if a.resource_name == ANY]
        return sum(a.memory * a.count for a in anys), sum(a.vcores * a.count for a in anys)

    # -- placing ------------------------------------------------------------------------------

    def schedule(self) -> List[Placement]:
        """Place every container that fits now; node usage is updated here."""
        placements: List[Placement] = []
        for attempt_id, asks in list(self._attempts.items()):
            if asks.am_ask is not None:
                node = self._pick(asks, asks.am_ask, am=True)
                if node is not None:
                    placements.append(self._place(attempt_id, asks, asks.am_ask, node, am=True))
                    asks.am_ask = None
                continue
            for ask in sorted((a for a in asks.asks.values() if a.resource_name == ANY and a.count > 0),
                              key=lambda a: (a.priority, a.allocation_request_id)):
                while ask.count > 0:
                    node = self._pick(asks, ask)
                    if node is None:
                        break
                    placements.append(self._place(attempt_id, asks, ask, node))
        return placements

    def _pick(self, asks: _AttemptAsks, ask: Ask, am: bool = False) -> Optional[RMNode]:
        """The node for one container of ``ask``, honouring locality as YARN's relax_locality does.

        Nodes asked for by name (node id or host) come first; going past them
        to the rack needs a rack request that relaxes locality (or none), and
        going past the rack needs the ANY request to relax it.
        """
        if am and self.am_memory > 0:
            total_memory, _ = self.total()
            if self.am_memory + ask.memory > self.am_resource_percent * total_memory:
                return None
        fitting = [n for n in self.nodes.values()
                   if n.free_memory >= ask.memory and n.free_vcores >= ask.vcores
                   and (am or (n.node_id.host not in asks.blacklist and DEFAULT_RACK not in asks.blacklist))]
        named = [n for n in fitting
                 if self._asked(asks, ask, str(n.node_id)) or self._asked(asks, ask, n.node_id.host)]
        if named:
            return _roomiest(named)
        key = (ask.priority, ask.allocation_request_id)
        host_asks = any(k[:2] == key and k[2] not in (ANY, DEFAULT_RACK) and a.count > 0
                        for k, a in asks.asks.items())
        rack = asks.asks.get((*key, DEFAULT_RACK))
        if host_asks and rack is not None and not rack.relax_locality:
            return None
        if rack is not None and rack.count > 0:
            return _roomiest(fitting)
        if not ask.relax_locality:
            return None
        return _roomiest(fitting)

    @staticmethod
    def _asked(asks: _AttemptAsks, ask: Ask, name: str) -> bool:
        local = asks.asks.get((ask.priority, ask.allocation_request_id, name))
        return local is not None and local.count > 0

    def _place(self, attempt_id: ApplicationAttemptId, asks: _AttemptAsks, ask: Ask, node: RMNode,
               am: bool = False) -> Placement:
        ask.count -= 1
        for name in (str(node.node_id), node.node_id.host, DEFAULT_RACK):
            local = asks.asks.get((ask.priority, ask.allocation_request_id, name))
            if local is not None and local.count > 0:
                local.count -= 1
        node.used_memory += ask.memory
        node.used_vcores += ask.vcores
        if am:
            self.am_memory += ask.memory
        return Placement(attempt_id, node, ask.memory, ask.vcores, ask.priority, ask.allocation_request_id,
                         am)

    def release(self, node: RMNode, memory: int, vcores: int, is_am: bool) -> None:
        """Give a finished container's resources back to its node."""
        node.used_memory -= memory
        node.used_vcores -= vcores
        if is_am:
            self.am_memory -= memory



def _roomiest(nodes: List[RMNode]) -> Optional[RMNode]:
    """The node with the most free memory (then vcores): spreads containers over the cluster."""
    return max(nodes, key=lambda n: (n.free_memory, n.free_vcores, -n.node_id.port), default=None)
