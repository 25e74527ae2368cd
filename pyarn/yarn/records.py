"""Typed YARN records: resources, reports, queues, cluster metrics and the enums of their states.

Each record mirrors one message of ``yarn_records.proto`` and converts in one
place, beside it: ``Record.from_proto(p)`` and ``record.to_proto()``.

Conventions:

* Names follow Skein where Skein has the record (``ApplicationReport.port``,
  ``NodeReport.total_resources``, ``Queue.percent_used``, ``Resource.memory``),
  otherwise Hadoop's names in snake_case.
* An unset optional field reads as ``None`` when absence means something
  (strings, ids, enums, times, priorities, exit statuses, nested reports), as
  Hadoop's Java client returns null for those. Counters, percentages, flags and
  resource amounts read as the proto's default (zero).
* Times are timezone-aware UTC datetimes; Hadoop's 0 ("not yet") is ``None``.
  A naive datetime given to ``to_proto`` is taken as UTC.
* Enum members are named and valued as YARN prints them (``FINISHED``, not
  ``APP_FINISHED``), are ``str`` subclasses, and look up case-insensitively:
  ``ApplicationState("running") is ApplicationState.RUNNING``.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.security.tokens import Token
from pyarn.yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, InvalidIdError, NodeId

__all__ = [
    "ApplicationId", "ApplicationAttemptId", "ContainerId", "NodeId", "InvalidIdError",
    "ApplicationState", "FinalStatus", "ApplicationAttemptState", "ContainerState", "NodeState",
    "NodeUpdateType", "QueueState", "LogAggregationStatus", "ExecutionType", "ApplicationTimeoutType",
    "Resource", "ResourceUtilization", "ResourceUsageReport", "ApplicationTimeout", "ApplicationReport",
    "ApplicationAttemptReport", "ContainerReport", "NodeAttribute", "NodeReport", "QueueStatistics",
    "Queue", "ClusterMetrics",
]

# ---- Enums -------------------------------------------------------------------

#: enum class -> (proto number -> member, member -> proto number): the one place enums convert.
_PROTO_ENUMS: Dict[type, Tuple[Dict[int, Any], Dict[Any, int]]] = {}


class _YarnEnum(str, enum.Enum):  # noqa: UP042 (StrEnum is 3.11+)
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def _missing_(cls, value: object) -> Any:
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None

    @classmethod
    def from_proto(cls, number: int) -> Any:
        """The member for a proto enum number; ValueError for a number YARN has not defined."""
        try:
            return _PROTO_ENUMS[cls][0][number]
        except KeyError:
            raise ValueError(f"{cls.__name__}: unknown proto value {number}") from None

    def to_proto(self) -> Any:
        """This member's proto enum number."""
        return _PROTO_ENUMS[type(self)][1][self]


def _wire(proto_enum: Any, prefix: str = ""):
    """Tie an enum to its proto enum, whose value names are the members' with *prefix*."""

    def register(cls: Any) -> Any:
        numbers = {v.number: cls(v.name[len(prefix):]) for v in proto_enum.DESCRIPTOR.values
                   if v.name.startswith(prefix) and v.name[len(prefix):] in cls.__members__}
        _PROTO_ENUMS[cls] = (numbers, {member: number for number, member in numbers.items()})
        return cls

    return register


@_wire(pb.YarnApplicationStateProto)
class ApplicationState(_YarnEnum):
    """The state of an application in the ResourceManager."""

    NEW = "NEW"
    NEW_SAVING = "NEW_SAVING"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


@_wire(pb.FinalApplicationStatusProto, "APP_")
class FinalStatus(_YarnEnum):
    """How an application ended, as its master reported it (UNDEFINED while running)."""

    UNDEFINED = "UNDEFINED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ENDED = "ENDED"


@_wire(pb.YarnApplicationAttemptStateProto, "APP_ATTEMPT_")
class ApplicationAttemptState(_YarnEnum):
    """The state of one application attempt."""

    NEW = "NEW"
    SUBMITTED = "SUBMITTED"
    SCHEDULED = "SCHEDULED"
    ALLOCATED_SAVING = "ALLOCATED_SAVING"
    ALLOCATED = "ALLOCATED"
    LAUNCHED = "LAUNCHED"
    FAILED = "FAILED"
    RUNNING = "RUNNING"
    FINISHING = "FINISHING"
    FINISHED = "FINISHED"
    KILLED = "KILLED"


@_wire(pb.ContainerStateProto, "C_")
class ContainerState(_YarnEnum):
    """The state of a YARN container."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"


@_wire(pb.NodeStateProto, "NS_")
class NodeState(_YarnEnum):
    """The state of a NodeManager."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    UNHEALTHY = "UNHEALTHY"
    DECOMMISSIONED = "DECOMMISSIONED"
    LOST = "LOST"
    REBOOTED = "REBOOTED"
    DECOMMISSIONING = "DECOMMISSIONING"
    SHUTDOWN = "SHUTDOWN"


