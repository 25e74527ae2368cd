"""pyarn: deploy and run applications on Apache Hadoop YARN from pure Python.

pyarn speaks Hadoop's native protobuf RPC to the ResourceManager, the
NodeManagers, the NameNode and the DataNodes; no JVM is involved.
"""
from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["ApplicationClient", "Client", "__version__"]

#: Names served lazily from submodules (``from pyarn import Client``).
_LAZY = {"Client": "pyarn.client", "ApplicationClient": "pyarn.app_client"}


def __getattr__(name: str) -> Any:
    # Keep ``import pyarn`` cheap: the CLI imports it on every invocation.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyarn' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
