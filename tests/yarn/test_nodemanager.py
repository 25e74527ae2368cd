"""NMClient against a ContainerManagementProtocol served by pyarn's IpcServer, token auth only."""
from __future__ import annotations

from typing import Dict

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import CONTAINER_MANAGEMENT_PROTOCOL
from pyarn.errors import PyarnError
from pyarn.ipc import IpcServer, IpcSettings, ServerAuth
from pyarn.ipc.auth import SecretManager
from pyarn.ipc.constants import AuthMethod
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import NM_TOKEN_KIND, Token
from pyarn.yarn.amrm import AllocatedContainer
from pyarn.yarn.ids import ApplicationAttemptId, ContainerId, NodeId
from pyarn.yarn.nodemanager import ContainerError, NMClient, launch_context
from pyarn.yarn.records import ContainerState, Resource

ATTEMPT = ApplicationAttemptId.parse("appattempt_1700000000000_0003_000001")
FAST = IpcSettings(connect_timeout=2.0, rpc_timeout=5.0)


class NMTokens(SecretManager):
    """NMTokens whose identifier is the attempt id; the caller becomes that attempt, as on a real NM."""

    def retrieve_password(self, identifier: bytes) -> bytes:
        return b"nm-" + identifier

    def user_of(self, identifier: bytes) -> str:
        return identifier.decode()


def _error(message: str) -> pb.SerializedExceptionProto:
    return pb.SerializedExceptionProto(message=message,
                                       class_name="org.apache.hadoop.yarn.exceptions.YarnException")


class FakeNodeManager:
    def __init__(self) -> None:
        self.started: Dict[ContainerId, rpc.StartContainerRequestProto] = {}
        self.callers = []
        self.refuse = False

    def startContainers(self, request, ctx):
        self.callers.append(ctx.user.name)
        response = rpc.StartContainersResponseProto()
        for start in request.start_container_request:
            container_id = ContainerId.parse(start.container_token.identifier.decode())
            if self.refuse:
                response.failed_requests.add(container_id=container_id.to_proto(), exception=_error(
                    "Container already started"))
            else:
                self.started[container_id] = start
                response.succeeded_requests.append(container_id.to_proto())
        return response

    def stopContainers(self, request, ctx):
        response = rpc.StopContainersResponseProto()
        for proto in request.container_id:
            container_id = ContainerId.from_proto(proto)
            if container_id in self.started:
                del self.started[container_id]
                response.succeeded_requests.append(proto)
            else:
                response.failed_requests.add(container_id=proto, exception=_error(
                    f"Container {container_id} is not handled by this NodeManager"))
        return response

    def getContainerStatuses(self, request, ctx):
        return rpc.GetContainerStatusesResponseProto(status=[
            pb.ContainerStatusProto(container_id=c, state=pb.C_RUNNING, exit_status=-1000)
            for c in request.container_id])


@pytest.fixture
def nm():
    handler = FakeNodeManager()
    auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=NMTokens())
    with IpcServer(auth=auth, idle_timeout=5.0) as server:
        server.register(CONTAINER_MANAGEMENT_PROTOCOL, handler)
        yield handler, NodeId(*server.address)


def nm_token(node: NodeId) -> Token:
    identifier = str(ATTEMPT).encode()
    return Token(identifier, b"nm-" + identifier, NM_TOKEN_KIND, str(node))


def allocated(seq: int, node: NodeId) -> AllocatedContainer:
    container_id = ContainerId.from_parts(ATTEMPT, seq)
    return AllocatedContainer(container_id, node, None, Resource(256, 1), 1,
                              Token(str(container_id).encode(), b"pw", "ContainerToken"))


def test_start_stop_and_status(nm):
    handler, node = nm
    creds = Credentials()
    creds.add_secret("s", b"x")
    context = launch_context(commands=["echo hi"], environment={"A": "1"}, credentials=creds,
                             local_resources={"f": pb.LocalResourceProto(size=3)})
    with NMClient(ATTEMPT, lambda n: nm_token(n) if n == node else None, settings=FAST) as client:
        container = allocated(2, node)
        client.start_container(container, context)
        start = handler.started[container.id]
        assert start.container_launch_context.command == ["echo hi"]
        assert start.container_launch_context.environment[0].key == "A"
        assert Credentials.from_bytes(start.container_launch_context.tokens).get_secret("s") == b"x"
        assert start.container_token.identifier == str(container.id).encode()
        assert handler.callers == [str(ATTEMPT)]  # the NM sees the attempt as the caller
        status = client.get_container_statuses([container.id], node)[container.id]
        assert status.state is ContainerState.RUNNING
        client.stop_container(container.id, node)
        assert container.id not in handler.started
        with pytest.raises(ContainerError, match="not handled"):
            client.stop_container(container.id, node)


def test_refusals_and_missing_tokens(nm):
    handler, node = nm
    handler.refuse = True
    with NMClient(ATTEMPT, lambda n: nm_token(n), settings=FAST) as client:
        with pytest.raises(ContainerError, match="already started") as info:
            client.start_container(allocated(3, node), launch_context(commands=["true"]))
        assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.YarnException"
    with NMClient(ATTEMPT, lambda n: None, settings=FAST) as client:
        with pytest.raises(PyarnError, match="no NMToken"):
            client.stop_container(ContainerId.from_parts(ATTEMPT, 3), node)
