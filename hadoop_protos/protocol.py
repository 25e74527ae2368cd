"""The shape of the generated RPC tables (``hadoop_protos/*_rpc.py``)."""
from __future__ import annotations

import enum
from typing import Dict, Optional, Tuple, Type

from google.protobuf.message import Message


class RetrySafety(enum.Enum):
    """Whether a call that may have reached the server can be sent again."""

    UNSAFE = "unsafe"
    #: Hadoop's ``@Idempotent``.
    IDEMPOTENT = "idempotent"
    #: Hadoop's ``@AtMostOnce``: the server's retry cache recognises a repeat.
    AT_MOST_ONCE = "at_most_once"

    @property
    def retriable(self) -> bool:
        return self is not RetrySafety.UNSAFE


class RpcMethod:
    """One method of a Hadoop RPC protocol."""

    __slots__ = ("name", "request", "response", "retry_safety")

    def __init__(self, name: str, request: Type[Message], response: Type[Message],
                 retry_safety: RetrySafety) -> None:
        self.name = name
        self.request = request
        self.response = response
        self.retry_safety = retry_safety

    @property
    def idempotent(self) -> bool:
        return self.retry_safety is RetrySafety.IDEMPOTENT

    def __repr__(self) -> str:
        return f"RpcMethod({self.name!r}, {self.retry_safety.name})"


class RpcProtocol:
    """A Hadoop RPC protocol: its wire name, version and methods by name."""

    __slots__ = ("name", "version", "service", "methods")

    def __init__(self, name: str, version: int, service: str, methods: Tuple[RpcMethod, ...]) -> None:
        self.name = name
        self.version = version
        self.service = service
        self.methods: Dict[str, RpcMethod] = {m.name: m for m in methods}

    def method(self, name: str) -> Optional[RpcMethod]:
        return self.methods.get(name)

    def __repr__(self) -> str:
        return f"RpcProtocol({self.name!r}, {len(self.methods)} methods)"
