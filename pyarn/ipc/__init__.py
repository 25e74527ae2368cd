"""Hadoop IPC (RPC version 9): sans-IO cores, blocking client and server, retries.

Layers, bottom up: :mod:`.framing` and :mod:`.headers` (bytes), :mod:`.sasl`
(authentication state machines), :mod:`.client_connection` and
:mod:`.server_connection` (sans-IO protocol cores), :mod:`.client` and
:mod:`.server` (socket transports), :mod:`.retry` (retry and failover).

The names below are imported on first use: a client does not load the server, and
neither loads a SASL mechanism until a token or Kerberos is in play.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .auth import SecretManager, ServerAuth, select_token
    from .client import Connection, RpcClient, RpcProxy
    from .constants import AuthMethod, Qop
    from .retry import FailoverProxy, RetryPolicy
    from .server import CallContext, IpcServer
    from .settings import IpcSettings

_EXPORTS = {
    "SecretManager": "auth", "ServerAuth": "auth", "select_token": "auth",
    "Connection": "client", "RpcClient": "client", "RpcProxy": "client",
    "AuthMethod": "constants", "Qop": "constants",
    "FailoverProxy": "retry", "RetryPolicy": "retry",
    "CallContext": "server", "IpcServer": "server",
    "IpcSettings": "settings",
}

__all__ = [
    "AuthMethod", "CallContext", "Connection", "FailoverProxy", "IpcServer", "IpcSettings", "Qop",
    "RetryPolicy", "RpcClient", "RpcProxy", "SecretManager", "ServerAuth", "select_token",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
