"""Fixtures: one mini cluster for the module's tests, and a client of it."""
from __future__ import annotations

from typing import Iterator

import pytest

from pyarn.minicluster import MiniCluster

from .rawam import Cluster


@pytest.fixture(scope="package")
def minicluster() -> Iterator[MiniCluster]:
    """Two NodeManagers of 2048 MiB and 4 vcores."""
    with MiniCluster(nodes=2, memory_mb=2048, vcores=4) as cluster:
        yield cluster


@pytest.fixture
def cluster(minicluster: MiniCluster) -> Iterator[Cluster]:
    with Cluster(minicluster.conf_dir) as client:
        yield client
