"""The ResourceManager's client protocol (``ApplicationClientProtocol``), typed.

:class:`ResourceManagerClient` sends each call through one
:class:`~pyarn.ipc.FailoverProxy` over the ResourceManagers of the cluster (one
address, or every RM of an HA setup) and turns responses into the records of
:mod:`pyarn.yarn.records`. Errors are pyarn's: the RM's Java exceptions arrive
as :class:`~pyarn.errors.RemoteError` subclasses
(:class:`~pyarn.errors.ApplicationNotFoundError`, ...).

:func:`build_submission_context` builds the ``ApplicationSubmissionContextProto``
that ``submitApplication`` takes, from typed arguments.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import unquote, urlsplit

import attrs

from hadoop_protos import security_pb2
from hadoop_protos import yarn_records_pb2 as pb
from hadoop_protos import yarn_service_pb2 as rpc
from hadoop_protos.yarn_protocols_rpc import APPLICATION_CLIENT_PROTOCOL

from ..conf import Configuration, rm_addresses
from ..errors import PyarnError
from ..ipc.client import RpcClient
from ..ipc.protocol_client import ProtocolClient
from ..ipc.retry import RetryPolicy
from ..ipc.settings import IpcSettings
from ..net import AddressLike, split_authority, token_service
from ..security.credentials import Credentials
from ..security.principals import canonical_host, substitute_host
from ..security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from ..security.user import User
from .ids import ApplicationAttemptId, ApplicationId, ContainerId
from .records import (
    ApplicationAttemptReport,
    ApplicationReport,
    ApplicationState,
    ApplicationTimeoutType,
    ClusterMetrics,
    ContainerReport,
    NodeReport,
    NodeState,
    Queue,
    Resource,
    _millis,
    _time,
)

if TYPE_CHECKING:
    from ..spec.files import File

__all__ = [
    "ResourceManagerClient", "NewApplication", "QueueNotFoundError", "build_submission_context",
    "normalize_tags", "rm_principal", "MAX_TAGS", "MAX_TAG_LENGTH",
]

#: Hadoop's limits on application tags (``YarnConfiguration.RM_APPLICATION_MAX_TAGS``, ``..._TAG_LENGTH``).
MAX_TAGS = 10
MAX_TAG_LENGTH = 100
#: The access types of ``ContainerLaunchContext`` ACLs, by the name Hadoop prints.
_ACL_TYPES = ("VIEW_APP", "MODIFY_APP")
#: ``Times.formatISO8601``: the form of application timeouts on the wire.
_ISO8601 = "%Y-%m-%dT%H:%M:%S.%f%z"

AppIdLike = Union[ApplicationId, str]
AttemptIdLike = Union[ApplicationAttemptId, str]


class QueueNotFoundError(PyarnError, LookupError):
    """The scheduler knows no queue of that name (the RM answers with no queue at all)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"the scheduler has no queue {name!r}")


@attrs.frozen
class NewApplication:
    """What ``getNewApplication`` grants: an application id and the largest
    resource a container (the master's included) may ask for."""

    id: ApplicationId
    max_resource: Resource


