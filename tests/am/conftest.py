"""Fixtures of the end-to-end tests: a cluster (the mini cluster, or the real one named by
``PYARN_TEST_HADOOP_CONF_DIR``) and a client of it, one per module."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyarn.client import Client

from .launching import PYTHON, REAL_ENV


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
def staging_root(tmp_path_factory) -> Path:
    """Where the module's applications are staged (``file://``: the clusters run on this host)."""
    return tmp_path_factory.mktemp("staging")


@pytest.fixture(scope="module")
def client(conf_dir, staging_root, tmp_path_factory):
    """A client that submits with this interpreter, stages locally and keeps the secrets of its
    applications in a directory of the module's (``PYARN_HOME``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(tmp_path_factory.mktemp("pyarn-home")))
        with Client(conf_dir, python=PYTHON, staging_dir=f"file://{staging_root}") as c:
            yield c
