"""ApplicationClientProtocol of the mini ResourceManager (``ClientRMService``).

Each method takes the request message and the :class:`~pyarn.ipc.CallContext`
and returns the response message; bad requests raise the exception class a
Hadoop 3.3 ResourceManager raises, with its message.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator, List, Optional

from hadoop_protos import security_pb2
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as spb

from ..errors import (
    AccessControlError,
    ApplicationAttemptNotFoundError,
    ApplicationNotFoundError,
    ContainerNotFoundError,
    InvalidTokenError,
    RemoteError,
    YarnError,
)
from ..ipc import AuthMethod, CallContext
from ..security.tokens import Token
from ..yarn.ids import ApplicationAttemptId, ApplicationId, ContainerId
from ..yarn.records import ApplicationState, NodeState, Queue, QueueState, QueueStatistics
from .security import SecureCallContext
from .state import DEFAULT_QUEUE, RESOURCE_TYPES, ROOT_QUEUE, RMApp, RMAttempt, now_ms
from .validation import validate_submission

if TYPE_CHECKING:
    from .rm import ResourceManager

MAX_PRIORITY_KEY = "yarn.cluster.max-application-priority"
FEATURE_NOT_ENABLED = "org.apache.hadoop.yarn.exceptions.YARNFeatureNotEnabledException"
PROFILES_DISABLED = ("Resource profile is not enabled, please enable resource profile feature before using "
                     "its functions. (by setting yarn.resourcemanager.resource-profiles.enabled to true)")
_LONG_MAX = 2**63 - 1
IO_EXCEPTION = "java.io.IOException"


class ClientRMService:
    """Serves ``ApplicationClientProtocolPB`` for one :class:`~pyarn.minicluster.rm.ResourceManager`."""

    def __init__(self, rm: ResourceManager) -> None:
        self.rm = rm

    # -- helpers ----------------------------------------------------------------------------------

    def _app(self, proto: pb.ApplicationIdProto) -> RMApp:
        app_id = ApplicationId.from_proto(proto)
        app = self.rm.apps.get(app_id)
        if app is None:
            raise ApplicationNotFoundError(f"Application with id '{app_id}' doesn't exist in RM. "
                                           "Please check that the job submission was successful.")
        return app

    def _attempt(self, proto: pb.ApplicationAttemptIdProto) -> RMAttempt:
        app = self._app(proto.application_id)
        attempt_id = ApplicationAttemptId.from_proto(proto)
        attempt = app.attempts.get(attempt_id)
        if attempt is None:
            raise ApplicationAttemptNotFoundError(
                f"ApplicationAttempt with id '{attempt_id}' doesn't exist in RM.")
        return attempt

    # -- applications ----------------------------------------------------------------------------

    def getNewApplication(self, request: spb.GetNewApplicationRequestProto,
                          ctx: CallContext) -> spb.GetNewApplicationResponseProto:
        return spb.GetNewApplicationResponseProto(application_id=self.rm.new_application_id().to_proto(),
                                                  maximumCapability=self.rm.maximum_resource_proto())

    def submitApplication(self, request: spb.SubmitApplicationRequestProto,
                          ctx: CallContext) -> spb.SubmitApplicationResponseProto:
        context = request.application_submission_context
        if not request.HasField("application_submission_context") or not context.HasField("application_id"):
            raise RemoteError("the submission context has no application id",
                              "java.lang.NullPointerException")
        with self.rm.lock:
            if ApplicationId.from_proto(context.application_id) not in self.rm.apps:
                memory, vcores = self.rm.maximum_capability()
                context = validate_submission(context, memory, vcores)
            self.rm.submit(context, ctx.user.name)
        return spb.SubmitApplicationResponseProto()

    def getApplicationReport(self, request: spb.GetApplicationReportRequestProto,
                             ctx: CallContext) -> spb.GetApplicationReportResponseProto:
        with self.rm.lock:
            app = self._app(request.application_id)
            report = app.report_proto(_user_name(ctx), cluster_memory=self.rm.scheduler.total()[0])
            return spb.GetApplicationReportResponseProto(application_report=report)

    def getApplications(self, request: spb.GetApplicationsRequestProto,
                        ctx: CallContext) -> spb.GetApplicationsResponseProto:
        limit = request.limit if request.HasField("limit") and request.limit > 0 else _LONG_MAX
        states = {ApplicationState.from_proto(s) for s in request.application_states}
        types = {t.lower() for t in request.application_types}
        users = set(request.users)
        queues = set(request.queues)
        tags = set(request.applicationTags)
        start = _range(request, "start_begin", "start_end")
        finish = _range(request, "finish_begin", "finish_end")
        reports: List[pb.ApplicationReportProto] = []
        with self.rm.lock:
            now = now_ms()
            cluster_memory = self.rm.scheduler.total()[0]
            for app in self.rm.apps.values():
                if len(reports) >= limit:
                    break
                if request.scope == spb.OWN and app.user != ctx.user.name:
                    continue
                if types and app.application_type.lower() not in types:
                    continue
                if states and app.state.public not in states:
                    continue
                if users and app.user not in users:
                    continue
                # YARN asks the scheduler for the applications of these queues: finished ones are gone.
                if queues and (app.state.final or not queues & {app.queue, f"{ROOT_QUEUE}.{app.queue}"}):
                    continue
                if start is not None and not start[0] <= app.start_time <= start[1]:
                    continue
                if finish is not None and not finish[0] <= app.finish_time <= finish[1]:
                    continue
                if tags and not tags & set(app.tags):
                    continue
                if request.HasField("name") and app.name != request.name:
                    continue
                reports.append(app.report_proto(_user_name(ctx), now, cluster_memory))
        return spb.GetApplicationsResponseProto(applications=reports)

    def forceKillApplication(self, request: spb.KillApplicationRequestProto,
                             ctx: CallContext) -> spb.KillApplicationResponseProto:
        with self.rm.lock:
            app_id = ApplicationId.from_proto(request.application_id)
            app = self.rm.apps.get(app_id)
            if app is None:
                raise ApplicationNotFoundError(f"Trying to kill an absent application {app_id}")
            message = request.diagnostics if request.HasField("diagnostics") else None
            done = self.rm.kill(app, ctx.user.name, ctx.remote_address[0], message)
        return spb.KillApplicationResponseProto(is_kill_completed=done)

    def failApplicationAttempt(self, request: spb.FailApplicationAttemptRequestProto,
                               ctx: CallContext) -> spb.FailApplicationAttemptResponseProto:
        attempt_id = ApplicationAttemptId.from_proto(request.application_attempt_id)
        with self.rm.lock:
            app = self.rm.apps.get(attempt_id.application_id)
            if app is None:
                raise ApplicationNotFoundError(f"Trying to fail an attempt {attempt_id} of an absent "
                                               f"application {attempt_id.application_id}")
            attempt = self._attempt(request.application_attempt_id)
            self.rm.fail_attempt(attempt, "Attempt failed by user.")
        return spb.FailApplicationAttemptResponseProto()

    def moveApplicationAcrossQueues(self, request: spb.MoveApplicationAcrossQueuesRequestProto,
                                    ctx: CallContext) -> spb.MoveApplicationAcrossQueuesResponseProto:
        with self.rm.lock:
            app = self._app(request.application_id)
            if app.state.final_stored:
                raise YarnError(f"App in {app.state.value} state cannot be moved.")
            if request.target_queue not in (DEFAULT_QUEUE, f"{ROOT_QUEUE}.{DEFAULT_QUEUE}"):
                raise YarnError(f"The specified Queue: {request.target_queue} doesn't exist")
        return spb.MoveApplicationAcrossQueuesResponseProto()

    def updateApplicationPriority(self, request: spb.UpdateApplicationPriorityRequestProto,
                                  ctx: CallContext) -> spb.UpdateApplicationPriorityResponseProto:
        with self.rm.lock:
            app = self._app(request.applicationId)
            if app.state.final_stored:  # YARN answers with the priority it had
                return spb.UpdateApplicationPriorityResponseProto(
                    applicationPriority=pb.PriorityProto(priority=app.priority))
            cluster_max = self.rm.conf.get_int(MAX_PRIORITY_KEY, 0)
            app.priority = min(max(request.applicationPriority.priority, 0), cluster_max)
            return spb.UpdateApplicationPriorityResponseProto(
                applicationPriority=pb.PriorityProto(priority=app.priority))

    def updateApplicationTimeouts(self, request: spb.UpdateApplicationTimeoutsRequestProto,
                                  ctx: CallContext) -> spb.UpdateApplicationTimeoutsResponseProto:
        with self.rm.lock:
            app = self._app(request.applicationId)
            if app.state.final_stored:
                raise YarnError(f"Application is in the final state {app.state.public.value} can not update "
                                "application timeout.")
            for timeout in request.application_timeouts:
                if timeout.application_timeout_type != pb.APP_TIMEOUT_LIFETIME:
                    continue
                app.lifetime_expiry = _parse_iso(timeout.expire_time)
            return spb.UpdateApplicationTimeoutsResponseProto(
                application_timeouts=list(request.application_timeouts))

    # -- attempts and containers ---------------------------------------------------------------

    def getApplicationAttemptReport(self, request: spb.GetApplicationAttemptReportRequestProto,
                                    ctx: CallContext) -> spb.GetApplicationAttemptReportResponseProto:
        with self.rm.lock:
            attempt = self._attempt(request.application_attempt_id)
            return spb.GetApplicationAttemptReportResponseProto(
                application_attempt_report=attempt.report())

    def getApplicationAttempts(self, request: spb.GetApplicationAttemptsRequestProto,
                               ctx: CallContext) -> spb.GetApplicationAttemptsResponseProto:
        with self.rm.lock:
            app = self._app(request.application_id)
            return spb.GetApplicationAttemptsResponseProto(
                application_attempts=[a.report() for a in app.attempts.values()])

    def getContainerReport(self, request: spb.GetContainerReportRequestProto,
                           ctx: CallContext) -> spb.GetContainerReportResponseProto:
        container_id = ContainerId.from_proto(request.container_id)
        with self.rm.lock:
            self._attempt(request.container_id.app_attempt_id)
            container = self.rm.find_container(container_id)
            # Like YARN, the RM only knows containers that still run (completed ones are history).
            if container is None or not container.live:
                raise ContainerNotFoundError(f"Container with id '{container_id}' doesn't exist in RM.")
            return spb.GetContainerReportResponseProto(container_report=container.report())

    def getContainers(self, request: spb.GetContainersRequestProto,
                      ctx: CallContext) -> spb.GetContainersResponseProto:
        with self.rm.lock:
            # As YARN's scheduler, any attempt of the application answers with the current
            # attempt's containers (carried-over ones included).
            current = self._attempt(request.application_attempt_id).app.current_attempt
            assert current is not None
            return spb.GetContainersResponseProto(
                containers=[c.report() for c in current.containers.values() if c.live])

    # -- cluster and queues ------------------------------------------------------------------------

    def getClusterMetrics(self, request: spb.GetClusterMetricsRequestProto,
                          ctx: CallContext) -> spb.GetClusterMetricsResponseProto:
        with self.rm.lock:
            count = len(self.rm.nodes)
        return spb.GetClusterMetricsResponseProto(cluster_metrics=pb.YarnClusterMetricsProto(
            num_node_managers=count, num_active_nms=count, num_decommissioned_nms=0, num_lost_nms=0,
            num_unhealthy_nms=0, num_rebooted_nms=0, num_decommissioning_nms=0, num_shutdown_nms=0))

    def getClusterNodes(self, request: spb.GetClusterNodesRequestProto,
                        ctx: CallContext) -> spb.GetClusterNodesResponseProto:
        states = {NodeState.from_proto(s) for s in request.nodeStates}
        with self.rm.lock:
            nodes = [n.report().to_proto() for n in self.rm.nodes.values()
                     if not states or NodeState.RUNNING in states]
        return spb.GetClusterNodesResponseProto(nodeReports=nodes)

    def getQueueInfo(self, request: spb.GetQueueInfoRequestProto,
                     ctx: CallContext) -> spb.GetQueueInfoResponseProto:
        name = request.queueName
        with self.rm.lock:
            leaf = self._leaf_queue(request.includeApplications, _user_name(ctx))
            if name in (DEFAULT_QUEUE, f"{ROOT_QUEUE}.{DEFAULT_QUEUE}"):
                queue = leaf
            elif name == ROOT_QUEUE:
                queue = self._root_queue(leaf, request.includeChildQueues)
            else:  # YARN logs the unknown queue and answers an empty response
                return spb.GetQueueInfoResponseProto()
        return spb.GetQueueInfoResponseProto(queueInfo=queue.to_proto())

    def _leaf_queue(self, with_apps: bool, caller: str) -> Queue:
        apps = [a for a in self.rm.apps.values() if not a.state.final]
        total_memory, total_vcores = self.rm.scheduler.total()
        free_memory, free_vcores = self.rm.scheduler.available()
        used_memory, used_vcores = total_memory - free_memory, total_vcores - free_vcores
        pending = [self.rm.scheduler.pending(a.current_attempt.attempt_id) for a in apps
                   if a.current_attempt is not None]
        containers = sum(len(n.containers) for n in self.rm.nodes.values())
        every = list(self.rm.apps.values())
        stats = QueueStatistics(
            num_apps_submitted=len(self.rm.apps),
            num_apps_running=sum(1 for a in apps if a.state.public is ApplicationState.RUNNING),
            num_apps_pending=sum(1 for a in apps if a.state.public is not ApplicationState.RUNNING),
            num_apps_completed=sum(1 for a in every if a.state.final),
            num_apps_killed=sum(1 for a in every if a.state.public is ApplicationState.KILLED),
            num_apps_failed=sum(1 for a in every if a.state.public is ApplicationState.FAILED),
            num_active_users=len({a.user for a in apps}),
            available_memory=free_memory, allocated_memory=used_memory,
            pending_memory=sum(p[0] for p in pending), available_vcores=free_vcores,
            allocated_vcores=used_vcores, pending_vcores=sum(p[1] for p in pending),
            allocated_containers=containers)
        used = 100.0 * used_memory / total_memory if total_memory else 0.0
        reports = [a.report(caller, cluster_memory=total_memory) for a in apps] if with_apps else []
        return Queue(name=DEFAULT_QUEUE, state=QueueState.RUNNING, capacity=100.0, max_capacity=100.0,
                     percent_used=used, node_labels={"*"}, applications=reports, statistics=stats,
                     queue_path=f"{ROOT_QUEUE}.{DEFAULT_QUEUE}", preemption_disabled=True,
                     intra_queue_preemption_disabled=True)

    @staticmethod
    def _root_queue(leaf: Queue, with_children: bool) -> Queue:
        return Queue(name=ROOT_QUEUE, state=QueueState.RUNNING, capacity=100.0, max_capacity=100.0,
                     percent_used=leaf.percent_used, node_labels={"*"}, statistics=leaf.statistics,
                     queue_path=ROOT_QUEUE, child_queues=[leaf] if with_children else [])

    def getResourceTypeInfo(self, request: spb.GetAllResourceTypeInfoRequestProto,
                            ctx: CallContext) -> spb.GetAllResourceTypeInfoResponseProto:
        """The two resource types the mini cluster schedules (Java's YarnClient asks at start)."""
        return spb.GetAllResourceTypeInfoResponseProto(resource_type_info=RESOURCE_TYPES)

    def getResourceProfiles(self, request: spb.GetAllResourceProfilesRequestProto,
                            ctx: CallContext) -> spb.GetAllResourceProfilesResponseProto:
        raise YarnError(PROFILES_DISABLED, FEATURE_NOT_ENABLED)

    def getResourceProfile(self, request: spb.GetResourceProfileRequestProto,
                           ctx: CallContext) -> spb.GetResourceProfileResponseProto:
        raise YarnError(PROFILES_DISABLED, FEATURE_NOT_ENABLED)

    # -- delegation tokens ----------------------------------------------------------------------

    def _allowed(self, ctx: CallContext, what: str) -> None:
        """``isAllowedDelegationTokenOp``: with security, only over Kerberos; without, always."""
        if self.rm.security is not None and ctx.auth_method is not AuthMethod.KERBEROS:
            raise RemoteError(f"Delegation Token can be {what} only with kerberos authentication",
                              IO_EXCEPTION)

    def getDelegationToken(self, request: security_pb2.GetDelegationTokenRequestProto,
                           ctx: CallContext) -> security_pb2.GetDelegationTokenResponseProto:
        with _wrapped_in_yarn_exception():
            self._allowed(ctx, "issued")
            token = self.rm.rm_tokens.create_token(_user_name(ctx), request.renewer, _real_user_name(ctx))
        return security_pb2.GetDelegationTokenResponseProto(token=token.to_proto())

    def renewDelegationToken(self, request: security_pb2.RenewDelegationTokenRequestProto,
                             ctx: CallContext) -> security_pb2.RenewDelegationTokenResponseProto:
        """Renewed as the caller's short name; the RM's own login user renews as the token's
        renewer (``getRenewerForToken``: "we can always renew our own tokens")."""
        manager = self.rm.rm_tokens
        with _wrapped_in_yarn_exception():
            self._allowed(ctx, "renewed")
            token = Token.from_proto(request.token)
            own = _user_name(ctx) == self.rm.login_user
            renewer = manager.identifier_of(token.identifier).renewer if own else ctx.user.name
            expiry = manager.renew(token, renewer)
        return security_pb2.RenewDelegationTokenResponseProto(newExpiryTime=expiry)

    def cancelDelegationToken(self, request: security_pb2.CancelDelegationTokenRequestProto,
                              ctx: CallContext) -> security_pb2.CancelDelegationTokenResponseProto:
        with _wrapped_in_yarn_exception():
            self._allowed(ctx, "cancelled")
            self.rm.rm_tokens.cancel(Token.from_proto(request.token), _user_name(ctx))
        return security_pb2.CancelDelegationTokenResponseProto()

    def getClusterNodeLabels(self, request: spb.GetClusterNodeLabelsRequestProto,
                             ctx: CallContext) -> spb.GetClusterNodeLabelsResponseProto:
        return spb.GetClusterNodeLabelsResponseProto()

    def getNodeToLabels(self, request: spb.GetNodesToLabelsRequestProto,
                        ctx: CallContext) -> spb.GetNodesToLabelsResponseProto:
        return spb.GetNodesToLabelsResponseProto()

    def getLabelsToNodes(self, request: spb.GetLabelsToNodesRequestProto,
                         ctx: CallContext) -> spb.GetLabelsToNodesResponseProto:
        return spb.GetLabelsToNodesResponseProto()

    def getQueueUserAcls(self, request: spb.GetQueueUserAclsInfoRequestProto,
                         ctx: CallContext) -> spb.GetQueueUserAclsInfoResponseProto:
        acls = [pb.QACL_SUBMIT_APPLICATIONS, pb.QACL_ADMINISTER_QUEUE]
        return spb.GetQueueUserAclsInfoResponseProto(queueUserAcls=[
            pb.QueueUserACLInfoProto(queueName=ROOT_QUEUE, userAcls=acls),
            pb.QueueUserACLInfoProto(queueName=f"{ROOT_QUEUE}.{DEFAULT_QUEUE}", userAcls=acls)])


def _range(request: spb.GetApplicationsRequestProto, begin: str, end: str) -> Optional[tuple]:
    """A ``[begin, end]`` time range when either bound is set (the other defaults open)."""
    if not request.HasField(begin) and not request.HasField(end):
        return None
    return (getattr(request, begin) if request.HasField(begin) else 0,
            getattr(request, end) if request.HasField(end) else _LONG_MAX)


def _parse_iso(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time as YARN writes it (``2026-11-21T06:26:32.000+0000``)."""
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        raise YarnError(f"Error while parsing time in ISO8601 format: {text}") from None
    return int(moment.astimezone(timezone.utc).timestamp() * 1000)


#: The ``java.io.IOException`` classes the token calls raise: ``RPCUtil.getRemoteException`` wraps them.
_IO_EXCEPTIONS = frozenset({IO_EXCEPTION, AccessControlError.JAVA_CLASS, InvalidTokenError.JAVA_CLASS})


@contextmanager
def _wrapped_in_yarn_exception() -> Iterator[None]:
    """``catch (IOException e) { throw RPCUtil.getRemoteException(e); }``: a ``YarnException``
    whose message is the ``IOException``'s ``toString`` (``<class>: <message>``). Other errors
    (Java's runtime exceptions) go out as they are."""
    try:
        yield
    except RemoteError as exc:
        if exc.java_class not in _IO_EXCEPTIONS:
            raise
        raise YarnError(f"{exc.java_class}: {exc.message}") from exc


def _real_user_name(ctx: CallContext) -> Optional[str]:
    """The real user of a proxy caller as ``getUserName`` names it (its full principal), else None."""
    if isinstance(ctx, SecureCallContext):
        return ctx.real_principal
    return ctx.user.real_user


def _user_name(ctx: CallContext) -> str:
    """The caller as Hadoop's ``UserGroupInformation.getUserName`` names it: the full principal of a
    Kerberos caller (``alice@REALM``), which is what application reports compare and vouch for."""
    return getattr(ctx, "principal", "") or ctx.user.name