class ResourceManagerClient(ProtocolClient):
    """Typed calls of ``ApplicationClientProtocol`` on the ResourceManagers at ``addresses``.

    ``rpc`` carries the connections; when it is not given, the client makes
    (and closes) its own with ``settings``. ``policy`` says how to retry and fail over between ``addresses``.
    ``use_ip_for_tokens`` (``hadoop.security.token.service.use_ip``) says how the service of the
    delegation tokens this client fetches names the RMs (see :attr:`token_service`).
    """

    def __init__(self, addresses: Sequence[AddressLike], *, rpc: Optional[RpcClient] = None,
                 settings: Optional[IpcSettings] = None, user: Optional[User] = None,
                 policy: Optional[RetryPolicy] = None, use_ip_for_tokens: bool = True) -> None:
        super().__init__(addresses, APPLICATION_CLIENT_PROTOCOL, rpc=rpc, settings=settings, user=user,
                         policy=policy)
        self.use_ip_for_tokens = use_ip_for_tokens

    @classmethod
    def from_conf(cls, conf: Configuration, *, user: Optional[User] = None,
                  policy: Optional[RetryPolicy] = None) -> ResourceManagerClient:
        """A client for the RMs ``conf`` names (``yarn.resourcemanager.address``, HA included), with
        IPC settings and (unless ``policy`` is given) the failover policy from ``conf``."""
        addresses = [(host, port) for _rm_id, host, port in rm_addresses(conf)]
        if user is None:
            user = User.login(conf)
        return cls(addresses, settings=IpcSettings.from_conf(conf), user=user,
                   policy=policy if policy is not None else RetryPolicy.from_conf(conf, "yarn"),
                   use_ip_for_tokens=conf.get_bool("hadoop.security.token.service.use_ip", True))

    def __repr__(self) -> str:
        return f"ResourceManagerClient({', '.join(self.addresses)})"

    # ------------------------------------------------------- delegation tokens

    @property
    def token_service(self) -> str:
        """The service of this cluster's RM delegation tokens, as Java's
        ``ClientRMProxy.getRMDelegationTokenService`` makes it: each RM's client address as
        ``ip:port`` (``host:port`` without ``use_ip``), comma-joined over the RMs of an HA cluster.
        A client holding the token presents it to any of those RMs."""
        return ",".join(token_service(host, port, self.use_ip_for_tokens)
                        for host, port in self.proxy.addresses)

    def get_delegation_token(self, renewer: str) -> Token:
        """An ``RM_DELEGATION_TOKEN`` of the calling user that ``renewer`` may renew, its service
        set to :attr:`token_service` (the RM leaves it empty).

        A Kerberized RM issues one only to a caller that authenticated with Kerberos (it refuses a
        caller holding a token: ``Delegation Token can be issued only with kerberos authentication``);
        an RM without security issues one to anybody.
        """
        request = security_pb2.GetDelegationTokenRequestProto(renewer=renewer)
        response = self._call("getDelegationToken", request)
        if not response.HasField("token"):
            raise PyarnError("the ResourceManager answered getDelegationToken without a token")
        return Token.from_proto(response.token).with_service(self.token_service)

    def renew_delegation_token(self, token: Token) -> datetime:
        """Renew an RM delegation token; returns its new expiry time (UTC). Only the token's
        renewer may renew it, authenticated with Kerberos."""
        request = security_pb2.RenewDelegationTokenRequestProto(token=_rm_token(token).to_proto())
        expiry = _time(self._call("renewDelegationToken", request), "newExpiryTime")
        if expiry is None:
            raise PyarnError("the ResourceManager renewed the delegation token without an expiry time")
        return expiry

    def cancel_delegation_token(self, token: Token) -> None:
        """Cancel an RM delegation token: no one can use it any more. Its owner or its renewer may,
        authenticated with Kerberos."""
        request = security_pb2.CancelDelegationTokenRequestProto(token=_rm_token(token).to_proto())
        self._call("cancelDelegationToken", request)


    # ------------------------------------------------------------ applications

    def get_new_application(self) -> NewApplication:
        """A new application id, and the largest resource a container may have."""
        response = self._call("getNewApplication", rpc.GetNewApplicationRequestProto())
        return NewApplication(ApplicationId.from_proto(response.application_id),
                              Resource.from_proto(response.maximumCapability))

    def submit_application(self, context: pb.ApplicationSubmissionContextProto) -> None:
        """Submit an application (see :func:`build_submission_context`)."""
        request = rpc.SubmitApplicationRequestProto(application_submission_context=context)
        self._call("submitApplication", request)

    def get_application_report(self, app_id: AppIdLike) -> ApplicationReport:
        """The report of one application; ApplicationNotFoundError if the RM does not know it."""
        request = rpc.GetApplicationReportRequestProto(application_id=_app(app_id))
        return ApplicationReport.from_proto(self._call("getApplicationReport", request).application_report)

    def get_applications(self, *, states: Iterable[ApplicationState] = (), users: Iterable[str] = (),
                         queues: Iterable[str] = (), tags: Iterable[str] = (), types: Iterable[str] = (),
                         name: Optional[str] = None,
                         started: Tuple[Optional[datetime], Optional[datetime]] = (None, None),
                         finished: Tuple[Optional[datetime], Optional[datetime]] = (None, None),
                         limit: Optional[int] = None) -> List[ApplicationReport]:
        """The applications that pass every filter given, as the RM reports them (RM order).

        An empty filter does not filter. ``tags`` and ``types`` match any of
        their items; ``started`` and ``finished`` are inclusive ``(begin, end)``
        ranges, either end open when None.
        """
        request = rpc.GetApplicationsRequestProto(
            application_states=[ApplicationState(s).to_proto() for s in states],
            users=list(users), queues=list(queues), application_types=list(types),
            applicationTags=normalize_tags(tags, limit=None), name=name, limit=limit,
            start_begin=_millis(started[0]), start_end=_millis(started[1]),
            finish_begin=_millis(finished[0]), finish_end=_millis(finished[1]))
        response = self._call("getApplications", request)
        return [ApplicationReport.from_proto(a) for a in response.applications]

    def kill_application(self, app_id: AppIdLike, diagnostics: Optional[str] = None) -> bool:
        """Ask the RM to kill an application; True once the kill is complete (call again until then)."""
        request = rpc.KillApplicationRequestProto(application_id=_app(app_id),
                                                  diagnostics=diagnostics)
        return self._call("forceKillApplication", request).is_kill_completed

    def move_application(self, app_id: AppIdLike, queue: str) -> None:
        """Move an application to another queue."""
        request = rpc.MoveApplicationAcrossQueuesRequestProto(
            application_id=_app(app_id), target_queue=queue)
        self._call("moveApplicationAcrossQueues", request)

    def update_application_priority(self, app_id: AppIdLike, priority: int) -> Optional[int]:
        """Set an application's priority; returns the priority the RM applied (it may cap it)."""
        request = rpc.UpdateApplicationPriorityRequestProto(
            applicationId=_app(app_id),
            applicationPriority=pb.PriorityProto(priority=priority))
        response = self._call("updateApplicationPriority", request)
        return response.applicationPriority.priority if response.HasField("applicationPriority") else None

    def update_application_lifetime(self, app_id: AppIdLike, expiry: datetime) -> Optional[datetime]:
        """Make an application's LIFETIME timeout expire at ``expiry`` (naive means UTC);
        returns the expiry the RM reports back."""
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)
        request = rpc.UpdateApplicationTimeoutsRequestProto(
            applicationId=_app(app_id),
            application_timeouts=[pb.ApplicationUpdateTimeoutMapProto(
                application_timeout_type=ApplicationTimeoutType.LIFETIME.to_proto(),
                expire_time=format_iso8601(expiry))])
        response = self._call("updateApplicationTimeouts", request)
        for timeout in response.application_timeouts:
            if timeout.application_timeout_type == ApplicationTimeoutType.LIFETIME.to_proto():
                return parse_iso8601(timeout.expire_time)
        return None

    # -------------------------------------------------------- attempts, containers

    def get_application_attempts(self, app_id: AppIdLike) -> List[ApplicationAttemptReport]:
        """Every attempt of an application (RM order)."""
        request = rpc.GetApplicationAttemptsRequestProto(application_id=_app(app_id))
        response = self._call("getApplicationAttempts", request)
        return [ApplicationAttemptReport.from_proto(a) for a in response.application_attempts]

    def get_application_attempt_report(self, attempt_id: AttemptIdLike) -> ApplicationAttemptReport:
        """The report of one application attempt."""
        request = rpc.GetApplicationAttemptReportRequestProto(
            application_attempt_id=_attempt(attempt_id))
        response = self._call("getApplicationAttemptReport", request)
        return ApplicationAttemptReport.from_proto(response.application_attempt_report)

    def get_containers(self, attempt_id: AttemptIdLike) -> List[ContainerReport]:
        """The containers of an application attempt that the RM still tracks (RM order)."""
        request = rpc.GetContainersRequestProto(
            application_attempt_id=_attempt(attempt_id))
        return [ContainerReport.from_proto(c) for c in self._call("getContainers", request).containers]

    def get_container_report(self, container_id: Union[ContainerId, str]) -> ContainerReport:
        """The report of one container."""
        request = rpc.GetContainerReportRequestProto(container_id=ContainerId.coerce(container_id).to_proto())
        return ContainerReport.from_proto(self._call("getContainerReport", request).container_report)

    # ------------------------------------------------------- cluster and queues

    def get_cluster_metrics(self) -> ClusterMetrics:
        """NodeManager counts by state."""
        response = self._call("getClusterMetrics", rpc.GetClusterMetricsRequestProto())
        return ClusterMetrics.from_proto(response.cluster_metrics)

    def get_cluster_nodes(self, states: Iterable[NodeState] = ()) -> List[NodeReport]:
        """The NodeManagers in ``states`` (every state when empty), RM order."""
        request = rpc.GetClusterNodesRequestProto(nodeStates=[NodeState(s).to_proto() for s in states])
        return [NodeReport.from_proto(n) for n in self._call("getClusterNodes", request).nodeReports]

    def get_queue_info(self, name: str, *, include_applications: bool = False,
                       include_child_queues: bool = False, recursive: bool = False) -> Queue:
        """A queue; with its children (all the way down when ``recursive``) and applications when asked.

        Raises :class:`QueueNotFoundError` when the scheduler has no such queue.
        """
        request = rpc.GetQueueInfoRequestProto(queueName=name, includeApplications=include_applications,
                                               includeChildQueues=include_child_queues, recursive=recursive)
        response = self._call("getQueueInfo", request)
        if not response.HasField("queueInfo"):
            raise QueueNotFoundError(name)
        return Queue.from_proto(response.queueInfo)


