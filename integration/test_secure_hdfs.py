"""pyarn's HDFS client on a Kerberized HDFS with DataTransfer SASL, end to end.

Runs only when ``PYARN_TEST_HADOOP_CONF_DIR`` names a cluster whose
``core-site.xml`` says ``hadoop.security.authentication=kerberos``, e.g.::

    ../shared/realcluster/realcluster.sh start all --kerberos --protection privacy
    eval "$(../shared/realcluster/realcluster.sh env)"   # KRB5_CONFIG, KRB5CCNAME, ...
    pytest integration/test_secure_hdfs.py

Everything runs at the cluster's own ``dfs.data.transfer.protection`` (read from
the client configuration): put/get round trips, files written by Java's FsShell
read by pyarn and the other way round, a client holding nothing but an HDFS
delegation token (as a YARN container does), and the ways a client with other
settings or a bad block token fails. FsShell needs Java and a Hadoop client
classpath (``PYARN_TEST_HADOOP_CLASSPATH``, or the ``realcluster.sh`` that made the
configuration directory).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import time
import uuid
import xml.etree.ElementTree as ElementTree
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import pytest

from .conftest import ENV, fsshell_runner

REPO = Path(__file__).resolve().parent.parent
REALCLUSTER = REPO.parent / "shared" / "realcluster" / "realcluster.sh"
MIB = 1024 * 1024
FAST = 2.0


def _site(name: str) -> Dict[str, str]:
    conf_dir = os.environ.get(ENV)
    path = Path(conf_dir) / name if conf_dir else None
    if path is None or not path.is_file():
        return {}
    return {(p.findtext("name") or "").strip(): (p.findtext("value") or "").strip()
            for p in ElementTree.parse(path).getroot().iter("property")}


def _gssapi_missing() -> bool:
    try:
        import gssapi  # noqa: F401
    except ImportError:
        return True
    return False


pytestmark = [
    pytest.mark.realcluster,
    pytest.mark.skipif(_site("core-site.xml").get("hadoop.security.authentication", "simple").lower()
                       != "kerberos",
                       reason=f"needs a Kerberized HDFS: set {ENV} to a cluster started with --kerberos "
                              "(../shared/realcluster/realcluster.sh start all --kerberos)"),
    pytest.mark.skipif(_gssapi_missing(), reason="needs the gssapi package: pip install 'pyarn[kerberos]'"),
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conf():
    from pyarn.conf import Configuration

    if not os.environ.get("KRB5CCNAME"):
        pytest.skip("KRB5CCNAME is not set: eval \"$(../shared/realcluster/realcluster.sh env)\"")
    configuration = Configuration.load(os.environ[ENV])
    if not configuration.get_str("fs.defaultFS", "file:///").lower().startswith("hdfs://"):
        pytest.skip("the cluster has no HDFS")
    return configuration


@pytest.fixture(scope="module")
def qops(conf):
    from pyarn.hdfs.datatransfer_sasl import parse_protection

    found = parse_protection(conf.get("dfs.data.transfer.protection"))
    if not found:
        pytest.skip("the cluster sets no dfs.data.transfer.protection (a DataNode on privileged ports?)")
    return found


@pytest.fixture(scope="module")
def fs(conf, qops):
    from pyarn.hdfs import HDFS

    with HDFS(conf=conf) as client:
        yield client


@pytest.fixture(scope="module")
def workdir(fs) -> Iterator[str]:
    path = fs.mkdir(f"/tmp/pyarn-it-secure-{uuid.uuid4().hex[:12]}", permission=0o777)
    fs.chmod(path, 0o777)  # the token-only client may run as another local user name
    yield path
    fs.rm(path, recursive=True)



@pytest.fixture(scope="module")
def fsshell(conf) -> Callable[..., str]:
    """Hadoop's FsShell as the same Kerberos user (the ticket of ``KRB5CCNAME``)."""
    return fsshell_runner(Path(os.environ[ENV]))


# -- the client follows the cluster ------------------------------------------------------------


def test_transfer_security_follows_the_configuration(fs, qops):
    assert fs.transfer_security.security_enabled
    assert fs.transfer_security.qops == qops
    assert fs.transfer_security.encryption_key() is None  # the reference cluster does not encrypt


# -- round trips ---------------------------------------------------------------------------------

SIZES = {"empty": 0, "one": 1, "chunk+1": 513, "mib": MIB}


@pytest.mark.parametrize("name", list(SIZES))
def test_put_get_round_trip(fs, workdir, tmp_path, name):
    data = os.urandom(SIZES[name])
    (tmp_path / "in").write_bytes(data)
    remote = fs.put(tmp_path / "in", f"{workdir}/{name}")
    assert fs.stat(remote).length == len(data)
    fs.get(remote, tmp_path / "out")
    assert sha((tmp_path / "out").read_bytes()) == sha(data)


