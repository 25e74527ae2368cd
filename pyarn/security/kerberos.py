"""Kerberos for pyarn: client credentials, service credentials and server principals.

* :class:`KerberosCredentials`: who the client is. From the ticket cache
  (``KRB5CCNAME``, or the library's default) or from a principal and keytab;
  a keytab login keeps its tickets in a private ``MEMORY:`` ccache, so
  nothing global changes. Every connection re-checks the ticket, so an expired
  one is reported as such, at once, rather than retried.
* :class:`KerberosService`: who a pyarn server is (a service principal and its keytab).
* :func:`check_server_principal`: the client's check of the principal a server
  advertises against the configuration (``yarn.resourcemanager.principal``,
  ``dfs.namenode.kerberos.principal``, ``_HOST`` = the server's canonical
  lower-case host name, or a ``<key>.pattern`` glob), as Hadoop's
  ``SaslRpcClient.getServerPrincipal`` does.

The ``gssapi`` package (the ``kerberos`` extra) is imported only when Kerberos
is used; without it the error says to install ``pyarn[kerberos]``.
"""
from __future__ import annotations

import os
import re
import struct
import uuid
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import AuthenticationError
from .principals import canonical_host as canonical_host  # re-exported: it lived here
from .principals import server_principal, with_realm

INSTALL_HINT = "Kerberos needs the gssapi package: pip install 'pyarn[kerberos]' (and the system's libkrb5)"

#: Hadoop's ``@KerberosInfo``: the configuration key naming each protocol's server principal.
PRINCIPAL_KEYS = {
    "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB": "yarn.resourcemanager.principal",
    "org.apache.hadoop.yarn.server.api.ResourceManagerAdministrationProtocolPB":
        "yarn.resourcemanager.principal",
    "org.apache.hadoop.hdfs.protocol.ClientProtocol": "dfs.namenode.kerberos.principal",
    "org.apache.hadoop.hdfs.protocol.ClientDatanodeProtocol": "dfs.datanode.kerberos.principal",
}


class KerberosError(AuthenticationError):
    """Kerberos authentication cannot be set up; the message says what is missing."""


class KerberosUnavailableError(KerberosError):
    """The ``gssapi`` package is not installed."""


class NoTicketError(KerberosError):
    """No Kerberos ticket: no credentials cache, or an empty one."""


class TicketExpiredError(KerberosError):
    """The Kerberos ticket (TGT) has expired."""


class KeytabError(KerberosError):
    """A keytab is missing, unreadable, or holds no key for the principal."""


class ServerPrincipalError(KerberosError):
    """The server's Kerberos principal is not the one the configuration names (or none is configured)."""


def gssapi_module() -> Any:
    """The ``gssapi`` package, or :class:`KerberosUnavailableError`."""
    try:
        import gssapi
    except ImportError:
        raise KerberosUnavailableError(INSTALL_HINT) from None
    return gssapi


def gss_reason(exc: BaseException) -> str:
    """The useful part of a GSS-API error: the Kerberos (minor) message when there is one."""
    text = str(exc)
    minor = re.search(r"Minor \(\d+\): (.*)$", text, re.S)
    if minor and minor.group(1).strip() not in ("Success", "Unknown error", ""):
        return minor.group(1).strip()
    major = re.search(r"Major \(\d+\): (.*?)(?:, Minor|$)", text, re.S)
    return major.group(1).strip() if major else text


def _ccache_name(ccache: Optional[str]) -> str:
    return ccache or os.environ.get("KRB5CCNAME") or "the default credentials cache"


def default_realm() -> Optional[str]:
    """The default realm of the Kerberos configuration (``KRB5_CONFIG``), if any."""
    gssapi = gssapi_module()
    try:
        name = gssapi.Name("pyarn", gssapi.NameType.kerberos_principal)
        text = str(name.canonicalize(gssapi.MechType.kerberos))
    except gssapi.exceptions.GSSError:
        return None
    return text.partition("@")[2] or None