def _rm_token(token: Token) -> Token:
    if not isinstance(token, Token) or token.kind != RM_DELEGATION_TOKEN_KIND:
        kind = token.kind if isinstance(token, Token) else type(token).__name__
        raise ValueError(f"expected an {RM_DELEGATION_TOKEN_KIND} token, got {kind!r}")
    return token


def rm_principal(conf: Configuration) -> str:
    """The ResourceManager's Kerberos principal (``yarn.resourcemanager.principal``) with ``_HOST``
    replaced by the canonical name of the (first) RM's host: the renewer pyarn names for the
    delegation tokens it gives an application, so that YARN may renew them (Java's YARN clients
    name ``YarnClientUtils.getRmPrincipal``). PyarnError when the setting is missing."""
    principal = conf.get_str("yarn.resourcemanager.principal", "")
    if not principal:
        raise PyarnError("yarn.resourcemanager.principal is not set: cannot name the ResourceManager as "
                         "the renewer of delegation tokens")
    return substitute_host(principal, canonical_host(rm_addresses(conf)[0][1]))


def _app(app_id: AppIdLike) -> pb.ApplicationIdProto:
    return ApplicationId.coerce(app_id).to_proto()


def _attempt(attempt_id: AttemptIdLike) -> pb.ApplicationAttemptIdProto:
    return ApplicationAttemptId.coerce(attempt_id).to_proto()


