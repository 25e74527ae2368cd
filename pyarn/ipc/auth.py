"""How a connection authenticates: token selection and SASL set-up for both sides.

Client: :func:`select_token` picks the token for a protocol and address (Java
does this with a per-protocol token selector); :func:`client_negotiation`
builds the SASL state machine for it, with a :class:`KerberosTarget` when
the client may use Kerberos. Server: :class:`ServerAuth` says which methods a
port accepts, checks tokens with a pluggable secret manager and holds the
service's Kerberos identity.
"""
from __future__ import annotations

import abc
import base64
import binascii
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, Mapping, Optional, Sequence, Tuple, Union

import attrs

from ..errors import InvalidTokenError, RemoteError
from ..net import AddressLike, format_address, parse_address, token_service
from ..security.kerberos import (
    KerberosCredentials,
    KerberosService,
    check_server_principal,
    default_realm,
    gssapi_module,
    login_user,
    principal_key,
    short_name,
)
from ..security.tokens import (
    AMRM_TOKEN_KIND,
    HDFS_BLOCK_TOKEN_KIND,
    HDFS_DELEGATION_TOKEN_KIND,
    NM_TOKEN_KIND,
    RM_DELEGATION_TOKEN_KIND,
    Token,
)
from ..security.user import User
from .constants import AuthMethod, Qop
from .sasl.negotiation import ClientMechanismFactory, SaslAuth, SaslClientNegotiation, SaslServerNegotiation

if TYPE_CHECKING:  # the mechanisms are imported when a connection needs one
    from .sasl.digest_md5 import DigestMd5Client, DigestMd5Server
    from .sasl.gssapi import GssapiClient, GssapiServer
    from .sasl.mechanism import ServerMechanism

#: The SASL mechanism names of TOKEN and KERBEROS auth.
DIGEST_MD5 = "DIGEST-MD5"
GSSAPI = "GSSAPI"

#: Token kinds each protocol accepts (Java's ``@TokenInfo`` selectors, PROTOCOL-FACTS §4.4).
TOKEN_KINDS: Dict[str, Tuple[str, ...]] = {
    "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB": (RM_DELEGATION_TOKEN_KIND,),
    "org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB": (AMRM_TOKEN_KIND,),
    "org.apache.hadoop.yarn.api.ContainerManagementProtocolPB": (NM_TOKEN_KIND,),
    "org.apache.hadoop.hdfs.protocol.ClientProtocol": (HDFS_DELEGATION_TOKEN_KIND,),
    "org.apache.hadoop.hdfs.protocol.ClientDatanodeProtocol": (HDFS_BLOCK_TOKEN_KIND,),
}

#: What a TOKEN server advertises (SaslRpcServer: protocol "", serverId "default").
TOKEN_PROTOCOL = ""
TOKEN_SERVER_ID = "default"


def _services(service: str) -> FrozenSet[str]:
    return frozenset(s.strip() for s in service.split(","))


def select_token(user: User, protocol: str, address: Optional[AddressLike],
                 kinds: Optional[Sequence[str]] = None, *,
                 logical_service: Optional[str] = None) -> Optional[Token]:
    """The first of ``user``'s tokens usable for ``protocol`` at ``address``.

    ``kinds`` defaults to :data:`TOKEN_KINDS` for the protocol; a protocol with
    no entry takes no token unless ``kinds`` is given. A token's service (maybe a
    comma list; empty: any server) matches ``address`` as written or as its token
    service ``ip:port`` (:func:`pyarn.net.token_service`, one name lookup at most, and
    only when a token of the right kind does not match as written).

    ``logical_service`` names a service that is not an address, such as an HA HDFS
    nameservice's ``ha-hdfs:<ns>`` (``HAUtilClient.buildTokenServiceForLogicalUri``): a
    token for it wins over the address match. ``address`` may be None to look for that
    token only.
    """
    wanted = tuple(kinds) if kinds is not None else TOKEN_KINDS.get(protocol, ())
    candidates = [token for token in user.tokens if token.kind in wanted]
    if not candidates:
        return None
    if logical_service is not None:
        for token in candidates:
            if logical_service in _services(token.service):
                return token
    if address is None:
        return None
    host, port = parse_address(address)
    written = format_address((host, port))
    resolved: Optional[str] = None
    for token in candidates:
        if not token.service:
            return token
        services = _services(token.service)
        if written in services:
            return token
        if resolved is None:
            resolved = token_service(host, port, use_ip=True)
        if resolved in services:
            return token
    return None


