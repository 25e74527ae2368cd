"""Where the integration scenarios run.

``PYARN_TEST_HADOOP_CONF_DIR`` names a real Hadoop's client configuration
(``../shared/realcluster/realcluster.sh conf-dir``); without it the same
scenarios run against pyarn's own mini cluster, so the mini cluster is held to
what a real cluster does.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Union

import pytest

ENV = "PYARN_TEST_HADOOP_CONF_DIR"
#: The reference cluster's script (beside this checkout in the development layout).
REALCLUSTER = Path(__file__).resolve().parents[2] / "shared" / "realcluster" / "realcluster.sh"


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


def hadoop_classpath(conf_dir: Union[str, Path, None] = None) -> Optional[str]:
    """Hadoop's Java client classpath: ``PYARN_TEST_HADOOP_CLASSPATH``, else that of the
    ``realcluster.sh`` whose configuration ``conf_dir`` is (or its default one), else
    ``hadoop classpath``; None when there is none."""
    if os.environ.get("PYARN_TEST_HADOOP_CLASSPATH"):
        return os.environ["PYARN_TEST_HADOOP_CLASSPATH"]
    env = dict(os.environ)
    if conf_dir is not None:
        home = Path(conf_dir).resolve().parent.parent  # realcluster.sh: $REALCLUSTER_HOME/run/conf
        if (home / "run" / "mode").is_file():
            env["REALCLUSTER_HOME"] = str(home)
    for command in ([str(REALCLUSTER), "classpath", "yarn"], ["hadoop", "classpath"]):
        if shutil.which(command[0]) or Path(command[0]).is_file():
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
    return None


def java_command(conf_dir: Union[str, Path], classpath: str, *args: str) -> List[str]:
    """``java <args>`` with ``conf_dir`` and ``classpath`` on the classpath; Java reads the Kerberos
    realm from ``-Djava.security.krb5.conf`` only, so ``KRB5_CONFIG`` is passed on that way."""
    krb5_conf = os.environ.get("KRB5_CONFIG")
    krb5 = [f"-Djava.security.krb5.conf={krb5_conf}"] if krb5_conf else []
    return ["java", *krb5, "--add-opens=java.base/java.lang=ALL-UNNAMED", "-cp",
            f"{conf_dir}{os.pathsep}{classpath}", *args]


def fsshell_runner(conf_dir: Union[str, Path]) -> Callable[..., str]:
    """``run(*args)``: Hadoop's FsShell on ``conf_dir`` (on a Kerberized cluster as the user of the
    ticket in ``KRB5CCNAME``), returning its output and failing the test with its errors when it
    fails. Skips the test without java or a Hadoop client classpath."""
    if shutil.which("java") is None:
        pytest.skip("no java on PATH")
    classpath = hadoop_classpath(conf_dir)
    if classpath is None:
        pytest.skip("no Hadoop client classpath (set PYARN_TEST_HADOOP_CLASSPATH)")

    def run(*args: str) -> str:
        command = java_command(conf_dir, classpath, "org.apache.hadoop.fs.FsShell", *args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"FsShell {' '.join(args)} failed:\n{done.stderr[-3000:]}"
        return done.stdout
    return run
