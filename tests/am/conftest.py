"""Fixtures of the end-to-end tests: a cluster (the mini cluster, or the real one named by
``PYARN_TEST_HADOOP_CONF_DIR``) and a client of it, one per module."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyarn.client import Client

from .launching import REAL_ENV


@pytest.fixture(scope="module")
def conf_dir():
    real = os.environ.get(REAL_ENV)
    if real:
        yield Path(real)
        return
    try:
        from pyarn.minicluster import MiniCluster
    except ImportError:
        pytest.skip(f"{REAL_ENV} is not set and pyarn's mini cluster is not available")
    with MiniCluster(nodes=2) as cluster:
        yield Path(cluster.conf_dir)


@pytest.fixture(scope="module")
def client(conf_dir):
    with Client(conf_dir) as c:
        yield c