def test_one_block_plus_one_byte(fs, workdir, tmp_path):
    data = os.urandom(MIB + 1)
    (tmp_path / "in").write_bytes(data)
    remote = fs.put(tmp_path / "in", f"{workdir}/block-plus-one", block_size=MIB)
    located = fs.namenode.get_block_locations(remote)
    assert [b.b.numBytes for b in located.blocks] == [MIB, 1]
    fs.get(remote, tmp_path / "out")
    assert sha((tmp_path / "out").read_bytes()) == sha(data)
    with fs.open(remote) as reader:  # a read that starts inside the first block and ends in the second
        reader.seek(MIB - 10)
        assert reader.read(11) == data[MIB - 10:]


def test_connections_are_protected_as_configured(fs, workdir, qops, monkeypatch):
    """What crosses the DataNode socket: the file's bytes in clear unless privacy."""
    from pyarn.ipc.constants import Qop
    from tests.ipc.test_qop_wire import MARKER, TcpRelay

    marker = (MARKER.encode() * 64)
    relays = []

    def through_relay(datanode, timeout=60.0, use_hostname=False):
        import socket

        relay = TcpRelay((datanode.id.ipAddr, datanode.id.xferPort))
        relays.append(relay)
        host, _, port = relay.address.rpartition(":")
        return socket.create_connection((host, int(port)), timeout=timeout)

    monkeypatch.setattr(fs, "_sock_factory", through_relay)
    with fs.open(f"{workdir}/marked", "wb") as out:
        out.write(marker)
    with fs.open(f"{workdir}/marked") as back:
        assert back.read() == marker
    time.sleep(0.2)
    captured = b"".join(relay.captured() for relay in relays)
    for relay in relays:
        relay.close()
    assert captured[:4] == b"\xde\xad\xbe\xef"  # the SASL magic number went first
    assert (MARKER.encode() in captured) is (qops[0] is not Qop.AUTH_CONF)


def test_aes_cipher_suite_when_asked(conf, qops, workdir, tmp_path, caplog):
    """A client that accepts AES/CTR/NoPadding: the DataNode uses it when it is configured for it too
    (``dfs.encrypt.data.transfer.cipher.suites``), else the stream keeps the SASL layer."""
    import logging

    from pyarn.hdfs import HDFS
    from pyarn.ipc.constants import Qop

    data = os.urandom(MIB + 3)
    overrides = {"dfs.encrypt.data.transfer.cipher.suites": "AES/CTR/NoPadding"}
    with caplog.at_level(logging.DEBUG, logger="pyarn.hdfs.transfer_security"), \
            HDFS(conf=conf.with_overrides(overrides)) as client:
        with client.open(f"{workdir}/aes", "wb") as out:
            out.write(data)
        with client.open(f"{workdir}/aes") as back:
            assert sha(back.read()) == sha(data)
    handshakes = [r.getMessage() for r in caplog.records if "DataTransfer SASL with" in r.getMessage()]
    assert len(handshakes) == 2
    if qops[0] is not Qop.AUTH_CONF:
        assert not any("AES/CTR" in h for h in handshakes), "AES is only negotiated with privacy"


# -- against Java's FsShell ------------------------------------------------------------------------


def test_fsshell_file_read_by_pyarn(fs, fsshell, workdir, tmp_path):
    data = os.urandom(3 * MIB + 17)
    (tmp_path / "java-in").write_bytes(data)
    fsshell("-put", str(tmp_path / "java-in"), f"{workdir}/from-java")
    fs.get(f"{workdir}/from-java", tmp_path / "out")
    assert sha((tmp_path / "out").read_bytes()) == sha(data)


def test_pyarn_file_read_by_fsshell(fs, fsshell, workdir, tmp_path):
    data = os.urandom(2 * MIB + 5)
    (tmp_path / "in").write_bytes(data)
    fs.put(tmp_path / "in", f"{workdir}/from-pyarn", block_size=MIB)
    fsshell("-get", f"{workdir}/from-pyarn", str(tmp_path / "java-out"))
    assert sha((tmp_path / "java-out").read_bytes()) == sha(data)


# -- delegation tokens ---------------------------------------------------------------------------


def test_delegation_token_service_is_the_namenodes_ip_and_port(fs, conf):
    from pyarn.conf import namenode_addresses
    from pyarn.net import token_service
    from pyarn.security.tokens import HDFS_DELEGATION_TOKEN_KIND

    _, host, port = namenode_addresses(conf).namenodes[0]
    token = fs.get_delegation_token("yarn")
    assert token.kind == HDFS_DELEGATION_TOKEN_KIND and token.identifier and token.password
    assert token.service == token_service(host, port, use_ip=True)


_TOKEN_ONLY = textwrap.dedent("""
    import hashlib, os, sys, time
    from pyarn.hdfs import HDFS
    from pyarn.security.kerberos import KerberosCredentials, NoTicketError
    try:
        KerberosCredentials.from_ticket_cache()
        sys.exit("a Kerberos ticket is at hand: the test proves nothing")
    except NoTicketError:
        pass
    workdir, local, expected = sys.argv[1], sys.argv[2], sys.argv[3:]
    with HDFS() as fs:
        assert [t.kind for t in fs.user.tokens] == expected, fs.user.tokens
        names = fs.ls(workdir)
        fs.put(local, workdir + "/by-token")
        fs.get(workdir + "/by-token", local + ".back")
        with open(local, "rb") as a, open(local + ".back", "rb") as b:
            assert a.read() == b.read()
        print("listed", len(names), "round trip of", os.path.getsize(local), "bytes: ok")
""")


