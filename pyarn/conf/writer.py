"""Writing Hadoop ``*-site.xml`` files: the one writer pyarn uses (the reader is :mod:`.xml`).

:func:`site_xml` gives a ``<configuration>`` document with one ``<property>``
per setting, names and values written as given (``${...}`` unexpanded) and
escaped; :func:`write_site_xml` writes it to a file. What it writes, the
reader reads back unchanged, except that a setting whose value is empty reads
as unset (as Hadoop reads an empty ``<value/>``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Union
from xml.sax.saxutils import escape

__all__ = ["site_xml", "write_site_xml"]

#: Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(what: str, value: Any) -> str:
    text = str(value)
    bad = _NOT_XML.search(text)
    if bad:
        raise ValueError(f"{what}: {bad.group()!r} cannot be written in an XML configuration file")
    return escape(text)


def site_xml(properties: Mapping[str, Any]) -> str:
    """A Hadoop ``<configuration>`` document holding ``properties`` (values written with ``str``).

    ValueError naming the property when a name or value has a character XML cannot hold."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<configuration>"]
    for name, value in properties.items():
        lines.append(f"  <property><name>{_text('property name', name)}</name>"
                     f"<value>{_text(str(name), value)}</value></property>")
    lines.append("</configuration>")
    return "\n".join(lines) + "\n"


def write_site_xml(path: Union[str, os.PathLike], properties: Mapping[str, Any]) -> Path:
    """Write :func:`site_xml` of ``properties`` to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.write_text(site_xml(properties), encoding="utf-8")
    return target
