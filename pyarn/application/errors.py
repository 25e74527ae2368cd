"""Errors of the AM's protocol, raised by ``pyarn-am`` and seen as such by its clients."""
from __future__ import annotations

from ..errors import RemoteError, register_java_class

__all__ = ["InvalidRequestError"]


@register_java_class("pyarn.am.InvalidRequestException")
class InvalidRequestError(RemoteError, ValueError):
    """The ApplicationMaster refused a request: unknown service or container, bad arguments,
    a put that keeps the value of a missing key, an owner that is not a live container, ..."""
