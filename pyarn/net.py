"""Network addresses: the one parser and formatter of ``host:port``, and token services.

Below every other layer (it imports nothing of pyarn): the IPC client, the configuration,
HDFS paths and YARN records all parse addresses here, so they accept and refuse the same
text. Errors are ``ValueError``; callers that know the key or path put it in their own error.
"""
from __future__ import annotations

import socket
from typing import Optional, Tuple, Union

Address = Tuple[str, int]
AddressLike = Union[str, Tuple[str, int]]

MAX_PORT = 65535


def split_authority(authority: str, what: Optional[str] = None) -> Tuple[str, Optional[int]]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``, after any ``user@``, as
    ``(host, port or None)``; an IPv6 host comes without its brackets. An empty port
    (``host:``) counts as none.

    Raises ValueError (naming ``what``, default the text) for an empty host, an unbracketed
    IPv6 address, or a port that is not a number in 0..65535.
    """
    name = repr(authority) if what is None else what
    text = authority.rpartition("@")[2]
    if text.startswith("["):
        host, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise ValueError(f"{name} is not a valid host:port address")
        port_text = after[1:]
    else:
        host, _colon, port_text = text.partition(":")
        if ":" in port_text:
            raise ValueError(f"{name} is not a valid host:port address (an IPv6 address needs "
                             "[brackets])")
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise ValueError(f"{name} is not a valid host:port address")
    if not port_text:  # "host" or "host:": no port, as Java's URI has none
        return host, None
    return host, _port(port_text, name)


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not text.isascii() or int(text) > MAX_PORT:
        raise ValueError(f"{name} has an invalid port {text!r}")
    return int(text)


def parse_address(target: AddressLike, default_port: Optional[int] = None) -> Address:
    """``(host, port)`` from ``"host:port"``, ``"[v6]:port"``, ``"scheme://host:port/..."``,
    ``"host"`` (when ``default_port`` is given) or a ``(host, port)`` pair, as Java's
    ``NetUtils.createSocketAddr``. Strict: ValueError unless there is a host and a port in
    0..65535."""
    if isinstance(target, tuple):
        if len(target) != 2:
            raise ValueError(f"address {target!r}: expected (host, port)")
        host, port = target
        if not isinstance(host, str) or not host:
            raise ValueError(f"address {target!r}: the host must be a non-empty string")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= MAX_PORT:
            raise ValueError(f"address {target!r}: the port must be an integer in 0..{MAX_PORT}")
        return host, port
    text = str(target).strip()
    has_scheme = "://" in text
    rest = text.split("://", 1)[1] if has_scheme else text
    authority, slash, _path = rest.partition("/")
    if slash and not has_scheme:
        raise ValueError(f"{target!r} is not a valid host:port address")
    name, given_port = split_authority(authority, repr(target))
    if given_port is None:
        if default_port is None:
            raise ValueError(f"{target!r} has no port")
        return name, default_port
    return name, given_port


def format_address(address: Address) -> str:
    """``host:port``, or ``[v6]:port`` for an IPv6 host."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def token_service(host: str, port: int, use_ip: bool = True) -> str:
    """The service a token for the server at ``host:port`` carries (``SecurityUtil.buildTokenService``):
    ``ip:port`` with ``hadoop.security.token.service.use_ip`` (the default), else the host name in
    lower case. A host that does not resolve stays as it is."""
    if use_ip:
        try:
            host = socket.gethostbyname(host)
        except OSError:
            pass
    else:
        host = host.lower()
    return format_address((host, port))