class KerberosCredentials:
    """A Kerberos client identity.

    Build one with :meth:`from_ticket_cache` or :meth:`from_keytab`; both
    check at once that a usable ticket (or key) is there. :meth:`acquire`
    returns fresh GSS credentials for one connection, checking again.
    """

    def __init__(self, principal: str, *, ccache: Optional[str] = None, keytab: Optional[str] = None) -> None:
        self.principal = principal
        self.ccache = ccache
        self.keytab = keytab

    def __repr__(self) -> str:
        source = f"keytab {self.keytab}" if self.keytab else _ccache_name(self.ccache)
        return f"KerberosCredentials({self.principal!r}, {source})"

    @property
    def realm(self) -> str:
        return self.principal.rpartition("@")[2]

    @classmethod
    def from_ticket_cache(cls, ccache: Optional[str] = None) -> KerberosCredentials:
        """The identity in a ticket cache: ``ccache`` (``FILE:/tmp/krb5cc_1000``), else ``KRB5CCNAME``."""
        credentials = cls("", ccache=ccache)
        credentials.principal = str(credentials.acquire().name)
        return credentials

    @classmethod
    def from_keytab(cls, principal: str, keytab: str) -> KerberosCredentials:
        """Log in as ``principal`` with its key from ``keytab``, into a private in-memory ccache."""
        gssapi_module()
        path = keytab[5:] if keytab.startswith("FILE:") else keytab
        principals = read_keytab_principals(path)
        full = with_realm(principal, default_realm())
        if full not in principals and principal not in principals:
            held = ", ".join(sorted(set(principals))) or "no keys"
            raise KeytabError(f"principal {full} not found in keytab {path} (it holds: {held})")
        credentials = cls(full, ccache=f"MEMORY:pyarn-{uuid.uuid4().hex}", keytab=path)
        credentials.acquire()
        return credentials

    @classmethod
    def login(cls, principal: Optional[str] = None, keytab: Optional[str] = None) -> KerberosCredentials:
        """A keytab login when both are given, else the ticket cache."""
        if (principal is None) != (keytab is None):
            raise ValueError("a Kerberos login needs both principal and keytab (or neither)")
        if principal is not None and keytab is not None:
            return cls.from_keytab(principal, keytab)
        return cls.from_ticket_cache()

    def acquire(self) -> Any:
        """Fresh ``gssapi.Credentials`` to initiate a context; a :class:`KerberosError` says why not."""
        gssapi = gssapi_module()
        errors = gssapi.exceptions
        store: Optional[Dict[str, str]] = {"ccache": self.ccache} if self.ccache else None
        name = None
        if self.keytab and self.ccache:
            store = {"ccache": self.ccache, "client_keytab": self.keytab}
            name = gssapi.Name(self.principal, gssapi.NameType.kerberos_principal)
        try:
            credentials = gssapi.Credentials(name=name, usage="initiate", store=store)
            lifetime = credentials.lifetime
        except errors.ExpiredCredentialsError:
            raise TicketExpiredError(self._expired()) from None
        except errors.MissingCredentialsError as exc:
            if self.keytab:
                raise KerberosError(f"cannot log in as {self.principal} with keytab {self.keytab}: "
                                    f"{gss_reason(exc)}") from None
            raise NoTicketError(f"no Kerberos ticket: {gss_reason(exc)} ({_ccache_name(self.ccache)}); run "
                                "kinit, point KRB5CCNAME at a ticket cache, or give a principal and keytab") \
                from None
        except errors.GSSError as exc:
            raise KerberosError(f"Kerberos credentials of {self.principal or _ccache_name(self.ccache)} are "
                                f"unusable: {gss_reason(exc)}") from None
        if lifetime is not None and lifetime <= 0:
            raise TicketExpiredError(self._expired())
        return credentials

    def _expired(self) -> str:
        who = f" of {self.principal}" if self.principal else ""
        if self.keytab:
            return f"the Kerberos ticket{who} from keytab {self.keytab} has expired and cannot be renewed"
        return f"the Kerberos ticket{who} in {_ccache_name(self.ccache)} has expired; run kinit again"


class KerberosService:
    """A pyarn server's Kerberos identity: ``service/host@REALM`` and the keytab holding its key.

    ``_HOST`` in ``principal`` becomes this machine's canonical host name.
    """

    def __init__(self, principal: str, keytab: str) -> None:
        gssapi = gssapi_module()
        principal = server_principal(principal, None, default_realm())
        service, _, rest = principal.partition("/")
        host = rest.rpartition("@")[0]
        if not service or not host:
            raise KerberosError(f"a service principal has the form service/host@REALM, not {principal!r}")
        path = keytab[5:] if keytab.startswith("FILE:") else keytab
        if principal not in read_keytab_principals(path):
            raise KeytabError(f"principal {principal} not found in keytab {path}")
        self.principal, self.keytab, self.service, self.host = principal, path, service, host
        try:
            self._credentials = gssapi.Credentials(
                name=gssapi.Name(principal, gssapi.NameType.kerberos_principal), usage="accept",
                store={"keytab": path})
        except gssapi.exceptions.GSSError as exc:
            raise KeytabError(f"cannot use keytab {path} for {principal}: {gss_reason(exc)}") from None

    def __repr__(self) -> str:
        return f"KerberosService({self.principal!r}, keytab={self.keytab!r})"

    def accept_context(self) -> Any:
        """A fresh acceptor ``gssapi.SecurityContext`` for one connection."""
        gssapi = gssapi_module()
        return gssapi.SecurityContext(creds=self._credentials, usage="accept")


