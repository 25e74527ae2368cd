"""The mini ResourceManager: application and attempt state machines, AM launch, liveness.

States and their transitions follow ``RMAppImpl`` and ``RMAppAttemptImpl``:

* application: NEW -> NEW_SAVING -> SUBMITTED -> ACCEPTED -> RUNNING, then
  FINISHING (the AM unregistered; reported as FINISHED) -> FINISHED, or FAILED
  or KILLED; a failed attempt takes a RUNNING application back to ACCEPTED
  while attempts remain (``yarn.resourcemanager.am.max-attempts``, 2).
* attempt: SUBMITTED -> SCHEDULED -> ALLOCATED -> LAUNCHED -> RUNNING ->
  FINISHING -> FINISHED, or FAILED / KILLED. An unmanaged AM's attempt goes
  straight to LAUNCHED; its submitter reads the AMRMToken from the
  application report, and it is never retried.

All state is guarded by :attr:`ResourceManager.lock`. Work that talks to a
NodeManager (launching an AM, killing containers) is queued to one worker
thread and never runs under the lock. The two RPC services live in
:mod:`.client_service` and :mod:`.am_service`.
"""
from __future__ import annotations

import concurrent.futures
import logging
import secrets
import threading
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Set, Tuple, cast

from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb
from hadoop_protos.yarn_protocols_rpc import (
    APPLICATION_CLIENT_PROTOCOL,
    APPLICATION_MASTER_PROTOCOL,
    CONTAINER_MANAGEMENT_PROTOCOL,
)

from ..conf import Configuration
from ..ipc import AuthMethod, IpcServer, RpcClient, ServerAuth
from ..security.credentials import Credentials
from ..security.groups import GroupMapping
from ..security.kerberos import short_name as first_component
from ..security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from ..security.user import User
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId, NodeId
from ..yarn.records import ApplicationAttemptState, FinalStatus, Resource
from . import diagnostics as diag
from .am_service import ApplicationMasterService
from .client_service import ClientRMService
from .delegation import (
    DelegationTokenRenewer,
    DelegationTokenSecretManager,
    TokenHandler,
    TokenRenewalError,
    rm_codec,
)
from .scheduler import FifoScheduler, Placement
from .secrets import KEY_BYTES, AMRMTokenSecretManager, ContainerTokenSecretManager, NMTokenSecretManager
from .security import ClusterSecurity, ProxyUsers, impersonation_checked
from .state import DEFAULT_QUEUE, ROOT_QUEUE, AppState, RMApp, RMAttempt, RMContainer, RMNode, now_ms

if TYPE_CHECKING:
    from .nm import NodeManager

log = logging.getLogger(__name__)

MAX_ATTEMPTS_KEY = "yarn.resourcemanager.am.max-attempts"
AM_EXPIRY_KEY = "yarn.am.liveness-monitor.expiry-interval-ms"
CONTAINER_EXPIRY_KEY = "yarn.resourcemanager.rm.container-allocation.expiry-interval-ms"
MIN_MEMORY_KEY = "yarn.scheduler.minimum-allocation-mb"
MIN_VCORES_KEY = "yarn.scheduler.minimum-allocation-vcores"
MAX_MEMORY_KEY = "yarn.scheduler.maximum-allocation-mb"
MAX_VCORES_KEY = "yarn.scheduler.maximum-allocation-vcores"
AM_PERCENT_KEY = "yarn.scheduler.capacity.maximum-am-resource-percent"
ALWAYS_CANCEL_KEY = "yarn.resourcemanager.delegation-token.always-cancel"
LOG_AGGREGATION_KEY = "yarn.log-aggregation-enable"
NM_EXPIRY_KEY = "yarn.nm.liveness-monitor.expiry-interval-ms"

#: Environment the RM adds to an AM's launch context (``AMLauncher.setupTokens`` and friends).
APP_SUBMIT_TIME_ENV = "APP_SUBMIT_TIME_ENV"
WEB_PROXY_BASE_ENV = "APPLICATION_WEB_PROXY_BASE"


