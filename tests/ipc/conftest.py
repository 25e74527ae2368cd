"""Fixtures: pyarn IPC servers for the test protocol, and a client."""
from __future__ import annotations

import pytest

from pyarn.ipc import IpcServer, RpcClient, ServerAuth
from pyarn.ipc.constants import AuthMethod
from pyarn.security.user import User

from .support import FAST, TEST_PROTOCOL, EchoHandler, UserSecretManager


@pytest.fixture
def handler() -> EchoHandler:
    return EchoHandler()


@pytest.fixture
def server(handler):
    """A SIMPLE-auth server for TEST_PROTOCOL on an ephemeral loopback port."""
    with IpcServer(idle_timeout=5.0) as srv:
        srv.register(TEST_PROTOCOL, handler)
        yield srv


@pytest.fixture
def token_server(handler):
    """A TOKEN-only server (like YARN's scheduler port)."""
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=UserSecretManager())
    with IpcServer(auth=auth, idle_timeout=5.0) as srv:
        srv.register(TEST_PROTOCOL, handler)
        yield srv


@pytest.fixture
def client():
    with RpcClient(FAST) as c:
        yield c


@pytest.fixture
def alice() -> User:
    return User("alice")