@_wire(pb.NodeUpdateTypeProto)
class NodeUpdateType(_YarnEnum):
    """Why a node appears among an allocate response's updated nodes."""

    NODE_USABLE = "NODE_USABLE"
    NODE_UNUSABLE = "NODE_UNUSABLE"
    NODE_DECOMMISSIONING = "NODE_DECOMMISSIONING"


@_wire(pb.QueueStateProto, "Q_")
class QueueState(_YarnEnum):
    """The state of a scheduler queue."""

    STOPPED = "STOPPED"
    RUNNING = "RUNNING"
    DRAINING = "DRAINING"


@_wire(pb.LogAggregationStatusProto, "LOG_")
class LogAggregationStatus(_YarnEnum):
    """Where the aggregation of an application's container logs stands."""

    DISABLED = "DISABLED"
    NOT_START = "NOT_START"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIME_OUT = "TIME_OUT"
    RUNNING_WITH_FAILURE = "RUNNING_WITH_FAILURE"


@_wire(pb.ExecutionTypeProto)
class ExecutionType(_YarnEnum):
    """Whether a container is guaranteed its resources or runs opportunistically."""

    GUARANTEED = "GUARANTEED"
    OPPORTUNISTIC = "OPPORTUNISTIC"


@_wire(pb.ApplicationTimeoutTypeProto, "APP_TIMEOUT_")
class ApplicationTimeoutType(_YarnEnum):
    """The kinds of application timeout."""

    LIFETIME = "LIFETIME"


# ---- Field helpers -------------------------------------------------------------

_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MS = timedelta(milliseconds=1)


def _opt(proto: Any, name: str) -> Any:
    """The field's value, or None when it is unset."""
    return getattr(proto, name) if proto.HasField(name) else None


def _opt_with(proto: Any, name: str, convert: Any) -> Any:
    """``convert(field)``, or None when it is unset."""
    return convert(getattr(proto, name)) if proto.HasField(name) else None


def _current_attempt(proto: Any) -> Optional[ApplicationAttemptId]:
    # Until the first attempt exists the RM reports attempt number -1
    # (RMAppImpl.DUMMY_APPLICATION_ATTEMPT_NUMBER): there is no attempt yet.
    if not proto.HasField("currentApplicationAttemptId") or proto.currentApplicationAttemptId.attemptId < 0:
        return None
    return ApplicationAttemptId.from_proto(proto.currentApplicationAttemptId)


def _time(proto: Any, name: str) -> Optional[datetime]:
    millis = getattr(proto, name)
    if millis <= 0:
        return None
    try:
        return _EPOCH + millis * _MS
    except OverflowError:
        raise ValueError(f"{type(proto).__name__}.{name} = {millis} ms is not a representable time") from None


def _millis(value: Optional[datetime]) -> Optional[int]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return (value - _EPOCH) // _MS


def _priority(proto: Any, name: str) -> Optional[int]:
    return getattr(proto, name).priority if proto.HasField(name) else None


def _priority_proto(priority: Optional[int]) -> Optional[pb.PriorityProto]:
    return None if priority is None else pb.PriorityProto(priority=priority)


def _proto_of(record: Any) -> Any:
    return None if record is None else record.to_proto()


def _enum_proto(member: Optional[_YarnEnum]) -> Any:
    return None if member is None else member.to_proto()


def _runtime(start: Optional[datetime], finish: Optional[datetime]) -> timedelta:
    if start is None:
        return timedelta(0)
    return (finish or datetime.now(_UTC)) - start


def _frozenset(items: Iterable[str]) -> FrozenSet[str]:
    return frozenset(items)


def _tuple(items: Iterable[Any]) -> Tuple[Any, ...]:
    return tuple(items)


def _dict_field(**kwargs: Any) -> Any:
    """A dict-valued field: copied on the way in and left out of the (frozen) record's hash."""
    return attrs.field(factory=dict, converter=dict, hash=False, **kwargs)


# ---- Resources -----------------------------------------------------------------

_MEMORY_KEY = "memory-mb"
_VCORES_KEY = "vcores"


