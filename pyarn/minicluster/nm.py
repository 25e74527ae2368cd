"""The mini NodeManager: ContainerManagementProtocol and containers as local processes.

Its IPC port accepts only SASL with an NMToken, as YARN's does even on an
insecure cluster; ``startContainers`` also checks each container token
(signature, node, RM, expiry, first use). A started container is localized,
launched (see :mod:`.launcher`) and watched on its own thread; its completion
(exit status and diagnostics, worded as YARN's) goes to the ResourceManager.

Directory layout under the node's root, as a NodeManager's:
``local/usercache/<user>/appcache/<app>/<container>`` (working dir),
``logs/<app>/<container>`` (stdout, stderr, prelaunch.*).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Mapping, Optional, Sequence, Set, Tuple

import attrs

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from hadoop_protos.yarn_protocols_rpc import CONTAINER_MANAGEMENT_PROTOCOL

from ..conf import Configuration
from ..errors import InvalidTokenError, RemoteError, YarnError
from ..ipc import AuthMethod, CallContext, IpcServer, ServerAuth
from ..security.credentials import Credentials, CredentialsError
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, NodeId
from ..yarn.records import Resource
from . import diagnostics as diag
from . import launcher
from .localizer import LocalizationError, Localizer
from .secrets import NodeTokenVerifier
from .validation import INVALID_CONTAINER

if TYPE_CHECKING:
    from .rm import ResourceManager

log = logging.getLogger(__name__)

INVALID_NMTOKEN_MSG = "Invalid NMToken"
#: Seconds between SIGTERM and SIGKILL (``yarn.nodemanager.sleep-delay-before-sigkill.ms``).
KILL_GRACE = 0.25


@attrs.define(eq=False)
class NMContainer:
    """A container on this node, from ``startContainers`` to DONE."""

    container_id: ContainerId
    user: str
    launch_context: pb.ContainerLaunchContextProto = attrs.field(repr=False)
    resource: pb.ResourceProto = attrs.field(repr=False)
    #: NEW, LOCALIZING, SCHEDULED, RUNNING, DONE
    state: str = "NEW"
    exit_status: int = diag.INVALID
    diagnostics: str = ""
    process: Optional[launcher.ContainerProcess] = attrs.field(default=None, repr=False)
    #: (exit status, reason) once a kill was asked for.
    kill: Optional[Tuple[int, str]] = None
    thread: Optional[threading.Thread] = attrs.field(default=None, repr=False)

    @property
    def app_id(self) -> ApplicationId:
        return self.container_id.application_id

    def status(self) -> pb.ContainerStatusProto:
        done = self.state == "DONE"
        sub_state = {"RUNNING": pb.CSS_RUNNING, "DONE": pb.CSS_DONE}.get(self.state, pb.CSS_SCHEDULED)
        if self.kill is not None and not done and self.state == "RUNNING":
            sub_state = pb.CSS_COMPLETING
        proto = pb.ContainerStatusProto(
            container_id=self.container_id.to_proto(), state=pb.C_COMPLETE if done else pb.C_RUNNING,
            diagnostics=self.diagnostics, exit_status=self.exit_status, capability=self.resource,
            executionType=pb.GUARANTEED, container_sub_state=sub_state)
        if self.state in ("RUNNING", "DONE") and self.process is not None:
            proto.container_attributes.add(key="HOST", value=socket.gethostname())
            proto.container_attributes.add(key="IPS", value="127.0.0.1")
        return proto


class NodeManager:
    """One NodeManager serving ``ContainerManagementProtocolPB`` on 127.0.0.1.

    ``root`` holds its local and log dirs; ``env`` is the environment its
    containers may inherit whitelisted variables from
    (``yarn.nodemanager.env-whitelist``); ``conf`` is the configuration it
    reads ``hdfs://`` resources with (``fs.defaultFS``, the HDFS client settings).
    ``admin_env`` is set in every container (``yarn.nodemanager.admin-env``).

    With the RM's ``security`` on, its port takes NMTokens at the cluster's QOPs and
    ``hdfs://`` resources are read with the container's own tokens only (no Kerberos
    ticket of this process), as a secure NodeManager's localizer does.
    """

    def __init__(self, rm: ResourceManager, root: Path, memory_mb: int, vcores: int, *,
                 host: str = "localhost", env: Optional[Mapping[str, str]] = None,
                 env_whitelist: Sequence[str] = launcher.DEFAULT_ENV_WHITELIST, user_home: str = "/home/",
                 name: str = "pyarn NM", conf: Optional[Configuration] = None,
                 admin_env: Optional[Mapping[str, str]] = None) -> None:
        self.rm = rm
        self.root = root
        self.local_dir = root / "local"
        self.log_dir = root / "logs"
        self.capability = Resource(memory_mb, vcores)
        self.env = dict(os.environ if env is None else env)
        self.env_whitelist = list(env_whitelist)
        self.user_home = user_home
        self.admin_env = dict(admin_env or {})
        self.localizer = Localizer(self.local_dir, conf, tokens_only=rm.security is not None)
        self.containers: Dict[ContainerId, NMContainer] = {}
        self._finished_apps: Set[ApplicationId] = set()
        self._lock = threading.Lock()
        self.verifier = NodeTokenVerifier(NodeId(host, 0), rm.nm_secrets, rm.container_secrets)
        auth = (ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=self.verifier) if rm.security is None
                else rm.security.server_auth(None, self.verifier))
        self.server = IpcServer("127.0.0.1", 0, name=name, auth=auth)
        self.node_id = NodeId(host, self.server.address[1])
        self.verifier.node_id = self.node_id
        #: No web UI runs; port 0 says so wherever YARN shows the NM's HTTP address.
        self.http_port = 0
        self.http_address = f"{host}:{self.http_port}"
        self.server.register(CONTAINER_MANAGEMENT_PROTOCOL, ContainerManagerService(self))

    @property
    def address(self) -> str:
        return self.server.address_string

    def start(self) -> NodeManager:
        self.local_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.server.start()
        self.rm.register_node(self)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and kill every container still running."""
        self.server.stop()
        with self._lock:
            containers = list(self.containers.values())
            for container in containers:
                self._kill_locked(container, diag.KILLED_BY_RESOURCEMANAGER, "Container killed on shutdown")
        deadline = time.monotonic() + timeout
        for container in containers:
            if container.thread is not None:
                container.thread.join(max(deadline - time.monotonic(), 0))

    # -- requests from the ResourceManager ------------------------------------------------------

    def kill_container(self, container_id: ContainerId, exit_status: int, reason: str) -> bool:
        """Kill a container of this node; False if the node does not know it."""
        with self._lock:
            container = self.containers.get(container_id)
            if container is not None:
                self._kill_locked(container, exit_status, reason)
            return container is not None

    def knows(self, container_id: ContainerId) -> bool:
        with self._lock:
            return container_id in self.containers

    def container_status(self, container_id: ContainerId) -> Optional[pb.ContainerStatusProto]:
        with self._lock:
            container = self.containers.get(container_id)
            return container.status() if container is not None else None

    def finish_application(self, app_id: ApplicationId) -> None:
        """The application is over: kill its containers, then delete its working directories."""
        with self._lock:
            self._finished_apps.add(app_id)
            containers = [c for c in self.containers.values() if c.app_id == app_id]
            for container in containers:
                self._kill_locked(container, diag.KILLED_AFTER_APP_COMPLETION,
                                  "Container killed on application-finish event")
        users = {c.user for c in containers}
        if not users:
            return

        def clean() -> None:
            for container in containers:
                if container.thread is not None:
                    container.thread.join()
            for user in users:
                self.localizer.forget_application(user, str(app_id))

        threading.Thread(target=clean, name=f"pyarn NM cleanup {app_id}", daemon=True).start()

    def _kill_locked(self, container: NMContainer, exit_status: int, reason: str) -> None:
        if container.state == "DONE" or container.kill is not None:
            return
        container.kill = (exit_status, reason)
        if container.process is not None:
            container.process.kill(KILL_GRACE)

    # -- containers ----------------------------------------------------------------------------------

    def start_container(self, container: NMContainer) -> None:
        with self._lock:
            if container.app_id in self._finished_apps:
                raise YarnError(f"Container {container.container_id} rejected: application "
                                f"{container.app_id} has finished")
            if container.container_id in self.containers:
                raise YarnError(f"Container {container.container_id} already is running on this node!!")
            self.containers[container.container_id] = container
            container.thread = threading.Thread(target=self._run, args=(container,), daemon=True,
                                                name=f"pyarn NM {container.container_id}")
        container.thread.start()

    def container_dirs(self, container: NMContainer) -> Tuple[Path, Path]:
        """The container's working and log directories."""
        app = str(container.app_id)
        return (self.localizer.app_dir(container.user, app) / str(container.container_id),
                self.log_dir / app / str(container.container_id))

    def _run(self, container: NMContainer) -> None:
        try:
            exit_status, text = self._launch_and_wait(container)
        except Exception as exc:  # a launch failure is the container's failure, never the NM's
            log.exception("launching %s failed", container.container_id)
            exit_status, text = diag.INVALID, f"{diag.stamp()}Exception from container-launch: {exc}\n"
        with self._lock:
            container.state = "DONE"
            container.exit_status = exit_status
            container.diagnostics = text
            status = container.status()
        self.rm.container_finished(status)

    def _launch_and_wait(self, container: NMContainer) -> Tuple[int, str]:
        context = container.launch_context
        app = str(container.app_id)
        work_dir, log_dir = self.container_dirs(container)
        with self._lock:
            if container.kill is not None:
                return _killed_before_launch(container.kill)
            container.state = "LOCALIZING"
        links: Dict[str, Path] = {}
        credentials = Credentials.from_bytes(context.tokens, "container tokens") if context.tokens \
            else Credentials()
        try:
            for entry in context.localResources:
                links[entry.key] = self.localizer.localize(entry.value, container.user, app,
                                                           tokens=list(credentials.tokens.values()))
        except LocalizationError as exc:
            return diag.INVALID, diag.localization_failed(exc.message, exc.java_class)
        launcher.prepare_dirs(work_dir, log_dir)
        tokens = work_dir / "container_tokens"
        credentials.write_file(tokens)
        env = {e.key: launcher.expand(e.value, log_dir) for e in context.environment}
        env.update(self._nm_vars(container, work_dir, log_dir, tokens))
        whitelisted = launcher.whitelisted_env(self.env_whitelist, self.env, env)
        command = launcher.join_command(list(context.command), log_dir)
        script = launcher.write_script(work_dir, log_dir,
                                       launcher.launch_script(env, whitelisted, links, command, log_dir))
        with self._lock:
            if container.kill is not None:
                return _killed_before_launch(container.kill)
            container.process = launcher.ContainerProcess(script, work_dir)
            container.state = "RUNNING"
        self.rm.container_launched(container.container_id)
        code = container.process.wait()
        with self._lock:
            kill = container.kill
        if kill is not None:
            return kill[0], diag.container_killed(kill[1], code, True)
        if code == 0:
            return diag.SUCCESS, ""
        err = launcher.stderr_file(log_dir)
        return code, diag.container_failed(str(container.container_id), code,
                                           launcher.tail(log_dir / "prelaunch.err"),
                                           launcher.tail(err) if err is not None else None)

    def _nm_vars(self, container: NMContainer, work_dir: Path, log_dir: Path, tokens: Path) -> Dict[str, str]:
        """The variables the NM sets, overriding the launch context's (``ContainerLaunch.sanitizeEnv``)."""
        user_dir = self.localizer.user_dir(container.user)
        return {
            **self.admin_env,
            "HADOOP_TOKEN_FILE_LOCATION": str(tokens),
            "CONTAINER_ID": str(container.container_id),
            "NM_PORT": str(self.node_id.port),
            "NM_HOST": self.node_id.host,
            "NM_HTTP_PORT": str(self.http_port),
            "LOCAL_DIRS": str(self.localizer.app_dir(container.user, str(container.app_id))),
            "LOCAL_USER_DIRS": f"{user_dir}/",
            "LOG_DIRS": str(log_dir),
            "USER": container.user,
            "LOGNAME": container.user,
            "HOME": self.user_home,
            "PWD": str(work_dir),
            "JVM_PID": "$$",
        }


