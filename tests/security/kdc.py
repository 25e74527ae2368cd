"""A real MIT KDC for the Kerberos tests: a temporary realm on a free loopback port.

:class:`TestKdc` writes a private ``krb5.conf`` / ``kdc.conf`` in a temporary
directory, creates the database (``kdb5_util``), adds principals with random
keys and exports keytabs (``kadmin.local``), starts ``krb5kdc`` in the
foreground and ``kinit``\\ s a user into a temporary ccache. Nothing outside
the temporary directory changes; the test process points ``KRB5_CONFIG`` at
the private configuration (see :func:`kdc_fixture`).

Needs Debian's ``krb5-kdc``, ``krb5-admin-server`` and ``krb5-user``; without
them the fixture skips with the reason.
"""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional, Sequence

import pytest

REALM = "PYARN.TEST"
#: The service principal pyarn's own test servers run as (the host part is what 127.0.0.1 resolves to).
SERVICE = "pyarn/localhost"
#: A second service, for "the server is not who the configuration says" tests; the mini cluster's RM.
OTHER_SERVICE = "rm/localhost"
#: The mini cluster's ResourceManager and NameNode (Hadoop's per-service principals).
RM_SERVICE = OTHER_SERVICE
NN_SERVICE = "nn/localhost"
USER = "alice"
OTHER_USER = "bob"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def _tool(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_tools() -> list:
    """The KDC programs that are not installed."""
    return [n for n in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist") if _tool(n) is None]


def _free_port() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP (the KDC listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for the test KDC")


class TestKdc:
    """One KDC process and its realm; use :meth:`start` / :meth:`stop`."""

    __test__ = False  # not a test class

    def __init__(self, realm: str = REALM) -> None:
        self.realm = realm
        self.dir = Path(tempfile.mkdtemp(prefix="pyarn-kdc-"))
        self.port = _free_port()
        self.krb5_conf = self.dir / "krb5.conf"
        self.kdc_conf = self.dir / "kdc.conf"
        self.keytabs = self.dir / "keytabs"
        self.process: Optional[subprocess.Popen] = None
        self._log = self.dir / "krb5kdc.log"

    # ----------------------------------------------------------- set-up

    @property
    def env(self) -> Dict[str, str]:
        """The environment the MIT tools need to use this realm."""
        env = dict(os.environ)
        env.update(KRB5_CONFIG=str(self.krb5_conf), KRB5_KDC_PROFILE=str(self.kdc_conf))
        env.pop("KRB5CCNAME", None)
        env.pop("KRB5_KTNAME", None)
        env.pop("KRB5_CLIENT_KTNAME", None)
        return env

    def _run(self, *args: str, input_text: Optional[str] = None) -> str:
        tool = _tool(args[0]) or args[0]
        result = subprocess.run([tool, *args[1:]], env=self.env, input=input_text, capture_output=True,
                                text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _write_configs(self) -> None:
        self.keytabs.mkdir()
        self.krb5_conf.write_text(f"""\
[libdefaults]
  default_realm = {self.realm}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  ticket_lifetime = 1h
  forwardable = false
  default_ccache_name = FILE:{self.dir}/default.ccache
  default_keytab_name = FILE:{self.dir}/no-default.keytab
  default_client_keytab_name = FILE:{self.dir}/no-default-client.keytab

[realms]
  {self.realm} = {{
    kdc = 127.0.0.1:{self.port}
  }}

[domain_realm]
  localhost = {self.realm}
  .localhost = {self.realm}
""")
        self.kdc_conf.write_text(f"""\
[kdcdefaults]
  kdc_listen = 127.0.0.1:{self.port}
  kdc_tcp_listen = 127.0.0.1:{self.port}

[realms]
  {self.realm} = {{
    database_name = {self.dir}/principal
    key_stash_file = {self.dir}/stash
    acl_file = {self.dir}/kadm5.acl
    max_life = 1h
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }}

[logging]
  kdc = FILE:{self._log}
""")
        (self.dir / "kadm5.acl").write_text("")

    def start(self) -> TestKdc:
        """Create the realm and its principals, start the KDC, wait until it answers."""
        self._write_configs()
        self._run("kdb5_util", "create", "-s", "-r", self.realm, "-P", os.urandom(12).hex())
        for name in (SERVICE, RM_SERVICE, NN_SERVICE, USER, OTHER_USER):
            self.add_principal(name)
        self.process = subprocess.Popen([_tool("krb5kdc") or "krb5kdc", "-n", "-r", self.realm], env=self.env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        probe = self.dir / "probe.ccache"
        while True:
            try:
                self.kinit(USER, probe)
                probe.unlink()
                return self
            except RuntimeError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = self._log.read_text() if self._log.exists() else "(no log)"
                    raise RuntimeError(f"the test KDC did not come up:\n{log}") from None
                time.sleep(0.1)

    def add_principal(self, name: str) -> Path:
        """Add ``name`` with a random key and export it to ``keytabs/<name>.keytab``."""
        principal = self.principal(name)
        self._run("kadmin.local", "-r", self.realm, "-q", f"addprinc -randkey {principal}")
        keytab = self.keytab(name)
        self._run("kadmin.local", "-r", self.realm, "-q", f"ktadd -k {keytab} {principal}")
        return keytab

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ use

    def principal(self, name: str) -> str:
        return name if "@" in name else f"{name}@{self.realm}"

    def keytab(self, name: str) -> Path:
        return self.keytabs / (name.replace("/", "_") + ".keytab")

    def merged_keytab(self, *names: str) -> Path:
        """One keytab holding the keys of ``names`` (their keytabs' entries, keys unchanged)."""
        target = self.keytabs / ("+".join(n.replace("/", "_") for n in names) + ".keytab")
        if not target.exists():
            entries = []
            for name in names:
                data = self.keytab(name).read_bytes()
                assert data[:2] == b"\x05\x02", f"{name}: not a version 2 keytab"
                entries.append(data[2:])
            target.write_bytes(b"\x05\x02" + b"".join(entries))
        return target

    def kinit(self, name: str, ccache: Path, *, lifetime: Optional[str] = None) -> str:
        """Get a TGT for ``name`` from its keytab into ``ccache``; returns the ``KRB5CCNAME`` value."""
        args = ["kinit", "-k", "-t", str(self.keytab(name))]
        if lifetime is not None:
            args += ["-l", lifetime]
        ccname = f"FILE:{ccache}"
        args += ["-c", ccname, self.principal(name)]
        self._run(*args)
        return ccname

    def ccache(self, name: str, *, lifetime: Optional[str] = None) -> str:
        """A fresh ccache holding a TGT for ``name``; returns its ``KRB5CCNAME`` value."""
        path = Path(tempfile.mkstemp(prefix=f"{name.replace('/', '_')}-", suffix=".ccache", dir=self.dir)[1])
        return self.kinit(name, path, lifetime=lifetime)

    def expired_ccache(self, name: str = USER) -> str:
        """A ccache whose TGT has already expired (a ticket of 1 s, then a wait)."""
        ccname = self.ccache(name, lifetime="1s")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            check = subprocess.run([_tool("klist") or "klist", "-s", "-c", ccname], env=self.env)
            if check.returncode != 0:
                return ccname
            time.sleep(0.2)
        raise RuntimeError("the 1-second ticket did not expire")


_lock = threading.Lock()
_shared: Optional[TestKdc] = None


def shared_kdc() -> TestKdc:
    """The KDC shared by every test of this process (started on first use, stopped at exit)."""
    global _shared
    with _lock:
        if _shared is None:
            missing = missing_tools()
            if missing:
                pytest.skip(f"MIT Kerberos KDC tools not installed ({', '.join(missing)}): "
                            "apt-get install krb5-kdc krb5-admin-server krb5-user")
            try:
                import gssapi  # noqa: F401
            except ImportError:
                pytest.skip("the gssapi package is not installed: apt-get install libkrb5-dev, then "
                            "pip install 'pyarn[kerberos]'")
            _shared = TestKdc().start()
            atexit.register(_shared.stop)
        return _shared


@pytest.fixture(name="kdc")
def kdc_fixture(monkeypatch) -> TestKdc:
    """The shared test KDC, with ``KRB5_CONFIG`` pointing at its realm for this test.

    ``KRB5CCNAME`` is cleared, so the library's default ccache is an empty file
    in the KDC's directory: a test that wants a ticket asks for one.
    """
    kdc = shared_kdc()
    monkeypatch.setenv("KRB5_CONFIG", str(kdc.krb5_conf))
    monkeypatch.delenv("KRB5CCNAME", raising=False)
    monkeypatch.delenv("KRB5_CLIENT_KTNAME", raising=False)
    monkeypatch.delenv("KRB5_KTNAME", raising=False)
    return kdc


@contextmanager
def kerberos_environment(ticket_of: Optional[str] = None,
                         pyarn_home: Optional[str] = None) -> Iterator[TestKdc]:
    """The shared KDC with ``KRB5_CONFIG`` pointing at it until the block ends (for module-scoped
    fixtures, which cannot use ``monkeypatch``): ``KRB5CCNAME`` holds a fresh ticket of
    ``ticket_of`` (cleared without one); ``pyarn_home``, a directory name, makes a private
    ``PYARN_HOME`` (where submitters keep application secrets) in the KDC's directory."""
    kdc = shared_kdc()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KRB5_CONFIG", str(kdc.krb5_conf))
        if ticket_of is None:
            patch.delenv("KRB5CCNAME", raising=False)
        else:
            patch.setenv("KRB5CCNAME", kdc.ccache(ticket_of))
        if pyarn_home is not None:
            patch.setenv("PYARN_HOME", os.path.join(kdc.dir, pyarn_home))
        yield kdc


def secure_minicluster(kdc: TestKdc, protection: str, users: Sequence[str] = (USER,), **options):
    """A one-node Kerberized :class:`~pyarn.minicluster.MiniCluster` (not started) whose RM and
    NameNode run from one keytab; ``users`` get principals and homes; ``options`` go to MiniCluster."""
    from pyarn.minicluster import MiniCluster
    from pyarn.minicluster.security import KerberosSetup

    for user in users:
        if not kdc.keytab(user).exists():
            kdc.add_principal(user)
    setup = KerberosSetup(realm=kdc.realm, protection=protection, krb5_conf=kdc.krb5_conf, users=tuple(users),
                          keytab=kdc.merged_keytab(RM_SERVICE, NN_SERVICE))
    return MiniCluster(nodes=1, memory_mb=1024, vcores=4, kerberos=setup, **options)
