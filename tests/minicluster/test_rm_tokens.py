"""RM delegation tokens on the mini cluster in Kerberos mode (a real MIT KDC, tests/security/kdc.py).

What ``integration/test_tokens_realcluster.py`` checks on a real Kerberized YARN, here against the
mini ResourceManager: ``Client.get_delegation_token`` / ``renew_delegation_token`` /
``cancel_delegation_token``; a process with no ticket at all (``KRB5CCNAME`` names a missing file)
and the token in its ``HADOOP_TOKEN_FILE_LOCATION`` lists applications; a cancelled token is
refused; ``Client.submit(..., rm_delegation_token=True)`` (and ``pyarn application submit
--rm-delegation-token``) gives the application a token its service containers list applications
with, while without it they cannot reach the RM at all.

The strict xfails at the end pin down where the mini RM is not YARN 3.3.6 yet (checked on the
reference clusters): an RM without security issues, renews and cancels tokens; the RM wraps the
errors of these three calls in a YarnException; it renews an application's RM delegation token at
submission (a cancelled one fails the application) and cancels it when the application ends.
"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest
import yaml

from hadoop_protos.yarn_tokens_pb2 import YARNDelegationTokenIdentifierProto
from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import PyarnError, RemoteError, YarnError
from pyarn.minicluster import MiniCluster
from pyarn.minicluster.security import KerberosSetup
from pyarn.security.credentials import Credentials
from pyarn.security.principals import canonical_host
from pyarn.security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationReport, ApplicationState, FinalStatus
from pyarn.yarn.resourcemanager import ResourceManagerClient, rm_principal

from ..security.kdc import NN_SERVICE, RM_SERVICE, USER, TestKdc, shared_kdc
from .rawam import wait_for

REPO = Path(__file__).resolve().parents[2]
REALM = "PYARN.TEST"
#: The containers import pyarn from this checkout, wherever the tests' pyarn is installed from.
ENV = {"PYTHONPATH": str(REPO)}
_FINAL = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)


@pytest.fixture(scope="module")
def kdc() -> Iterator[TestKdc]:
    """The shared KDC; alice's ticket and a private ``PYARN_HOME`` for the module."""
    kdc = shared_kdc()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KRB5_CONFIG", str(kdc.krb5_conf))
        patch.setenv("KRB5CCNAME", kdc.ccache(USER))
        patch.setenv("PYARN_HOME", os.path.join(kdc.dir, "pyarn-home-rm-tokens"))
        yield kdc


@pytest.fixture(scope="module")
def cluster(kdc) -> Iterator[MiniCluster]:
    setup = KerberosSetup(realm=kdc.realm, protection="integrity", krb5_conf=kdc.krb5_conf, users=(USER,),
                          keytab=kdc.merged_keytab(RM_SERVICE, NN_SERVICE))
    with MiniCluster(nodes=1, memory_mb=1024, vcores=4, kerberos=setup) as mini:
        yield mini


@pytest.fixture
def client(cluster) -> Iterator[Client]:
    with Client(cluster.conf_dir, python=sys.executable) as c:
        yield c


def _identifier(token: Token) -> YARNDelegationTokenIdentifierProto:
    return YARNDelegationTokenIdentifierProto.FromString(token.identifier)


def _ended(client: Client, app_id: ApplicationId) -> Optional[ApplicationReport]:
    report = client.application_report(app_id)
    return report if report.state in _FINAL else None


def _stdout(cluster: MiniCluster, app_id: ApplicationId) -> str:
    """The service containers' stdout and stderr (not the master's)."""
    logs = Path(cluster.conf_dir).parent.glob(f"nm-*/logs/{app_id}/container_*")
    return "".join((d / name).read_text() for d in sorted(logs) if not d.name.endswith("_000001")
                   for name in ("stdout", "stderr") if (d / name).exists())


