"""A bare ApplicationMaster and client written against the generated protocol and pyarn's IPC.

Used by tests/minicluster and integration/test_am_protocol.py to drive any
cluster named by a HADOOP_CONF_DIR (the mini cluster or a real Hadoop) the
way an AM does: an AM in the test process registers with an AMRMToken,
allocates, starts containers through the NodeManagers with NMTokens, collects
completions and finishes. The token comes from the application report (an
unmanaged AM, as Hadoop's UnmanagedAMLauncher does it) or from the token file
of a managed attempt's AM container, a stand-in that hands it over (see
:func:`stand_in_command`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, TypeVar

import attrs

from hadoop_protos import security_pb2 as secpb
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos import yarn_tokens_pb2 as tpb
from hadoop_protos.yarn_protocols_rpc import (
    APPLICATION_CLIENT_PROTOCOL,
    APPLICATION_MASTER_PROTOCOL,
    CONTAINER_MANAGEMENT_PROTOCOL,
)
from pyarn.conf import Configuration, rm_addresses
from pyarn.ipc import IpcSettings, RpcClient, RpcProxy
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import AMRM_TOKEN_KIND, Token
from pyarn.security.user import User
from pyarn.yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId

T = TypeVar("T")
FINAL_STATES = (pb.FINISHED, pb.FAILED, pb.KILLED)

#: Why a Kerberos client never sees an unmanaged AM's AMRMToken (checked on a real YARN 3.3.6).
UNMANAGED_AM_RULE = (
    "the RM puts an unmanaged AM's AMRMToken in the application report only while the attempt is "
    "LAUNCHED (not yet registered) and only for a caller whose UserGroupInformation.getUserName() "
    "equals the application's user (RMAppImpl.createAndGetApplicationReport); a Kerberos caller's "
    "getUserName() is its full principal (pyarn@REALM, also the owner of its RM delegation tokens) "
    "while the application's user is the short name (pyarn), so a Kerberized cluster never hands "
    "this client the token")


def wait_for(condition: Callable[[], Optional[T]], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_ended(client, app_id, timeout: float = 60.0):
    """The report of ``app_id`` (a :class:`pyarn.client.Client`'s) once the application has ended."""
    def ended():
        report = client.application_report(app_id)
        return report if report.state is not None and report.state.value in ("FINISHED", "FAILED", "KILLED") \
            else None
    return wait_for(ended, timeout, f"{app_id} to end")


def service_output(conf_dir: os.PathLike, app_id) -> str:
    """The stdout and stderr of an application's containers but the master's, on the mini cluster
    whose configuration directory is ``conf_dir``."""
    logs = Path(conf_dir).parent.glob(f"nm-*/logs/{app_id}/container_*")
    return "".join((d / name).read_text() for d in sorted(logs) if not d.name.endswith("_000001")
                   for name in ("stdout", "stderr") if (d / name).exists())


def state_name(state: int) -> str:
    return pb.YarnApplicationStateProto.Name(state)


def attempt_of(token: secpb.TokenProto) -> ApplicationAttemptId:
    """The attempt an AMRMToken was issued to."""
    identifier = tpb.AMRMTokenIdentifierProto.FromString(token.identifier)
    return ApplicationAttemptId.from_proto(identifier.appAttemptId)


def local_resource(path: Path, type: int = pb.FILE,
                   visibility: int = pb.APPLICATION) -> pb.LocalResourceProto:
    """A ``file:`` LocalResource with the size and timestamp YARN checks."""
    st = path.stat()
    return pb.LocalResourceProto(resource=pb.URLProto(scheme="file", port=-1, file=str(path)),
                                 size=st.st_size, timestamp=st.st_mtime_ns // 1_000_000, type=type,
                                 visibility=visibility)


class Cluster:
    """The client side: ApplicationClientProtocol to the RM named by ``conf_dir``."""

    def __init__(self, conf_dir: os.PathLike) -> None:
        self.conf = Configuration.load(os.fspath(conf_dir))
        # The cluster's settings (auth, QOP), with time limits that suit tests.
        self.settings = attrs.evolve(IpcSettings.from_conf(self.conf), connect_timeout=5.0, rpc_timeout=30.0)
        self.client = RpcClient(self.settings)
        _, host, port = rm_addresses(self.conf)[0]
        _, shost, sport = rm_addresses(self.conf, "scheduler.address")[0]
        self.rm: RpcProxy = self.client.proxy((host, port), APPLICATION_CLIENT_PROTOCOL, User.current())
        self.scheduler_address = (shost, sport)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def new_application(self) -> spb.GetNewApplicationResponseProto:
        return self.rm.call("getNewApplication", spb.GetNewApplicationRequestProto())

    def submit(self, name: str, *, unmanaged: bool = False, commands: Sequence[str] = (),
               environment: Optional[Mapping[str, str]] = None, memory: int = 128, vcores: int = 1,
               **fields) -> pb.ApplicationIdProto:
        """Submit an application; ``fields`` go to the ApplicationSubmissionContextProto."""
        app_id = self.new_application().application_id
        spec = fields.pop("am_container_spec", None) or pb.ContainerLaunchContextProto(
            command=list(commands),
            environment=[pb.StringStringMapProto(key=k, value=v) for k, v in (environment or {}).items()])
        context = pb.ApplicationSubmissionContextProto(
            application_id=app_id, application_name=name, unmanaged_am=unmanaged, am_container_spec=spec,
            resource=pb.ResourceProto(memory=memory, virtual_cores=vcores), **fields)
        self.submit_context(context)
        return app_id

    def submit_context(self, context: pb.ApplicationSubmissionContextProto) -> None:
        self.rm.call("submitApplication",
                     spb.SubmitApplicationRequestProto(application_submission_context=context))

    def report(self, app_id: pb.ApplicationIdProto) -> pb.ApplicationReportProto:
        return self.rm.call("getApplicationReport",
                            spb.GetApplicationReportRequestProto(application_id=app_id)).application_report

    def wait_for_report(self, app_id: pb.ApplicationIdProto,
                        check: Callable[[pb.ApplicationReportProto], bool], timeout: float,
                        what: str) -> pb.ApplicationReportProto:
        def ready() -> Optional[pb.ApplicationReportProto]:
            report = self.report(app_id)
            return report if check(report) else None
        return wait_for(ready, timeout, f"{ApplicationId.from_proto(app_id)}: {what}")

    def wait_final(self, app_id: pb.ApplicationIdProto, timeout: float = 30.0) -> pb.ApplicationReportProto:
        return self.wait_for_report(app_id, lambda r: r.yarn_application_state in FINAL_STATES, timeout,
                                    "a final state")

    def submit_unmanaged(self, name: str, **fields) -> AppMaster:
        """Submit an unmanaged AM and return it, holding the AMRMToken from the application report.

        On a Kerberized cluster the report never holds it for this client (:data:`UNMANAGED_AM_RULE`);
        the error after the wait says so.
        """
        app_id = self.submit(name, unmanaged=True, **fields)
        what = "the AMRMToken" + (f" ({UNMANAGED_AM_RULE})" if self.settings.security_enabled else "")
        report = self.wait_for_report(app_id, lambda r: r.HasField("am_rm_token"), 30.0, what)
        return AppMaster(self, app_id, report.am_rm_token)

    def submit_managed(self, name: str, directory: Optional[os.PathLike] = None, timeout: float = 60.0,
                       **fields) -> AppMaster:
        """Submit an application whose AM container is a stand-in (:func:`stand_in_command`) and
        return the AppMaster that speaks for its first attempt, with the AMRMToken YARN gave that
        container. Needs NodeManagers that share this machine's files and run containers as this user
        (pyarn's mini cluster, a single-node Hadoop with the default container executor).

        ``directory`` is where the stand-in hands over its files (default: a new private temporary
        directory, removed when the AppMaster closes); ``fields`` go to the submission context
        (``maxAppAttempts`` is 1 unless given).
        """
        own = directory is None
        where = Path(tempfile.mkdtemp(prefix="pyarn-stand-in-") if own else os.fspath(directory))
        fields.setdefault("maxAppAttempts", 1)
        app_id = self.submit(name, commands=[stand_in_command(where)], **fields)
        attempt = ApplicationAttemptId(ApplicationId.from_proto(app_id), 1)
        am_container = ContainerId.from_parts(attempt, 1)
        tokens = where / f"{am_container}.tokens"
        try:
            wait_for(tokens.exists, timeout,
                     f"the AM container {am_container} to copy its token file to {where} (the stand-in "
                     "needs a NodeManager on this machine that runs containers as this user)")
            token = Credentials.read_file(tokens).find_token(AMRM_TOKEN_KIND)
        except BaseException:
            self.kill(app_id)
            if own:
                shutil.rmtree(where, ignore_errors=True)
            raise
        if token is None:
            self.kill(app_id)
            raise AssertionError(f"{tokens} holds no {AMRM_TOKEN_KIND}")
        return AppMaster(self, app_id, token.to_proto(), release=where / f"{am_container}.done",
                         remove=where if own else None)

    def kill(self, app_id: pb.ApplicationIdProto, diagnostics: Optional[str] = None) -> bool:
        request = spb.KillApplicationRequestProto(application_id=app_id)
        if diagnostics is not None:
            request.diagnostics = diagnostics
        return self.rm.call("forceKillApplication", request).is_kill_completed


class AppMaster:
    """An ApplicationMaster speaking ApplicationMasterProtocol and ContainerManagementProtocol.

    ``release`` is the file that tells a managed attempt's stand-in AM container to exit (made once
    this AM has unregistered, or when it closes); ``remove`` a directory to delete when it closes.
    """

    def __init__(self, cluster: Cluster, app_id: pb.ApplicationIdProto, amrm_token: secpb.TokenProto,
                 release: Optional[Path] = None, remove: Optional[Path] = None) -> None:
        self.cluster = cluster
        self.release = release
        self.remove = remove
        self.app_id = app_id
        self.token = Token.from_proto(amrm_token)
        self.attempt_id = attempt_of(amrm_token)
        self.client = RpcClient(cluster.settings)
        self.scheduler = self.client.proxy(cluster.scheduler_address, APPLICATION_MASTER_PROTOCOL,
                                           User(str(self.attempt_id), tokens=[self.token]), token=self.token)
        self.response_id = 0
        self.nm_tokens: Dict[str, Token] = {}
        self.containers: Dict[ContainerId, pb.ContainerProto] = {}
        self.completed: Dict[ContainerId, pb.ContainerStatusProto] = {}

    @property
    def managed(self) -> bool:
        """Whether YARN runs this attempt's AM container (the stand-in), rather than this process alone."""
        return self.release is not None

    def close(self) -> None:
        self.client.close()
        self.release_stand_in()
        if self.remove is not None:
            shutil.rmtree(self.remove, ignore_errors=True)

    def release_stand_in(self) -> None:
        """Let a managed attempt's AM container exit (0): its application can then end."""
        if self.release is not None and self.release.parent.is_dir():
            self.release.touch()

    def __enter__(self) -> AppMaster:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- ApplicationMasterProtocol ----------------------------------------------------------------

    def register(self, host: str = "localhost", rpc_port: int = -1,
                 tracking_url: str = "") -> spb.RegisterApplicationMasterResponseProto:
        return self.scheduler.call("registerApplicationMaster", spb.RegisterApplicationMasterRequestProto(
            host=host, rpc_port=rpc_port, tracking_url=tracking_url))

    def allocate(self, asks: Iterable[pb.ResourceRequestProto] = (), releases: Iterable[ContainerId] = (),
                 blacklist: Iterable[str] = (), progress: float = 0.5) -> spb.AllocateResponseProto:
        """One heartbeat; remembers NMTokens, allocated containers and completed statuses."""
        request = spb.AllocateRequestProto(ask=list(asks), release=[c.to_proto() for c in releases],
                                           response_id=self.response_id, progress=progress)
        blacklist = list(blacklist)
        if blacklist:
            request.blacklist_request.blacklist_additions.extend(blacklist)
        response = self.scheduler.call("allocate", request)
        self.response_id = response.response_id
        for nm_token in response.nm_tokens:
            address = f"{nm_token.nodeId.host}:{nm_token.nodeId.port}"
            self.nm_tokens[address] = Token.from_proto(nm_token.token)
        for container in response.allocated_containers:
            self.containers[ContainerId.from_proto(container.id)] = container
        for status in response.completed_container_statuses:
            self.completed[ContainerId.from_proto(status.container_id)] = status
        return response

    def allocate_containers(self, count: int, memory: int = 128, vcores: int = 1, priority: int = 1,
                            timeout: float = 30.0) -> List[pb.ContainerProto]:
        """Ask for ``count`` containers anywhere and heartbeat until they all came."""
        ask = pb.ResourceRequestProto(priority=pb.PriorityProto(priority=priority), resource_name="*",
                                      capability=pb.ResourceProto(memory=memory, virtual_cores=vcores),
                                      num_containers=count)
        got: List[pb.ContainerProto] = list(self.allocate([ask]).allocated_containers)

        def more() -> bool:
            got.extend(self.allocate().allocated_containers)
            return len(got) >= count
        if len(got) < count:
            wait_for(more, timeout, f"{count} containers", interval=0.1)
        return got

    def wait_completed(self, container_ids: Iterable[ContainerId],
                       timeout: float = 30.0) -> Dict[ContainerId, pb.ContainerStatusProto]:
        wanted = set(container_ids)

        def done() -> bool:
            self.allocate()
            return wanted <= set(self.completed)
        wait_for(done, timeout, f"completion of {sorted(map(str, wanted))}", interval=0.1)
        return {c: self.completed[c] for c in wanted}

    def finish(self, status: int = pb.APP_SUCCEEDED, diagnostics: str = "",
               timeout: float = 30.0) -> spb.FinishApplicationMasterResponseProto:
        """Unregister, repeating while the RM says it is not done yet (as AMRMClient does); returns the
        first answer (an unmanaged AM's says unregistered, a managed one's not yet). Then a managed
        attempt's AM container may exit."""
        request = spb.FinishApplicationMasterRequestProto(final_application_status=status,
                                                          diagnostics=diagnostics)
        first = response = self.scheduler.call("finishApplicationMaster", request)
        deadline = time.monotonic() + timeout
        while not response.isUnregistered and time.monotonic() < deadline:
            time.sleep(0.1)
            response = self.scheduler.call("finishApplicationMaster", request)
        if not response.isUnregistered:
            raise AssertionError(f"{self.attempt_id} still not unregistered after {timeout:g} s")
        self.release_stand_in()
        return first

    # -- ContainerManagementProtocol -----------------------------------------------------------------

    def node(self, container: pb.ContainerProto) -> RpcProxy:
        """The NodeManager running ``container``, with this attempt's NMToken for it."""
        address = f"{container.nodeId.host}:{container.nodeId.port}"
        token = self.nm_tokens[address]
        user = User(str(self.attempt_id), tokens=[token])
        return self.client.proxy(address, CONTAINER_MANAGEMENT_PROTOCOL, user, token=token)

    def start(self, container: pb.ContainerProto, commands: Sequence[str],
              environment: Optional[Mapping[str, str]] = None,
              resources: Optional[Mapping[str, pb.LocalResourceProto]] = None,
              tokens: bytes = b"") -> spb.StartContainersResponseProto:
        context = pb.ContainerLaunchContextProto(
            command=list(commands),
            environment=[pb.StringStringMapProto(key=k, value=v) for k, v in (environment or {}).items()],
            localResources=[pb.StringLocalResourceMapProto(key=k, value=v)
                            for k, v in (resources or {}).items()])
        if tokens:
            context.tokens = tokens
        return self.node(container).call("startContainers", spb.StartContainersRequestProto(
            start_container_request=[spb.StartContainerRequestProto(
                container_launch_context=context, container_token=container.container_token)]))

    def stop(self, container: pb.ContainerProto) -> spb.StopContainersResponseProto:
        return self.node(container).call("stopContainers",
                                         spb.StopContainersRequestProto(container_id=[container.id]))

    def statuses(self, container: pb.ContainerProto) -> spb.GetContainerStatusesResponseProto:
        return self.node(container).call("getContainerStatuses",
                                         spb.GetContainerStatusesRequestProto(container_id=[container.id]))


def stand_in_command(directory: Path, limit: int = 600) -> str:
    """A managed AM container's command that hands its attempt to the test process: it writes
    ``<directory>/<container id>.pid`` and ``<container id>.tokens`` (a copy of its
    ``HADOOP_TOKEN_FILE_LOCATION``, which holds the AMRMToken), then waits until
    ``<container id>.done`` exists or ``directory`` is gone (at most ``limit`` seconds) and exits 0.

    No quotes and no shell variables of its own: YARN's launch script runs a command as
    ``bash -c "<command>"``, so ``$NAME`` is expanded there, from the container's environment."""
    base = f"{directory}/$CONTAINER_ID"
    return (f"echo $$ > {base}.pid && cp $HADOOP_TOKEN_FILE_LOCATION {base}.tmp && "
            f"mv {base}.tmp {base}.tokens && "
            f"timeout {limit} sh -c 'until [ -e {base}.done ] || [ ! -d {directory} ]; do sleep 0.1; done'")


def log_dir_command(command: str) -> str:
    """``command`` with its stdout and stderr in the container's log dir, as YARN applications write it."""
    return f"{command} 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"


ECHO_EXIT_CODES = (0, 3, 5)


def run_echo_scenario(cluster: Cluster, name: str = "pyarn-echo-scenario", timeout: float = 60.0,
                      managed: bool = False) -> dict:
    """The issue's main scenario: an AM runs three ``echo`` containers and succeeds.

    The AM is unmanaged, or with ``managed`` speaks for a managed attempt
    (:meth:`Cluster.submit_managed`). Container ``k`` prints ``hello from
    container k`` and exits with ``ECHO_EXIT_CODES[k]``. Returns what the tests
    check.
    """
    began = time.monotonic()
    am = cluster.submit_managed(name) if managed else cluster.submit_unmanaged(name)
    with am:
        registered = am.register()
        containers = am.allocate_containers(len(ECHO_EXIT_CODES), timeout=timeout)
        started = {}
        for k, (container, code) in enumerate(zip(containers, ECHO_EXIT_CODES)):
            command = log_dir_command(f"echo hello from container {k}") + f"; exit {code}"
            response = am.start(container, [command])
            started[ContainerId.from_proto(container.id)] = response
        expected = {ContainerId.from_proto(c.id): code for c, code in zip(containers, ECHO_EXIT_CODES)}
        statuses = am.wait_completed(expected, timeout=timeout)
        running = cluster.report(am.app_id)
        finish = am.finish(pb.APP_SUCCEEDED, "all echoes done")
        final = cluster.wait_final(am.app_id, timeout=timeout)
    return {"app_id": am.app_id, "attempt_id": am.attempt_id, "registered": registered,
            "containers": containers, "started": started, "expected": expected, "statuses": statuses,
            "running_report": running, "finish": finish, "final": final, "nm_tokens": dict(am.nm_tokens),
            "seconds": time.monotonic() - began}
