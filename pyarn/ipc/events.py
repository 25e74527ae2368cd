"""What the sans-IO connection cores report from the bytes they receive."""
from __future__ import annotations

from typing import Optional

import attrs

from ..errors import PyarnError, RemoteError
from ..security.user import User
from .constants import AuthMethod, Qop


class Event:
    """Base class of every event."""

    __slots__ = ()


@attrs.frozen
class Established(Event):
    """Client: negotiation is over and the connection context is out; calls may flow."""

    auth_method: AuthMethod
    qop: Qop = Qop.AUTH


@attrs.frozen
class CallSucceeded(Event):
    """Client: the SUCCESS response of a call; ``body`` is the serialized response message."""

    call_id: int
    retry_count: int
    body: memoryview = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


@attrs.frozen
class CallFailed(Event):
    """Client: the ERROR response of a call. The connection stays usable."""

    call_id: int
    retry_count: int
    error: RemoteError


@attrs.frozen
class ConnectionFailed(Event):
    """Either side: the connection is over. Always the last event.

    ``error`` is a :class:`~pyarn.errors.RemoteError` for a FATAL response, a
    :class:`~pyarn.errors.RemoteProtocolError` for bad bytes, a
    :class:`~pyarn.errors.ConnectionClosedError` for an end of stream, ...
    """

    error: PyarnError


@attrs.frozen
class ContextReceived(Event):
    """Server: the client is authenticated and sent its connection context."""

    user: User
    protocol: Optional[str]
    auth_method: AuthMethod
    #: The raw token identifier for TOKEN auth.
    token_identifier: Optional[bytes] = attrs.field(default=None, repr=False)


@attrs.frozen
class CallReceived(Event):
    """Server: a call; ``body`` is the serialized request message."""

    call_id: int
    retry_count: int
    client_id: bytes
    method: str
    protocol: str
    protocol_version: int
    body: memoryview = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


@attrs.frozen
class PingReceived(Event):
    """Server: a ping (no answer is due)."""
