"""pyarn: deploy and run applications on Apache Hadoop YARN from pure Python.

pyarn speaks Hadoop's native protobuf RPC to the ResourceManager, the
NodeManagers, the NameNode and the DataNodes; no JVM is involved.
"""
from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # Keep ``import pyarn`` cheap: the CLI imports it on every invocation.
    raise AttributeError(f"module 'pyarn' has no attribute {name!r}")
