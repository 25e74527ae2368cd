"""Reading one Hadoop ``*-site.xml`` file into properties, as ``Configuration.loadResource`` does.

Hadoop's reader is lenient and this one follows it: elements are matched by local name
wherever they nest; a ``<property>`` takes its ``name``, ``value``, ``final`` from child
elements or attributes; a name is trimmed but a value is not; an empty ``<value/>`` sets
nothing; only the exact text ``true`` makes a property final; ``<xi:include href=...>`` pulls
in another file (relative to the including one), and a missing one is an error unless the
include has an ``<xi:fallback>``, whose properties then apply.

Departures: entity declarations are refused (no entity expansion from a config file), and
includes are local files only.
"""
from __future__ import annotations

import os
from typing import List, Optional, Set
from urllib.parse import unquote, urlparse
from xml.parsers import expat

import attrs

from .errors import ConfigError

MAX_INCLUDE_DEPTH = 16


@attrs.frozen
class XmlProperty:
    """One ``<property>`` as written: ``value`` is None when the file gives none."""

    name: str
    value: Optional[str]
    final: bool
    file: str
    line: int


def read_properties(path: str) -> List[XmlProperty]:
    """The properties of the site file at ``path``, in file order, includes inlined."""
    return _read(os.path.abspath(path), set())


def _read(path: str, stack: Set[str]) -> List[XmlProperty]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", file=path) from None
    return _Parser(path, stack | {path}).parse(data)


class _Parser:
    def __init__(self, path: str, stack: Set[str]) -> None:
        self.path = path
        self.stack = stack
        self.out: List[XmlProperty] = []
        self.p = expat.ParserCreate()
        self.p.buffer_text = True
        self.p.StartElementHandler = self._start
        self.p.EndElementHandler = self._end
        self.p.CharacterDataHandler = self._chars
        self.p.EntityDeclHandler = self._entity_decl
        self.token: List[str] = []
        self.parse_token = False
        self.name: Optional[str] = None
        self.value: Optional[str] = None
        self.final = False
        self.line = 0
        self.include: Optional[str] = None
        self.fallback_allowed = False
        self.fallback_entered = False

    def parse(self, data: bytes) -> List[XmlProperty]:
        try:
            self.p.Parse(data, True)
        except expat.ExpatError as e:
            raise ConfigError(f"malformed XML: {expat.ErrorString(e.code)} (column {e.offset + 1})",
                              file=self.path, line=e.lineno) from None
        return self.out

    def _entity_decl(self, name, *_args) -> None:
        raise ConfigError(f"entity declarations are not supported (entity {name!r})",
                          file=self.path, line=self.p.CurrentLineNumber)

    def _chars(self, data: str) -> None:
        if self.parse_token:
            self.token.append(data)

    def _start(self, tag: str, attributes: dict) -> None:
        local = tag.rpartition(":")[2]
        if local == "property":
            self.name = self.value = None
            self.final = False
            self.line = self.p.CurrentLineNumber
            for attr, val in attributes.items():
                attr = attr.rpartition(":")[2]
                if attr == "name":
                    self.name = val
                elif attr == "value":
                    self.value = val
                elif attr == "final":
                    self.final = val == "true"
        elif local in ("name", "value", "final", "source"):
            self.parse_token = True
            self.token = []
        elif local == "include":
            href = next((v for a, v in attributes.items() if a.rpartition(":")[2] == "href"), None)
            self.include = href
            if href is not None:
                self._include(href)
        elif local == "fallback":
            self.fallback_entered = True

    def _include(self, href: str) -> None:
        url = urlparse(href)
        if url.scheme == "file":
            target = unquote(url.path)
        elif url.scheme and len(url.scheme) > 1:
            raise ConfigError(f"XInclude of {href!r}: only local files can be included",
                              file=self.path, line=self.p.CurrentLineNumber)
        else:
            target = os.path.join(os.path.dirname(self.path), href)
        target = os.path.abspath(target)
        if not os.path.isfile(target):
            self.fallback_allowed = True
            return
        if target in self.stack:
            raise ConfigError(f"XInclude loop: {href!r} includes this file again",
                              file=self.path, line=self.p.CurrentLineNumber)
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            raise ConfigError(f"XIncludes nested more than {MAX_INCLUDE_DEPTH} deep",
                              file=self.path, line=self.p.CurrentLineNumber)
        self.out.extend(_read(target, self.stack))

    def _end(self, tag: str) -> None:
        local = tag.rpartition(":")[2]
        text = "".join(self.token)
        if local == "name":
            if text:
                self.name = text.strip()
        elif local == "value":
            if text:
                self.value = text
        elif local == "final":
            self.final = text == "true"
        elif local == "include":
            if self.fallback_allowed and not self.fallback_entered:
                raise ConfigError(f"cannot include {self.include!r}: no such file, and no xi:fallback",
                                  file=self.path, line=self.p.CurrentLineNumber)
            self.fallback_allowed = self.fallback_entered = False
        elif local == "property":
            if self.name is None or (self.fallback_entered and not self.fallback_allowed):
                return
            self.out.append(XmlProperty(self.name, self.value, self.final, self.path, self.line))
