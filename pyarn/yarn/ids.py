"""YARN identifiers: ApplicationId, ApplicationAttemptId, ContainerId and NodeId.

``str()`` prints an id exactly as Hadoop's ``toString`` does, and ``parse``
reads what Hadoop's ``fromString`` reads, so an id copied from ``yarn
application -list`` or a log line parses here and prints back unchanged::

    application_1410901177871_0001              ApplicationId
    appattempt_1410901177871_0001_000001        ApplicationAttemptId
    container_e17_1410901177871_0001_01_000005  ContainerId (epoch 17)
    node1.example.com:8041                      NodeId

Parsing is stricter than Java's in three places, all of them inputs Hadoop
accepts only by accident: signs (``application_-1_+2``), whitespace around the
parts of a container id, and trailing parts after a container id's number.
"""
from __future__ import annotations

from typing import Callable, List, Union

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.errors import PyarnError

__all__ = ["InvalidIdError", "ApplicationId", "ApplicationAttemptId", "ContainerId", "NodeId"]

_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1
_PORT_MAX = 65535
#: A container id packs the RM's epoch above the low 40 bits of sequence number.
_SEQUENCE_BITS = 40
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1
_EPOCH_MAX = _INT64_MAX >> _SEQUENCE_BITS

_APP_FORM = "application_<cluster timestamp>_<application number>, e.g. application_1410901177871_0001"
_ATTEMPT_FORM = ("appattempt_<cluster timestamp>_<application number>_<attempt number>, "
                 "e.g. appattempt_1410901177871_0001_000001")
_CONTAINER_FORM = ("container_[e<epoch>_]<cluster timestamp>_<application number>_<attempt number>"
                   "_<container number>, e.g. container_e17_1410901177871_0001_01_000005")
_NODE_FORM = "<host>:<port>, e.g. node1.example.com:8041"


class InvalidIdError(PyarnError, ValueError):
    """A string that is not a well-formed YARN id of the kind asked for.

    ``value`` is the string, ``kind`` the id type's name, ``expected`` the form
    it should have had and ``reason`` what is wrong with it (may be empty).
    """

    def __init__(self, kind: str, value: str, expected: str, reason: str = "") -> None:
        self.kind = kind
        self.value = value
        self.expected = expected
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"invalid {kind} {value!r}{detail}: expected {expected}")

    def __reduce__(self):
        return type(self), (self.kind, self.value, self.expected, self.reason)


