"""The front door: :class:`Client`, for everything a user asks the ResourceManager.

Method names are Skein's where Skein has the method. A client reads the
Hadoop configuration when it is made and connects on first use; it keeps its
connections until :meth:`Client.close` (or the end of a ``with`` block).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Iterable, List, Optional, Sequence, Tuple, Union

from .conf import Configuration
from .errors import ApplicationNotFoundError, PyarnError
from .ipc import RetryPolicy
from .security.tokens import Token
from .security.user import User
from .yarn.ids import ApplicationAttemptId, ApplicationId
from .yarn.records import (
    ApplicationAttemptReport,
    ApplicationReport,
    ApplicationState,
    ClusterMetrics,
    ContainerReport,
    NodeReport,
    NodeState,
    Queue,
)
from .yarn.resourcemanager import (
    NewApplication,
    ResourceManagerClient,
    build_submission_context,
    rm_principal,
)

if TYPE_CHECKING:
    from .app_client import ApplicationClient
    from .submit import SpecLike

__all__ = ["Client", "WaitTimeoutError", "ApplicationFinishedError"]

#: Skein's default for ``get_applications``: the applications that are not finished.
ACTIVE_STATES = (ApplicationState.SUBMITTED, ApplicationState.ACCEPTED, ApplicationState.RUNNING)
#: States an application passes through before the RM has stored it.
_UNSAVED_STATES = (ApplicationState.NEW, ApplicationState.NEW_SAVING)
FINAL_STATES = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
#: First sleep between report polls; it doubles up to the configured poll interval.
_FIRST_POLL = 0.02
_POLL_INTERVAL_KEY = "yarn.client.application-client-protocol.poll-interval-ms"
_POLL_TIMEOUT_KEY = "yarn.client.application-client-protocol.poll-timeout-ms"
#: Time formats ``get_applications`` accepts in strings, as Skein does; times alone are today's.
_DATETIME_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S")
_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)

AppIdLike = Union[ApplicationId, str]
TimeLike = Union[datetime, str, None]


class WaitTimeoutError(PyarnError, TimeoutError):
    """The RM did not get an application to the state waited for within
    ``yarn.client.application-client-protocol.poll-timeout-ms``."""


class ApplicationFinishedError(PyarnError):
    """The application has ended, so there is no master to talk to."""


class Client:
    """A client of the cluster's ResourceManager(s).

    ``Client()`` reads the Hadoop configuration of the environment
    (``YARN_CONF_DIR``, ``HADOOP_CONF_DIR``, ``HADOOP_HOME``); ``conf_dir``
    names a configuration directory instead, ``conf`` passes a loaded
    :class:`~pyarn.conf.Configuration`. ``user`` is the user to act as (a
    name or a :class:`~pyarn.security.user.User`; default: the login user, see
    :meth:`~pyarn.security.user.User.login`: the Kerberos principal's short name on a
    secure cluster, else ``HADOOP_USER_NAME`` or the OS user, with the tokens of
    ``HADOOP_TOKEN_FILE_LOCATION``). ``retry_policy`` replaces the failover policy the
    configuration sets (``yarn.client.failover-*``).

    ``principal`` and ``keytab`` log this process in to Kerberos from a keytab
    (as Java's ``UserGroupInformation.loginUserFromKeytab``): every later
    connection on a secure cluster, this client's and the HDFS staging's, uses
    that login; without them the ticket cache (``KRB5CCNAME``) is used.

    For :meth:`submit`: ``staging_dir`` is where applications are staged
    (default: the ``pyarn.staging-dir`` setting, else ``.pyarn`` in the
    user's home on the default file system, see :mod:`pyarn.staging`);
    ``python`` is the command that runs Python on the nodes for ``pyarn-am``
    when the spec does not say (see :mod:`pyarn.submit`).
    """

    def __init__(self, conf_dir: Union[str, os.PathLike, None] = None, *,
                 conf: Optional[Configuration] = None, user: Union[str, User, None] = None,
                 retry_policy: Optional[RetryPolicy] = None, staging_dir: Optional[str] = None,
                 python: Optional[str] = None, principal: Optional[str] = None,
                 keytab: Optional[str] = None) -> None:
        if conf is not None and conf_dir is not None:
            raise ValueError("Client: give conf_dir or conf, not both")
        if (principal is None) != (keytab is None):
            raise ValueError("Client: a Kerberos login needs both principal and keytab")
        if principal is not None and keytab is not None:
            from .security.kerberos import login_from_keytab

            login_from_keytab(principal, keytab)
        self.staging_dir = os.fspath(staging_dir) if staging_dir is not None else None
        self.python = python
        self.conf = conf if conf is not None else Configuration.load(conf_dir)
        self.user = user if isinstance(user, User) else User(user) if user else User.login(self.conf)
        self.rm = ResourceManagerClient.from_conf(self.conf, user=self.user, policy=retry_policy)
        self._poll_interval = max(self.conf.get_int(_POLL_INTERVAL_KEY, 200), 1) / 1000.0
        timeout = self.conf.get_int(_POLL_TIMEOUT_KEY, -1)
        self._poll_timeout = timeout / 1000.0 if timeout >= 0 else None

    def __repr__(self) -> str:
        return f"Client<{', '.join(self.addresses)}, user={self.user.name!r}>"

    @property
    def addresses(self) -> Tuple[str, ...]:
        """The ResourceManager addresses (``host:port``), in failover order."""
        return self.rm.addresses

    def close(self) -> None:
        """Close the connections to the ResourceManager."""
        self.rm.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ applications

    def get_applications(self, states: Optional[Iterable[Union[ApplicationState, str]]] = None,
                         name: Optional[str] = None, user: Optional[str] = None, queue: Optional[str] = None,
                         tags: Iterable[str] = (), started_begin: TimeLike = None,
                         started_end: TimeLike = None, finished_begin: TimeLike = None,
                         finished_end: TimeLike = None) -> List[ApplicationReport]:
        """Reports of the applications that pass every filter, sorted by id.

        ``states`` (names or ApplicationState members) defaults to
        SUBMITTED, ACCEPTED and RUNNING. ``tags``
        selects applications with any of the tags. The time bounds are
        inclusive and take a datetime (naive means UTC) or a string
        ``YYYY-M-D[ H:M[:S]]`` or ``H:M[:S]`` (today, UTC).
        """
        wanted = ACTIVE_STATES if states is None else _enums(ApplicationState, states)
        started = (_parse_time(started_begin, "started_begin"), _parse_time(started_end, "started_end"))
        finished = (_parse_time(finished_begin, "finished_begin"), _parse_time(finished_end, "finished_end"))
        reports = self.rm.get_applications(
            states=wanted, name=name, users=[user] if user else (), queues=[queue] if queue else (),
            tags=tags, started=started, finished=finished)
        # Hadoop 2 RMs ignore the name filter.
        return sorted((r for r in reports if name is None or r.name == name), key=lambda r: r.id)

    def application_report(self, app_id: AppIdLike) -> ApplicationReport:
        """The report of one application."""
        return self.rm.get_application_report(app_id)

    def kill_application(self, app_id: AppIdLike, diagnostics: Optional[str] = None) -> None:
        """Kill an application and wait until the RM has killed it (as Java's ``YarnClient`` does).

        ``diagnostics`` is added to the application's diagnostics. For a pyarn
        application submitted from here (its secret is saved here), what the
        submission left is removed too: its staging directory (which its master
        may never have started to remove) and the secret.
        """
        deadline = None if self._poll_timeout is None else time.monotonic() + self._poll_timeout
        while not self.rm.kill_application(app_id, diagnostics):
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(f"timed out waiting for application {app_id} to be killed")
            time.sleep(self._poll_interval)
        self._clean_up(app_id)

    def _clean_up(self, app_id: AppIdLike) -> None:
        from .application.security import secret_path

        if secret_path(app_id).exists():
            from .submit import clean_up

            clean_up(self, ApplicationId.coerce(app_id))

    def move_application(self, app_id: AppIdLike, queue: str) -> None:
        """Move an application to ``queue``."""
        self.rm.move_application(app_id, queue)

    def update_priority(self, app_id: AppIdLike, priority: int) -> Optional[int]:
        """Change an application's priority; returns the priority the RM set (it may cap it)."""
        return self.rm.update_application_priority(app_id, priority)

    def update_timeout(self, app_id: AppIdLike, lifetime: Union[datetime, timedelta, int, float]
                       ) -> Optional[datetime]:
        """Make an application's lifetime end at ``lifetime``: a datetime (naive means UTC), or a
        timedelta or seconds from now. Returns the expiry time the RM reports back."""
        if isinstance(lifetime, (int, float)):
            lifetime = timedelta(seconds=lifetime)
        expiry = datetime.now(_UTC) + lifetime if isinstance(lifetime, timedelta) else lifetime
        return self.rm.update_application_lifetime(app_id, expiry)

    def get_attempts(self, app_id: AppIdLike) -> List[ApplicationAttemptReport]:
        """Reports of every attempt of an application, sorted by id."""
        return sorted(self.rm.get_application_attempts(app_id), key=lambda a: a.id)

    def get_containers(self, attempt_id: Union[ApplicationAttemptId, str]) -> List[ContainerReport]:
        """Reports of the containers of an application attempt, sorted by id."""
        return sorted(self.rm.get_containers(attempt_id), key=lambda c: c.id)

    # -------------------------------------------------------------- submission

    def new_application(self) -> NewApplication:
        """A new application id and the largest resource a container may have."""
        return self.rm.get_new_application()

    def submit_context(self, *, application_id: Optional[AppIdLike] = None,
                       commands: Union[str, Sequence[str]] = (), **context) -> ApplicationId:
        """Submit an application from low-level parts; returns its id once the RM has stored it.

        ``application_id`` comes from :meth:`new_application` (one is asked
        for when None). The other arguments are those of
        :func:`~pyarn.yarn.resourcemanager.build_submission_context`: ``name``,
        ``queue``, ``commands``, ``environment``, ``local_resources``,
        ``resource``, ``max_attempts``, ``tags``, ``application_type``,
        ``unmanaged_am``, ``tokens``, ``priority``, ``node_label``, ``acls``,
        ``keep_containers``, ``lifetime``.
        """
        app_id = (ApplicationId.coerce(application_id) if application_id is not None
                  else self.new_application().id)
        submission = build_submission_context(app_id, commands=commands, **context)
        self.rm.submit_application(submission)
        self._wait_until_stored(app_id, submission)
        return app_id

    def submit(self, spec: SpecLike, *, rm_delegation_token: bool = False) -> ApplicationId:
        """Submit an application; returns its id once the ResourceManager has accepted it.

        ``spec`` is an :class:`~pyarn.spec.ApplicationSpec`, a dict or the path
        of a spec file. It is validated completely first: a bad spec raises
        :class:`~pyarn.spec.SpecError` naming the field, with nothing staged or
        submitted. Local files are staged, the master's launch context built
        and an application secret saved for :meth:`connect` (see
        :mod:`pyarn.submit`); :class:`~pyarn.submit.SubmissionError` when the
        RM rejects the application. A failed submission leaves nothing behind.

        On a secure cluster the application gets HDFS delegation tokens for
        ``fs.defaultFS`` and each of ``spec.file_systems``; with
        ``rm_delegation_token`` also an RM delegation token (renewed by YARN while
        the application runs, cancelled when it ends), so that ``Client()`` in
        its containers reaches the ResourceManager without a Kerberos ticket. A
        cluster without security needs no tokens and gets none.
        """
        from .submit import submit

        return submit(self, spec, python=self.python, staging_root=self.staging_dir,
                      rm_delegation_token=rm_delegation_token)

    def submit_and_connect(self, spec: SpecLike, timeout: Optional[float] = None) -> ApplicationClient:
        """Submit an application and connect to it once its master runs (it is killed when the
        connection cannot be made)."""
        app_id = self.submit(spec)
        try:
            return self.connect(app_id, timeout=timeout)
        except BaseException:
            try:
                self.rm.kill_application(app_id, "pyarn: could not connect to the application master")
                self._clean_up(app_id)
            except Exception:  # the original error matters more
                pass
            raise

    def connect(self, app_id: AppIdLike, wait: bool = True, timeout: Optional[float] = None
                ) -> ApplicationClient:
        """An :class:`~pyarn.app_client.ApplicationClient` of a running pyarn application.

        With ``wait`` (the default), waits until the application runs and its
        master has registered its address (at most ``timeout`` seconds when
        given: :class:`WaitTimeoutError`). The client authenticates with the
        application secret :meth:`submit` saved for this user
        (``~/.pyarn/apps/<app_id>/secret``) and may then do anything; without
        it, on a secure cluster, with the client-to-AM token the ResourceManager
        gives in the application report, and the AM allows what the
        application's ``acls`` allow this user. Raises
        :class:`ApplicationFinishedError` for an application that has ended, and
        :class:`~pyarn.errors.PyarnError` when there is neither secret nor
        token, or the application is not running and ``wait`` is false.
        """
        from .app_client import ApplicationClient, RmLocator, client_to_am_token_of
        from .application.security import load_secret
        from .ipc import IpcSettings

        app_id = ApplicationId.coerce(app_id)
        settings = IpcSettings.from_conf(self.conf)
        report = self.application_report(app_id)
        secret: Optional[bytes] = None
        no_secret: Optional[PyarnError] = None
        if report.state not in FINAL_STATES:
            try:
                secret = load_secret(app_id)
            except PyarnError as exc:
                if not settings.security_enabled:
                    raise
                no_secret = exc
        if not _reachable(report) and wait:
            report = self.wait_for(app_id, lambda r: _reachable(r) or r.state in FINAL_STATES, timeout)
        if report.state in FINAL_STATES:
            diagnostics = (report.diagnostics or "").strip()
            raise ApplicationFinishedError(
                f"application {app_id} has finished ({report.state}, {report.final_status})"
                + (f": {diagnostics.splitlines()[0]}" if diagnostics else ""))
        if not _reachable(report):
            raise PyarnError(f"application {app_id} is not running yet ({report.state})")
        locate = RmLocator(app_id, conf=self.conf, user=self.user)
        address = f"{report.host}:{report.port}"
        if secret is not None:
            return ApplicationClient(address, app_id, secret, settings=settings, locate=locate)
        try:
            token = client_to_am_token_of(report)
        except PyarnError as exc:
            raise PyarnError(f"{no_secret}; {exc}") from None
        return ApplicationClient(address, app_id, token=token, settings=settings, locate=locate,
                                 refresh_token=locate.client_token)

    def master_address(self, app_id: AppIdLike, timeout: Optional[float] = None) -> str:
        """``host:port`` of the running application's master, once one has registered (waiting at
        most ``timeout`` seconds, see :meth:`wait_for`); :class:`ApplicationFinishedError` when the
        application has ended."""
        report = self.master_report(app_id, timeout)
        return f"{report.host}:{report.port}"

    def master_report(self, app_id: AppIdLike, timeout: Optional[float] = None) -> ApplicationReport:
        """The application's report once its master has registered its address (see
        :meth:`master_address`)."""
        report = self.wait_for(app_id, lambda r: _reachable(r) or r.state in FINAL_STATES, timeout)
        if report.state in FINAL_STATES:
            raise ApplicationFinishedError(f"application {report.id} has finished ({report.state})")
        return report

    def wait_for(self, app_id: AppIdLike, until: Callable[[ApplicationReport], bool],
                 timeout: Optional[float] = None) -> ApplicationReport:
        """Poll an application's report until ``until(report)`` is true, and return that report.

        Polls quickly at first, then every
        ``yarn.client.application-client-protocol.poll-interval-ms``;
        :class:`WaitTimeoutError` after ``timeout`` seconds (default:
        ``...poll-timeout-ms``; no limit when that is negative).
        """
        if timeout is None:
            timeout = self._poll_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        sleep = min(_FIRST_POLL, self._poll_interval)
        while True:
            report = self.application_report(app_id)
            if until(report):
                return report
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(f"timed out after {timeout:g} s waiting for application {app_id} "
                                       f"(now {report.state})")
            time.sleep(sleep)
            sleep = min(sleep * 2, self._poll_interval)

    def wait_for_completion(self, app_id: AppIdLike, timeout: Optional[float] = None) -> ApplicationReport:
        """The report of an application once it has ended (FINISHED, FAILED or KILLED)."""
        return self.wait_for(app_id, lambda r: r.state in FINAL_STATES, timeout=timeout)

    def _wait_until_stored(self, app_id: ApplicationId, submission) -> None:
        """Poll until the RM has stored the application, re-submitting if an RM failover lost it
        (as Java's ``YarnClientImpl.submitApplication``)."""
        deadline = None if self._poll_timeout is None else time.monotonic() + self._poll_timeout
        while True:
            try:
                if self.rm.get_application_report(app_id).state not in _UNSAVED_STATES:
                    return
            except ApplicationNotFoundError:
                self.rm.submit_application(submission)
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(f"timed out waiting for the ResourceManager to accept {app_id}")
            time.sleep(self._poll_interval)

    # ------------------------------------------------------- delegation tokens

    def get_delegation_token(self, renewer: Optional[str] = None) -> Token:
        """An RM delegation token (``RM_DELEGATION_TOKEN``) of this client's user.

        A process holding it (in the token file ``HADOOP_TOKEN_FILE_LOCATION``
        names, or as its :class:`~pyarn.security.user.User`'s token) reaches the
        ResourceManager as this user without a Kerberos ticket. Its service is
        every RM's ``ip:port``, as Java's ``ClientRMProxy.getRMDelegationTokenService``.

        ``renewer`` is who may renew it: by default the ResourceManager itself
        (:func:`~pyarn.yarn.resourcemanager.rm_principal`, the renewer Java's YARN
        clients name), so that YARN keeps it alive in an application's
        credentials; on a cluster without ``yarn.resourcemanager.principal``,
        this client's user. Pass your own user name to renew it yourself.

        A Kerberized RM issues tokens only to callers authenticated with Kerberos:
        a client holding nothing but tokens gets a
        :class:`~pyarn.errors.RemoteError` saying so.
        """
        if renewer is None:
            configured = self.conf.get_str("yarn.resourcemanager.principal", "")
            renewer = rm_principal(self.conf) if configured else self.user.name
        return self.rm.get_delegation_token(renewer)

    def renew_delegation_token(self, token: Token) -> datetime:
        """Renew an RM delegation token; returns its new expiry time (UTC, aware). The RM lets
        only the token's renewer renew it (:class:`~pyarn.errors.AccessControlError` otherwise)."""
        return self.rm.renew_delegation_token(token)

    def cancel_delegation_token(self, token: Token) -> None:
        """Cancel an RM delegation token, so that no one can use it any more (its owner or its
        renewer may)."""
        self.rm.cancel_delegation_token(token)

    # ------------------------------------------------------- cluster and queues

    def cluster_metrics(self) -> ClusterMetrics:
        """NodeManager counts by state."""
        return self.rm.get_cluster_metrics()

    def get_nodes(self, states: Optional[Iterable[Union[NodeState, str]]] = None) -> List[NodeReport]:
        """Reports of the NodeManagers in ``states`` (default: every state), sorted by id."""
        wanted = () if states is None else _enums(NodeState, states)
        return sorted(self.rm.get_cluster_nodes(wanted), key=lambda n: n.id)

    def get_queue(self, name: str) -> Queue:
        """A queue (without its children); QueueNotFoundError if the scheduler has none of that name."""
        return self.rm.get_queue_info(name)

    def get_child_queues(self, name: str) -> List[Queue]:
        """The direct children of queue ``name``."""
        return list(self.rm.get_queue_info(name, include_child_queues=True).child_queues)

    def get_all_queues(self) -> List[Queue]:
        """Every queue below ``root``, parents before their children (as Java's ``YarnClient``)."""
        root = self.rm.get_queue_info("root", include_child_queues=True, recursive=True)
        queues: List[Queue] = []
        stack = list(reversed(root.child_queues))
        while stack:
            queue = stack.pop()
            queues.append(queue)
            stack.extend(reversed(queue.child_queues))
        return queues


def _reachable(report: ApplicationReport) -> bool:
    """Whether the application runs and its master has registered an address."""
    return (report.state is ApplicationState.RUNNING and bool(report.host) and report.host != "N/A"
            and report.port > 0)


def _enums(enum_type, values) -> tuple:
    """Members of ``enum_type`` from names or members; one name alone is a list of one."""
    if isinstance(values, str):
        values = [values]
    return tuple(enum_type(v) for v in values)


def _parse_time(value: TimeLike, name: str) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a datetime or a string, got {type(value).__name__}")
    text = value.strip()
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=_UTC)
        except ValueError:
            pass
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt).time()
        except ValueError:
            continue
        return datetime.combine(datetime.now(_UTC).date(), moment, tzinfo=_UTC)
    raise ValueError(f"{name}: cannot read {value!r} as a time; "
                     "expected YYYY-M-D, YYYY-M-D H:M[:S] or H:M[:S]")