# ------------------------------------------------------------------- submission


def normalize_tags(tags: Iterable[str], limit: Optional[int] = MAX_TAGS) -> List[str]:
    """Application tags as Hadoop's client sends them: lower-cased, deduplicated, sorted.

    ValueError for a tag that is empty, not printable ASCII or longer than
    ``MAX_TAG_LENGTH``, and for more than ``limit`` tags (None: no limit).
    """
    if isinstance(tags, str):
        tags = [tags]
    out = set()
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH \
                or not all(" " <= c <= "~" for c in tag):
            raise ValueError(f"application tag {tag!r}: expected 1 to {MAX_TAG_LENGTH} "
                             "printable ASCII characters")
        out.add(tag.lower())
    if limit is not None and len(out) > limit:
        raise ValueError(f"tags: {len(out)} application tags, at most {limit} are allowed")
    return sorted(out)


def build_submission_context(
        application_id: AppIdLike, *, commands: Union[str, Sequence[str]] = (), name: str = "pyarn",
        queue: str = "default", environment: Optional[Mapping[str, str]] = None,
        local_resources: Optional[Mapping[str, File]] = None, resource: Optional[Resource] = None,
        max_attempts: Optional[int] = None, tags: Iterable[str] = (), application_type: str = "PYARN",
        unmanaged_am: bool = False, tokens: Union[bytes, Credentials, None] = None,
        priority: Optional[int] = None, node_label: Optional[str] = None,
        acls: Optional[Mapping[str, str]] = None, keep_containers: bool = False,
        lifetime: Union[int, timedelta, None] = None) -> pb.ApplicationSubmissionContextProto:
    """The ``ApplicationSubmissionContextProto`` for an application.

    ``commands`` run the ApplicationMaster (joined by spaces into one shell
    line by the NodeManager); ``environment`` is its environment;
    ``local_resources`` maps the name each file gets in the container's
    working directory to a :class:`pyarn.spec.File` whose ``size`` and
    ``timestamp`` are those of the staged file. ``resource`` is the master's
    container (default 512 MiB, 1 vcore); ``max_attempts`` None or 0 takes the
    RM's default. ``tokens`` are the master's credentials (a
    :class:`~pyarn.security.credentials.Credentials` or its serialized bytes).
    ``acls`` maps ``VIEW_APP`` / ``MODIFY_APP`` to an ACL string (``"users groups"``).
    ``lifetime`` (seconds or a timedelta) sets the LIFETIME timeout.
    """
    if isinstance(commands, str):
        commands = [commands]
    if not commands and not unmanaged_am:
        raise ValueError("commands: an application with a managed master needs a command to run it")
    if max_attempts is not None and max_attempts < 0:
        raise ValueError(f"max_attempts: expected 0 or more, got {max_attempts}")
    if isinstance(tokens, Credentials):
        tokens = tokens.to_bytes()
    launch = pb.ContainerLaunchContextProto(
        command=list(commands),
        environment=[pb.StringStringMapProto(key=k, value=v) for k, v in (environment or {}).items()],
        localResources=[pb.StringLocalResourceMapProto(key=k, value=local_resource_proto(f))
                        for k, f in (local_resources or {}).items()],
        tokens=tokens,
        application_ACLs=[pb.ApplicationACLMapProto(accessType=_acl_type(kind), acl=acl)
                          for kind, acl in (acls or {}).items()],
    )
    timeouts = []
    if lifetime is not None:
        seconds = int(lifetime.total_seconds()) if isinstance(lifetime, timedelta) else int(lifetime)
        if seconds <= 0:
            raise ValueError(f"lifetime: expected a positive number of seconds, got {lifetime!r}")
        timeouts.append(pb.ApplicationTimeoutMapProto(
            application_timeout_type=ApplicationTimeoutType.LIFETIME.to_proto(), timeout=seconds))
    return pb.ApplicationSubmissionContextProto(
        application_id=ApplicationId.coerce(application_id).to_proto(),
        application_name=name,
        queue=queue,
        priority=None if priority is None else pb.PriorityProto(priority=priority),
        am_container_spec=launch,
        unmanaged_am=unmanaged_am,
        maxAppAttempts=max_attempts or 0,
        resource=(resource if resource is not None else Resource(memory=512, vcores=1)).to_proto(),
        applicationType=application_type,
        keep_containers_across_application_attempts=keep_containers,
        applicationTags=normalize_tags(tags),
        node_label_expression=node_label or None,
        application_timeouts=timeouts,
    )


