"""The mini cluster with its HDFS: one conf dir for YARN and HDFS, ``hdfs://`` resources in containers."""
from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hadoop_protos import yarn_records_pb2 as pb
from pyarn.conf import Configuration
from pyarn.hdfs import HDFS
from pyarn.minicluster import MiniCluster, cli
from pyarn.minicluster.hdfs import MiniHDFS
from pyarn.security.user import User

from .rawam import Cluster, log_dir_command, wait_for
from .test_containers import _run

REALCLUSTER = Path(__file__).resolve().parents[3] / "shared" / "realcluster" / "realcluster.sh"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is 3.11+)


@pytest.fixture(scope="module")
def fs(minicluster):
    with HDFS(minicluster.conf_dir) as client:
        yield client


@pytest.fixture
def am(cluster):
    am = cluster.submit_unmanaged("hdfs-resources")
    am.register()
    yield am
    am.close()
    cluster.kill(am.app_id)


def hdfs_resource(fs: HDFS, path: str, type: int = pb.FILE, visibility: int = pb.APPLICATION,
                  authority: bool = True) -> pb.LocalResourceProto:
    """An ``hdfs://`` LocalResource with the size and timestamp the NameNode reports."""
    status = fs.stat(path)
    host, port = fs.authority.split(":")
    url = pb.URLProto(scheme="hdfs", host=host, port=int(port), file=status.path) if authority \
        else pb.URLProto(scheme="hdfs", file=status.path)
    return pb.LocalResourceProto(resource=url, size=status.length, type=type, visibility=visibility,
                                 timestamp=(status.modification_time - EPOCH) // timedelta(milliseconds=1))


def _write(fs: HDFS, path: str, data: bytes) -> str:
    with fs.open(path, "wb") as out:
        out.write(data)
    return fs.resolve(path)


def _archives() -> dict:
    inner = b"inside the archive\n"
    tgz, zipped = io.BytesIO(), io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as archive:
        info = tarfile.TarInfo("sub/inner.txt")
        info.size = len(inner)
        archive.addfile(info, io.BytesIO(inner))
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("z/inner.txt", inner)
    return {"bundle.tgz": tgz.getvalue(), "bundle.zip": zipped.getvalue()}


# -- the cluster ----------------------------------------------------------------------------


def test_one_conf_dir_for_yarn_and_hdfs(minicluster, fs):
    assert isinstance(minicluster.hdfs, MiniHDFS) and len(minicluster.hdfs.datanodes) == 1
    assert minicluster.default_fs == minicluster.hdfs.default_fs
    assert minicluster.default_fs.startswith("hdfs://127.0.0.1:")
    assert minicluster.default_fs != "hdfs://127.0.0.1:8020", "an ephemeral port, never the real NameNode's"
    assert sorted(os.listdir(minicluster.conf_dir)) == ["core-site.xml", "hdfs-site.xml", "yarn-site.xml"]
    conf = Configuration.load(minicluster.conf_dir)
    assert conf.get_str("fs.defaultFS") == minicluster.default_fs
    assert conf.get_str("dfs.namenode.rpc-address") == minicluster.hdfs.namenode_address
    assert conf.get_str("yarn.resourcemanager.address") == minicluster.rm_address
    # set up as a fresh real cluster: a world-writable sticky /tmp and the user's home
    assert fs.stat("/tmp").mode == "drwxrwxrwt"
    user = User.current().name
    home = fs.stat(f"/user/{user}")
    assert (home.is_dir, home.owner, home.mode) == (True, user, "drwxr-xr-x")


def test_pyarn_client_puts_and_gets_through_the_conf_dir(minicluster, tmp_path):
    data = os.urandom(300_000)
    (tmp_path / "up.bin").write_bytes(data)
    with HDFS(minicluster.conf_dir) as fs:
        target = fs.put(tmp_path / "up.bin", "up.bin")  # relative: in the user's home
        assert target == f"/user/{User.current().name}/up.bin"
        assert fs.get(target, tmp_path / "down.bin").read_bytes() == data
        fs.rm(target)


def test_without_hdfs_the_default_fs_is_local(tmp_path):
    with MiniCluster(nodes=1, memory_mb=512, vcores=1, workdir=tmp_path, hdfs=False) as mc:
        assert mc.hdfs is None and mc.default_fs == "file:///"
        assert not (tmp_path / "conf" / "hdfs-site.xml").exists()
        assert Configuration.load(mc.conf_dir).get_str("fs.defaultFS") == "file:///"


def test_datanodes_and_stop(tmp_path):
    mc = MiniCluster(nodes=1, memory_mb=512, vcores=1, workdir=tmp_path, datanodes=2).start()
    hdfs = mc.hdfs
    assert hdfs is not None and len(hdfs.datanodes) == 2 and hdfs.namenode.replication == 2
    address = hdfs.namenode.address
    assert Configuration.load(mc.conf_dir).get_list("dfs.datanode.data.dir") == \
        [str(dn.directory) for dn in hdfs.datanodes]
    mc.stop()
    assert mc.hdfs is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
    with pytest.raises(ValueError, match="datanodes"):
        MiniCluster(datanodes=0)


def test_cli_flags(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))
    for flags, files in [(["--datanodes", "2"], ["core-site.xml", "hdfs-site.xml", "yarn-site.xml"]),
                         (["--no-hdfs"], ["core-site.xml", "yarn-site.xml"])]:
        workdir = tmp_path / flags[0]
        args = parser.parse_args(["minicluster", "start", "--nodes", "1", "--workdir", str(workdir), *flags])
        stop = threading.Event()
        thread = threading.Thread(target=lambda a=args, s=stop: cli.run(a, s))
        thread.start()
        try:
            wait_for(lambda w=workdir: (w / "conf" / "yarn-site.xml").exists(), 10, "the conf dir")
        finally:
            stop.set()
            thread.join(10)
        assert sorted(os.listdir(workdir / "conf")) == files
        out, err = capsys.readouterr()
        assert out == f"export HADOOP_CONF_DIR={workdir / 'conf'}\n"
        assert ("with 2 DataNode(s)" in err) if flags[0] == "--datanodes" else ("no HDFS" in err)