#: Run in a process with nothing but the token file: no ticket, then what the RM says.
_TOKEN_ONLY = """\
import os, sys
from pyarn.client import Client
from pyarn.security.kerberos import KerberosCredentials
try:
    KerberosCredentials.from_ticket_cache(os.environ.get("KRB5CCNAME"))
    print("a ticket!")
except Exception as exc:
    print("no ticket:", type(exc).__name__)
with Client(sys.argv[1]) as client:
    try:
        apps = client.get_applications(states=["SUBMITTED", "ACCEPTED", "RUNNING", "FINISHED", "FAILED"])
        print("listed", len(apps), "applications as", client.user.name)
        client.get_delegation_token()
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}")
"""


def run_with_token_only(conf_dir: str, tmp_path: Path, token: Token) -> str:
    """``_TOKEN_ONLY`` in a fresh process for the cluster of ``conf_dir``: its
    ``HADOOP_TOKEN_FILE_LOCATION`` holds ``token``, its ``KRB5CCNAME`` names a file that does not
    exist. Returns what it printed: whether it found a ticket, then what the RM said."""
    credentials = Credentials()
    credentials.add_token(token.service, token)
    token_file = tmp_path / "rm.tokens"
    credentials.write_file(token_file)
    env = dict(os.environ, **ENV, HADOOP_TOKEN_FILE_LOCATION=str(token_file),
               KRB5CCNAME=f"FILE:{tmp_path / 'no-such-ccache'}")
    done = subprocess.run([sys.executable, "-c", _TOKEN_ONLY, conf_dir], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---------------------------------------------------------------- no cluster needed


def test_the_token_service_names_every_rm_as_java_does():
    """``ClientRMProxy.getRMDelegationTokenService``: each RM's ``ip:port``, comma-joined over the
    rm-ids of an HA cluster (Java's TestClientRMProxy: the default address is ``0.0.0.0:8032``)."""
    ha = {"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
          "yarn.resourcemanager.address.rm1": "localhost:8040",
          "yarn.resourcemanager.hostname.rm2": "127.0.0.2"}
    for settings, service in (({}, "0.0.0.0:8032"),
                              ({"yarn.resourcemanager.address": "localhost:9"}, "127.0.0.1:9"),
                              (ha, "127.0.0.1:8040,127.0.0.2:8032"),
                              ({**ha, "hadoop.security.token.service.use_ip": "false"},
                               "localhost:8040,127.0.0.2:8032")):
        with ResourceManagerClient.from_conf(Configuration(settings), user=User("x")) as rm:
            assert rm.token_service == service, settings


def test_the_rm_principal_names_the_rms_host():
    conf = Configuration({"yarn.resourcemanager.address": "localhost:8032",
                          "yarn.resourcemanager.principal": "rm/_HOST@EXAMPLE.COM"})
    assert rm_principal(conf) == f"rm/{canonical_host('localhost')}@EXAMPLE.COM"
    with pytest.raises(PyarnError, match="yarn.resourcemanager.principal is not set"):
        rm_principal(Configuration())


# ---------------------------------------------------------------- the Kerberized mini cluster


def test_get_renew_and_cancel_an_rm_delegation_token(cluster, client):
    before = datetime.now(_UTC)
    token = client.get_delegation_token(USER)
    host, port = cluster.rm_address.split(":")
    assert (token.kind, token.service) == (RM_DELEGATION_TOKEN_KIND, f"{host}:{port}")
    identifier = _identifier(token)
    assert (identifier.owner, identifier.renewer, identifier.realUser) == (f"{USER}@{REALM}", USER, "")
    expiry = client.renew_delegation_token(token)
    assert before + timedelta(hours=23) < expiry <= before + timedelta(hours=24, minutes=1)
    assert expiry.tzinfo is not None
    client.cancel_delegation_token(token)
    with pytest.raises(RemoteError, match="Renewal request for unknown token"):
        client.renew_delegation_token(token)


def test_by_default_the_rm_renews_the_token(client):
    """The default renewer is the RM (``yarn.resourcemanager.principal``, stored as its short name):
    alice herself may not renew such a token, but may cancel it as its owner."""
    token = client.get_delegation_token()
    assert _identifier(token).renewer == "yarn"
    with pytest.raises(RemoteError, match="alice tries to renew a token .* with non-matching renewer yarn"):
        client.renew_delegation_token(token)
    client.cancel_delegation_token(token)


def test_only_rm_delegation_tokens_are_renewed_or_cancelled(client):
    hdfs_token = Token(b"id", b"pw", "HDFS_DELEGATION_TOKEN", "127.0.0.1:8020")
    with pytest.raises(ValueError, match="expected an RM_DELEGATION_TOKEN token, got 'HDFS_DELEGATION_T"):
        client.renew_delegation_token(hdfs_token)
    with pytest.raises(ValueError, match="expected an RM_DELEGATION_TOKEN token"):
        client.cancel_delegation_token(hdfs_token)


def test_the_token_alone_reaches_the_rm_until_it_is_cancelled(cluster, client, tmp_path):
    token = client.get_delegation_token(USER)
    out = run_with_token_only(cluster.conf_dir, tmp_path, token)
    assert out.startswith("no ticket: NoTicketError\nlisted ")
    # a Kerberized RM issues tokens only to Kerberos callers, never to a token holder
    assert out.endswith("Delegation Token can be issued only with kerberos authentication\n"), out
    client.cancel_delegation_token(token)
    out = run_with_token_only(cluster.conf_dir, tmp_path, token)
    assert "InvalidTokenError: token (RM_DELEGATION_TOKEN owner=alice@PYARN.TEST, renewer=alice" in out, out
    assert "can't be found in cache" in out


#: A service script: no ticket (on the mini cluster KRB5CCNAME is an empty cache), its tokens' kinds,
#: then the RM with ``Client()`` alone (``{python}``: the Python to run).
LISTER = """\
{python} - <<'PYEOF'
import os
from pyarn.client import Client
from pyarn.security.credentials import Credentials
from pyarn.security.principals import canonical_host
from pyarn.security.kerberos import KerberosCredentials
try:
    KerberosCredentials.from_ticket_cache(os.environ.get("KRB5CCNAME"))
    print("a ticket!")
except Exception as exc:
    print("no ticket:", type(exc).__name__)
credentials = Credentials.read_file(os.environ["HADOOP_TOKEN_FILE_LOCATION"])
print("tokens:", " ".join(sorted(t.kind for t in credentials.tokens.values())))
with Client(os.environ["PYARN_CONF_DIR"]) as client:
    ids = [str(r.id) for r in client.get_applications()]
    print("lists itself:", os.environ["PYARN_APPLICATION_ID"] in ids)
PYEOF
"""


def _spec(name: str) -> Dict:
    return {"name": name, "max_attempts": 1, "master": {"env": ENV},
            "services": {"lister": {"resources": {"memory": 128, "vcores": 1}, "env": ENV,
                                    "script": LISTER.format(python=sys.executable)}}}


def _am_tokens(cluster: MiniCluster, app_id: ApplicationId) -> Credentials:
    assert cluster.resource_manager is not None
    app = cluster.resource_manager.apps[app_id]
    return Credentials.from_bytes(app.context.am_container_spec.tokens)


def test_a_submission_with_an_rm_token_lists_applications_from_its_containers(cluster, client):
    app_id = client.submit(_spec("rm-token"), rm_delegation_token=True)
    report = wait_for(lambda: _ended(client, app_id), 60.0, f"{app_id} to end")
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED), \
        report.diagnostics + _stdout(cluster, app_id)
    token = _am_tokens(cluster, app_id).find_token(RM_DELEGATION_TOKEN_KIND)
    assert token is not None and token.service == cluster.rm_address
    identifier = _identifier(token)
    assert (identifier.owner, identifier.renewer) == (f"{USER}@{REALM}", "yarn")  # the RM renews it
    out = _stdout(cluster, app_id)
    assert out == ("no ticket: NoTicketError\n"
                   "tokens: HDFS_DELEGATION_TOKEN PYARN_APP_TOKEN RM_DELEGATION_TOKEN\n"
                   "lists itself: True\n"), out


