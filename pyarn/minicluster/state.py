"""What the mini ResourceManager knows: nodes, applications, attempts and containers.

Plain records guarded by the ResourceManager's lock; the transitions between
states live in :mod:`.rm`. Each record builds its own report with
:mod:`pyarn.yarn.records`.
"""
from __future__ import annotations

import enum
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Dict, List, Optional

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb

from ..security.tokens import Token
from ..yarn.client_to_am import client_to_am_token
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, NodeId
from ..yarn.records import (
    ApplicationAttemptReport,
    ApplicationAttemptState,
    ApplicationReport,
    ApplicationState,
    ApplicationTimeout,
    ApplicationTimeoutType,
    ContainerReport,
    ContainerState,
    FinalStatus,
    LogAggregationStatus,
    NodeReport,
    NodeState,
    Resource,
    ResourceUsageReport,
    ResourceUtilization,
)

if TYPE_CHECKING:
    from .nm import NodeManager

NOT_AVAILABLE = "N/A"
DEFAULT_RACK = "/default-rack"
#: The one leaf queue, and its parent.
DEFAULT_QUEUE = "default"
ROOT_QUEUE = "root"
#: Memory (MiB) and vcores: the resource types the mini cluster knows.
RESOURCE_TYPES = [pb.ResourceTypeInfoProto(name="memory-mb", units="Mi", type=pb.COUNTABLE),
                  pb.ResourceTypeInfoProto(name="vcores", units="", type=pb.COUNTABLE)]


def now_ms() -> int:
    return int(time.time() * 1000)


def _datetime(ms: Optional[int]) -> Optional[datetime]:
    return None if not ms or ms < 0 else datetime.fromtimestamp(ms / 1000, timezone.utc)


class AppState(enum.Enum):
    """``RMAppState``: the public states plus FINISHING (reported as FINISHED, as YARN does)."""

    NEW = "NEW"
    NEW_SAVING = "NEW_SAVING"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    RUNNING = "RUNNING"
    FINISHING = "FINISHING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def public(self) -> ApplicationState:
        return ApplicationState.FINISHED if self is AppState.FINISHING else ApplicationState(self.value)

    @property
    def final(self) -> bool:
        return self in (AppState.FINISHED, AppState.FAILED, AppState.KILLED)

    @property
    def final_stored(self) -> bool:
        """``isAppFinalStateStored``: the outcome is decided (FINISHING counts)."""
        return self.final or self is AppState.FINISHING


#: Attempt states in which the AMRMToken works and the AM may call the scheduler.
ATTEMPT_LIVE = (ApplicationAttemptState.LAUNCHED, ApplicationAttemptState.RUNNING,
                ApplicationAttemptState.FINISHING)
ATTEMPT_FINAL = (ApplicationAttemptState.FINISHED, ApplicationAttemptState.FAILED,
                 ApplicationAttemptState.KILLED)


@attrs.define(eq=False)
class RMNode:
    """A registered NodeManager and what the scheduler has placed on it."""

    node_id: NodeId
    capability: Resource
    http_address: str
    manager: NodeManager = attrs.field(repr=False)
    used_memory: int = 0
    used_vcores: int = 0
    containers: Dict[ContainerId, RMContainer] = attrs.field(factory=dict, repr=False)
    registered: int = attrs.field(factory=now_ms)

    @property
    def free_memory(self) -> int:
        return self.capability.memory - self.used_memory

    @property
    def free_vcores(self) -> int:
        return self.capability.vcores - self.used_vcores

    def report(self) -> NodeReport:
        return NodeReport(
            id=self.node_id, http_address=self.http_address, rack_name=DEFAULT_RACK, state=NodeState.RUNNING,
            health_report="", last_health_report_time=_datetime(now_ms()), total_resources=self.capability,
            used_resources=Resource(self.used_memory, self.used_vcores), num_containers=len(self.containers),
            node_utilization=ResourceUtilization(), containers_utilization=ResourceUtilization())


