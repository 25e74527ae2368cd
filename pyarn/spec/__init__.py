"""Application specs: what to run on YARN, in Skein's spec format.

A spec is YAML or JSON with Skein's field names, so Skein spec files load
unchanged::

    from pyarn.spec import ApplicationSpec

    spec = ApplicationSpec.from_file("examples/hello-world.yaml")
    print(spec.services["hello"].resources.memory)   # MiB
    print(spec.to_yaml(skip_defaults=True))

Every way of building a spec validates it; problems raise :class:`SpecError`
(a ``ValueError`` and a :class:`pyarn.errors.PyarnError`) whose message starts
with the field path, e.g. ``services.worker.resources.memory: expected a
positive size such as 512 or '2 GiB', got '-3 GiB'``. Local file sources
must exist when a spec is loaded or validated, unless ``check_files=False``.
"""
from __future__ import annotations

from ._base import SpecError, format_path
from .files import ARCHIVE_EXTENSIONS, File, FileType, FileVisibility, normalize_source
from .model import ACLs, ApplicationSpec, LogLevel, Master, Resources, Security, Service, find_cycle
from .units import MEMORY_UNITS, parse_memory

__all__ = [
    "ApplicationSpec", "Master", "Service", "Resources", "File", "FileType", "FileVisibility",
    "LogLevel", "ACLs", "Security", "SpecError", "parse_memory", "MEMORY_UNITS",
    "ARCHIVE_EXTENSIONS", "normalize_source", "find_cycle", "format_path",
]
