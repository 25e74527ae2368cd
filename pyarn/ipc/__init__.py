"""Hadoop IPC (RPC version 9): sans-IO cores, blocking client and server, retries.

Layers, bottom up: :mod:`.framing` and :mod:`.headers` (bytes), :mod:`.sasl`
(authentication state machines), :mod:`.client_connection` and
:mod:`.server_connection` (sans-IO protocol cores), :mod:`.client` and
:mod:`.server` (socket transports), :mod:`.retry` (retry and failover).
"""
from .auth import SecretManager, ServerAuth, select_token
from .client import Connection, RpcClient, RpcProxy
from .constants import AuthMethod, Qop
from .retry import FailoverProxy, RetryPolicy
from .server import CallContext, IpcServer
from .settings import IpcSettings

__all__ = [
    "AuthMethod", "CallContext", "Connection", "FailoverProxy", "IpcServer", "IpcSettings", "Qop",
    "RetryPolicy", "RpcClient", "RpcProxy", "SecretManager", "ServerAuth", "select_token",
]
