"""YARN: typed records, the ResourceManager client, the AM⇄RM and AM⇄NM clients.

Names are imported on first use (``from pyarn.yarn import ApplicationId`` loads the ids
only), so importing this package costs nothing until a record or client is needed.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_IDS = ("ApplicationId", "ApplicationAttemptId", "ContainerId", "NodeId", "InvalidIdError")
_CLIENT = ("ResourceManagerClient", "NewApplication", "QueueNotFoundError", "build_submission_context")
_EXPORTS = {name: "ids" if name in _IDS else "resourcemanager" if name in _CLIENT else "records"
            for name in __all__}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
