"""Where the integration scenarios run.

``PYARN_TEST_HADOOP_CONF_DIR`` names a real Hadoop's client configuration
(``../shared/realcluster/realcluster.sh conf-dir``); without it the same
scenarios run against pyarn's own mini cluster, so the mini cluster is held to
what a real cluster does.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import pytest

ENV = "PYARN_TEST_HADOOP_CONF_DIR"


def real_conf_dir() -> Optional[Path]:
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


@pytest.fixture(scope="session")
def is_kerberized(hadoop_conf_dir) -> bool:
    """Whether the cluster under test uses Kerberos (``hadoop.security.authentication``)."""
    return kerberized(hadoop_conf_dir)


def kerberized(conf_dir: Path) -> bool:
    """Whether the configuration in ``conf_dir`` says ``hadoop.security.authentication=kerberos``."""
    from pyarn.conf import Configuration

    authentication = Configuration.load(conf_dir).get_str("hadoop.security.authentication", "simple")
    return authentication.lower() == "kerberos"


def requires_real_cluster() -> pytest.MarkDecorator:
    """Skip unless a real Hadoop is configured (for checks that need its REST API or Java tools)."""
    return pytest.mark.skipif(real_conf_dir() is None,
                              reason=f"needs a real Hadoop cluster: set {ENV} "
                                     "(../shared/realcluster/realcluster.sh conf-dir)")


def block_file(conf_dir: Path, block_id: int) -> Optional[Path]:
    """The on-disk file of a replica of ``block_id``, when the DataNodes keep their blocks on this
    machine: found under ``dfs.datanode.data.dir`` as the ``hdfs-site.xml`` of ``conf_dir`` (or of
    its ``hdfs/`` subdirectory, where the reference cluster keeps its servers' settings) names it."""
    from pyarn.conf import Configuration

    for directory in (conf_dir / "hdfs", conf_dir):
        if not (directory / "hdfs-site.xml").is_file():
            continue
        for data_dir in Configuration.load(directory).get_list("dfs.datanode.data.dir", []):
            root = Path(data_dir.replace("file://", ""))
            for found in root.rglob(f"blk_{block_id}") if root.is_dir() else ():
                return found
    return None