@attrs.frozen
class Resource:
    """An amount of resources: memory in MiB, virtual cores, and any other resource types.

    ``resources`` maps other resource type names (``yarn.io/gpu``,
    ``yarn.io/fpga``, site-defined types) to amounts in the units the cluster
    configures for each type.
    """

    memory: int = 0
    vcores: int = 0
    resources: Dict[str, int] = _dict_field()

    @property
    def gpus(self) -> int:
        """The ``yarn.io/gpu`` amount (0 when absent)."""
        return self.resources.get("yarn.io/gpu", 0)

    @property
    def fpgas(self) -> int:
        """The ``yarn.io/fpga`` amount (0 when absent)."""
        return self.resources.get("yarn.io/fpga", 0)

    @classmethod
    def from_proto(cls, proto: pb.ResourceProto) -> Resource:
        """From a ``ResourceProto``; memory and vcores come from their own fields, as Hadoop reads them."""
        others = {entry.key: entry.value for entry in proto.resource_value_map
                  if entry.key not in (_MEMORY_KEY, _VCORES_KEY)}
        return cls(memory=proto.memory, vcores=proto.virtual_cores, resources=others)

    def to_proto(self) -> pb.ResourceProto:
        """To a ``ResourceProto``; other types are sent without units, meaning the type's own."""
        return pb.ResourceProto(
            memory=self.memory, virtual_cores=self.vcores,
            resource_value_map=[pb.ResourceInformationProto(key=key, value=value)
                                for key, value in self.resources.items()])


@attrs.frozen
class ResourceUtilization:
    """Measured use of a node (or of its containers): memory in MiB and CPU."""

    physical_memory: int = 0
    virtual_memory: int = 0
    cpu: float = 0.0
    custom_resources: Dict[str, float] = _dict_field()

    @classmethod
    def from_proto(cls, proto: pb.ResourceUtilizationProto) -> ResourceUtilization:
        """From a ``ResourceUtilizationProto``."""
        return cls(proto.pmem, proto.vmem, proto.cpu, _dict_of(proto.customResources))

    def to_proto(self) -> pb.ResourceUtilizationProto:
        """To a ``ResourceUtilizationProto``."""
        return pb.ResourceUtilizationProto(
            pmem=self.physical_memory, vmem=self.virtual_memory, cpu=self.cpu,
            customResources=[pb.StringFloatMapProto(key=k, value=v)
                             for k, v in self.custom_resources.items()])


@attrs.frozen(kw_only=True)
class ResourceUsageReport:
    """An application's resource use: what it holds now and what it has used in total.

    ``memory_seconds`` is MiB times seconds allocated, ``vcore_seconds`` vcores
    times seconds; ``resource_seconds`` has the same per resource type.
    """

    num_used_containers: int = 0
    num_reserved_containers: int = 0
    used_resources: Resource = attrs.field(factory=Resource)
    reserved_resources: Resource = attrs.field(factory=Resource)
    needed_resources: Resource = attrs.field(factory=Resource)
    memory_seconds: int = 0
    vcore_seconds: int = 0
    queue_usage_percentage: float = 0.0
    cluster_usage_percentage: float = 0.0
    preempted_memory_seconds: int = 0
    preempted_vcore_seconds: int = 0
    resource_seconds: Dict[str, int] = _dict_field()
    preempted_resource_seconds: Dict[str, int] = _dict_field()

    @classmethod
    def from_proto(cls, proto: pb.ApplicationResourceUsageReportProto) -> ResourceUsageReport:
        """From an ``ApplicationResourceUsageReportProto``."""
        return cls(
            num_used_containers=proto.num_used_containers,
            num_reserved_containers=proto.num_reserved_containers,
            used_resources=Resource.from_proto(proto.used_resources),
            reserved_resources=Resource.from_proto(proto.reserved_resources),
            needed_resources=Resource.from_proto(proto.needed_resources),
            memory_seconds=proto.memory_seconds,
            vcore_seconds=proto.vcore_seconds,
            queue_usage_percentage=proto.queue_usage_percentage,
            cluster_usage_percentage=proto.cluster_usage_percentage,
            preempted_memory_seconds=proto.preempted_memory_seconds,
            preempted_vcore_seconds=proto.preempted_vcore_seconds,
            resource_seconds=_dict_of(proto.application_resource_usage_map),
            preempted_resource_seconds=_dict_of(proto.application_preempted_resource_usage_map),
        )

    def to_proto(self) -> pb.ApplicationResourceUsageReportProto:
        """To an ``ApplicationResourceUsageReportProto``."""
        return pb.ApplicationResourceUsageReportProto(
            num_used_containers=self.num_used_containers,
            num_reserved_containers=self.num_reserved_containers,
            used_resources=self.used_resources.to_proto(),
            reserved_resources=self.reserved_resources.to_proto(),
            needed_resources=self.needed_resources.to_proto(),
            memory_seconds=self.memory_seconds,
            vcore_seconds=self.vcore_seconds,
            queue_usage_percentage=self.queue_usage_percentage,
            cluster_usage_percentage=self.cluster_usage_percentage,
            preempted_memory_seconds=self.preempted_memory_seconds,
            preempted_vcore_seconds=self.preempted_vcore_seconds,
            application_resource_usage_map=_long_map(self.resource_seconds),
            application_preempted_resource_usage_map=_long_map(self.preempted_resource_seconds),
        )


