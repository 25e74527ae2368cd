"""The mini cluster's Kerberos mode: who the servers are, how names map, who may impersonate.

:class:`KerberosSetup` says what a secure mini cluster needs from the outside (a realm
and its KDC, the service principals and their keytabs, ``hadoop.rpc.protection``);
``MiniCluster(kerberos=KerberosSetup(...))`` then runs as a Kerberized Hadoop does:

* the RM client port and the NameNode accept KERBEROS and TOKEN (RM and HDFS
  delegation tokens), the scheduler and NodeManager ports TOKEN only, all at the
  configured QOPs (``authentication``/``integrity``/``privacy``);
* an authenticated principal is mapped to a short user name by
  ``hadoop.security.auth_to_local`` rules (:class:`AuthToLocal`): ``alice@REALM`` ->
  ``alice``, a service principal -> its service user (``nn/host@REALM`` -> ``hdfs``,
  ``rm/host@REALM`` -> ``yarn``);
* a Kerberos user may act for another only as ``hadoop.proxyuser.<user>.*`` allows
  (:class:`ProxyUsers`).

:class:`ClusterSecurity` is that set-up at run time, shared by the servers.
Hadoop's convention is one principal per service; by default the RM runs as
``rm/_HOST`` and the NameNode as ``nn/_HOST``, ``_HOST`` being the canonical name of
the address the servers listen on (``localhost`` for 127.0.0.1), as a client resolves it.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple, Union

import attrs

from ..errors import AccessControlError
from ..ipc import AuthMethod, CallContext, IpcSettings, Qop, SecretManager, ServerAuth
from ..security.auth_to_local import AuthToLocal
from ..security.principals import server_principal, with_realm

__all__ = ["KerberosSetup", "ClusterSecurity", "ProxyUsers", "impersonation_checked", "SecureCallContext",
           "SERVICE_USERS", "AUTHORIZATION_EXCEPTION"]

AUTHORIZATION_EXCEPTION = "org.apache.hadoop.security.authorize.AuthorizationException"
#: The short name each service principal maps to (as a Hadoop installation's auth_to_local rules say).
SERVICE_USERS: Mapping[str, str] = {"rm": "yarn", "nm": "yarn", "jhs": "mapred", "nn": "hdfs", "dn": "hdfs",
                                    "sn": "hdfs", "jn": "hdfs"}

PathLike = Union[str, Path]


def _protection(value: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else list(value)
    cleaned = tuple(n.strip().lower() for n in names if n.strip())
    if not cleaned:
        raise ValueError("KerberosSetup.protection: name at least one of authentication, integrity, privacy")
    for name in cleaned:
        Qop.from_protection(name)  # ValueError naming the bad one
    return cleaned


def _optional_protection(value: Union[None, str, Sequence[str]]) -> Optional[Tuple[str, ...]]:
    return None if value is None else _protection(value)


def _optional_path(value: Optional[PathLike]) -> Optional[Path]:
    return None if value is None else Path(value)


@attrs.frozen
class KerberosSetup:
    """What a mini cluster needs to run Kerberized.

    ``realm``: the Kerberos realm (its KDC is named by the process's ``KRB5_CONFIG``).
    ``keytab``: the keytab holding the service principals' keys; ``rm_keytab`` and
    ``nn_keytab`` override it per service. ``rm_principal`` / ``nn_principal``: the
    ResourceManager's and the NameNode's principals (``_HOST`` and a missing realm are
    filled in). ``protection``: ``hadoop.rpc.protection`` (a name or a list, most
    preferred first). ``krb5_conf``: the Kerberos configuration containers get as
    ``KRB5_CONFIG`` (and the conf dir names); ``None`` leaves their environment alone.
    ``auth_to_local``: the rules (``RULE:[...]...`` lines and ``DEFAULT``); ``None``:
    every service principal of ``service_users`` to its user, any other principal of
    the realm to its first component. ``users``: short names whose home directories
    (``/user/<name>``) are created on the HDFS, as an administrator would.
    ``data_transfer_protection``: ``dfs.data.transfer.protection`` of the DataNodes
    (DataTransfer SASL with block tokens); ``None``, the default, for none (the
    DataNodes then trust their connections, as secure DataNodes on privileged ports).
    """

    realm: str
    keytab: Optional[Path] = attrs.field(default=None, converter=_optional_path)
    rm_principal: str = "rm/_HOST"
    nn_principal: str = "nn/_HOST"
    rm_keytab: Optional[Path] = attrs.field(default=None, converter=_optional_path)
    nn_keytab: Optional[Path] = attrs.field(default=None, converter=_optional_path)
    protection: Tuple[str, ...] = attrs.field(default=("authentication",), converter=_protection)
    krb5_conf: Optional[Path] = attrs.field(default=None, converter=_optional_path)
    auth_to_local: Optional[str] = None
    service_users: Mapping[str, str] = attrs.field(factory=lambda: dict(SERVICE_USERS))
    users: Tuple[str, ...] = attrs.field(default=(), converter=tuple)
    data_transfer_protection: Optional[Tuple[str, ...]] = attrs.field(default=None,
                                                                      converter=_optional_protection)

    def __attrs_post_init__(self) -> None:
        if not self.realm or "@" in self.realm:
            raise ValueError(f"KerberosSetup.realm: expected a realm such as EXAMPLE.COM, got {self.realm!r}")
        for service in ("rm", "nn"):
            if self.service_keytab(service) is None:
                raise ValueError(f"KerberosSetup: no keytab for the {service} principal: give keytab= "
                                 f"or {service}_keytab=")

    @property
    def qops(self) -> Tuple[Qop, ...]:
        return tuple(Qop.from_protection(name) for name in self.protection)

    @property
    def data_transfer_qops(self) -> Tuple[Qop, ...]:
        return tuple(Qop.from_protection(name) for name in self.data_transfer_protection or ())

    def service_keytab(self, service: str) -> Optional[Path]:
        return {"rm": self.rm_keytab, "nn": self.nn_keytab}.get(service) or self.keytab

    def configured_principal(self, service: str) -> str:
        """The principal as the configuration names it (``rm/_HOST@REALM``)."""
        principal = {"rm": self.rm_principal, "nn": self.nn_principal}[service]
        return with_realm(principal, self.realm)

    def rules(self) -> str:
        """The ``hadoop.security.auth_to_local`` rules in force."""
        if self.auth_to_local is not None:
            return self.auth_to_local
        realm = re.escape(self.realm)
        lines = [f"RULE:[2:$1@$0]({re.escape(service)}@{realm})s/.*/{user}/"
                 for service, user in self.service_users.items()]
        lines += [f"RULE:[1:$1@$0](.*@{realm})s/@.*//", f"RULE:[2:$1@$0](.*@{realm})s/@.*//", "DEFAULT"]
        return "\n".join(lines)


# -- proxy users ----------------------------------------------------------------------------------


def _csv(value: Optional[str]) -> FrozenSet[str]:
    return frozenset(v.strip() for v in (value or "").split(",") if v.strip())


class ProxyUsers:
    """Who may impersonate whom: ``hadoop.proxyuser.<user>.{users,groups,hosts}`` (Hadoop's
    ``DefaultImpersonationProvider``), ``<user>`` being the real user's short name."""

    PREFIX = "hadoop.proxyuser."

    def __init__(self, conf: Mapping[str, str], groups: Callable[[str], FrozenSet[str]]) -> None:
        self._acls: Dict[str, Dict[str, FrozenSet[str]]] = {}
        for key, value in conf.items():
            if not key.startswith(self.PREFIX):
                continue
            user, _, what = key[len(self.PREFIX):].rpartition(".")
            if user and what in ("users", "groups", "hosts"):
                self._acls.setdefault(user, {})[what] = _csv(value)
        self._groups = groups

    def authorize(self, real_principal: str, real_short: str, user: str, remote_ip: str) -> None:
        """Raise an ``AuthorizationException`` unless ``real_short`` may act as ``user`` from
        ``remote_ip``."""
        acl = self._acls.get(real_short, {})
        users, groups = acl.get("users", frozenset()), acl.get("groups", frozenset())
        allowed = "*" in users or user in users or "*" in groups or bool(groups & self._groups(user))
        if not allowed:
            raise AccessControlError(f"User: {real_principal} is not allowed to impersonate {user}",
                                     AUTHORIZATION_EXCEPTION)
        hosts = acl.get("hosts", frozenset())
        if "*" not in hosts and not _host_allowed(remote_ip, hosts):
            raise AccessControlError(f"Unauthorized connection for super-user: {real_principal} from IP "
                                     f"{remote_ip}", AUTHORIZATION_EXCEPTION)


def _host_allowed(ip: str, hosts: FrozenSet[str]) -> bool:
    for host in hosts:
        if host == ip or (host == "localhost" and ip in ("127.0.0.1", "::1")):
            return True
        try:
            if "/" in host and ipaddress.ip_address(ip) in ipaddress.ip_network(host, strict=False):
                return True
        except ValueError:
            continue
    return False


# -- the servers' side ---------------------------------------------------------------------------


@attrs.frozen
class SecureCallContext(CallContext):
    """A :class:`~pyarn.ipc.CallContext` whose user names are short names (auth_to_local);
    ``principal`` and ``real_principal`` keep the names the caller authenticated as
    (``alice@REALM``), as Hadoop's ``UserGroupInformation.getUserName`` does."""

    principal: str = ""
    real_principal: Optional[str] = None


class _ContextChecked:
    """A handler whose calls see their context through ``check`` first (which may raise)."""

    def __init__(self, handler: object, check: Callable[[CallContext], CallContext]) -> None:
        self._handler = handler
        self._check = check

    def __getattr__(self, name: str) -> Any:
        function = getattr(self._handler, name)
        if name.startswith("_") or not callable(function):
            return function

        @functools.wraps(function)
        def call(request, ctx: CallContext):
            return function(request, self._check(ctx))
        return call


def impersonation_checked(handler: object, proxy_users: ProxyUsers) -> object:
    """``handler`` as a server without Kerberos runs it: a caller naming a real user (a proxy) gets
    through only as ``hadoop.proxyuser.*`` allow; Hadoop checks impersonation whatever the
    authentication (``User: root is not allowed to impersonate bob``)."""

    def check(ctx: CallContext) -> CallContext:
        user = ctx.user
        if user.real_user:
            proxy_users.authorize(user.real_user, user.real_user, user.name, ctx.remote_address[0])
        return ctx
    return _ContextChecked(handler, check)


class ClusterSecurity:
    """A :class:`KerberosSetup` at run time, for servers listening on ``host``.

    ``conf`` holds the cluster's settings (``hadoop.proxyuser.*``); ``groups`` names a
    user's groups (for proxy-user rules). The Kerberos service identities are read from
    their keytabs on first use.
    """

    def __init__(self, setup: KerberosSetup, conf: Optional[Mapping[str, str]] = None, *,
                 host: str = "127.0.0.1", groups: Optional[Callable[[str], FrozenSet[str]]] = None) -> None:
        self.setup = setup
        self.host = host
        self.qops = setup.qops
        self.names = AuthToLocal(setup.rules(), setup.realm)
        self.proxy_users = ProxyUsers(conf or {}, groups or (lambda user: frozenset()))
        self._services: Dict[str, Any] = {}

    def principal(self, service: str) -> str:
        """The principal ``service`` (``rm``, ``nn``) runs as: ``_HOST`` becomes the canonical name of
        :attr:`host`."""
        return server_principal(self.setup.configured_principal(service), self.host, self.setup.realm)

    def service_user(self, service: str) -> str:
        """The short name of ``service``'s principal (``hdfs`` for the NameNode)."""
        return self.names.short_name(self.principal(service))

    def kerberos_service(self, service: str):
        """The :class:`~pyarn.security.kerberos.KerberosService` of ``service``."""
        found = self._services.get(service)
        if found is None:
            from ..security.kerberos import KerberosService

            keytab = self.setup.service_keytab(service)
            assert keytab is not None
            found = self._services[service] = KerberosService(self.principal(service), str(keytab))
        return found

    def server_auth(self, service: Optional[str], secret_manager: SecretManager) -> ServerAuth:
        """TOKEN (checked by ``secret_manager``), and KERBEROS as ``service`` when given, at the QOPs.

        The connection's user is the authenticated name itself (the full principal);
        :meth:`authorized` handlers see short names.
        """
        if service is None:
            return ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=secret_manager, qops=self.qops)
        return ServerAuth(methods=(AuthMethod.TOKEN, AuthMethod.KERBEROS), secret_manager=secret_manager,
                          qops=self.qops, kerberos=self.kerberos_service(service),
                          principal_to_user=lambda principal: principal)

    def ipc_settings(self, **kwargs) -> IpcSettings:
        """Settings for the cluster's own clients of its servers (token connections at the QOPs)."""
        return IpcSettings(qops=self.qops, **kwargs)

    def short_name(self, name: str) -> str:
        return self.names.short_name(name)

    def call_context(self, ctx: CallContext) -> SecureCallContext:
        """``ctx`` with short user names, after checking that a real user may impersonate."""
        if isinstance(ctx, SecureCallContext):
            return ctx
        user = ctx.user
        short = self.short_name(user.name)
        real_short = None
        if user.real_user:
            real_short = self.short_name(user.real_user)
            self.proxy_users.authorize(user.real_user, real_short, short, ctx.remote_address[0])
        fields = attrs.asdict(ctx, recurse=False)
        fields["user"] = attrs.evolve(user, name=short, real_user=real_short)
        return SecureCallContext(**fields, principal=user.name, real_principal=user.real_user)

    def authorized(self, handler: object) -> object:
        """``handler`` as a Kerberized server runs it: each call sees a :class:`SecureCallContext`."""
        return _ContextChecked(handler, self.call_context)

    def core_site(self) -> Dict[str, str]:
        """The secure keys of ``core-site.xml``."""
        return {
            "hadoop.security.authentication": "kerberos",
            "hadoop.security.authorization": "true",
            "hadoop.rpc.protection": ",".join(self.setup.protection),
            "hadoop.security.auth_to_local": self.names.text,
        }

    def yarn_site(self) -> Dict[str, str]:
        return {"yarn.resourcemanager.principal": self.principal("rm")}

    def hdfs_site(self) -> Dict[str, str]:
        return {"dfs.namenode.kerberos.principal": self.principal("nn")}