@attrs.define(eq=False)
class RMContainer:
    """A container from allocation to completion, as the RM tracks it.

    ``attempt`` is the attempt that holds it: the one that allocated it, or a
    later one that took it over (``keep_containers_across_application_attempts``);
    the container id keeps naming the attempt that allocated it.
    """

    container_id: ContainerId
    attempt: RMAttempt = attrs.field(repr=False)
    node: RMNode = attrs.field(repr=False)
    memory: int
    vcores: int
    priority: int
    token: Token = attrs.field(repr=False)
    #: Runs an attempt's ApplicationMaster and counts towards the AM share of the cluster.
    is_am: bool = False
    allocation_request_id: int = -1
    created: int = attrs.field(factory=now_ms)
    #: NEW (allocated, not yet pulled by the AM), ACQUIRED, RUNNING or COMPLETE.
    state: str = "NEW"
    finished: Optional[int] = None
    exit_status: int = -1000
    diagnostics: str = ""

    @property
    def live(self) -> bool:
        return self.state != "COMPLETE"

    def resource_proto(self) -> pb.ResourceProto:
        return Resource(self.memory, self.vcores).to_proto()

    def proto(self) -> pb.ContainerProto:
        """The ``Container`` the AM receives."""
        return pb.ContainerProto(
            id=self.container_id.to_proto(), nodeId=self.node.node_id.to_proto(),
            node_http_address=self.node.http_address, resource=self.resource_proto(),
            priority=pb.PriorityProto(priority=self.priority), container_token=self.token.to_proto(),
            execution_type=pb.GUARANTEED, allocation_request_id=self.allocation_request_id)

    def status(self) -> pb.ContainerStatusProto:
        """The ``ContainerStatus`` of a container the RM ended (released, expired, aborted).

        As ``SchedulerUtils.createAbnormalContainerStatus``: id, state, diagnostics
        and exit status only. A NodeManager's report of a finished container is
        passed on as the NodeManager sent it.
        """
        return pb.ContainerStatusProto(
            container_id=self.container_id.to_proto(), state=pb.C_COMPLETE, diagnostics=self.diagnostics,
            exit_status=self.exit_status)

    def seconds(self, now: int) -> float:
        end = self.finished if self.finished is not None else now
        return max(end - self.created, 0) / 1000.0

    def report(self) -> pb.ContainerReportProto:
        """``RMContainerImpl.createContainerReport``: RUNNING from allocation until completion."""
        done = self.state == "COMPLETE"
        proto = ContainerReport(
            id=self.container_id, resource=Resource(self.memory, self.vcores), node_id=self.node.node_id,
            node_http_address=f"http://{self.node.http_address}", priority=self.priority,
            state=ContainerState.COMPLETE if done else ContainerState.RUNNING,
            start_time=_datetime(self.created), finish_time=_datetime(self.finished),
            exit_status=self.exit_status if done else 0, diagnostics=self.diagnostics if done else None,
            log_url=NOT_AVAILABLE).to_proto()
        proto.finish_time = self.finished or 0
        return proto