class ResourceManager:
    """The RM: two IPC servers (client, scheduler), the scheduler and every application.

    ``conf`` holds the YARN settings read here (defaults as Hadoop's).
    Call :meth:`start`, attach NodeManagers with :meth:`register_node`,
    and :meth:`stop` at the end.

    Its client port takes SIMPLE and RM delegation tokens (:attr:`rm_tokens`, issued,
    renewed and cancelled over it as a YARN RM without security does), its scheduler port
    AMRMTokens.

    ``security`` (a :class:`~pyarn.minicluster.security.ClusterSecurity`) makes it a
    Kerberized RM: its client port takes KERBEROS and RM delegation tokens, its
    scheduler port AMRMTokens, both at the cluster's QOPs; callers are known by their
    short names; the delegation tokens of a submission must be renewable by the RM, which
    cancels them when the application ends (:attr:`token_renewer`, YARN's
    ``DelegationTokenRenewer``; RM delegation tokens are handled here, other kinds by the
    :class:`~pyarn.minicluster.delegation.TokenHandler` put in its ``handlers``).
    """

    def __init__(self, conf: Configuration, host: str = "127.0.0.1", *,
                 security: Optional[ClusterSecurity] = None) -> None:
        self.conf = conf
        self.host = host
        self.security = security
        self.cluster_timestamp = now_ms()
        self.lock = threading.RLock()
        self.apps: Dict[ApplicationId, RMApp] = {}
        self.nodes: Dict[NodeId, RMNode] = {}
        self._last_app_number = 0
        self.max_attempts = conf.get_int(MAX_ATTEMPTS_KEY, 2)
        self.am_expiry_ms = conf.get_int(AM_EXPIRY_KEY, 600000)
        self.container_expiry_ms = conf.get_int(CONTAINER_EXPIRY_KEY, 600000)
        self.max_memory = conf.get_int(MAX_MEMORY_KEY, 8192)
        self.max_vcores = conf.get_int(MAX_VCORES_KEY, 4)
        self.scheduler = FifoScheduler(conf.get_int(MIN_MEMORY_KEY, 1024), conf.get_int(MIN_VCORES_KEY, 1),
                                       float(conf.get_str(AM_PERCENT_KEY, "0.5")))
        self.amrm_secrets = AMRMTokenSecretManager()
        self.nm_secrets = NMTokenSecretManager()
        self.container_secrets = ContainerTokenSecretManager(self.cluster_timestamp)
        self._actions = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                              thread_name_prefix="pyarn RM actions")
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._monitor_loop, name="pyarn RM monitor", daemon=True)
        #: The user the RM runs as (``UserGroupInformation.getLoginUser``): its principal, or
        #: without security the user of this process.
        self.login_user = security.principal("rm") if security is not None else User.current().name
        #: RM delegation tokens, with or without security (the renewer stored by
        #: ``auth_to_local``, without security by the name's first component).
        self.rm_tokens = DelegationTokenSecretManager(
            rm_codec(), security.short_name if security is not None else first_component)
        #: The tokens of the applications (used with security only, as YARN does).
        self.token_renewer = DelegationTokenRenewer(
            self._defer, short_name=self.rm_tokens.short_name,
            always_cancel=conf.get_bool(ALWAYS_CANCEL_KEY, False),
            removal_delay_ms=conf.get_int(NM_EXPIRY_KEY, 600000) if conf.get_bool(LOG_AGGREGATION_KEY, False)
            else None)
        self.token_renewer.handlers[RM_DELEGATION_TOKEN_KIND] = TokenHandler(self._renew_rm_token,
                                                                             self._cancel_rm_token)
        if security is None:
            self._rpc = RpcClient()
            self.client_server = IpcServer(host, 0, name="pyarn RM client", auth=ServerAuth(
                methods=(AuthMethod.TOKEN, AuthMethod.SIMPLE), secret_manager=self.rm_tokens))
            self.client_server.register(APPLICATION_CLIENT_PROTOCOL, impersonation_checked(
                ClientRMService(self), ProxyUsers(conf, GroupMapping())))
            scheduler_auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=self.amrm_secrets)
        else:
            self._rpc = RpcClient(security.ipc_settings())
            self.client_server = IpcServer(host, 0, name="pyarn RM client",
                                           auth=security.server_auth("rm", self.rm_tokens))
            self.client_server.register(APPLICATION_CLIENT_PROTOCOL,
                                        security.authorized(ClientRMService(self)))
            scheduler_auth = security.server_auth(None, self.amrm_secrets)
        self.scheduler_server = IpcServer(host, 0, name="pyarn RM scheduler", auth=scheduler_auth)
        self.scheduler_server.register(APPLICATION_MASTER_PROTOCOL, ApplicationMasterService(self))

    # ------------------------------------------------------------------ lifecycle

    @property
    def client_address(self) -> str:
        return self.client_server.address_string

    @property
    def scheduler_address(self) -> str:
        return self.scheduler_server.address_string

    def start(self) -> ResourceManager:
        self.client_server.start()
        self.scheduler_server.start()
        self._monitor.start()
        return self

    def stop(self) -> None:
        """Stop serving and the timers; wait for queued NodeManager work (NMs kill their own containers)."""
        self._stopping.set()
        self.client_server.stop()
        self.scheduler_server.stop()
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
        self._actions.shutdown(wait=True)
        self._rpc.close()

    def register_node(self, manager: NodeManager) -> RMNode:
        """Add a NodeManager (its ``node_id``, ``capability`` and ``http_address``)."""
        with self.lock:
            node = RMNode(manager.node_id, manager.capability, manager.http_address, manager)
            self.nodes[node.node_id] = node
            self.scheduler.add_node(node)
            self.schedule()
            return node

    def _defer(self, action: Callable[..., object], *args) -> None:
        """Run ``action`` on the worker thread, outside the lock."""
        if self._stopping.is_set():
            return
        try:
            self._actions.submit(self._guarded, action, *args)
        except RuntimeError:  # the executor is shut down: the cluster is stopping
            pass

    @staticmethod
    def _guarded(action: Callable[..., object], *args) -> None:
        try:
            action(*args)
        except Exception:
            log.exception("mini ResourceManager: %s failed", getattr(action, "__name__", action))

    # ------------------------------------------------------------------ capacities

    def maximum_capability(self) -> Tuple[int, int]:
        """The largest container: the configured maximum, capped by the largest node."""
        with self.lock:
            memory = min(self.max_memory, self.scheduler.max_memory or self.max_memory)
            vcores = min(self.max_vcores, self.scheduler.max_vcores or self.max_vcores)
            return memory, vcores

    def maximum_resource_proto(self) -> pb.ResourceProto:
        memory, vcores = self.maximum_capability()
        return Resource(memory, vcores).to_proto()

    # ------------------------------------------------------------------ applications

    def new_application_id(self) -> ApplicationId:
        with self.lock:
            self._last_app_number += 1
            return ApplicationId(self.cluster_timestamp, self._last_app_number)

    def submit(self, context: pb.ApplicationSubmissionContextProto, user: str) -> None:
        """Accept a validated submission (see :mod:`.client_service`); a known id is ignored, as YARN does."""
        app_id = ApplicationId.from_proto(context.application_id)
        with self.lock:
            if app_id in self.apps:
                log.info("application %s was submitted before", app_id)
                return
            requested = context.maxAppAttempts
            max_attempts = requested if 0 < requested <= self.max_attempts else self.max_attempts
            app = RMApp(app_id, context, user, context.queue, max_attempts,
                        priority=context.priority.priority if context.HasField("priority") else 0)
            for timeout in context.application_timeouts:
                if timeout.application_timeout_type == pb.APP_TIMEOUT_LIFETIME and timeout.timeout > 0:
                    app.lifetime_expiry = app.submit_time + timeout.timeout * 1000
            self.apps[app_id] = app
            app.state = AppState.NEW_SAVING
            app.state = AppState.SUBMITTED
            if context.queue not in (DEFAULT_QUEUE, f"{ROOT_QUEUE}.{DEFAULT_QUEUE}"):
                self._end_app(app, AppState.FAILED, FinalStatus.FAILED, f"Application {app_id} submitted by "
                              f"user {user} to unknown queue: {context.queue}")
                return
            app.queue = DEFAULT_QUEUE
            failure = self._add_tokens(app)
            if failure is not None:
                self._end_app(app, AppState.FAILED, FinalStatus.FAILED, failure)
                return
            app.state = AppState.ACCEPTED
            self._start_attempt(app)

    def _add_tokens(self, app: RMApp) -> Optional[str]:
        """YARN's ``DelegationTokenRenewer`` at submission (secure mode only, as YARN): the RM renews
        the delegation tokens in the AM's credentials (:attr:`token_renewer`); the diagnostics of
        the first it cannot renew."""
        if self.security is None:
            return None
        tokens: List[Token] = []
        if app.context.am_container_spec.tokens:
            try:
                credentials = Credentials.from_bytes(app.context.am_container_spec.tokens, "the AM's tokens")
            except Exception as exc:  # validation let it through: report it as YARN would
                return f"Failed to parse the credentials of {app.app_id}: {exc}"
            tokens = list(credentials.tokens.values())
        try:
            self.token_renewer.add_application(app.app_id, tokens, app.context.cancel_tokens_when_complete)
        except TokenRenewalError as exc:
            return str(exc)
        return None

    def _renew_rm_token(self, token: Token) -> None:
        """``RMDelegationTokenIdentifier.Renewer`` for the RM's own token: renewed as its renewer
        (the RM may always renew its own tokens)."""
        self.rm_tokens.renew(token, self.rm_tokens.identifier_of(token.identifier).renewer)

    def _cancel_rm_token(self, token: Token) -> None:
        self.rm_tokens.cancel(token, self.rm_tokens.identifier_of(token.identifier).renewer)

    def kill(self, app: RMApp, user: str, address: str, message: Optional[str]) -> bool:
        """``forceKillApplication``; returns ``is_kill_completed`` as YARN does (True for unmanaged AMs)."""
        with self.lock:
            if app.state.final_stored:
                return True
            self._kill_app(app, diag.app_killed(str(app.app_id), user, address, message))
            return app.unmanaged

    def _kill_app(self, app: RMApp, text: str) -> None:
        attempt = app.current_attempt
        if attempt is not None and not attempt.ended:
            self._end_attempt(attempt, ApplicationAttemptState.KILLED, text)
        self._end_app(app, AppState.KILLED, FinalStatus.KILLED, text)

    def fail_attempt(self, attempt: RMAttempt, text: str) -> None:
        """``failApplicationAttempt``: as YARN's ``AttemptFailedTransition``, the AM container is
        not stopped, so with keep-containers it is handed over to the next attempt like the others."""
        with self.lock:
            if attempt.ended or attempt.app.state.final_stored:
                return
            self._attempt_failed(attempt, text, stop_am=False)

    def _start_attempt(self, app: RMApp, previous: Optional[RMAttempt] = None,
                       blacklist: Iterable[str] = ()) -> None:
        """Start the application's next attempt; a ``previous`` one hands over its containers."""
        attempt_id = ApplicationAttemptId(app.app_id, len(app.attempts) + 1)
        attempt = RMAttempt(attempt_id, app, state=ApplicationAttemptState.SUBMITTED)
        if self.security is not None:
            attempt.client_token_key = secrets.token_bytes(KEY_BYTES)
        app.attempts[attempt_id] = attempt
        if previous is not None:
            _take_over(attempt, previous)
        if app.unmanaged:
            attempt.amrm_token = self.amrm_secrets.create_token(attempt_id)
            attempt.state = ApplicationAttemptState.LAUNCHED
            attempt.last_ping = now_ms()
            attempt.diagnostics = "AM container is launched, waiting for AM container to Register with RM"
            self.scheduler.add_attempt(attempt_id, blacklist=blacklist)
            return
        resource = app.context.resource
        attempt.state = ApplicationAttemptState.SCHEDULED
        attempt.diagnostics = (f"[{diag.rm_date()}] Application is Activated, waiting for resources to be "
                               "assigned for AM.")
        self.scheduler.add_attempt(attempt_id, resource.memory, max(resource.virtual_cores, 1), blacklist)
        self.schedule()

    def _end_app(self, app: RMApp, state: AppState, final_status: FinalStatus, text: str) -> None:
        app.state = state
        app.final_status = final_status
        app.diagnostics = text
        if not app.finish_time:
            app.finish_time = now_ms()  # FINISHING included: YARN reports it as FINISHED
        if state.final:
            for node in self.nodes.values():
                self._defer(node.manager.finish_application, app.app_id)
            if self.security is not None:  # RMAppManager.finishApplication
                self.token_renewer.application_finished(app.app_id, now_ms())

    # ------------------------------------------------------------------ attempts

    def registered(self, attempt: RMAttempt, host: str, rpc_port: int, tracking_url: str) -> None:
        """The AM registered: the attempt and the application run."""
        attempt.state = ApplicationAttemptState.RUNNING
        attempt.host = host or "N/A"
        attempt.rpc_port = rpc_port
        attempt.tracking_url = tracking_url or None
        attempt.diagnostics = ""
        attempt.registered = True
        if attempt.app.state is AppState.ACCEPTED:
            attempt.app.state = AppState.RUNNING

    def unregistered(self, attempt: RMAttempt, final_status: FinalStatus, text: str,
                     tracking_url: str) -> None:
        """The AM called ``finishApplicationMaster`` (``RMAppAttemptImpl.updateInfoOnAMUnregister``)."""
        app = attempt.app
        attempt.progress = 1.0
        attempt.final_status = final_status
        attempt.diagnostics = text
        if tracking_url:
            attempt.tracking_url = tracking_url
        if app.unmanaged:
            self._end_attempt(attempt, ApplicationAttemptState.FINISHED, text)
            self._end_app(app, AppState.FINISHED, final_status, text)
            return
        attempt.state = ApplicationAttemptState.FINISHING
        self._end_app(app, AppState.FINISHING, final_status, text)

    def _end_attempt(self, attempt: RMAttempt, state: ApplicationAttemptState, text: str,
                     keep: bool = False, stop_am: bool = True) -> Set[str]:
        """Finish ``attempt``: its token stops working and the containers it holds end.

        With ``keep`` (work-preserving AM restart) a container the NodeManager
        runs outlives the attempt, as in the schedulers' ``doneApplicationAttempt``;
        the others end and their completions go to the next attempt. The AM's own
        running container is then stopped through its NodeManager (``AMLauncher``
        cleanup) if ``stop_am``. Returns the attempt's blacklist.
        """
        attempt.state = state
        attempt.finish_time = now_ms()
        attempt.diagnostics = text
        self.amrm_secrets.unregister(attempt.attempt_id)
        self.nm_secrets.forget(attempt.attempt_id)
        blacklist = self.scheduler.remove_attempt(attempt.attempt_id)
        for container in list(attempt.containers.values()):
            if not container.live:
                continue
            if keep and container.state == "RUNNING":
                if container is attempt.am_container:
                    # The attempt's AM share is given back now (``LeafQueue.finishApplicationAttempt``).
                    self.scheduler.am_memory -= container.memory
                    container.is_am = False
                    if stop_am:
                        self._defer(container.node.manager.kill_container, container.container_id,
                                    diag.KILLED_BY_APPMASTER, diag.KILLED_BY_APPMASTER_TEXT)
                continue
            self._complete(container, diag.ABORTED, diag.COMPLETED_APPLICATION)
            if keep:
                attempt.finished_statuses.append(container.status())
            self._defer(container.node.manager.kill_container, container.container_id,
                        diag.KILLED_BY_RESOURCEMANAGER, "Container Killed by ResourceManager")
        attempt.new_containers.clear()
        return blacklist

    def _attempt_failed(self, attempt: RMAttempt, text: str, stop_am: bool = True) -> None:
        """Fail ``attempt``; start another one or fail the application.

        When another attempt follows and the application was submitted with
        ``keep_containers_across_application_attempts`` (never for an unmanaged
        AM), that attempt takes over the running containers (see :meth:`_end_attempt`).
        """
        app = attempt.app
        failures = 1 + sum(1 for a in app.attempts.values() if a.state is ApplicationAttemptState.FAILED)
        retry = not app.unmanaged and not app.state.final_stored and failures < app.max_attempts
        keep = retry and app.context.keep_containers_across_application_attempts
        blacklist = self._end_attempt(attempt, ApplicationAttemptState.FAILED, text, keep, stop_am)
        if app.state.final_stored:
            return
        if retry:
            app.state = AppState.ACCEPTED
            self._start_attempt(app, attempt if keep else None, blacklist if keep else ())
        else:
            self._end_app(app, AppState.FAILED, FinalStatus.FAILED,
                          diag.app_failed(str(app.app_id), failures, text))

    @staticmethod
    def tracking_page(app: RMApp) -> str:
        """The application's tracking page, quoted in attempt diagnostics (no web UI here)."""
        attempt = app.current_attempt
        return attempt.tracking_url if attempt is not None and attempt.tracking_url else "N/A"

    # ------------------------------------------------------------------ containers

    def schedule(self) -> None:
        for placement in self.scheduler.schedule():
            self._allocate(placement)

    def _allocate(self, placement: Placement) -> None:
        app = self.apps[placement.attempt_id.application_id]
        attempt = app.attempts[placement.attempt_id]
        container_id = ContainerId.from_parts(attempt.attempt_id, attempt.next_container)
        attempt.next_container += 1
        created = now_ms()
        token = self.container_secrets.create_token(
            container_id, placement.node.node_id, app.user,
            Resource(placement.memory, placement.vcores).to_proto(), placement.priority, created,
            created + self.container_expiry_ms, placement.is_am, placement.allocation_request_id)
        container = RMContainer(container_id, attempt, placement.node, placement.memory, placement.vcores,
                                placement.priority, token, is_am=placement.is_am,
                                allocation_request_id=placement.allocation_request_id, created=created)
        attempt.containers[container_id] = container
        placement.node.containers[container_id] = container
        if placement.is_am:
            attempt.am_container = container
            attempt.state = ApplicationAttemptState.ALLOCATED
            attempt.amrm_token = self.amrm_secrets.create_token(attempt.attempt_id)
            attempt.diagnostics = (f"[{diag.rm_date()}] Scheduler has assigned a container for AM, waiting "
                                   "for AM container to be launched")
            self._defer(self._launch_am, attempt, container)
        else:
            attempt.new_containers.append(container)

    def _complete(self, container: RMContainer, exit_status: int, text: str) -> None:
        """Mark ``container`` completed RM-side and give its resources back."""
        container.state = "COMPLETE"
        container.finished = now_ms()
        container.exit_status = exit_status
        container.diagnostics = text
        app = container.attempt.app
        seconds = container.seconds(container.finished)
        app.memory_seconds += container.memory * seconds
        app.vcore_seconds += container.vcores * seconds
        container.node.containers.pop(container.container_id, None)
        self.scheduler.release(container.node, container.memory, container.vcores, container.is_am)

    def find_container(self, container_id: ContainerId) -> Optional[RMContainer]:
        """The container, held by the attempt that allocated it or, once carried over, the current one."""
        app = self.apps.get(container_id.application_id)
        if app is None:
            return None
        for attempt in (app.attempts.get(container_id.application_attempt_id), app.current_attempt):
            if attempt is not None and container_id in attempt.containers:
                return attempt.containers[container_id]
        return None

    def release(self, attempt: RMAttempt, container_id: ContainerId) -> None:
        """The AM gives a container back (``allocate`` releases)."""
        container = attempt.containers.get(container_id)
        if container is None or not container.live:
            return
        self._complete(container, diag.ABORTED, diag.RELEASED_CONTAINER)
        if container in attempt.new_containers:
            attempt.new_containers.remove(container)
        attempt.finished_statuses.append(container.status())
        # The AM may have started it without the NM having said so yet: the NM ignores unknown ids.
        self._defer(container.node.manager.kill_container, container_id, diag.KILLED_BY_RESOURCEMANAGER,
                    "Container Killed by ResourceManager")

    # -- reports from NodeManagers (called without the NM's lock held) --------------------------

    def container_launched(self, container_id: ContainerId) -> None:
        with self.lock:
            container = self.find_container(container_id)
            if container is not None and container.live:
                container.state = "RUNNING"

    def container_finished(self, status: pb.ContainerStatusProto) -> None:
        """A NodeManager reports a completed container (its exit status and diagnostics)."""
        container_id = ContainerId.from_proto(status.container_id)
        with self.lock:
            container = self.find_container(container_id)
            if container is None or not container.live:
                return
            self._complete(container, status.exit_status, status.diagnostics)
            attempt = container.attempt
            if container is not attempt.am_container:  # a carried-over AM container included
                attempt.finished_statuses.append(status)
            elif attempt.state is ApplicationAttemptState.FINISHING:
                self._end_attempt(attempt, ApplicationAttemptState.FINISHED, attempt.diagnostics)
                self._end_app(attempt.app, AppState.FINISHED, attempt.final_status, attempt.app.diagnostics)
            elif attempt.state in (ApplicationAttemptState.ALLOCATED, ApplicationAttemptState.LAUNCHED,
                                   ApplicationAttemptState.RUNNING):
                self._attempt_failed(attempt, diag.am_container_exited(
                    str(attempt.attempt_id), status.exit_status, status.diagnostics,
                    self.tracking_page(attempt.app)))
            self.schedule()

    # -- AM launch (worker thread) --------------------------------------------------------------

    def _launch_am(self, attempt: RMAttempt, container: RMContainer) -> None:
        with self.lock:
            if attempt.state is not ApplicationAttemptState.ALLOCATED:
                return
            app = attempt.app
            spec = pb.ContainerLaunchContextProto()
            spec.CopyFrom(app.context.am_container_spec)
            credentials = Credentials.from_bytes(spec.tokens) if spec.tokens else Credentials()
            assert attempt.amrm_token is not None
            credentials.add_token(attempt.amrm_token.service, attempt.amrm_token)
            spec.tokens = credentials.to_bytes()
            spec.environment.add(key=APP_SUBMIT_TIME_ENV, value=str(app.submit_time))
            spec.environment.add(key=WEB_PROXY_BASE_ENV, value=f"/proxy/{app.app_id}")
            nm_token = self.nm_secrets.create_token(attempt.attempt_id, container.node.node_id, app.user)
            request = spb.StartContainersRequestProto(start_container_request=[spb.StartContainerRequestProto(
                container_launch_context=spec, container_token=container.token.to_proto())])
            address = ("127.0.0.1", container.node.node_id.port)
        error = None
        try:
            user = User(str(attempt.attempt_id), tokens=(nm_token,))
            proxy = self._rpc.proxy(address, CONTAINER_MANAGEMENT_PROTOCOL, user, token=nm_token)
            response = cast(spb.StartContainersResponseProto, proxy.call("startContainers", request))
            if response.failed_requests:
                error = response.failed_requests[0].exception.message
        except Exception as exc:  # any failure to launch fails the attempt, as AMLauncher does
            error = f"{type(exc).__name__}: {exc}"
        with self.lock:
            if error is not None:
                if attempt.state is ApplicationAttemptState.ALLOCATED:
                    self._attempt_failed(attempt,
                                         f"Error launching {attempt.attempt_id}. Got exception: {error}")
                return
            if attempt.state is ApplicationAttemptState.ALLOCATED:
                self.launched(attempt)

    def launched(self, attempt: RMAttempt) -> None:
        """The AM container was started: the AM has ``am_expiry_ms`` to register and heartbeat."""
        attempt.state = ApplicationAttemptState.LAUNCHED
        attempt.last_ping = now_ms()
        attempt.app.launch_time = attempt.last_ping
        attempt.diagnostics = "AM container is launched, waiting for AM container to Register with RM"

    # -- timers ----------------------------------------------------------------------------------

    def _monitor_loop(self) -> None:
        interval = max(min(self.am_expiry_ms, self.container_expiry_ms) / 5000.0, 0.05)
        interval = min(interval, 1.0)
        while not self._stopping.wait(interval):
            try:
                self.check_timers()
            except Exception:
                log.exception("mini ResourceManager: timer check failed")

    def check_timers(self, now: Optional[int] = None) -> None:
        """Expire silent AMs, unused containers and applications past their lifetime."""
        now = now_ms() if now is None else now
        with self.lock:
            self.token_renewer.check(now)
            for app in list(self.apps.values()):
                if app.state.final:
                    continue
                expired = app.lifetime_expiry is not None and now >= app.lifetime_expiry
                if expired and not app.state.final_stored:
                    self._kill_app(app, diag.LIFETIME_EXCEEDED)
                    continue
                attempt = app.current_attempt
                if attempt is None:
                    continue
                if attempt.live and now - attempt.last_ping > self.am_expiry_ms:
                    if attempt.state is ApplicationAttemptState.FINISHING:
                        self._end_attempt(attempt, ApplicationAttemptState.FINISHED, attempt.diagnostics)
                        self._end_app(app, AppState.FINISHED, attempt.final_status, app.diagnostics)
                    else:  # an expired AM's container is stopped (``AMLauncher`` cleanup)
                        self._attempt_failed(attempt, diag.am_expired(str(attempt.attempt_id)))
                    continue
                for container in list(attempt.containers.values()):
                    if container.state in ("NEW", "ACQUIRED") and not container.is_am \
                            and now - container.created > self.container_expiry_ms:
                        self._complete(container, diag.ABORTED, diag.EXPIRED_CONTAINER)
                        if container in attempt.new_containers:
                            attempt.new_containers.remove(container)
                        attempt.finished_statuses.append(container.status())
            self.schedule()


def _take_over(attempt: RMAttempt, previous: RMAttempt) -> None:
    """Work-preserving AM restart: ``attempt`` holds ``previous``'s live containers
    (``SchedulerApplicationAttempt.transferStateFromPreviousAttempt``) and gets the
    completions ``previous``'s AM has not seen, or may have missed: those of its last
    heartbeat too (``RMAppAttemptImpl.transferStateFromAttempt``)."""
    for container_id, container in list(previous.containers.items()):
        if container.live:
            del previous.containers[container_id]
            container.attempt = attempt
            attempt.containers[container_id] = container
    last = previous.last_response
    resent = list(last.completed_container_statuses) if last is not None else []
    attempt.finished_statuses = resent + previous.finished_statuses
    previous.finished_statuses = []
