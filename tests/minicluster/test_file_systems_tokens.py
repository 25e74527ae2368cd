"""``file_systems`` in a spec, on the mini cluster in Kerberos mode with a second HDFS.

A second NameNode and DataNode (:class:`~pyarn.minicluster.hdfs.MiniHDFS`) run beside the
cluster's own HDFS, with the same KDC and principals. ``Client.submit`` fetches an HDFS delegation
token from each file system, renewable by the ResourceManager; a service container, with no
Kerberos ticket, reads a file from the second HDFS and writes it to the first with those tokens
alone. Without the ``file_systems`` entry it cannot read the second one. A bad entry (not
``hdfs://``, a NameNode that does not answer, a host that does not resolve) fails the submission
with an error naming the entry before anything is staged or submitted.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.hdfs import HDFS
from pyarn.minicluster import MiniCluster
from pyarn.minicluster.hdfs import MiniHDFS
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import HDFS_DELEGATION_TOKEN_KIND
from pyarn.security.writable import DelegationTokenIdentifier
from pyarn.spec import SpecError
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationState, FinalStatus

from ..security.kdc import (
    USER,
    TestKdc,
    kerberos_environment,
    secure_minicluster,
)
from .rawam import service_output, wait_ended

REPO = Path(__file__).resolve().parents[2]
REALM = "PYARN.TEST"
ENV = {"PYTHONPATH": str(REPO)}
FAST = 5.0  # seconds
_FINAL = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
DATA = b"bytes that live on the second HDFS\n" * 100


@pytest.fixture(scope="module")
def kdc() -> Iterator[TestKdc]:
    with kerberos_environment(USER, "pyarn-home-file-systems") as kdc:
        yield kdc


@pytest.fixture(scope="module")
def cluster(kdc) -> Iterator[MiniCluster]:
    with secure_minicluster(kdc, "privacy") as mini:
        yield mini


@pytest.fixture(scope="module")
def second(cluster, tmp_path_factory) -> Iterator[MiniHDFS]:
    """Another Kerberized HDFS (same KDC, same nn/localhost principal), with alice's home."""
    with MiniHDFS(tmp_path_factory.mktemp("second-hdfs"), security=cluster.security) as hdfs:
        conf = Configuration.load(cluster.conf_dir)
        with HDFS(conf=conf, uri=hdfs.default_fs, user=hdfs.superuser()) as fs:
            fs.chown(fs.mkdir(f"/user/{USER}"), owner=USER)
        with HDFS(conf=conf, uri=hdfs.default_fs) as fs:  # alice, with her ticket
            with fs.open(f"/user/{USER}/input.txt", "wb") as out:
                out.write(DATA)
        yield hdfs


@pytest.fixture
def client(cluster) -> Iterator[Client]:
    with Client(cluster.conf_dir, python=sys.executable) as c:
        yield c




# The service: no ticket; reads SOURCE from the second HDFS and writes it to TARGET on the first.
_COPIER = """\
{python} - <<'PYEOF'
import os
from pyarn.hdfs import HDFS
from pyarn.security.kerberos import KerberosCredentials
try:
    KerberosCredentials.from_ticket_cache(os.environ.get("KRB5CCNAME"))
    print("a ticket!")
except Exception as exc:
    print("no ticket:", type(exc).__name__)
with HDFS(os.environ["PYARN_CONF_DIR"], uri=os.environ["SECOND"]) as second:
    with second.open(os.environ["SOURCE"]) as stream:
        data = stream.read()
with HDFS(os.environ["PYARN_CONF_DIR"]) as first:
    with first.open(os.environ["TARGET"], "wb") as out:
        out.write(data)
print("copied", len(data), "bytes")
PYEOF
"""


def _spec(name: str, second: MiniHDFS, target: str, file_systems: List[str]) -> Dict:
    env = {**ENV, "SECOND": second.default_fs, "SOURCE": f"/user/{USER}/input.txt", "TARGET": target}
    return {"name": name, "max_attempts": 1, "file_systems": file_systems, "master": {"env": ENV},
            "services": {"copier": {"resources": {"memory": 128, "vcores": 1}, "env": env,
                                    "script": _COPIER.format(python=sys.executable)}}}


