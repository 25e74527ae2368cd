"""Where the integration scenarios run.

``PYARN_TEST_HADOOP_CONF_DIR`` names a real Hadoop's client configuration
(``../shared/realcluster/realcluster.sh conf-dir``); without it the same
scenarios run against pyarn's own mini cluster, so the mini cluster is held to
what a real cluster does.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

ENV = "PYARN_TEST_HADOOP_CONF_DIR"


def real_conf_dir() -> "Path | None":
    value = os.environ.get(ENV)
    return Path(value) if value else None


@pytest.fixture(scope="session")
def hadoop_conf_dir() -> Iterator[Path]:
    """A HADOOP_CONF_DIR for a running cluster: the real one, or a mini cluster started here."""
    real = real_conf_dir()
    if real is not None:
        if not (real / "yarn-site.xml").is_file():
            pytest.fail(f"{ENV}={real} has no yarn-site.xml")
        yield real
        return
    try:
        from pyarn.minicluster import MiniCluster
    except ImportError:
        pytest.skip(f"{ENV} is not set and pyarn's mini cluster is not available")
    with MiniCluster(nodes=2) as cluster:
        yield Path(cluster.conf_dir)


@pytest.fixture(scope="session")
def is_real_cluster() -> bool:
    return real_conf_dir() is not None


def requires_real_cluster() -> pytest.MarkDecorator:
    """Skip unless a real Hadoop is configured (for checks that need its REST API or Java tools)."""
    return pytest.mark.skipif(real_conf_dir() is None,
                              reason=f"needs a real Hadoop cluster: set {ENV} "
                                     "(../shared/realcluster/realcluster.sh conf-dir)")
