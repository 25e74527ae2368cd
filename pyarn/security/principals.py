"""Kerberos principal names: the realm, ``_HOST`` and canonical host names (no gssapi needed).

One implementation for both sides of a connection, so that a server logging in with
``nn/_HOST`` and a client checking ``nn/_HOST`` come to the same principal:

1. the default realm is added to a principal that has none (:func:`with_realm`);
2. then ``_HOST`` is replaced (:func:`substitute_host`), which, as Java's
   ``SecurityUtil.getServerPrincipal``, only touches a principal of exactly three parts
   ``service/_HOST@REALM``.

Java itself never adds the realm before substituting, so there ``nn/_HOST`` stays literal
(and fails); pyarn fills in the default realm first, on the client and on the server alike.
"""
from __future__ import annotations

import socket
from typing import Optional

HOST_PATTERN = "_HOST"


def with_realm(principal: str, realm: Optional[str]) -> str:
    """``principal@realm`` when ``principal`` has no realm and ``realm`` is known."""
    return principal if "@" in principal or not realm else f"{principal}@{realm}"


def substitute_host(principal: str, host: Optional[str] = None) -> str:
    """Replace ``_HOST`` in a principal ``service/_HOST@REALM`` by ``host`` lower-cased
    (``SecurityUtil.getServerPrincipal``); with no host, or ``0.0.0.0``, by this machine's
    fully qualified name. Other principals (no realm included) are returned unchanged.
    Callers that need the canonical name of an address resolve it first
    (:func:`canonical_host`)."""
    parts = principal.replace("@", "/").split("/")
    while parts and parts[-1] == "":
        parts.pop()
    if len(parts) != 3 or parts[1] != HOST_PATTERN:
        return principal
    if not host or host == "0.0.0.0":
        host = socket.getfqdn()
    return f"{parts[0]}/{host.lower()}@{parts[2]}"


def canonical_host(host: str) -> str:
    """The canonical lower-case name of ``host``, as Java's ``InetAddress.getCanonicalHostName``:
    the reverse lookup of its address, or the address itself when there is none."""
    try:
        address = socket.gethostbyname(host)
    except OSError:
        return host.lower()
    try:
        return socket.gethostbyaddr(address)[0].lower()
    except OSError:
        return address


def server_principal(principal: str, host: Optional[str], realm: Optional[str]) -> str:
    """The principal a server configured as ``principal`` runs as on ``host`` (None: this
    machine): the realm added first, then ``_HOST`` replaced by the canonical name of ``host``.
    The client's expectation and the server's login both come from here."""
    principal = with_realm(principal, realm)
    if HOST_PATTERN not in principal:
        return principal
    return substitute_host(principal, canonical_host(host if host else socket.getfqdn()))