def read_keytab_principals(path: str) -> List[str]:
    """The principals a keytab file holds keys for (MIT keytab format 0x0501/0x0502)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise KeytabError(f"cannot read keytab {path}: {exc.strerror or exc}") from None
    if len(data) < 2 or data[0] != 5 or data[1] not in (1, 2):
        raise KeytabError(f"{path} is not a Kerberos keytab")
    order = ">" if data[1] == 2 else "="
    principals: List[str] = []
    pos = 2
    try:
        while pos + 4 <= len(data):
            (size,) = struct.unpack_from(order + "i", data, pos)
            pos += 4
            if size <= 0:
                pos += -size
                continue
            principals.append(_keytab_entry_principal(data[pos:pos + size], order, data[1]))
            pos += size
    except (struct.error, UnicodeDecodeError, IndexError):
        raise KeytabError(f"keytab {path} is corrupt") from None
    return list(dict.fromkeys(principals))


def _keytab_entry_principal(entry: bytes, order: str, version: int) -> str:
    def counted(pos: int) -> Tuple[str, int]:
        (length,) = struct.unpack_from(order + "H", entry, pos)
        text = entry[pos + 2:pos + 2 + length]
        if len(text) != length:
            raise IndexError
        return text.decode("utf-8"), pos + 2 + length

    (count,) = struct.unpack_from(order + "H", entry, 0)
    if version == 1:
        count -= 1
    realm, pos = counted(2)
    components = []
    for _ in range(count):
        component, pos = counted(pos)
        components.append(component)
    return "/".join(components) + "@" + realm


def short_name(principal: str) -> str:
    """The user a principal stands for on a pyarn server: its first component (``alice@R`` -> ``alice``)."""
    return re.split(r"[/@]", principal, maxsplit=1)[0]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Hadoop's ``GlobPattern`` (``*``, ``?``, ``[...]``, ``{a,b}``, ``\\`` escapes) as a regex."""
    out, depth, i = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "{":
            out.append("(?:")
            depth += 1
        elif ch == "}" and depth:
            out.append(")")
            depth -= 1
        elif ch == "," and depth:
            out.append("|")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unclosed [ in glob {pattern!r}")
            body = pattern[i + 1:end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    if depth:
        raise ValueError(f"unclosed {{ in glob {pattern!r}")
    return re.compile("".join(out) + r"\Z")


def principal_key(protocol: str, extra: Mapping[str, str] = {}) -> Optional[str]:  # noqa: B006 (read only)
    """The configuration key of ``protocol``'s server principal, if the protocol uses Kerberos."""
    return extra.get(protocol) or PRINCIPAL_KEYS.get(protocol)


def check_server_principal(advertised_protocol: str, advertised_server_id: str, *, key: str,
                           conf: Mapping[str, str], server_host: str, realm: Optional[str]) -> str:
    """The principal to authenticate the server as, after checking what it advertised.

    The server's NEGOTIATE names ``protocol/serverId``; with the default
    ``realm`` that must equal the configured ``key`` (``_HOST`` replaced by
    the canonical name of ``server_host``), or match the glob in
    ``<key>.pattern`` when that is set. Raises :class:`ServerPrincipalError`.
    """
    advertised = with_realm(f"{advertised_protocol}/{advertised_server_id}", realm)
    pattern = (conf.get(key + ".pattern") or "").strip()
    if pattern:
        if not glob_regex(pattern).match(advertised):
            raise ServerPrincipalError(f"Server has invalid Kerberos principal: {advertised}, doesn't match "
                                       f"the pattern: {pattern} ({key}.pattern)")
        return advertised
    configured = (conf.get(key) or "").strip()
    if not configured:
        raise ServerPrincipalError(f"Failed to specify server's Kerberos principal name: set {key}")
    configured = server_principal(configured, server_host, realm)
    if "/" not in configured.partition("@")[0]:
        raise ServerPrincipalError("Kerberos principal name does NOT have the expected hostname part: "
                                   f"{configured} ({key})")
    if advertised != configured:
        raise ServerPrincipalError(f"Server has invalid Kerberos principal: {advertised}, expecting: "
                                   f"{configured} ({key})")
    return configured


#: The process's Kerberos login, as Java's ``UserGroupInformation.loginUserFromKeytab`` sets it.
_login_user: Optional[KerberosCredentials] = None


def login_from_keytab(principal: str, keytab: str) -> KerberosCredentials:
    """Log this process in as ``principal`` from ``keytab`` (a private in-memory ticket cache).

    Every later connection that meets a KERBEROS offer without credentials of
    its own uses this login instead of ``KRB5CCNAME``; ``KeytabError`` and
    friends say at once what is wrong with the keytab.
    """
    global _login_user
    _login_user = KerberosCredentials.from_keytab(principal, keytab)
    return _login_user


def login_user() -> Optional[KerberosCredentials]:
    """The login set by :func:`login_from_keytab`, if any."""
    return _login_user