@attrs.frozen
class KerberosTarget:
    """What a client needs to authenticate to one server with Kerberos.

    ``protocol`` (the RPC protocol name) selects the configuration key of the
    server's principal (:data:`~pyarn.security.kerberos.PRINCIPAL_KEYS`, or
    ``principal_keys`` for other protocols); ``principals`` holds the
    configuration's principal keys (and ``<key>.pattern``); ``host`` is the
    server's host as dialled (``_HOST`` becomes its canonical name).
    ``credentials``: the client's login, or ``None`` for the ticket cache
    (``KRB5CCNAME``), read at each connection.
    """

    protocol: str
    host: str
    principals: Mapping[str, str] = attrs.field(factory=dict)
    principal_keys: Mapping[str, str] = attrs.field(factory=dict)
    credentials: Optional[KerberosCredentials] = None

    def mechanism(self, auth: SaslAuth, qops: Sequence[Qop]) -> Optional[GssapiClient]:
        """A GSSAPI client for the server's advertised ``auth``; ``None`` without a principal key.

        Raises a :class:`~pyarn.security.kerberos.KerberosError` saying what is
        missing: the gssapi package, a ticket, a valid one, the right server.
        """
        key = principal_key(self.protocol, self.principal_keys)
        if key is None:
            return None
        from .sasl.gssapi import GssapiClient, context_flags

        gssapi = gssapi_module()
        login = self.credentials or login_user() or KerberosCredentials.from_ticket_cache()
        realm = default_realm() or login.realm
        target = check_server_principal(auth.protocol, auth.serverId, key=key, conf=self.principals,
                                        server_host=self.host, realm=realm)
        credentials = login.acquire()
        context = gssapi.SecurityContext(name=gssapi.Name(target, gssapi.NameType.kerberos_principal),
                                         creds=credentials, usage="initiate", mech=gssapi.MechType.kerberos,
                                         flags=context_flags(qops))
        return GssapiClient(context, qops=qops, principal=login.principal, target=target)


def client_negotiation(token: Optional[Token], *, qops: Sequence[Qop] = (Qop.AUTH,),
                       allow_simple: bool = True, kerberos: Optional[KerberosTarget] = None
                       ) -> SaslClientNegotiation:
    """The client SASL state machine for a connection holding ``token`` (or none).

    With ``kerberos``, the client also answers a server that offers KERBEROS
    (after TOKEN when the server lists TOKEN first and a token is held, as Java).
    """
    factories: Dict[str, ClientMechanismFactory] = {}
    if token is not None:
        def token_mechanism(auth: SaslAuth) -> Optional[DigestMd5Client]:
            if auth.mechanism != DIGEST_MD5:
                return None
            from .sasl.digest_md5 import DigestMd5Client, token_credentials

            username, password = token_credentials(token.identifier, token.password)
            return DigestMd5Client(username, password, protocol=auth.protocol, server_id=auth.serverId,
                                   qops=qops)
        factories[AuthMethod.TOKEN.name] = token_mechanism
    if kerberos is not None:
        def kerberos_mechanism(auth: SaslAuth) -> Optional[GssapiClient]:
            if auth.mechanism != GSSAPI:
                return None
            return kerberos.mechanism(auth, qops)
        factories[AuthMethod.KERBEROS.name] = kerberos_mechanism
    return SaslClientNegotiation(factories, allow_simple=allow_simple)


class SecretManager(abc.ABC):
    """Checks tokens for a server: subclass it, or pass a plain callable to :class:`ServerAuth`.

    :meth:`retrieve_password` returns the password of a token identifier or
    raises :class:`~pyarn.errors.InvalidTokenError`; :meth:`user_of` names the
    user a token identifier stands for (the authorization id by default).
    """

    @abc.abstractmethod
    def retrieve_password(self, identifier: bytes) -> bytes:
        """The password of ``identifier``; InvalidTokenError when it is not one of ours."""

    def user_of(self, identifier: bytes) -> Optional[str]:
        return None


class _CallableSecretManager(SecretManager):
    def __init__(self, function: Callable[[bytes], bytes]) -> None:
        self._function = function

    def retrieve_password(self, identifier: bytes) -> bytes:
        return self._function(identifier)


SecretManagerLike = Union[SecretManager, Callable[[bytes], bytes]]


def _as_secret_manager(value: Optional[SecretManagerLike]) -> Optional[SecretManager]:
    if value is None or hasattr(value, "retrieve_password"):
        return value  # type: ignore[return-value]
    if callable(value):
        return _CallableSecretManager(value)
    raise TypeError(f"secret_manager must be a SecretManager or a callable, not {type(value).__name__}")


def _methods(value) -> Tuple[AuthMethod, ...]:
    methods = tuple(AuthMethod.from_name(m) if isinstance(m, str) else m for m in value)
    if not methods:
        raise ValueError("ServerAuth.methods: at least one auth method is needed")
    return methods


