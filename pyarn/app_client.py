"""``ApplicationClient``: talk to a running application's master (``pyarn-am``).

From outside the application, the front door gives one with
``Client.connect(app_id)``; it is ``ApplicationClient(address, app_id,
secret)`` with the AM's ``host:port`` from the application report and the
secret the submitter saved. Inside a container of the application::

    app = ApplicationClient.from_current()
    app.kv.wait("ready")
    app.scale("worker", count=4)

Calls go over Hadoop IPC to the AM's ``pyarn.am.ApplicationMasterProtocol``,
authenticated with the application's token.

A new attempt of the AM may listen elsewhere than the one whose address a
client was given (another host, or another port): when the AM cannot be
reached, the client looks its address up again in the ResourceManager's
application report (waiting for a new attempt to register), and makes the
call once more there. ``Client.connect`` gives its clients that lookup; in a
container, ``from_current`` reaches the ResourceManager with the
configuration the application was submitted with (``PYARN_CONF_DIR``), or
the one in ``YARN_CONF_DIR``/``HADOOP_CONF_DIR``.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Mapping, Optional, Union

from google.protobuf.message import Message

from hadoop_protos import pyarn_pb2 as pb
from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER

from .application.environment import AM_ADDRESS_ENV, APPLICATION_ID_ENV, CONF_DIR_ENV, CONTAINER_ID_ENV
from .application.errors import InvalidRequestError
from .application.kv import KeyValueStore
from .application.records import Container, ContainerState
from .application.security import SECRET_ALIAS, TOKEN_KIND, app_token
from .conf import Configuration
from .errors import (
    ConnectFailedError,
    ConnectionClosedError,
    FailoverExhaustedError,
    InvalidTokenError,
    PyarnError,
    RpcTimeoutError,
    SaslError,
)
from .ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from .ipc.client import DEFAULT_TIMEOUT, AddressLike, format_address, parse_address
from .security.credentials import Credentials
from .security.tokens import Token
from .security.user import User
from .spec import ApplicationSpec
from .yarn.ids import ApplicationId
from .yarn.records import FinalStatus

if TYPE_CHECKING:
    from .yarn.records import ApplicationReport

log = logging.getLogger(__name__)

__all__ = ["ApplicationClient", "InvalidRequestError", "Locate", "RmLocator", "RELOCATE_TIMEOUT",
           "client_to_am_token_of"]

#: Retries of calls whose connection failed (the AM may be briefly busy or restarting).
_POLICY = RetryPolicy(max_attempts=4, sleep_base=0.5, sleep_max=4.0)
#: Retries of the ResourceManager while looking the AM up (its own defaults wait up to 15 minutes).
_RM_POLICY = RetryPolicy(max_attempts=6, sleep_base=0.5, sleep_max=4.0)
#: How long a lookup waits for a new attempt of the AM to register, in seconds.
RELOCATE_TIMEOUT = 60.0
#: The errors of a call that found no AM at the address: it never ran or the AM went away.
_UNREACHABLE = (ConnectFailedError, ConnectionClosedError, RpcTimeoutError)

#: Gives the ``host:port`` where the application's master is now; raises when it cannot tell.
Locate = Callable[[], str]


class RmLocator:
    """A :data:`Locate` that reads the AM's address in the ResourceManager's report of ``app_id``,
    waiting up to ``timeout`` seconds for a (new) attempt to register.

    ``conf`` or ``conf_dir`` and ``user`` are those of a :class:`~pyarn.client.Client`. A
    client is made for each lookup (lookups are rare, and the locator may outlive any client).
    """

    def __init__(self, app_id: Union[ApplicationId, str], *, conf: Optional[Configuration] = None,
                 conf_dir: Optional[str] = None, user: Union[str, User, None] = None,
                 timeout: float = RELOCATE_TIMEOUT) -> None:
        self.app_id = ApplicationId.coerce(app_id)
        self.conf = conf
        self.conf_dir = conf_dir
        self.user = user
        self.timeout = timeout
        self._report: Optional[ApplicationReport] = None  # of the last lookup

    def __repr__(self) -> str:
        return f"RmLocator({self.app_id})"

    def __call__(self) -> str:
        from .client import Client

        with Client(self.conf_dir, conf=self.conf, user=self.user, retry_policy=_RM_POLICY) as client:
            self._report = client.master_report(self.app_id, timeout=self.timeout)
        return f"{self._report.host}:{self._report.port}"

    def client_token(self) -> Token:
        """The client-to-AM token of the attempt the last lookup found (secure clusters give one to
        whoever may view the application); a lookup is made first when there was none."""
        if self._report is None:
            self()
        report, self._report = self._report, None
        assert report is not None
        return client_to_am_token_of(report)

    @classmethod
    def from_env(cls, app_id: Union[ApplicationId, str], env: Mapping[str, str]) -> Optional[RmLocator]:
        """The locator of a process inside the application: the configuration directory its
        environment names (``PYARN_CONF_DIR``, the one the application was submitted with, else
        ``YARN_CONF_DIR``, ``HADOOP_CONF_DIR``, ``$HADOOP_HOME/etc/hadoop``), the user
        ``HADOOP_USER_NAME`` names; None when no configuration is named."""
        conf_dir = env.get(CONF_DIR_ENV) or env.get("YARN_CONF_DIR") or env.get("HADOOP_CONF_DIR")
        if not conf_dir and env.get("HADOOP_HOME"):
            conf_dir = os.path.join(env["HADOOP_HOME"], "etc", "hadoop")
        if not conf_dir:
            return None
        return cls(app_id, conf_dir=os.path.abspath(conf_dir), user=User.current(env))


def client_to_am_token_of(report: ApplicationReport) -> Token:
    """The client-to-AM token in an application report; PyarnError when there is none."""
    token = report.client_to_am_token
    if token is None:
        raise PyarnError(f"the ResourceManager gave no client token for {report.id} ({report.state}): "
                         "only secure clusters give them, to users allowed to view the application, "
                         "once an attempt has started")
    return token


class ApplicationClient:
    """A client of one application's master at ``address`` (``host:port``).

    Give the application ``secret`` (or the application ``token`` derived
    from it), or the client-to-AM ``token`` a secure ResourceManager gave
    (the AM then allows what the application's ACLs allow its user).
    ``locate``, when given, finds the AM again when it cannot be
    reached at ``address`` (see the module docstring; :class:`RmLocator`);
    ``refresh_token`` then gives the token for the AM found (a client-to-AM
    token is good for one attempt only). ``settings`` should say the
    cluster's ``hadoop.rpc.protection``, which the AM's server requires too.
    Close the client (or use ``with``) to close its connection; that does
    not stop the application (see :meth:`shutdown`).
    """

    def __init__(self, address: AddressLike, app_id: Union[ApplicationId, str],
                 secret: Optional[bytes] = None, *, token: Optional[Token] = None,
                 settings: Optional[IpcSettings] = None, policy: Optional[RetryPolicy] = None,
                 locate: Optional[Locate] = None,
                 refresh_token: Optional[Callable[[], Token]] = None) -> None:
        self.id = ApplicationId.coerce(app_id)
        if token is None:
            if not secret:
                raise ValueError("ApplicationClient needs the application secret or its token")
            token = app_token(self.id, secret)
        self._token = token
        self._policy = policy or _POLICY
        self._locate = locate
        self._refresh_token = refresh_token
        self._lock = threading.Lock()
        self._rpc = RpcClient(settings)
        self.address = ""
        self._proxy = self._proxy_for(address)
        self._kv: Optional[KeyValueStore] = None

    def _proxy_for(self, address: AddressLike) -> FailoverProxy:
        self.address = format_address(parse_address(address))
        return FailoverProxy(self._rpc, [self.address], PYARN_APP_MASTER, User.current(),
                             policy=self._policy, token=self._token)

    @classmethod
    def from_current(cls, env: Optional[Mapping[str, str]] = None) -> ApplicationClient:
        """The client of the application this process runs in (a service container or the
        master script): ``PYARN_APPLICATION_ID``, ``PYARN_AM_ADDRESS`` and the credentials in
        ``HADOOP_TOKEN_FILE_LOCATION``."""
        env = os.environ if env is None else env
        app_id, address = env.get(APPLICATION_ID_ENV), env.get(AM_ADDRESS_ENV)
        if not app_id or not address:
            raise PyarnError(f"not running inside a pyarn application: {APPLICATION_ID_ENV} and "
                             f"{AM_ADDRESS_ENV} are not set")
        credentials = Credentials.from_env(env)
        locate = RmLocator.from_env(app_id, env)
        settings = IpcSettings.from_conf(Configuration.load(locate.conf_dir)) if locate is not None else None
        identifier = str(ApplicationId.coerce(app_id)).encode("ascii")
        token = next((t for t in credentials.tokens.values()
                      if t.kind == TOKEN_KIND and t.identifier == identifier), None)
        if token is None:
            secret = credentials.get_secret(SECRET_ALIAS)
            if not secret:
                raise PyarnError(f"no {TOKEN_KIND} token for {app_id} in the container's credentials "
                                 "(HADOOP_TOKEN_FILE_LOCATION)")
            token = app_token(app_id, secret)
        return cls(address, app_id, token=token, settings=settings, locate=locate)

    def __repr__(self) -> str:
        return f"ApplicationClient<{self.id}, {self.address}>"

    def close(self) -> None:
        """Close the connection to the AM (the application keeps running)."""
        self._rpc.close()

    def __enter__(self) -> ApplicationClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _call(self, method: str, request: Message, timeout: Optional[float] = DEFAULT_TIMEOUT) -> Any:
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        proxy = self._proxy
        try:
            return proxy.call(method, request, timeout=timeout)
        except FailoverExhaustedError as exc:
            if self._locate is None or not all(isinstance(e, _UNREACHABLE) for _, e in exc.attempts):
                raise
            proxy = self._relocate(proxy, exc)
        except (InvalidTokenError, SaslError) as exc:
            # a client-to-AM token is good for one attempt: a new attempt may listen at the same address
            if self._locate is None or self._refresh_token is None:
                raise
            proxy = self._relocate(proxy, exc)
        return proxy.call(method, request, timeout=timeout)

    def _relocate(self, failed: FailoverProxy, error: PyarnError) -> FailoverProxy:
        """The proxy to the AM's address as the ResourceManager knows it now (once per failure,
        however many threads saw it); raises ``error`` when the lookup fails."""
        assert self._locate is not None
        with self._lock:
            if self._proxy is not failed:  # another thread has looked it up already
                return self._proxy
            log.info("%s: the application master does not answer at %s; asking the ResourceManager "
                     "where it is now", self.id, self.address)
            try:
                address = self._locate()
            except Exception as exc:
                log.warning("%s: cannot look the application master up: %s", self.id, exc)
                raise error from exc
            if address != self.address:
                log.info("%s: the application master is now at %s", self.id, address)
            if self._refresh_token is not None:
                try:
                    self._token = self._refresh_token()
                except Exception as exc:
                    log.warning("%s: cannot get a new client token: %s", self.id, exc)
                    raise error from exc
            self._proxy = self._proxy_for(address)
            return self._proxy

    # ------------------------------------------------------------------- calls

    @property
    def kv(self) -> KeyValueStore:
        """The application's key-value store."""
        if self._kv is None:
            self._kv = KeyValueStore(self._call)
        return self._kv

    @property
    def container_id(self) -> Optional[str]:
        """This process's container (``<service>_<instance>``) when it runs in one, else None."""
        return os.environ.get(CONTAINER_ID_ENV) or None

    def get_specification(self) -> ApplicationSpec:
        """The spec the application runs."""
        response = self._call("getSpec", pb.GetSpecRequestProto())
        return ApplicationSpec.from_json(response.spec_json, check_files=False)

    def get_containers(self, services: Optional[Iterable[str]] = None,
                       states: Optional[Iterable[Union[ContainerState, str]]] = None) -> List[Container]:
        """The containers of ``services`` (default: all) in ``states`` (default: WAITING,
        REQUESTED and RUNNING), sorted by service and instance."""
        if isinstance(services, str):
            services = [services]
        request = pb.GetContainersRequestProto(
            services=list(services or ()),
            states=[ContainerState(s).to_proto() for s in (states or ())])
        response = self._call("getContainers", request)
        containers = [Container.from_proto(c) for c in response.containers]
        return sorted(containers, key=lambda c: (c.service_name, c.instance))

    def scale(self, service: str, count: Optional[int] = None,
              delta: Optional[int] = None) -> List[Container]:
        """Scale ``service`` to ``count`` instances or by ``delta``; returns the containers started
        or stopped. Scaling down stops waiting, then requested, then running containers, oldest first;
        a ``delta`` below the current count scales to 0."""
        if (count is None) == (delta is None):
            raise ValueError("give exactly one of count and delta")
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        request = pb.ScaleRequestProto(service_name=service, count=count, delta=delta)
        return [Container.from_proto(c) for c in self._call("scale", request).containers]

    def add_container(self, service: str, env: Optional[Mapping[str, str]] = None) -> Container:
        """Start one more container of ``service``, with ``env`` over the service's environment."""
        request = pb.AddContainerRequestProto(
            service_name=service, env=[pb.EnvEntryProto(key=k, value=v) for k, v in (env or {}).items()])
        return Container.from_proto(self._call("addContainer", request).container)

    def kill_container(self, id: str) -> None:  # noqa: A002 (Skein's name)
        """Kill container ``id`` (``<service>_<instance>``); nothing happens to one that has ended."""
        self._call("killContainer", pb.KillContainerRequestProto(container_id=id))

    def shutdown(self, status: Union[FinalStatus, str] = "SUCCEEDED",
                 diagnostics: Optional[str] = None) -> None:
        """End the application with ``status`` (SUCCEEDED, FAILED or KILLED) and ``diagnostics``."""
        final = FinalStatus(status)
        request = pb.ShutdownRequestProto(final_status=final.to_proto(), diagnostics=diagnostics)
        self._call("shutdown", request)

    def set_progress(self, progress: float) -> None:
        """Report the application's progress, between 0 and 1, to YARN."""
        if not 0 <= progress <= 1:
            raise ValueError(f"progress must be between 0 and 1, got {progress}")
        self._call("setProgress", pb.SetProgressRequestProto(progress=progress))
