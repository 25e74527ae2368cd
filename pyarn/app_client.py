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
"""
from __future__ import annotations

import os
from typing import Any, Iterable, List, Mapping, Optional, Union

from google.protobuf.message import Message

from hadoop_protos import pyarn_pb2 as pb
from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER

from .am.environment import AM_ADDRESS_ENV, APPLICATION_ID_ENV, CONTAINER_ID_ENV
from .am.errors import InvalidRequestError
from .am.kv import KeyValueStore
from .am.records import Container, ContainerState
from .am.security import SECRET_ALIAS, TOKEN_KIND, app_token
from .errors import PyarnError
from .ipc import FailoverProxy, IpcSettings, RetryPolicy, RpcClient
from .ipc.client import DEFAULT_TIMEOUT, AddressLike, format_address, parse_address
from .security.credentials import Credentials
from .security.tokens import Token
from .security.user import User
from .spec import ApplicationSpec
from .yarn.ids import ApplicationId
from .yarn.records import FinalStatus

__all__ = ["ApplicationClient", "InvalidRequestError"]

#: Retries of calls whose connection failed (the AM may be briefly busy or restarting).
_POLICY = RetryPolicy(max_attempts=4, sleep_base=0.5, sleep_max=4.0)


class ApplicationClient:
    """A client of one application's master at ``address`` (``host:port``).

    Give the application ``secret`` (or the application ``token`` derived
    from it). Close the client (or use ``with``) to close its connection;
    that does not stop the application (see :meth:`shutdown`).
    """

    def __init__(self, address: AddressLike, app_id: Union[ApplicationId, str],
                 secret: Optional[bytes] = None, *, token: Optional[Token] = None,
                 settings: Optional[IpcSettings] = None, policy: Optional[RetryPolicy] = None) -> None:
        self.id = ApplicationId.coerce(app_id)
        if token is None:
            if not secret:
                raise ValueError("ApplicationClient needs the application secret or its token")
            token = app_token(self.id, secret)
        self.address = format_address(parse_address(address))
        self._rpc = RpcClient(settings)
        self._proxy = FailoverProxy(self._rpc, [self.address], PYARN_APP_MASTER, User.current(),
                                    policy=policy or _POLICY, token=token)
        self._kv: Optional[KeyValueStore] = None

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
        identifier = str(ApplicationId.coerce(app_id)).encode("ascii")
        token = next((t for t in credentials.tokens.values()
                      if t.kind == TOKEN_KIND and t.identifier == identifier), None)
        if token is None:
            secret = credentials.get_secret(SECRET_ALIAS)
            if not secret:
                raise PyarnError(f"no {TOKEN_KIND} token for {app_id} in the container's credentials "
                                 "(HADOOP_TOKEN_FILE_LOCATION)")
            token = app_token(app_id, secret)
        return cls(address, app_id, token=token)

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
        return self._proxy.call(method, request, timeout=DEFAULT_TIMEOUT if timeout is None else timeout)

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