@attrs.frozen
class ServerAuth:
    """The auth methods one server port accepts, in preference order.

    ``methods=(AuthMethod.TOKEN,)`` makes a token-only port (like YARN's
    scheduler port); TOKEN needs ``secret_manager``; KERBEROS needs
    ``kerberos`` (the service principal and its keytab). ``qops``: the QOPs
    offered (``hadoop.rpc.protection``), for both TOKEN and KERBEROS.
    ``principal_to_user`` names the user of a Kerberos principal (default:
    its first component, like Hadoop's ``DEFAULT`` auth_to_local rule).
    """

    methods: Tuple[AuthMethod, ...] = attrs.field(default=(AuthMethod.SIMPLE,), converter=_methods)
    secret_manager: Optional[SecretManager] = attrs.field(default=None, converter=_as_secret_manager)
    qops: Tuple[Qop, ...] = attrs.field(default=(Qop.AUTH,), converter=tuple)
    kerberos: Optional[KerberosService] = None
    principal_to_user: Callable[[str], str] = short_name

    def __attrs_post_init__(self) -> None:
        if AuthMethod.TOKEN in self.methods and self.secret_manager is None:
            raise ValueError("ServerAuth: TOKEN authentication requires a secret_manager")
        if AuthMethod.KERBEROS in self.methods and self.kerberos is None:
            raise ValueError("ServerAuth: KERBEROS authentication requires "
                             "kerberos=KerberosService(principal, keytab)")
        unsupported = [m.name for m in self.methods
                       if m not in (AuthMethod.SIMPLE, AuthMethod.TOKEN, AuthMethod.KERBEROS)]
        if unsupported:
            raise ValueError(f"ServerAuth: auth method(s) {unsupported} are not supported by pyarn's "
                             "server yet")
        if not self.qops:
            raise ValueError("ServerAuth.qops: at least one QOP is needed")

    @property
    def simple_allowed(self) -> bool:
        return AuthMethod.SIMPLE in self.methods

    def negotiation(self) -> SaslServerNegotiation:
        """A fresh server SASL state machine for one connection."""
        advertised: Dict[AuthMethod, SaslAuth] = {}
        factories: Dict[AuthMethod, Callable[[], ServerMechanism]] = {}
        if AuthMethod.TOKEN in self.methods:
            advertised[AuthMethod.TOKEN] = SaslAuth(
                method=AuthMethod.TOKEN.name, mechanism=DIGEST_MD5,
                protocol=TOKEN_PROTOCOL, serverId=TOKEN_SERVER_ID)
            factories[AuthMethod.TOKEN] = self._token_mechanism
        if AuthMethod.KERBEROS in self.methods:
            assert self.kerberos is not None
            # Hadoop advertises its principal's two parts: protocol "nn", serverId "host".
            advertised[AuthMethod.KERBEROS] = SaslAuth(
                method=AuthMethod.KERBEROS.name, mechanism=GSSAPI,
                protocol=self.kerberos.service, serverId=self.kerberos.host)
            factories[AuthMethod.KERBEROS] = self._kerberos_mechanism
        return SaslServerNegotiation(self.methods, factories, advertised=advertised)

    def _kerberos_mechanism(self) -> GssapiServer:
        assert self.kerberos is not None
        from .sasl.gssapi import GssapiServer

        return GssapiServer(self.kerberos.accept_context(), qops=self.qops, service=self.kerberos.service)

    def kerberos_user(self, principal: str) -> str:
        """The user name a Kerberos principal stands for on this server."""
        return self.principal_to_user(principal)

    def _token_mechanism(self) -> DigestMd5Server:
        from .sasl.digest_md5 import DigestMd5Server

        return DigestMd5Server(self._token_password, protocol=TOKEN_PROTOCOL, server_id=TOKEN_SERVER_ID,
                               qops=self.qops)

    def _token_password(self, username: str) -> str:
        identifier = decode_identifier(username)
        assert self.secret_manager is not None
        try:
            password = self.secret_manager.retrieve_password(identifier)
        except RemoteError:
            raise
        except Exception as exc:  # a secret manager's own failure must not pass as a server bug
            raise InvalidTokenError(f"token rejected: {exc}") from exc
        return base64.b64encode(password).decode("ascii")

    def token_user(self, authorization_id: str) -> Tuple[str, bytes]:
        """The user name and raw identifier behind a TOKEN authorization id."""
        identifier = decode_identifier(authorization_id)
        assert self.secret_manager is not None
        try:
            name = self.secret_manager.user_of(identifier)
        except RemoteError:
            raise
        except Exception as exc:
            raise InvalidTokenError(f"Can't retrieve username from tokenIdentifier: {exc}") from exc
        return (name if name is not None else authorization_id), identifier


def decode_identifier(username: str) -> bytes:
    """A token identifier from its SASL username (Base64)."""
    try:
        return base64.b64decode(username.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InvalidTokenError("Can't de-serialize tokenIdentifier") from None

