"""DIGEST-MD5 directive lists: ``key=value,key="quoted value"`` (RFC 2831 §7).

The parser follows the JDK's ``DigestMD5Base.parseDirectives``: keys are
case-insensitive, linear white space separates, ``\\`` escapes inside quotes,
and a key may appear once, except ``realm`` (a server may offer several).
"""
from __future__ import annotations

from typing import Dict, List, Tuple

_LWS = b" \t\r\n"


def _skip_lws(data: bytes, i: int) -> int:
    while i < len(data) and data[i] in _LWS:
        i += 1
    return i


def parse_all(data: bytes) -> Tuple[Dict[str, bytes], List[bytes]]:
    """The directives of ``data`` (keys lower-cased) and every ``realm`` offered, in order.

    Raises ``ValueError`` on a malformed list or a repeated directive.
    """
    found: Dict[str, bytes] = {}
    realms: List[bytes] = []

    def add(key: bytes, value: bytes) -> None:
        name = key.decode("ascii").lower()
        if name == "realm":
            realms.append(value)
            found.setdefault(name, value)
        elif name in found:
            raise ValueError(f"peer sent more than one {name} directive")
        else:
            found[name] = value

    i = _skip_lws(data, 0)
    while i < len(data):
        if data[i] == ord(","):
            i = _skip_lws(data, i + 1)
            continue
        start = i
        while i < len(data) and data[i] not in b"=," and data[i] not in _LWS:
            i += 1
        key = data[start:i]
        i = _skip_lws(data, i)
        if not key or i >= len(data) or data[i] != ord("="):
            raise ValueError(f"'=' expected after key {key!r}")
        i = _skip_lws(data, i + 1)
        if i < len(data) and data[i] == ord('"'):
            value, i = _quoted(data, i + 1)
            i = _skip_lws(data, i)
            if i < len(data) and data[i] != ord(","):
                raise ValueError(f"expecting a comma after the quoted value of {key!r}")
        else:
            start = i
            while i < len(data) and data[i] != ord(",") and data[i] not in _LWS:
                i += 1
            value = data[start:i]
            i = _skip_lws(data, i)
            if i < len(data) and data[i] != ord(","):
                raise ValueError(f"expecting a comma after the value of {key!r}")
        add(key, value)
    return found, realms


def _quoted(data: bytes, i: int) -> Tuple[bytes, int]:
    out = bytearray()
    while i < len(data):
        ch = data[i]
        if ch == ord("\\"):
            if i + 1 >= len(data):
                break
            out.append(data[i + 1])
            i += 2
        elif ch == ord('"'):
            return bytes(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ValueError("unmatched quote")


def parse_directives(data: bytes) -> Dict[str, bytes]:
    """The directives of a challenge or response, keys lower-cased (first realm only)."""
    return parse_all(data)[0]


def quote(value: bytes) -> bytes:
    """``value`` as a quoted string, escaping ``"``, ``\\``, DEL and control characters but LWS."""
    out = bytearray(b'"')
    for ch in value:
        if ch in (0x22, 0x5C, 0x7F) or (ch < 32 and ch not in (9, 10, 13)):
            out.append(0x5C)
        out.append(ch)
    out.append(0x22)
    return bytes(out)


def split_list(value: bytes) -> List[str]:
    """A comma/space separated token list (``qop``, ``cipher``) as strings."""
    text = value.decode("ascii", errors="replace")
    return [t for t in text.replace("\t", " ").replace("\n", " ").replace(",", " ").split(" ") if t]