def _dict_of(entries: Any) -> Dict[str, Any]:
    return {entry.key: entry.value for entry in entries}


def _long_map(values: Mapping[str, int]) -> list:
    return [pb.StringLongMapProto(key=k, value=v) for k, v in values.items()]


# ---- Applications, attempts, containers --------------------------------------------


@attrs.frozen
class ApplicationTimeout:
    """A timeout set on an application: when it expires (ISO 8601, or ``UNLIMITED``) and
    the seconds remaining."""

    type: ApplicationTimeoutType
    expiry_time: Optional[str] = None
    remaining_time: Optional[int] = None

    @classmethod
    def from_proto(cls, proto: pb.AppTimeoutsMapProto) -> ApplicationTimeout:
        """From an ``AppTimeoutsMapProto`` (the entry of ``ApplicationReportProto.appTimeouts``)."""
        timeout = proto.application_timeout
        return cls(ApplicationTimeoutType.from_proto(proto.application_timeout_type),
                   _opt(timeout, "expire_time"), _opt(timeout, "remaining_time"))

    def to_proto(self) -> pb.AppTimeoutsMapProto:
        """To an ``AppTimeoutsMapProto``."""
        return pb.AppTimeoutsMapProto(
            application_timeout_type=self.type.to_proto(),
            application_timeout=pb.ApplicationTimeoutProto(
                application_timeout_type=self.type.to_proto(), expire_time=self.expiry_time,
                remaining_time=self.remaining_time))


@attrs.frozen(kw_only=True)
class ApplicationReport:
    """What the ResourceManager reports about an application.

    ``port`` is the master's RPC port; ``tags`` are the application tags;
    ``usage`` is None for a finished application whose usage the RM no longer
    keeps.
    """

    id: ApplicationId
    name: Optional[str] = None
    user: Optional[str] = None
    queue: Optional[str] = None
    tags: FrozenSet[str] = attrs.field(factory=frozenset, converter=_frozenset)
    host: Optional[str] = None
    port: int = 0
    tracking_url: Optional[str] = None
    original_tracking_url: Optional[str] = None
    state: Optional[ApplicationState] = None
    final_status: Optional[FinalStatus] = None
    progress: float = 0.0
    usage: Optional[ResourceUsageReport] = None
    diagnostics: Optional[str] = None
    submit_time: Optional[datetime] = None
    start_time: Optional[datetime] = None
    launch_time: Optional[datetime] = None
    finish_time: Optional[datetime] = None
    application_type: Optional[str] = None
    priority: Optional[int] = None
    current_attempt_id: Optional[ApplicationAttemptId] = None
    log_aggregation_status: Optional[LogAggregationStatus] = None
    unmanaged: bool = False
    app_node_label_expression: Optional[str] = None
    am_node_label_expression: Optional[str] = None
    timeouts: Tuple[ApplicationTimeout, ...] = attrs.field(default=(), converter=_tuple)
    rm_cluster_id: Optional[str] = None
    client_to_am_token: Optional[Token] = None
    am_rm_token: Optional[Token] = None

    @property
    def runtime(self) -> timedelta:
        """Time from start to finish, or to now while the application runs."""
        return _runtime(self.start_time, self.finish_time)

    @classmethod
    def from_proto(cls, proto: pb.ApplicationReportProto) -> ApplicationReport:
        """From an ``ApplicationReportProto``."""
        return cls(
            id=ApplicationId.from_proto(proto.applicationId),
            name=_opt(proto, "name"),
            user=_opt(proto, "user"),
            queue=_opt(proto, "queue"),
            tags=proto.applicationTags,
            host=_opt(proto, "host"),
            port=proto.rpc_port,
            tracking_url=_opt(proto, "trackingUrl"),
            original_tracking_url=_opt(proto, "originalTrackingUrl"),
            state=_opt_with(proto, "yarn_application_state", ApplicationState.from_proto),
            final_status=_opt_with(proto, "final_application_status", FinalStatus.from_proto),
            progress=proto.progress,
            usage=_opt_with(proto, "app_resource_Usage", ResourceUsageReport.from_proto),
            diagnostics=_opt(proto, "diagnostics"),
            submit_time=_time(proto, "submitTime"),
            start_time=_time(proto, "startTime"),
            launch_time=_time(proto, "launchTime"),
            finish_time=_time(proto, "finishTime"),
            application_type=_opt(proto, "applicationType"),
            priority=_priority(proto, "priority"),
            current_attempt_id=_current_attempt(proto),
            log_aggregation_status=_opt_with(proto, "log_aggregation_status",
                                             LogAggregationStatus.from_proto),
            unmanaged=proto.unmanaged_application,
            app_node_label_expression=_opt(proto, "appNodeLabelExpression"),
            am_node_label_expression=_opt(proto, "amNodeLabelExpression"),
            timeouts=[ApplicationTimeout.from_proto(t) for t in proto.appTimeouts],
            rm_cluster_id=_opt(proto, "rmClusterId"),
            client_to_am_token=_opt_with(proto, "client_to_am_token", Token.from_proto),
            am_rm_token=_opt_with(proto, "am_rm_token", Token.from_proto),
        )

    def to_proto(self) -> pb.ApplicationReportProto:
        """To an ``ApplicationReportProto`` (tags in sorted order)."""
        return pb.ApplicationReportProto(
            applicationId=self.id.to_proto(),
            name=self.name,
            user=self.user,
            queue=self.queue,
            applicationTags=sorted(self.tags),
            host=self.host,
            rpc_port=self.port,
            trackingUrl=self.tracking_url,
            originalTrackingUrl=self.original_tracking_url,
            yarn_application_state=_enum_proto(self.state),
            final_application_status=_enum_proto(self.final_status),
            progress=self.progress,
            app_resource_Usage=_proto_of(self.usage),
            diagnostics=self.diagnostics,
            submitTime=_millis(self.submit_time),
            startTime=_millis(self.start_time),
            launchTime=_millis(self.launch_time),
            finishTime=_millis(self.finish_time),
            applicationType=self.application_type,
            priority=_priority_proto(self.priority),
            currentApplicationAttemptId=_proto_of(self.current_attempt_id),
            log_aggregation_status=_enum_proto(self.log_aggregation_status),
            unmanaged_application=self.unmanaged,
            appNodeLabelExpression=self.app_node_label_expression,
            amNodeLabelExpression=self.am_node_label_expression,
            appTimeouts=[t.to_proto() for t in self.timeouts],
            rmClusterId=self.rm_cluster_id,
            client_to_am_token=_proto_of(self.client_to_am_token),
            am_rm_token=_proto_of(self.am_rm_token),
        )