def _bounded(low: int, high: int) -> Callable[[object, attrs.Attribute, object], None]:
    def check(instance: object, attribute: attrs.Attribute, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{type(instance).__name__}.{attribute.name} must be an int, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{attribute.name} {value} is outside {low}..{high}")

    return check


def _numbers(kind: str, text: str, parts: List[str], expected: str) -> List[int]:
    numbers = []
    for part in parts:
        if not part:
            raise InvalidIdError(kind, text, expected, "empty part")
        if not (part.isascii() and part.isdigit()):
            raise InvalidIdError(kind, text, expected, f"{part!r} is not a decimal number")
        if len(part.lstrip("0")) > 19:  # larger than any int64; spares int() a huge string
            raise InvalidIdError(kind, text, expected, f"{part} is too large")
        numbers.append(int(part))
    return numbers


def _split(kind: str, text: object, prefix: str, count: int, expected: str) -> List[str]:
    """The ``_``-separated parts of *text* after *prefix*, checked to number *count*."""
    if not isinstance(text, str):
        raise TypeError(f"{kind}.parse() takes a str, got {type(text).__name__}")
    if not text.startswith(prefix):
        raise InvalidIdError(kind, text, expected, f"does not start with {prefix!r}")
    parts = text[len(prefix):].split("_")
    if len(parts) != count:
        found = f"{len(parts)} '_'-separated fields after {prefix!r}, expected {count}"
        raise InvalidIdError(kind, text, expected, found)
    return parts


def _build(kind: str, text: str, expected: str, make: Callable[[], object]):
    """*make()*, with an out-of-range number reported against the input string."""
    try:
        return make()
    except ValueError as exc:
        raise InvalidIdError(kind, text, expected, str(exc)) from None


@attrs.frozen(order=True, repr=False)
class ApplicationId:
    """An application's id: the RM's start time and a counter, ``application_<ts>_<nnnn>``."""

    cluster_timestamp: int = attrs.field(validator=_bounded(0, _INT64_MAX))
    id: int = attrs.field(validator=_bounded(0, _INT32_MAX))

    def __str__(self) -> str:
        return f"application_{self.cluster_timestamp}_{self.id:04d}"

    def __repr__(self) -> str:
        return f"ApplicationId.parse({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> ApplicationId:
        """Read ``application_<cluster timestamp>_<number>``; raise `InvalidIdError` otherwise."""
        parts = _split("ApplicationId", text, "application_", 2, _APP_FORM)
        timestamp, number = _numbers("ApplicationId", text, parts, _APP_FORM)
        return _build("ApplicationId", text, _APP_FORM, lambda: cls(timestamp, number))

    @classmethod
    def coerce(cls, value: Union[ApplicationId, str]) -> ApplicationId:
        """*value* itself if it is an ApplicationId, else `parse` it."""
        return value if isinstance(value, ApplicationId) else cls.parse(value)

    @classmethod
    def from_proto(cls, proto: pb.ApplicationIdProto) -> ApplicationId:
        """From an ``ApplicationIdProto``."""
        return cls(proto.cluster_timestamp, proto.id)

    def to_proto(self) -> pb.ApplicationIdProto:
        """To an ``ApplicationIdProto``."""
        return pb.ApplicationIdProto(id=self.id, cluster_timestamp=self.cluster_timestamp)


@attrs.frozen(order=True, repr=False)
class ApplicationAttemptId:
    """One attempt at running an application's master, ``appattempt_<ts>_<nnnn>_<nnnnnn>``."""

    application_id: ApplicationId = attrs.field(validator=attrs.validators.instance_of(ApplicationId))
    attempt_id: int = attrs.field(validator=_bounded(0, _INT32_MAX))

    def __str__(self) -> str:
        app = self.application_id
        return f"appattempt_{app.cluster_timestamp}_{app.id:04d}_{self.attempt_id:06d}"

    def __repr__(self) -> str:
        return f"ApplicationAttemptId.parse({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> ApplicationAttemptId:
        """Read ``appattempt_<cluster timestamp>_<app number>_<attempt number>``."""
        parts = _split("ApplicationAttemptId", text, "appattempt_", 3, _ATTEMPT_FORM)
        timestamp, number, attempt = _numbers("ApplicationAttemptId", text, parts, _ATTEMPT_FORM)
        return _build("ApplicationAttemptId", text, _ATTEMPT_FORM,
                      lambda: cls(ApplicationId(timestamp, number), attempt))

    @classmethod
    def coerce(cls, value: Union[ApplicationAttemptId, str]) -> ApplicationAttemptId:
        """*value* itself if it is an ApplicationAttemptId, else `parse` it."""
        return value if isinstance(value, ApplicationAttemptId) else cls.parse(value)

    @classmethod
    def from_proto(cls, proto: pb.ApplicationAttemptIdProto) -> ApplicationAttemptId:
        """From an ``ApplicationAttemptIdProto``."""
        return cls(ApplicationId.from_proto(proto.application_id), proto.attemptId)

    def to_proto(self) -> pb.ApplicationAttemptIdProto:
        """To an ``ApplicationAttemptIdProto``."""
        return pb.ApplicationAttemptIdProto(application_id=self.application_id.to_proto(),
                                            attemptId=self.attempt_id)


@attrs.frozen(order=True, repr=False)
class ContainerId:
    """A container's id: its attempt and a 64-bit number packing the RM's epoch.

    ``id`` is the number as it travels on the wire: the epoch (it goes up each
    time the RM restarts or fails over) above the low 40 bits of sequence
    number. The string form shows the epoch only when it is not 0:
    ``container_e17_1410901177871_0001_01_000005``.
    """

    application_attempt_id: ApplicationAttemptId = attrs.field(
        validator=attrs.validators.instance_of(ApplicationAttemptId))
    id: int = attrs.field(validator=_bounded(0, _INT64_MAX))

    @classmethod
    def from_parts(cls, application_attempt_id: ApplicationAttemptId, sequence_number: int,
                   epoch: int = 0) -> ContainerId:
        """The id of container *sequence_number* of an attempt, allocated in RM *epoch*."""
        if not 0 <= sequence_number <= _SEQUENCE_MASK:
            raise ValueError(f"sequence number {sequence_number} is outside 0..{_SEQUENCE_MASK}")
        if not 0 <= epoch <= _EPOCH_MAX:
            raise ValueError(f"epoch {epoch} is outside 0..{_EPOCH_MAX}")
        return cls(application_attempt_id, (epoch << _SEQUENCE_BITS) | sequence_number)

    @property
    def epoch(self) -> int:
        """The RM epoch the container was allocated in."""
        return self.id >> _SEQUENCE_BITS

    @property
    def sequence_number(self) -> int:
        """The container's number within its application, without the epoch."""
        return self.id & _SEQUENCE_MASK

    @property
    def application_id(self) -> ApplicationId:
        """The application the container belongs to."""
        return self.application_attempt_id.application_id

    def __str__(self) -> str:
        attempt = self.application_attempt_id
        app = attempt.application_id
        epoch = f"e{self.epoch:02d}_" if self.epoch > 0 else ""
        return (f"container_{epoch}{app.cluster_timestamp}_{app.id:04d}"
                f"_{attempt.attempt_id:02d}_{self.sequence_number:06d}")

    def __repr__(self) -> str:
        return f"ContainerId.parse({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> ContainerId:
        """Read ``container_[e<epoch>_]<ts>_<app number>_<attempt number>_<container number>``."""
        kind = "ContainerId"
        has_epoch = isinstance(text, str) and text.startswith("container_e")
        parts = _split(kind, text, "container_", 5 if has_epoch else 4, _CONTAINER_FORM)
        epoch = 0
        if has_epoch:
            epoch_text = parts.pop(0)[1:]
            (epoch,) = _numbers(kind, text, [epoch_text], _CONTAINER_FORM)
            if epoch > _EPOCH_MAX:
                raise InvalidIdError(kind, text, _CONTAINER_FORM, f"epoch {epoch} is outside 0..{_EPOCH_MAX}")
        timestamp, number, attempt, sequence = _numbers(kind, text, parts, _CONTAINER_FORM)
        return _build(kind, text, _CONTAINER_FORM, lambda: cls.from_parts(
            ApplicationAttemptId(ApplicationId(timestamp, number), attempt), sequence, epoch))

    @classmethod
    def coerce(cls, value: Union[ContainerId, str]) -> ContainerId:
        """*value* itself if it is a ContainerId, else `parse` it."""
        return value if isinstance(value, ContainerId) else cls.parse(value)

    @classmethod
    def from_proto(cls, proto: pb.ContainerIdProto) -> ContainerId:
        """From a ``ContainerIdProto`` (its deprecated ``app_id`` is ignored, as Hadoop does)."""
        return cls(ApplicationAttemptId.from_proto(proto.app_attempt_id), proto.id)

    def to_proto(self) -> pb.ContainerIdProto:
        """To a ``ContainerIdProto``."""
        return pb.ContainerIdProto(app_attempt_id=self.application_attempt_id.to_proto(), id=self.id)


@attrs.frozen(order=True, repr=False)
class NodeId:
    """A NodeManager's id, ``host:port``."""

    host: str = attrs.field(validator=attrs.validators.instance_of(str))
    port: int = attrs.field(validator=_bounded(-(2**31), _INT32_MAX))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"NodeId.parse({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> NodeId:
        """Read ``host:port``; an IPv6 host may be bare (``::1:8041``) or bracketed (``[::1]:8041``)."""
        if not isinstance(text, str):
            raise TypeError(f"NodeId.parse() takes a str, got {type(text).__name__}")
        bracket = text.rfind("]")
        colon = text.find(":", bracket) if bracket >= 0 else text.rfind(":")
        if colon < 0 or colon == len(text) - 1:
            raise InvalidIdError("NodeId", text, _NODE_FORM, "no port")
        host, port_text = text[:colon], text[colon + 1:]
        if len(host) > 1 and host[0] == "[" and host[-1] == "]":
            host = host[1:-1]
        if not host:
            raise InvalidIdError("NodeId", text, _NODE_FORM, "empty host")
        (port,) = _numbers("NodeId", text, [port_text], _NODE_FORM)
        if port > _PORT_MAX:
            raise InvalidIdError("NodeId", text, _NODE_FORM, f"port {port} is outside 0..{_PORT_MAX}")
        return cls(host, port)

    @classmethod
    def coerce(cls, value: Union[NodeId, str]) -> NodeId:
        """*value* itself if it is a NodeId, else `parse` it."""
        return value if isinstance(value, NodeId) else cls.parse(value)

    @classmethod
    def from_proto(cls, proto: pb.NodeIdProto) -> NodeId:
        """From a ``NodeIdProto``."""
        return cls(proto.host, proto.port)

    def to_proto(self) -> pb.NodeIdProto:
        """To a ``NodeIdProto``."""
        return pb.NodeIdProto(host=self.host, port=self.port)