# -- hdfs:// resources in containers ------------------------------------------------------------


def test_container_localizes_hdfs_files_and_archives(am, minicluster, fs):
    base = fs.mkdir(f"/user/{User.current().name}/resources-{am.app_id.id}")
    _write(fs, f"{base}/data.txt", b"plain file\n")
    for name, data in _archives().items():
        _write(fs, f"{base}/{name}", data)
    fs.mkdir(f"{base}/tree/deeper")
    _write(fs, f"{base}/tree/deeper/leaf.txt", b"leaf\n")
    public = fs.mkdir(f"/tmp/public-{am.app_id.id}")
    _write(fs, f"{public}/shared.txt", b"shared\n")
    resources = {
        "data.txt": hdfs_resource(fs, f"{base}/data.txt"),
        "tgz": hdfs_resource(fs, f"{base}/bundle.tgz", pb.ARCHIVE, pb.PRIVATE),
        "zip": hdfs_resource(fs, f"{base}/bundle.zip", pb.ARCHIVE),
        "tree": hdfs_resource(fs, f"{base}/tree"),
        "no-authority.txt": hdfs_resource(fs, f"{base}/data.txt", authority=False),  # on fs.defaultFS
        "shared.txt": hdfs_resource(fs, f"{public}/shared.txt", visibility=pb.PUBLIC),
    }
    resources["data.txt"].size += 100  # Hadoop 3.3 checks the timestamp only
    command = "test -x tgz/sub/inner.txt && " + log_dir_command(
        "cat data.txt tgz/sub/inner.txt zip/z/inner.txt tree/deeper/leaf.txt no-authority.txt shared.txt")
    status, log_dir, nm = _run(am, minicluster, [command], resources=resources)
    assert status.exit_status == 0, status.diagnostics + (log_dir / "stderr").read_text()
    assert (log_dir / "stdout").read_text() == ("plain file\ninside the archive\ninside the archive\nleaf\n"
                                               "plain file\nshared\n")
    user_dir = nm.local_dir / "usercache" / am.cluster.report(am.app_id).user
    assert list((user_dir / "filecache").glob("*/bundle.tgz/sub/inner.txt"))
    assert list((nm.local_dir / "filecache").glob("*/shared.txt"))
    inner = next((user_dir / "filecache").glob("*/bundle.tgz/sub/inner.txt"))
    assert inner.stat().st_mode & 0o777 == 0o500, "FSDownload's permissions for private copies"