@attrs.frozen(kw_only=True)
class ApplicationAttemptReport:
    """What the ResourceManager reports about one application attempt; ``port`` is the
    master's RPC port."""

    id: ApplicationAttemptId
    host: Optional[str] = None
    port: int = 0
    tracking_url: Optional[str] = None
    original_tracking_url: Optional[str] = None
    diagnostics: Optional[str] = None
    state: Optional[ApplicationAttemptState] = None
    am_container_id: Optional[ContainerId] = None
    start_time: Optional[datetime] = None
    finish_time: Optional[datetime] = None

    @classmethod
    def from_proto(cls, proto: pb.ApplicationAttemptReportProto) -> ApplicationAttemptReport:
        """From an ``ApplicationAttemptReportProto``."""
        return cls(
            id=ApplicationAttemptId.from_proto(proto.application_attempt_id),
            host=_opt(proto, "host"),
            port=proto.rpc_port,
            tracking_url=_opt(proto, "tracking_url"),
            original_tracking_url=_opt(proto, "original_tracking_url"),
            diagnostics=_opt(proto, "diagnostics"),
            state=_opt_with(proto, "yarn_application_attempt_state", ApplicationAttemptState.from_proto),
            am_container_id=_opt_with(proto, "am_container_id", ContainerId.from_proto),
            start_time=_time(proto, "startTime"),
            finish_time=_time(proto, "finishTime"),
        )

    def to_proto(self) -> pb.ApplicationAttemptReportProto:
        """To an ``ApplicationAttemptReportProto``."""
        return pb.ApplicationAttemptReportProto(
            application_attempt_id=self.id.to_proto(),
            host=self.host,
            rpc_port=self.port,
            tracking_url=self.tracking_url,
            original_tracking_url=self.original_tracking_url,
            diagnostics=self.diagnostics,
            yarn_application_attempt_state=_enum_proto(self.state),
            am_container_id=_proto_of(self.am_container_id),
            startTime=_millis(self.start_time),
            finishTime=_millis(self.finish_time),
        )