def _am_tokens(cluster: MiniCluster, app_id: ApplicationId) -> Credentials:
    assert cluster.resource_manager is not None
    return Credentials.from_bytes(cluster.resource_manager.apps[app_id].context.am_container_spec.tokens)


def test_a_container_reads_the_second_hdfs_and_writes_the_first_with_tokens_alone(cluster, second, client):
    target = f"/user/{USER}/copied-{time.time_ns()}"
    app_id = client.submit(_spec("two-file-systems", second, target, [second.default_fs]))
    report = wait_ended(client, app_id)
    out = service_output(cluster.conf_dir, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED), \
        report.diagnostics + out
    assert out == f"no ticket: NoTicketError\ncopied {len(DATA)} bytes\n"
    with HDFS(cluster.conf_dir) as fs:
        assert fs.stat(target).owner == USER  # written as alice, by her token
        with fs.open(target) as stream:
            assert stream.read() == DATA
    tokens = {t.service: DelegationTokenIdentifier.from_token(t)
              for t in _am_tokens(cluster, app_id).tokens.values() if t.kind == HDFS_DELEGATION_TOKEN_KIND}
    assert sorted(tokens) == sorted([cluster.hdfs.namenode_address, second.namenode_address])
    assert {(i.owner, i.renewer) for i in tokens.values()} == {(f"{USER}@{REALM}", "yarn")}


def test_without_the_entry_the_second_hdfs_is_out_of_reach(cluster, second, client):
    target = f"/user/{USER}/never-{time.time_ns()}"
    app_id = client.submit(_spec("one-file-system", second, target, []))
    report = wait_ended(client, app_id)
    assert report.final_status is FinalStatus.FAILED
    out = service_output(cluster.conf_dir, app_id)
    assert out.startswith("no ticket: NoTicketError\n")
    assert "NoTicketError: no Kerberos ticket" in out, out
    with HDFS(cluster.conf_dir) as fs:
        assert not fs.exists(target)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _state(client: Client, cluster: MiniCluster):
    """The applications the RM knows, the last inode id of the cluster's NameNode (anything
    created, even if deleted since, moves it) and the saved secrets."""
    assert cluster.hdfs is not None
    secrets = Path(os.environ["PYARN_HOME"]) / "apps"
    return ({r.id for r in client.get_applications(states=list(ApplicationState))},
            cluster.hdfs.namenode._next_inode_id, sorted(os.listdir(secrets)) if secrets.exists() else [])


@pytest.mark.parametrize("entry, expected", [
    ("s3a://bucket/data", r"file_systems: expected an hdfs:// file system URI, got 's3a://bucket/data'"),
    ("hdfs://127.0.0.1:{closed}", r"file_systems\[1\]: cannot get a delegation token from "
                                  r"hdfs://127.0.0.1:{closed}: ConnectFailedError: cannot connect to "
                                  r"127.0.0.1:{closed}: Connection refused"),
    ("hdfs://no-such-host.invalid:8020", r"file_systems\[1\]: cannot get a delegation token from "
                                         r"hdfs://no-such-host.invalid:8020: .*no-such-host.invalid"),
])
def test_a_bad_entry_fails_before_anything_is_staged(cluster, second, kdc, entry, expected):
    closed = _closed_port()
    entry, expected = entry.format(closed=closed), expected.format(closed=closed)
    # one attempt per NameNode: Hadoop's 15 failover attempts take minutes on a refused port
    conf = Configuration.load(cluster.conf_dir).with_overrides({"dfs.client.failover.max.attempts": "1"})
    with Client(conf=conf, python=sys.executable) as client:
        before = _state(client, cluster)
        started = time.monotonic()
        with pytest.raises(SpecError, match=expected):
            client.submit(_spec("bad-file-system", second, "/never", [second.default_fs, entry]))
        assert time.monotonic() - started < FAST
        assert _state(client, cluster) == before