def _killed_before_launch(kill: Tuple[int, str]) -> Tuple[int, str]:
    """A container killed before its process started (YARN still reports exit code 143)."""
    return kill[0], diag.container_killed(kill[1], diag.TERMINATED_EXIT_CODE, False)


def _serialized(exc: RemoteError) -> pb.SerializedExceptionProto:
    return pb.SerializedExceptionProto(message=exc.message, trace=f"{exc.java_class}: {exc.message}\n",
                                       class_name=exc.java_class)


class ContainerManagerService:
    """``ContainerManagerImpl``'s RPC side for one :class:`NodeManager`."""

    def __init__(self, nm: NodeManager) -> None:
        self.nm = nm

    def _nm_token(self, ctx: CallContext) -> tpb.NMTokenIdentifierProto:
        if ctx.token_identifier is None:
            raise YarnError(INVALID_NMTOKEN_MSG)
        identifier = self.nm.verifier.nm_token_identifier(ctx.token_identifier)
        attempt = ApplicationAttemptId.from_proto(identifier.appAttemptId)
        if ctx.user.name != str(attempt):
            raise YarnError(f"Expected applicationAttemptId: {ctx.user.name}Found: {attempt}")
        return identifier

    def startContainers(self, request: spb.StartContainersRequestProto,
                        ctx: CallContext) -> spb.StartContainersResponseProto:
        nm_token = self._nm_token(ctx)
        token_attempt = ApplicationAttemptId.from_proto(nm_token.appAttemptId)
        response = spb.StartContainersResponseProto()
        for start in request.start_container_request:
            if not start.HasField("container_token") or not start.container_token.identifier:
                raise YarnError("java.io.IOException: Invalid ContainerToken")
            identifier = self.nm.verifier.verify_container_token(start.container_token)
            container_id = ContainerId.from_proto(identifier.containerId)
            try:
                self._authorize_start(token_attempt, identifier, container_id)
                self._check_launch_context(start.container_launch_context)
                container = NMContainer(container_id, identifier.appSubmitter, start.container_launch_context,
                                        identifier.resource)
                self.nm.start_container(container)
            except InvalidTokenError:
                raise
            except RemoteError as exc:
                response.failed_requests.add(container_id=container_id.to_proto(), exception=_serialized(exc))
                continue
            response.succeeded_requests.append(container_id.to_proto())
        return response

    def _authorize_start(self, token_attempt: ApplicationAttemptId,
                         identifier: tpb.ContainerTokenIdentifierProto, container_id: ContainerId) -> None:
        message = "Unauthorized request to start container."
        if token_attempt.application_id != container_id.application_id:
            raise YarnError(f"{message}\nNMToken for application attempt : {token_attempt} was used for "
                            "starting container with container token issued for application attempt : "
                            f"{container_id.application_attempt_id}")
        if self.nm.knows(container_id):
            raise YarnError(f"{message}\n Attempt to relaunch the same container with id {container_id}.")
        now = int(time.time() * 1000)
        if identifier.expiryTimeStamp < now:
            raise YarnError(f"{message}\nThis token is expired. current time is {now} found "
                            f"{identifier.expiryTimeStamp}\nNote: System times on machines may be out of "
                            "sync. Check system time and time zones.")
        if identifier.rmIdentifier != self.nm.verifier.rm_identifier:
            raise YarnError(f"\nContainer {container_id} rejected as it is allocated by a previous RM",
                            INVALID_CONTAINER)

    @staticmethod
    def _check_launch_context(context: pb.ContainerLaunchContextProto) -> None:
        """``startContainerInternal``'s sanity checks of the resources and the credentials."""
        for entry in context.localResources:
            for field, what in (("resource", "URL"), ("type", "type"), ("visibility", "visibility")):
                if not entry.HasField("value") or not entry.value.HasField(field):
                    raise YarnError(f"Null resource {what} for local resource {entry.key} : {entry.value}")
        if context.tokens:
            try:
                Credentials.from_bytes(context.tokens, "the launch context's tokens")
            except CredentialsError as exc:
                raise YarnError(f"java.io.IOException: {exc}") from None

    def stopContainers(self, request: spb.StopContainersRequestProto,
                       ctx: CallContext) -> spb.StopContainersResponseProto:
        nm_token = self._nm_token(ctx)
        attempt = ApplicationAttemptId.from_proto(nm_token.appAttemptId)
        response = spb.StopContainersResponseProto()
        for proto in request.container_id:
            container_id = ContainerId.from_proto(proto)
            try:
                self._authorize_get_or_stop(attempt, container_id, stop=True)
                if not self.nm.kill_container(container_id, diag.KILLED_BY_APPMASTER,
                                              diag.KILLED_BY_APPMASTER_TEXT):
                    raise YarnError(f"Container {container_id} is not handled by this NodeManager")
            except RemoteError as exc:
                response.failed_requests.add(container_id=proto, exception=_serialized(exc))
                continue
            response.succeeded_requests.append(proto)
        return response

    def getContainerStatuses(self, request: spb.GetContainerStatusesRequestProto,
                             ctx: CallContext) -> spb.GetContainerStatusesResponseProto:
        nm_token = self._nm_token(ctx)
        attempt = ApplicationAttemptId.from_proto(nm_token.appAttemptId)
        response = spb.GetContainerStatusesResponseProto()
        for proto in request.container_id:
            container_id = ContainerId.from_proto(proto)
            try:
                self._authorize_get_or_stop(attempt, container_id, stop=False)
                status = self.nm.container_status(container_id)
                if status is None:
                    raise YarnError(f"Container {container_id} is not handled by this NodeManager")
                response.status.append(status)
            except RemoteError as exc:
                response.failed_requests.add(container_id=proto, exception=_serialized(exc))
        return response

    @staticmethod
    def _authorize_get_or_stop(attempt: ApplicationAttemptId, container_id: ContainerId, stop: bool) -> None:
        if attempt.application_id != container_id.application_id:
            what = "stop" if stop else "get status for"
            raise YarnError(f"{attempt} attempted to {what} non-application container : {container_id}")