def _child_env(tmp_path: Path, token_file: Optional[Path]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_TOKEN_FILE_LOCATION", "HADOOP_TOKEN")}
    env["KRB5CCNAME"] = f"FILE:{tmp_path / 'no-ticket-cache'}"
    env["HADOOP_CONF_DIR"] = os.environ[ENV]
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if token_file is not None:
        env["HADOOP_TOKEN_FILE_LOCATION"] = str(token_file)
    return env


def test_a_client_with_only_a_delegation_token(fs, workdir, tmp_path):
    """What a YARN container does: no ticket, the HDFS delegation token from its token file."""
    from pyarn.security.credentials import Credentials

    token = fs.get_delegation_token("yarn")
    credentials = Credentials()
    credentials.add_token(token.service, token)
    token_file = tmp_path / "container_tokens"
    credentials.write_file(token_file)
    local = tmp_path / "payload"
    local.write_bytes(os.urandom(MIB + 7))
    done = subprocess.run([sys.executable, "-c", _TOKEN_ONLY, workdir, str(local), "HDFS_DELEGATION_TOKEN"],
                          capture_output=True, text=True, timeout=120, env=_child_env(tmp_path, token_file),
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "round trip of 1048583 bytes: ok" in done.stdout
    assert fs.stat(f"{workdir}/by-token").length == MIB + 7
    # and without the token file the same child cannot even list
    done = subprocess.run([sys.executable, "-c", _TOKEN_ONLY, workdir, str(local)], capture_output=True,
                          text=True, timeout=120, env=_child_env(tmp_path, None), cwd=tmp_path)
    assert done.returncode != 0 and "NoTicketError" in done.stderr, done.stderr[-3000:]


# -- failures ----------------------------------------------------------------------------------------


def _other_protection(qops) -> str:
    from pyarn.ipc.constants import Qop

    for qop, name in ((Qop.AUTH, "authentication"), (Qop.AUTH_INT, "integrity"), (Qop.AUTH_CONF, "privacy")):
        if qop not in qops:
            return name  # the lowest protection the cluster does not accept
    pytest.skip("the cluster accepts every protection")


def test_a_client_with_another_protection_fails_fast(conf, fs, qops, workdir, tmp_path):
    from pyarn.hdfs import HDFS
    from pyarn.hdfs.datatransfer_sasl import DataTransferProtectionError

    (tmp_path / "in").write_bytes(b"protected bytes")
    remote = fs.put(tmp_path / "in", f"{workdir}/for-the-mismatch")
    other = _other_protection(qops)
    with HDFS(conf=conf.with_overrides({"dfs.data.transfer.protection": other})) as client:
        started = time.monotonic()
        with pytest.raises(DataTransferProtectionError,
                           match=f"No common protection layer.*dfs.data.transfer.protection is {other}, "
                                 f"the DataNode's is"):
            client.open(remote).read()
        assert time.monotonic() - started < FAST
        started = time.monotonic()
        with pytest.raises(DataTransferProtectionError, match="No common protection layer"):
            with client.open(f"{workdir}/never-written", "wb") as out:
                out.write(b"x")
        assert time.monotonic() - started < FAST
        assert not client.exists(f"{workdir}/never-written")


def test_a_client_without_the_protection_setting_is_told(conf, fs, workdir, tmp_path):
    from pyarn.hdfs import HDFS
    from pyarn.hdfs.streams import BlockMissingError

    (tmp_path / "in").write_bytes(b"needs SASL")
    remote = fs.put(tmp_path / "in", f"{workdir}/for-the-unprotected")
    values = {k: conf.raw(k) for k in conf if k != "dfs.data.transfer.protection"}
    values.update({"dfs.client.max.block.acquire.failures": "0", "dfs.client.retry.window.base": "1"})
    from pyarn.conf import Configuration

    with HDFS(conf=Configuration(values)) as client:
        assert client.transfer_security.qops == ()
        with pytest.raises(BlockMissingError, match="sets no dfs.data.transfer.protection"):
            client.open(remote).read()


def test_a_bad_block_token_is_refused(fs, workdir, tmp_path):
    from pyarn.hdfs.blocks import BlockTokenError, connect_datanode, read_block

    (tmp_path / "in").write_bytes(b"token-protected")
    remote = fs.put(tmp_path / "in", f"{workdir}/for-the-token")
    located = fs.namenode.get_block_locations(remote).blocks[0]
    located.blockToken.password = bytes(len(located.blockToken.password))
    factory = partial(connect_datanode, timeout=10)
    started = time.monotonic()
    with pytest.raises(BlockTokenError, match="refused the block token"):
        b"".join(read_block(factory, located, 0, 15, fs.namenode.client_name, security=fs.transfer_security))
    assert time.monotonic() - started < FAST