@attrs.define(eq=False)
class RMAttempt:
    """One application attempt: its AM, its containers and its scheduler conversation."""

    attempt_id: ApplicationAttemptId
    app: RMApp = attrs.field(repr=False)
    state: ApplicationAttemptState = ApplicationAttemptState.NEW
    start_time: int = attrs.field(factory=now_ms)
    finish_time: Optional[int] = None
    am_container: Optional[RMContainer] = None
    amrm_token: Optional[Token] = attrs.field(default=None, repr=False)
    #: The client-to-AM token master key (security on), given to the AM when it registers.
    client_token_key: Optional[bytes] = attrs.field(default=None, repr=False)
    host: str = NOT_AVAILABLE
    rpc_port: int = -1
    tracking_url: Optional[str] = None
    diagnostics: str = ""
    progress: float = 0.0
    final_status: FinalStatus = FinalStatus.UNDEFINED
    #: Millisecond time of the last message from the AM (liveness).
    last_ping: int = attrs.field(factory=now_ms)
    #: The last AllocateResponse (its response_id is the id the AM must send next); None before register.
    last_response: Optional[spb.AllocateResponseProto] = attrs.field(default=None, repr=False)
    registered: bool = False
    next_container: int = 1
    containers: Dict[ContainerId, RMContainer] = attrs.field(factory=dict, repr=False)
    #: Allocated containers the AM has not pulled yet; completed statuses it has not seen yet.
    new_containers: List[RMContainer] = attrs.field(factory=list, repr=False)
    finished_statuses: List[pb.ContainerStatusProto] = attrs.field(factory=list, repr=False)

    @property
    def live(self) -> bool:
        return self.state in ATTEMPT_LIVE

    @property
    def ended(self) -> bool:
        return self.state in ATTEMPT_FINAL

    def report(self) -> pb.ApplicationAttemptReportProto:
        proto = ApplicationAttemptReport(
            id=self.attempt_id, host=self.host, port=self.rpc_port,
            tracking_url=self.tracking_url or NOT_AVAILABLE,
            original_tracking_url=self.tracking_url or NOT_AVAILABLE, diagnostics=self.diagnostics,
            state=self.state, am_container_id=self.am_container.container_id if self.am_container else None,
            start_time=_datetime(self.start_time), finish_time=_datetime(self.finish_time)).to_proto()
        proto.finishTime = self.finish_time or 0
        return proto