def _acl_type(kind: str) -> str:
    """The ``ApplicationAccessTypeProto`` name of ``VIEW_APP`` / ``MODIFY_APP``."""
    name = kind.upper() if isinstance(kind, str) else kind
    if name not in _ACL_TYPES:
        raise ValueError(f"acls: unknown access type {kind!r}; expected one of {', '.join(_ACL_TYPES)}")
    return f"APPACCESS_{name}"


def local_resource_proto(file: File) -> pb.LocalResourceProto:
    """A ``LocalResourceProto`` for a :class:`pyarn.spec.File` (its URL split as ``URL.fromURI``)."""
    parts = urlsplit(file.source)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host: Optional[str] = None
    port: Optional[int] = None
    if hostport:
        host, port = split_authority(hostport, f"file URL {file.source!r}")
        if ":" in host:
            host = f"[{host}]"  # as Java's URI.getHost() gives an IPv6 host
    url = pb.URLProto(scheme=parts.scheme or None, host=host, port=-1 if port is None else port,
                      file=unquote(parts.path), userInfo=userinfo or None)
    return pb.LocalResourceProto(
        resource=url, size=file.size, timestamp=file.timestamp,
        type=file.type.name, visibility=file.visibility.name)


def format_iso8601(moment: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ``, the form YARN's ``Times.formatISO8601`` writes."""
    text = moment.strftime(_ISO8601)
    return text[:-8] + text[-5:]  # microseconds -> milliseconds: drop 3 digits before the zone


def parse_iso8601(text: str) -> Optional[datetime]:
    """The datetime of an ISO 8601 timeout from the RM; None for ``UNLIMITED`` or an unreadable value."""
    try:
        return datetime.strptime(text, _ISO8601)
    except (TypeError, ValueError):
        return None
