"""The ApplicationMaster's side of ``ContainerManagementProtocol``: start, stop and query containers.

:class:`NMClient` connects straight to the NodeManager a container was
allocated on (its ``NodeId``), authenticating with that node's NMToken (the
SASL user becomes the attempt id, which the NodeManager checks), and starts
the container with the container token from the allocation.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import CONTAINER_MANAGEMENT_PROTOCOL

from ..errors import PyarnError, YarnError, remote_error
from ..ipc import IpcSettings, RpcClient, RpcProxy
from ..security.credentials import Credentials
from ..security.tokens import Token
from ..security.user import User
from .amrm import AllocatedContainer
from .ids import ApplicationAttemptId, ContainerId, NodeId
from .records import ContainerState

__all__ = ["NMClient", "ContainerStatus", "launch_context", "ContainerError"]

#: Finds the NMToken of a node (e.g. :meth:`pyarn.yarn.amrm.AMRMClient.nm_token`).
TokenSource = Callable[[NodeId], Optional[Token]]


class ContainerError(YarnError):
    """The NodeManager refused to start, stop or report one container; carries the NM's
    Java exception class and message."""


def launch_context(*, commands: Sequence[str], environment: Optional[Mapping[str, str]] = None,
                   local_resources: Optional[Mapping[str, pb.LocalResourceProto]] = None,
                   credentials: Optional[Credentials] = None,
                   acls: Optional[Mapping[Any, str]] = None) -> pb.ContainerLaunchContextProto:
    """A ``ContainerLaunchContextProto``: the command lines, environment, files and tokens."""
    return pb.ContainerLaunchContextProto(
        command=list(commands),
        environment=[pb.StringStringMapProto(key=k, value=v) for k, v in (environment or {}).items()],
        localResources=[pb.StringLocalResourceMapProto(key=k, value=v)
                        for k, v in (local_resources or {}).items()],
        tokens=credentials.to_bytes() if credentials is not None else None,
        application_ACLs=[pb.ApplicationACLMapProto(accessType=t, acl=a) for t, a in (acls or {}).items()])


@attrs.frozen
class ContainerStatus:
    """What a NodeManager reports about a container."""

    id: ContainerId
    state: ContainerState
    exit_status: int
    diagnostics: str = ""

    @classmethod
    def from_proto(cls, proto: pb.ContainerStatusProto) -> ContainerStatus:
        return cls(ContainerId.from_proto(proto.container_id), ContainerState.from_proto(proto.state),
                   proto.exit_status, proto.diagnostics if proto.HasField("diagnostics") else "")


def _failure(entry: rpc.ContainerExceptionMapProto) -> ContainerError:
    exc = entry.exception
    error = remote_error(exc.class_name or "org.apache.hadoop.yarn.exceptions.YarnException",
                         exc.message or "container request failed")
    return ContainerError(error.message, error.java_class, java_text=exc.trace or error.java_text)


class NMClient:
    """Starts, stops and queries an attempt's containers on the NodeManagers.

    ``nm_tokens`` gives the NMToken of a node; ``attempt`` is the
    application attempt the calls are made for.
    """

    def __init__(self, attempt: ApplicationAttemptId, nm_tokens: TokenSource, *,
                 rpc_client: Optional[RpcClient] = None, settings: Optional[IpcSettings] = None) -> None:
        self.attempt = attempt
        self._nm_tokens = nm_tokens
        self._owns_rpc = rpc_client is None
        self.rpc = rpc_client if rpc_client is not None else RpcClient(settings)
        self._user = User(str(attempt))

    def close(self) -> None:
        if self._owns_rpc:
            self.rpc.close()

    def __enter__(self) -> NMClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, node: NodeId, method: str, request: Any) -> Any:
        return self._proxy(node).call(method, request)

    def _proxy(self, node: NodeId) -> RpcProxy:
        token = self._nm_tokens(node)
        if token is None:
            raise PyarnError(f"no NMToken for node {node}: the ResourceManager has not sent one")
        return self.rpc.proxy((node.host, node.port), CONTAINER_MANAGEMENT_PROTOCOL, self._user,
                              token=token.with_service(str(node)))

    def start_container(self, container: AllocatedContainer, context: pb.ContainerLaunchContextProto) -> None:
        """Start an allocated container with ``context``; ContainerError if the NM refuses."""
        if container.token is None:
            raise PyarnError(f"allocated container {container.id} has no container token")
        request = rpc.StartContainersRequestProto(start_container_request=[
            rpc.StartContainerRequestProto(container_launch_context=context,
                                           container_token=container.token.to_proto())])
        response = self._call(container.node_id, "startContainers", request)
        for entry in response.failed_requests:
            raise _failure(entry)

    def stop_container(self, container_id: ContainerId, node: NodeId) -> None:
        """Stop a container (the NM kills its processes)."""
        request = rpc.StopContainersRequestProto(container_id=[container_id.to_proto()])
        response = self._call(node, "stopContainers", request)
        for entry in response.failed_requests:
            raise _failure(entry)

    def get_container_statuses(self, container_ids: Sequence[ContainerId], node: NodeId
                               ) -> Dict[ContainerId, ContainerStatus]:
        """Statuses of containers on one node; ContainerError for any the NM cannot report."""
        request = rpc.GetContainerStatusesRequestProto(container_id=[c.to_proto() for c in container_ids])
        response = self._call(node, "getContainerStatuses", request)
        for entry in response.failed_requests:
            raise _failure(entry)
        statuses: List[ContainerStatus] = [ContainerStatus.from_proto(s) for s in response.status]
        return {s.id: s for s in statuses}