def test_changed_hdfs_resource_fails_like_yarn(am, minicluster, fs):
    path = _write(fs, f"/user/{User.current().name}/changed-{am.app_id.id}", b"x")
    resource = hdfs_resource(fs, path)
    resource.timestamp -= 5
    status, _, _ = _run(am, minicluster, ["true"], resources={"x": resource})
    assert status.state == pb.C_COMPLETE and status.exit_status == -1000
    url = f"{minicluster.default_fs}{path}"
    assert f"Resource {url} changed on src filesystem - expected: \"" in status.diagnostics
    assert f"\njava.io.IOException: Resource {url} changed on src filesystem" in status.diagnostics


def test_missing_and_unreadable_hdfs_resources(am, minicluster, fs, monkeypatch):
    path = _write(fs, f"/user/{User.current().name}/missing-{am.app_id.id}", b"x")
    resource = hdfs_resource(fs, path)
    fs.rm(path)
    status, _, _ = _run(am, minicluster, ["true"], resources={"x": resource})
    assert status.exit_status == -1000
    assert (f"java.io.FileNotFoundException: File does not exist: {minicluster.default_fs}{path}"
            in status.diagnostics)
    secret = _write(fs, f"/tmp/secret-{am.app_id.id}", b"x")
    fs.chmod(secret, 0o600)
    monkeypatch.setenv("HADOOP_USER_NAME", "pyarn-other")  # the NM reads resources as the app's user
    with Cluster(minicluster.conf_dir) as other:
        other_am = other.submit_unmanaged("hdfs-resources-other-user")
        with other_am:
            other_am.register()
            status, _, _ = _run(other_am, minicluster, ["true"], resources={"x": hdfs_resource(fs, secret)})
        other.kill(other_am.app_id)
    assert status.exit_status == -1000
    assert "org.apache.hadoop.security.AccessControlException" in status.diagnostics
    assert "Permission denied: user=pyarn-other, access=READ" in status.diagnostics


# -- Java's clients ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def java_classpath() -> str:
    if shutil.which("java") is None:
        pytest.skip("no java on PATH")
    if os.environ.get("PYARN_TEST_HADOOP_CLASSPATH"):
        return os.environ["PYARN_TEST_HADOOP_CLASSPATH"]
    if not REALCLUSTER.is_file():
        pytest.skip("no Hadoop client classpath (set PYARN_TEST_HADOOP_CLASSPATH)")
    done = subprocess.run([str(REALCLUSTER), "classpath", "yarn"], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        pytest.skip(f"no Hadoop client classpath from {REALCLUSTER}")
    return done.stdout.strip()


def test_java_fsshell_uses_the_conf_dir(minicluster, fs, java_classpath):
    """``FsShell -cp`` with relative paths: the conf dir alone leads Java to the NameNode, the home
    directory and the DataNode; Java reads pyarn's file and pyarn reads Java's copy."""
    data = os.urandom(100_000)
    _write(fs, "from-pyarn.bin", data)
    command = ["java", "--add-opens=java.base/java.lang=ALL-UNNAMED", "-cp",
               f"{minicluster.conf_dir}{os.pathsep}{java_classpath}", "org.apache.hadoop.fs.FsShell",
               "-cp", "from-pyarn.bin", "copied-by-java.bin"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    with fs.open("copied-by-java.bin") as copied:
        assert copied.read() == data
    assert fs.stat("copied-by-java.bin").owner == User.current().name
