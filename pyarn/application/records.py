"""The records of pyarn's AM protocol as users see them: a service's containers.

A container is named ``<service>_<instance>`` (``worker_0``), as in Skein;
its YARN container id is a separate field.
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Tuple

import attrs

from hadoop_protos import pyarn_pb2 as pb

# The one conversion between YARN's milliseconds and datetimes (naive means UTC).
from ..yarn.records import _millis, _time

__all__ = ["ContainerState", "Container", "parse_container_id", "format_container_id"]

_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)


class ContainerState(str, enum.Enum):  # noqa: UP042 (StrEnum is 3.11+)
    """Where a service's container stands (Skein's states)."""

    #: Waiting for the services it depends on.
    WAITING = "WAITING"
    #: Asked of the ResourceManager, not allocated yet.
    REQUESTED = "REQUESTED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object):
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None

    @property
    def completed(self) -> bool:
        """Whether the container has ended (SUCCEEDED, FAILED or KILLED)."""
        return self in _COMPLETED

    @classmethod
    def from_proto(cls, number: int) -> ContainerState:
        return cls(pb.ContainerProto.State.Name(number))

    def to_proto(self) -> Any:
        return pb.ContainerProto.State.Value(self.value)


_COMPLETED = frozenset({ContainerState.SUCCEEDED, ContainerState.FAILED, ContainerState.KILLED})
#: What ``get_containers`` lists unless asked otherwise.
ACTIVE_STATES = (ContainerState.WAITING, ContainerState.REQUESTED, ContainerState.RUNNING)


def format_container_id(service: str, instance: int) -> str:
    """``worker``, 3 -> ``worker_3``."""
    return f"{service}_{instance}"


def parse_container_id(container_id: str) -> Tuple[str, int]:
    """``worker_3`` -> ``("worker", 3)``; ValueError for anything else."""
    if isinstance(container_id, str):
        service, sep, instance = container_id.rpartition("_")
        if sep and service and instance.isdigit() and instance.isascii():
            return service, int(instance)
    raise ValueError(f"invalid container id {container_id!r}: expected <service>_<instance>, "
                     "e.g. worker_0")


def _utc(moment: Optional[datetime]) -> Optional[datetime]:
    return moment.replace(tzinfo=_UTC) if moment is not None and moment.tzinfo is None else moment


@attrs.frozen(kw_only=True)
class Container:
    """One container of a service as the ApplicationMaster tracks it.

    ``start_time`` is when it was allocated and launched, ``finish_time`` when
    it ended (both None until then; UTC, a naive time given here is taken as
    UTC); ``exit_status`` is YARN's exit status of a completed container,
    None otherwise.
    """

    service_name: str
    instance: int
    state: ContainerState
    yarn_container_id: Optional[str] = None
    yarn_node_id: Optional[str] = None
    yarn_node_http_address: Optional[str] = None
    start_time: Optional[datetime] = attrs.field(default=None, converter=_utc)
    finish_time: Optional[datetime] = attrs.field(default=None, converter=_utc)
    exit_message: str = ""
    exit_status: Optional[int] = None

    @property
    def id(self) -> str:
        """``<service>_<instance>``."""
        return format_container_id(self.service_name, self.instance)

    @property
    def runtime(self) -> timedelta:
        """Time from start to finish, or to now while it runs."""
        if self.start_time is None:
            return timedelta(0)
        return (self.finish_time or datetime.now(_UTC)) - self.start_time

    @classmethod
    def from_proto(cls, proto: pb.ContainerProto) -> Container:
        return cls(
            service_name=proto.service_name, instance=proto.instance,
            state=ContainerState.from_proto(proto.state),
            yarn_container_id=proto.yarn_container_id or None,
            yarn_node_id=proto.yarn_node_id or None,
            yarn_node_http_address=proto.yarn_node_http_address or None,
            start_time=_time(proto, "start_time"), finish_time=_time(proto, "finish_time"),
            exit_message=proto.exit_message,
            exit_status=proto.exit_status if proto.HasField("exit_status") else None)

    def to_proto(self) -> pb.ContainerProto:
        return pb.ContainerProto(
            service_name=self.service_name, instance=self.instance, state=self.state.to_proto(),
            yarn_container_id=self.yarn_container_id, yarn_node_id=self.yarn_node_id,
            yarn_node_http_address=self.yarn_node_http_address,
            start_time=_millis(self.start_time), finish_time=_millis(self.finish_time),
            exit_message=self.exit_message, exit_status=self.exit_status)