@attrs.define(eq=False)
class RMApp:
    """An application as the ResourceManager tracks it."""

    app_id: ApplicationId
    context: pb.ApplicationSubmissionContextProto = attrs.field(repr=False)
    user: str
    queue: str
    max_attempts: int
    submit_time: int = attrs.field(factory=now_ms)
    start_time: int = attrs.field(default=attrs.Factory(lambda app: app.submit_time, takes_self=True))
    launch_time: int = -1
    finish_time: int = 0
    state: AppState = AppState.NEW
    final_status: FinalStatus = FinalStatus.UNDEFINED
    diagnostics: str = ""
    priority: int = 0
    attempts: Dict[ApplicationAttemptId, RMAttempt] = attrs.field(factory=dict, repr=False)
    #: Epoch milliseconds at which the application's LIFETIME runs out (None: unlimited).
    lifetime_expiry: Optional[int] = None
    #: MiB-seconds and vcore-seconds of containers already completed.
    memory_seconds: float = 0.0
    vcore_seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.context.application_name

    @property
    def unmanaged(self) -> bool:
        return self.context.unmanaged_am

    @property
    def application_type(self) -> str:
        return self.context.applicationType

    @property
    def tags(self) -> List[str]:
        return list(self.context.applicationTags)

    @property
    def current_attempt(self) -> Optional[RMAttempt]:
        return next(reversed(self.attempts.values()), None) if self.attempts else None

    def usage(self, now: int, cluster_memory: int = 0) -> ResourceUsageReport:
        """What the application holds and has used; ``cluster_memory`` gives the usage percentages."""
        live = [c for a in self.attempts.values() for c in a.containers.values() if c.live]
        memory = int(self.memory_seconds + sum(c.memory * c.seconds(now) for c in live))
        vcores = int(self.vcore_seconds + sum(c.vcores * c.seconds(now) for c in live))
        seconds = {"resource_seconds": {"memory-mb": memory, "vcores": vcores},
                   "preempted_resource_seconds": {"memory-mb": 0, "vcores": 0}}
        if self.state.final:
            # A finished application no longer holds resources; YARN reports -1 for "not known".
            unknown = Resource(-1, -1)
            return ResourceUsageReport(num_used_containers=-1, num_reserved_containers=-1,
                                       used_resources=unknown, reserved_resources=unknown,
                                       needed_resources=unknown, memory_seconds=memory, vcore_seconds=vcores,
                                       **seconds)
        held = Resource(sum(c.memory for c in live), sum(c.vcores for c in live))
        share = 100.0 * held.memory / cluster_memory if cluster_memory else 0.0
        return ResourceUsageReport(num_used_containers=len(live), used_resources=held, needed_resources=held,
                                   memory_seconds=memory, vcore_seconds=vcores, queue_usage_percentage=share,
                                   cluster_usage_percentage=share, **seconds)

    def report(self, caller: Optional[str], now: Optional[int] = None,
               cluster_memory: int = 0) -> ApplicationReport:
        """``createAndGetApplicationReport`` for ``caller``, named as Hadoop's ``getUserName`` names
        it (a Kerberos caller by its full principal): on a secure cluster a client-to-AM token for the
        current attempt; an unmanaged AM's AMRMToken while the attempt is LAUNCHED (not yet
        registered), to a caller whose name is the application's user. Hadoop 3.3 sends no submit
        time."""
        now = now_ms() if now is None else now
        attempt = self.current_attempt
        amrm_token = client_token = None
        if (attempt is not None and self.unmanaged and attempt.state is ApplicationAttemptState.LAUNCHED
                and caller == self.user):
            amrm_token = attempt.amrm_token
        if attempt is not None and attempt.client_token_key is not None and caller:
            client_token = client_to_am_token(attempt.client_token_key, attempt.attempt_id, caller)
        diagnostics = self.diagnostics
        if not diagnostics and attempt is not None and not self.state.final:
            diagnostics = attempt.diagnostics
        tracking = attempt.tracking_url if attempt is not None and attempt.tracking_url else NOT_AVAILABLE
        final_status = self.final_status
        if final_status is FinalStatus.UNDEFINED and attempt is not None:
            final_status = attempt.final_status
        progress = 1.0 if self.state.final else (attempt.progress if attempt is not None else 0.0)
        expiry = "UNLIMITED" if self.lifetime_expiry is None else _iso(self.lifetime_expiry)
        remaining = -1 if self.lifetime_expiry is None else max((self.lifetime_expiry - now) // 1000, 0)
        return ApplicationReport(
            id=self.app_id, name=self.name, user=self.user, queue=self.queue, tags=self.tags,
            host=attempt.host if attempt is not None else NOT_AVAILABLE,
            port=attempt.rpc_port if attempt is not None else -1,
            tracking_url=tracking, original_tracking_url=tracking,
            state=self.state.public, final_status=final_status, progress=progress,
            usage=self.usage(now, cluster_memory), diagnostics=diagnostics,
            start_time=_datetime(self.start_time),
            launch_time=_datetime(self.launch_time), finish_time=_datetime(self.finish_time),
            application_type=self.application_type, priority=self.priority,
            current_attempt_id=attempt.attempt_id if attempt is not None else None,
            log_aggregation_status=LogAggregationStatus.DISABLED, unmanaged=self.unmanaged,
            app_node_label_expression="<Not set>",
            am_node_label_expression=None if self.unmanaged else "<DEFAULT_PARTITION>",
            timeouts=[ApplicationTimeout(ApplicationTimeoutType.LIFETIME, expiry, remaining)],
            am_rm_token=amrm_token, client_to_am_token=client_token)

    def report_proto(self, caller: Optional[str], now: Optional[int] = None,
                     cluster_memory: int = 0) -> pb.ApplicationReportProto:
        proto = self.report(caller, now, cluster_memory).to_proto()
        # Hadoop always sends these two, 0 / -1 meaning "not yet".
        proto.finishTime = self.finish_time
        proto.launchTime = self.launch_time
        return proto


def _iso(ms: int) -> str:
    """Hadoop's ISO 8601 form of an expiry time (``Times.formatISO8601``)."""
    moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}+0000"