@attrs.frozen(kw_only=True)
class ContainerReport:
    """What the ResourceManager reports about a container.

    ``start_time`` is when the RM created the container; ``exit_status`` is None
    until the container completes.
    """

    id: ContainerId
    resource: Resource = attrs.field(factory=Resource)
    node_id: Optional[NodeId] = None
    node_http_address: Optional[str] = None
    priority: Optional[int] = None
    state: Optional[ContainerState] = None
    start_time: Optional[datetime] = None
    finish_time: Optional[datetime] = None
    exit_status: Optional[int] = None
    diagnostics: Optional[str] = None
    log_url: Optional[str] = None
    execution_type: ExecutionType = ExecutionType.GUARANTEED
    exposed_ports: Optional[str] = None

    @classmethod
    def from_proto(cls, proto: pb.ContainerReportProto) -> ContainerReport:
        """From a ``ContainerReportProto``."""
        return cls(
            id=ContainerId.from_proto(proto.container_id),
            resource=Resource.from_proto(proto.resource),
            node_id=_opt_with(proto, "node_id", NodeId.from_proto),
            node_http_address=_opt(proto, "node_http_address"),
            priority=_priority(proto, "priority"),
            state=_opt_with(proto, "container_state", ContainerState.from_proto),
            start_time=_time(proto, "creation_time"),
            finish_time=_time(proto, "finish_time"),
            exit_status=_opt(proto, "container_exit_status"),
            diagnostics=_opt(proto, "diagnostics_info"),
            log_url=_opt(proto, "log_url"),
            execution_type=ExecutionType.from_proto(proto.executionType),
            exposed_ports=_opt(proto, "exposed_ports"),
        )

    def to_proto(self) -> pb.ContainerReportProto:
        """To a ``ContainerReportProto``."""
        return pb.ContainerReportProto(
            container_id=self.id.to_proto(),
            resource=self.resource.to_proto(),
            node_id=_proto_of(self.node_id),
            node_http_address=self.node_http_address,
            priority=_priority_proto(self.priority),
            container_state=_enum_proto(self.state),
            creation_time=_millis(self.start_time),
            finish_time=_millis(self.finish_time),
            container_exit_status=self.exit_status,
            diagnostics_info=self.diagnostics,
            log_url=self.log_url,
            executionType=self.execution_type.to_proto(),
            exposed_ports=self.exposed_ports,
        )


# ---- Nodes ---------------------------------------------------------------------------


@attrs.frozen
class NodeAttribute:
    """A node attribute, ``prefix/name=value`` (YARN's attributes are all strings)."""

    prefix: str
    name: str
    value: str = ""

    @classmethod
    def from_proto(cls, proto: pb.NodeAttributeProto) -> NodeAttribute:
        """From a ``NodeAttributeProto``."""
        return cls(proto.attributeKey.attributePrefix, proto.attributeKey.attributeName, proto.attributeValue)

    def to_proto(self) -> pb.NodeAttributeProto:
        """To a ``NodeAttributeProto``."""
        return pb.NodeAttributeProto(
            attributeKey=pb.NodeAttributeKeyProto(attributePrefix=self.prefix, attributeName=self.name),
            attributeType=pb.STRING, attributeValue=self.value)


@attrs.frozen(kw_only=True)
class NodeReport:
    """What the ResourceManager reports about a NodeManager.

    ``total_resources`` is the node's capability, ``used_resources`` what its
    containers hold; ``decommissioning_timeout`` is in seconds.
    """

    id: NodeId
    http_address: Optional[str] = None
    rack_name: Optional[str] = None
    labels: FrozenSet[str] = attrs.field(factory=frozenset, converter=_frozenset)
    state: Optional[NodeState] = None
    health_report: Optional[str] = None
    last_health_report_time: Optional[datetime] = None
    total_resources: Resource = attrs.field(factory=Resource)
    used_resources: Resource = attrs.field(factory=Resource)
    num_containers: int = 0
    node_utilization: Optional[ResourceUtilization] = None
    containers_utilization: Optional[ResourceUtilization] = None
    decommissioning_timeout: Optional[int] = None
    update_type: Optional[NodeUpdateType] = None
    attributes: Tuple[NodeAttribute, ...] = attrs.field(default=(), converter=_tuple)

    @property
    def host(self) -> str:
        """The NodeManager's host."""
        return self.id.host

    @property
    def port(self) -> int:
        """The NodeManager's RPC port."""
        return self.id.port

    @classmethod
    def from_proto(cls, proto: pb.NodeReportProto) -> NodeReport:
        """From a ``NodeReportProto``."""
        return cls(
            id=NodeId.from_proto(proto.nodeId),
            http_address=_opt(proto, "httpAddress"),
            rack_name=_opt(proto, "rackName"),
            labels=proto.node_labels,
            state=_opt_with(proto, "node_state", NodeState.from_proto),
            health_report=_opt(proto, "health_report"),
            last_health_report_time=_time(proto, "last_health_report_time"),
            total_resources=Resource.from_proto(proto.capability),
            used_resources=Resource.from_proto(proto.used),
            num_containers=proto.numContainers,
            node_utilization=_opt_with(proto, "node_utilization", ResourceUtilization.from_proto),
            containers_utilization=_opt_with(proto, "containers_utilization", ResourceUtilization.from_proto),
            decommissioning_timeout=_opt(proto, "decommissioning_timeout"),
            update_type=_opt_with(proto, "node_update_type", NodeUpdateType.from_proto),
            attributes=[NodeAttribute.from_proto(a) for a in proto.node_attributes],
        )

    def to_proto(self) -> pb.NodeReportProto:
        """To a ``NodeReportProto`` (labels in sorted order)."""
        return pb.NodeReportProto(
            nodeId=self.id.to_proto(),
            httpAddress=self.http_address,
            rackName=self.rack_name,
            node_labels=sorted(self.labels),
            node_state=_enum_proto(self.state),
            health_report=self.health_report,
            last_health_report_time=_millis(self.last_health_report_time),
            capability=self.total_resources.to_proto(),
            used=self.used_resources.to_proto(),
            numContainers=self.num_containers,
            node_utilization=_proto_of(self.node_utilization),
            containers_utilization=_proto_of(self.containers_utilization),
            decommissioning_timeout=self.decommissioning_timeout,
            node_update_type=_enum_proto(self.update_type),
            node_attributes=[a.to_proto() for a in self.attributes],
        )