def test_without_the_rm_token_the_containers_cannot_reach_the_rm(cluster, client):
    app_id = client.submit(_spec("no-rm-token"))
    report = wait_for(lambda: _ended(client, app_id), 60.0, f"{app_id} to end")
    assert report.final_status is FinalStatus.FAILED
    assert _am_tokens(cluster, app_id).find_token(RM_DELEGATION_TOKEN_KIND) is None
    out = _stdout(cluster, app_id)
    assert "tokens: HDFS_DELEGATION_TOKEN PYARN_APP_TOKEN\n" in out
    assert "NoTicketError: no Kerberos ticket" in out, out


def test_the_cli_flag(cluster, tmp_path):
    spec = tmp_path / "rm-token.yaml"
    spec.write_text(yaml.safe_dump(_spec("cli-rm-token")))
    result = subprocess.run([sys.executable, "-m", "pyarn.cli", "--conf-dir", cluster.conf_dir,
                             "application", "submit", str(spec), "--rm-delegation-token", "--wait",
                             "--python", sys.executable],
                            capture_output=True, text=True, env=dict(os.environ, **ENV), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    app_id = ApplicationId.parse(result.stdout.splitlines()[0])
    assert "lists itself: True" in _stdout(cluster, app_id)


# ---------------------------------------------------------------- where the mini RM is not YARN yet


@pytest.mark.xfail(strict=True, reason="the mini RM refuses getDelegationToken without Kerberos; "
                                       "a real RM without security issues one (isAllowedDelegationTokenOp)")
def test_an_rm_without_security_issues_tokens_as_yarn_does(minicluster):
    with Client(minicluster.conf_dir) as client:
        token = client.get_delegation_token()
        assert _identifier(token).renewer == client.user.name
        client.cancel_delegation_token(token)


@pytest.mark.xfail(strict=True, reason="the mini RM raises the IOException itself; a real RM wraps it in "
                                       "a YarnException (RPCUtil.getRemoteException)")
def test_a_token_holder_is_refused_a_token_as_yarn_refuses_it(cluster, client, monkeypatch, tmp_path):
    token = client.get_delegation_token(USER)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-such-ccache'}")
    with Client(cluster.conf_dir, user=User(USER, tokens=[token])) as holder:
        with pytest.raises(YarnError) as info:
            holder.get_delegation_token()
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.YarnException"
    assert str(info.value) == "java.io.IOException: Delegation Token can be issued only with kerberos " \
                              "authentication"


@pytest.mark.xfail(strict=True, reason="the mini RM does not renew RM delegation tokens at submission; "
                                       "YARN's DelegationTokenRenewer does, and fails the application")
def test_a_cancelled_rm_token_fails_the_submission_as_yarn_does(cluster, client):
    token = client.get_delegation_token()
    client.cancel_delegation_token(token)
    credentials = Credentials()
    credentials.add_token(token.service, token)
    app_id = client.submit_context(name="cancelled-rm-token", commands=["true"], max_attempts=1,
                                   tokens=credentials)
    report = wait_for(lambda: _ended(client, app_id), 60.0, f"{app_id} to end")
    assert report.state is ApplicationState.FAILED
    assert report.diagnostics.startswith("Failed to renew token: Kind: RM_DELEGATION_TOKEN, Service: ")


@pytest.mark.xfail(strict=True, reason="the mini RM does not cancel an application's delegation tokens "
                                       "when it ends; YARN does (cancel_tokens_when_complete)")
def test_the_rm_cancels_the_applications_rm_token_when_it_ends(cluster, client, tmp_path):
    app_id = client.submit(_spec("cancelled-at-the-end"), rm_delegation_token=True)
    wait_for(lambda: _ended(client, app_id), 60.0, f"{app_id} to end")
    token = _am_tokens(cluster, app_id).find_token(RM_DELEGATION_TOKEN_KIND)
    assert token is not None

    def refused() -> Optional[str]:
        out = run_with_token_only(cluster.conf_dir, tmp_path, token)
        return out if "InvalidTokenError" in out and "can't be found in cache" in out else None
    wait_for(refused, 5.0, "the RM to cancel the token")
