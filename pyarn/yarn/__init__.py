"""YARN: typed records, the ResourceManager client, the AM⇄RM and AM⇄NM clients."""
from .ids import ApplicationAttemptId, ApplicationId, ContainerId, InvalidIdError, NodeId
from .records import (
    ApplicationAttemptReport,
    ApplicationAttemptState,
    ApplicationReport,
    ApplicationState,
    ApplicationTimeout,
    ApplicationTimeoutType,
    ClusterMetrics,
    ContainerReport,
    ContainerState,
    ExecutionType,
    FinalStatus,
    LogAggregationStatus,
    NodeAttribute,
    NodeReport,
    NodeState,
    NodeUpdateType,
    Queue,
    QueueState,
    QueueStatistics,
    Resource,
    ResourceUsageReport,
    ResourceUtilization,
)
from .resourcemanager import (
    NewApplication,
    QueueNotFoundError,
    ResourceManagerClient,
    build_submission_context,
)

__all__ = [
    "ApplicationId", "ApplicationAttemptId", "ContainerId", "NodeId", "InvalidIdError",
    "ApplicationState", "FinalStatus", "ApplicationAttemptState", "ContainerState", "NodeState",
    "NodeUpdateType", "QueueState", "LogAggregationStatus", "ExecutionType", "ApplicationTimeoutType",
    "Resource", "ResourceUtilization", "ResourceUsageReport", "ApplicationTimeout", "ApplicationReport",
    "ApplicationAttemptReport", "ContainerReport", "NodeAttribute", "NodeReport", "QueueStatistics",
    "Queue", "ClusterMetrics",
    "ResourceManagerClient", "NewApplication", "QueueNotFoundError", "build_submission_context",
]