# ---- Queues and the cluster ---------------------------------------------------------------


class _FlatRecord:
    """A record of plain numbers, each one proto field, named in ``_FIELDS`` (record -> proto)."""

    _PROTO: Any
    _FIELDS: Mapping[str, str]

    @classmethod
    def from_proto(cls, proto: Any) -> Any:
        """From its proto message."""
        return cls(**{name: getattr(proto, field) for name, field in cls._FIELDS.items()})

    def to_proto(self) -> Any:
        """To its proto message."""
        return self._PROTO(**{field: getattr(self, name) for name, field in self._FIELDS.items()})


@attrs.frozen(kw_only=True)
class QueueStatistics(_FlatRecord):
    """A queue's application counts and resources (memory in MiB)."""

    _PROTO = pb.QueueStatisticsProto
    _FIELDS = {
        "num_apps_submitted": "numAppsSubmitted", "num_apps_running": "numAppsRunning",
        "num_apps_pending": "numAppsPending", "num_apps_completed": "numAppsCompleted",
        "num_apps_killed": "numAppsKilled", "num_apps_failed": "numAppsFailed",
        "num_active_users": "numActiveUsers",
        "available_memory": "availableMemoryMB", "allocated_memory": "allocatedMemoryMB",
        "pending_memory": "pendingMemoryMB", "reserved_memory": "reservedMemoryMB",
        "available_vcores": "availableVCores", "allocated_vcores": "allocatedVCores",
        "pending_vcores": "pendingVCores", "reserved_vcores": "reservedVCores",
        "allocated_containers": "allocatedContainers", "pending_containers": "pendingContainers",
        "reserved_containers": "reservedContainers",
    }

    num_apps_submitted: int = 0
    num_apps_running: int = 0
    num_apps_pending: int = 0
    num_apps_completed: int = 0
    num_apps_killed: int = 0
    num_apps_failed: int = 0
    num_active_users: int = 0
    available_memory: int = 0
    allocated_memory: int = 0
    pending_memory: int = 0
    reserved_memory: int = 0
    available_vcores: int = 0
    allocated_vcores: int = 0
    pending_vcores: int = 0
    reserved_vcores: int = 0
    allocated_containers: int = 0
    pending_containers: int = 0
    reserved_containers: int = 0


@attrs.frozen(kw_only=True)
class ClusterMetrics(_FlatRecord):
    """NodeManager counts by state, as ``GetClusterMetrics`` reports them."""

    _PROTO = pb.YarnClusterMetricsProto
    _FIELDS = {name: name for name in (
        "num_node_managers", "num_decommissioned_nms", "num_active_nms", "num_lost_nms",
        "num_unhealthy_nms", "num_rebooted_nms", "num_decommissioning_nms", "num_shutdown_nms")}

    num_node_managers: int = 0
    num_decommissioned_nms: int = 0
    num_active_nms: int = 0
    num_lost_nms: int = 0
    num_unhealthy_nms: int = 0
    num_rebooted_nms: int = 0
    num_decommissioning_nms: int = 0
    num_shutdown_nms: int = 0


def _percent(proto: Any, name: str) -> Optional[float]:
    return getattr(proto, name) * 100 if proto.HasField(name) else None


def _fraction(percent: Optional[float]) -> Optional[float]:
    return None if percent is None else percent / 100


#: Queue field -> (memory field, vcores field) of the fair scheduler's resource pairs.
_QUEUE_RESOURCES = {
    "min_resources": ("minResourceMemory", "minResourceVCore"),
    "max_resources": ("maxResourceMemory", "maxResourceVCore"),
    "reserved_resources": ("reservedResourceMemory", "reservedResourceVCore"),
    "steady_fair_share": ("steadyFairShareMemory", "steadyFairShareVCore"),
}


@attrs.frozen(kw_only=True)
class Queue:
    """What the scheduler reports about a queue.

    As in Skein, ``capacity``, ``max_capacity`` and ``percent_used`` are
    percentages (Hadoop sends fractions): ``capacity`` of the parent's
    resources guaranteed, ``max_capacity`` of the parent's the queue may grow
    to, and ``percent_used`` of its own capacity in use (over 100 when the
    queue has grown past its capacity). ``child_queues`` and ``applications``
    are filled only when asked for. The four fair-scheduler resource amounts
    are None on other schedulers.
    """

    name: str
    state: Optional[QueueState] = None
    capacity: Optional[float] = None
    max_capacity: Optional[float] = None
    percent_used: Optional[float] = None
    node_labels: FrozenSet[str] = attrs.field(factory=frozenset, converter=_frozenset)
    default_node_label: Optional[str] = None
    child_queues: Tuple[Queue, ...] = attrs.field(default=(), converter=_tuple)
    applications: Tuple[ApplicationReport, ...] = attrs.field(default=(), converter=_tuple)
    statistics: Optional[QueueStatistics] = None
    queue_path: Optional[str] = None
    scheduler_type: Optional[str] = None
    weight: Optional[float] = None
    max_parallel_apps: Optional[int] = None
    max_running_apps: Optional[int] = None
    preemption_disabled: Optional[bool] = None
    intra_queue_preemption_disabled: Optional[bool] = None
    min_resources: Optional[Resource] = None
    max_resources: Optional[Resource] = None
    reserved_resources: Optional[Resource] = None
    steady_fair_share: Optional[Resource] = None
    subcluster_id: Optional[str] = None

    @classmethod
    def from_proto(cls, proto: pb.QueueInfoProto) -> Queue:
        """From a ``QueueInfoProto``, its child queues and applications included."""
        resources = {
            name: Resource(memory=getattr(proto, memory), vcores=getattr(proto, vcores))
            for name, (memory, vcores) in _QUEUE_RESOURCES.items()
            if proto.HasField(memory) or proto.HasField(vcores)
        }
        return cls(
            name=proto.queueName,
            state=_opt_with(proto, "state", QueueState.from_proto),
            capacity=_percent(proto, "capacity"),
            max_capacity=_percent(proto, "maximumCapacity"),
            percent_used=_percent(proto, "currentCapacity"),
            node_labels=proto.accessibleNodeLabels,
            default_node_label=_opt(proto, "defaultNodeLabelExpression"),
            child_queues=[Queue.from_proto(q) for q in proto.childQueues],
            applications=[ApplicationReport.from_proto(a) for a in proto.applications],
            statistics=_opt_with(proto, "queueStatistics", QueueStatistics.from_proto),
            queue_path=_opt(proto, "queuePath"),
            scheduler_type=_opt(proto, "schedulerType"),
            weight=_opt(proto, "weight"),
            max_parallel_apps=_opt(proto, "maxParallelApps"),
            max_running_apps=_opt(proto, "maxRunningApp"),
            preemption_disabled=_opt(proto, "preemptionDisabled"),
            intra_queue_preemption_disabled=_opt(proto, "intraQueuePreemptionDisabled"),
            subcluster_id=_opt(proto, "subClusterId"),
            **resources,
        )

    def to_proto(self) -> pb.QueueInfoProto:
        """To a ``QueueInfoProto`` (node labels in sorted order)."""
        proto = pb.QueueInfoProto(
            queueName=self.name,
            state=_enum_proto(self.state),
            capacity=_fraction(self.capacity),
            maximumCapacity=_fraction(self.max_capacity),
            currentCapacity=_fraction(self.percent_used),
            accessibleNodeLabels=sorted(self.node_labels),
            defaultNodeLabelExpression=self.default_node_label,
            childQueues=[q.to_proto() for q in self.child_queues],
            applications=[a.to_proto() for a in self.applications],
            queueStatistics=_proto_of(self.statistics),
            queuePath=self.queue_path,
            schedulerType=self.scheduler_type,
            weight=self.weight,
            maxParallelApps=self.max_parallel_apps,
            maxRunningApp=self.max_running_apps,
            preemptionDisabled=self.preemption_disabled,
            intraQueuePreemptionDisabled=self.intra_queue_preemption_disabled,
            subClusterId=self.subcluster_id,
        )
        for name, (memory, vcores) in _QUEUE_RESOURCES.items():
            amount = getattr(self, name)
            if amount is not None:
                setattr(proto, memory, amount.memory)
                setattr(proto, vcores, amount.vcores)
        return proto
