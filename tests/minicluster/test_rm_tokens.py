"""RM delegation tokens on the mini cluster in Kerberos mode (a real MIT KDC, tests/security/kdc.py).

What ``integration/test_tokens_realcluster.py`` checks on a real Kerberized YARN, here against the
mini ResourceManager: ``Client.get_delegation_token`` / ``renew_delegation_token`` /
``cancel_delegation_token``; a process with no ticket at all (``KRB5CCNAME`` names a missing file)
and the token in its ``HADOOP_TOKEN_FILE_LOCATION`` lists applications; a cancelled token is
refused; ``Client.submit(..., rm_delegation_token=True)`` (and ``pyarn application submit
--rm-delegation-token``) gives the application a token its service containers list applications
with, while without it they cannot reach the RM at all.

Then what the reference clusters (YARN 3.3.6) showed of the RM's rules, with and without
security: the errors of these three calls come wrapped in a YarnException (``<java class>:
<message>``); an RM without security issues, renews and cancels tokens for anybody (the renewer
stored as the first component of its name) and takes them as logins; a secure RM renews the
delegation tokens of a submission as their renewers (a cancelled one fails the application, one
with no renewer is left alone) and cancels them when the application ends, unless it was
submitted with ``cancel_tokens_when_complete`` off. How the RM tracks tokens shared by several
applications is in ``test_token_renewer.py``.
"""
from __future__ import annotations

import os
import re
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
from pyarn.errors import InvalidTokenError, PyarnError, RemoteError, YarnError
from pyarn.minicluster import MiniCluster
from pyarn.security.credentials import Credentials
from pyarn.security.principals import canonical_host
from pyarn.security.tokens import HDFS_DELEGATION_TOKEN_KIND, RM_DELEGATION_TOKEN_KIND, Token
from pyarn.security.user import User
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationReport, ApplicationState, FinalStatus
from pyarn.yarn.resourcemanager import ResourceManagerClient, build_submission_context, rm_principal

from ..security.kdc import (
    USER,
    TestKdc,
    kerberos_environment,
    secure_minicluster,
)
from .rawam import service_output, wait_ended, wait_for

REPO = Path(__file__).resolve().parents[2]
REALM = "PYARN.TEST"
#: The containers import pyarn from this checkout, wherever the tests' pyarn is installed from.
ENV = {"PYTHONPATH": str(REPO)}
_FINAL = (ApplicationState.FINISHED, ApplicationState.FAILED, ApplicationState.KILLED)
_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)
ACCESS_CONTROL = "org.apache.hadoop.security.AccessControlException"
INVALID_TOKEN = "org.apache.hadoop.security.token.SecretManager$InvalidToken"


def wrapped(java_class: str, message: str, *, whole: bool = True) -> str:
    """A regex of the message of the YarnException the RM wraps an IOException in
    (``RPCUtil.getRemoteException``: ``<java class>: <message>``), all of it or its start."""
    return f"^{re.escape(f'{java_class}: {message}')}" + ("$" if whole else "")


@pytest.fixture(scope="module")
def kdc() -> Iterator[TestKdc]:
    """The shared KDC; alice's ticket and a private ``PYARN_HOME`` for the module."""
    with kerberos_environment(USER, "pyarn-home-rm-tokens") as kdc:
        yield kdc


@pytest.fixture(scope="module")
def cluster(kdc) -> Iterator[MiniCluster]:
    with secure_minicluster(kdc, "integrity") as mini:
        yield mini


@pytest.fixture
def client(cluster) -> Iterator[Client]:
    with Client(cluster.conf_dir, python=sys.executable) as c:
        yield c


def _identifier(token: Token) -> YARNDelegationTokenIdentifierProto:
    return YARNDelegationTokenIdentifierProto.FromString(token.identifier)


def _ident(token: Token) -> str:
    """The token's ``Ident`` as Java's ``Token.toString`` prints an RM delegation token's."""
    i = _identifier(token)
    return (f"(RM_DELEGATION_TOKEN owner={i.owner}, renewer={i.renewer}, realUser={i.realUser}, "
            f"issueDate={i.issueDate}, maxDate={i.maxDate}, sequenceNumber={i.sequenceNumber}, "
            f"masterKeyId={i.masterKeyId})")




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
    unknown = f"Renewal request for unknown token {_ident(token)}"
    with pytest.raises(YarnError, match=wrapped(INVALID_TOKEN, unknown)):
        client.renew_delegation_token(token)
    with pytest.raises(YarnError, match=wrapped(INVALID_TOKEN, f"Token not found {_ident(token)}")):
        client.cancel_delegation_token(token)


def test_by_default_the_rm_renews_the_token(client):
    """The default renewer is the RM (``yarn.resourcemanager.principal``, stored as its short name):
    alice herself may not renew such a token, but may cancel it as its owner."""
    token = client.get_delegation_token()
    assert _identifier(token).renewer == "yarn"
    message = f"alice tries to renew a token {_ident(token)} with non-matching renewer yarn"
    with pytest.raises(YarnError, match=wrapped(ACCESS_CONTROL, message)):
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
    assert out.endswith("YarnError: java.io.IOException: Delegation Token can be issued only with kerberos "
                        "authentication\n"), out
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
    report = wait_ended(client, app_id)
    assert (report.state, report.final_status) == (ApplicationState.FINISHED, FinalStatus.SUCCEEDED), \
        report.diagnostics + service_output(cluster.conf_dir, app_id)
    token = _am_tokens(cluster, app_id).find_token(RM_DELEGATION_TOKEN_KIND)
    assert token is not None and token.service == cluster.rm_address
    identifier = _identifier(token)
    assert (identifier.owner, identifier.renewer) == (f"{USER}@{REALM}", "yarn")  # the RM renews it
    out = service_output(cluster.conf_dir, app_id)
    assert out == ("no ticket: NoTicketError\n"
                   "tokens: HDFS_DELEGATION_TOKEN PYARN_APP_TOKEN RM_DELEGATION_TOKEN\n"
                   "lists itself: True\n"), out


def test_without_the_rm_token_the_containers_cannot_reach_the_rm(cluster, client):
    app_id = client.submit(_spec("no-rm-token"))
    report = wait_ended(client, app_id)
    assert report.final_status is FinalStatus.FAILED
    assert _am_tokens(cluster, app_id).find_token(RM_DELEGATION_TOKEN_KIND) is None
    out = service_output(cluster.conf_dir, app_id)
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
    assert "lists itself: True" in service_output(cluster.conf_dir, app_id)


# ---------------------------------------------------------------- the RM's rules, as YARN 3.3.6's


def test_a_token_holder_is_refused_a_token_as_yarn_refuses_it(cluster, client, monkeypatch, tmp_path):
    token = client.get_delegation_token(USER)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-such-ccache'}")
    with Client(cluster.conf_dir, user=User(USER, tokens=[token])) as holder:
        with pytest.raises(YarnError) as info:
            holder.get_delegation_token()
        for what, call in (("renewed", holder.renew_delegation_token),
                           ("cancelled", holder.cancel_delegation_token)):
            refusal = f"Delegation Token can be {what} only with kerberos authentication"
            with pytest.raises(YarnError, match=wrapped("java.io.IOException", refusal)):
                call(token)
    assert info.value.java_class == "org.apache.hadoop.yarn.exceptions.YarnException"
    assert str(info.value) == "java.io.IOException: Delegation Token can be issued only with kerberos " \
                              "authentication"
    client.cancel_delegation_token(token)


def test_the_renewer_is_stored_as_hadoop_kerberos_name_makes_it(client):
    """By the cluster's auth_to_local rules; a name with more than two components is kept as it is,
    unless it has a realm; one no rule maps is refused as the ``RuntimeException`` Hadoop wraps
    ``NoMatchingRule`` in (neither is a YarnException: they are not IOExceptions)."""
    for renewer, stored in (("bob/host@PYARN.TEST", "bob"), ("rm/localhost@PYARN.TEST", "yarn"),
                            ("a/b/c", "a/b/c"), ("", "")):
        token = client.get_delegation_token(renewer)
        assert _identifier(token).renewer == stored, renewer
        client.cancel_delegation_token(token)
    with pytest.raises(RemoteError) as info:
        client.get_delegation_token("bob@OTHER.REALM")
    assert (info.value.java_class, str(info.value)) == (
        "java.lang.RuntimeException", "org.apache.hadoop.security.authentication.util.KerberosName$"
                                      "NoMatchingRule: No rules applied to bob@OTHER.REALM")
    for malformed in ("x@Y@Z", "a/b/c@PYARN.TEST"):
        with pytest.raises(RemoteError) as info:
            client.get_delegation_token(malformed)
        assert (info.value.java_class, str(info.value)) == ("java.lang.IllegalArgumentException",
                                                            f"Malformed Kerberos name: {malformed}")


def _credentials(*tokens: Token) -> Credentials:
    credentials = Credentials()
    for number, token in enumerate(tokens):
        credentials.add_token(f"{token.service}#{number}", token)
    return credentials


def _submit_and_end(client: Client, name: str, tokens: Credentials, *, cancel_tokens: bool = True,
                    command: str = "true") -> ApplicationReport:
    """Submit an application whose master just runs ``command`` (and fails: it never registers)
    with ``tokens``; its final report."""
    app_id = client.new_application().id
    context = build_submission_context(app_id, name=name, commands=[command], max_attempts=1,
                                       tokens=tokens)
    context.cancel_tokens_when_complete = cancel_tokens
    client.rm.submit_application(context)
    return wait_ended(client, app_id)


def test_a_cancelled_rm_token_fails_the_submission_as_yarn_does(cluster, client):
    token = client.get_delegation_token()
    client.cancel_delegation_token(token)
    report = _submit_and_end(client, "cancelled-rm-token", _credentials(token))
    assert report.state is ApplicationState.FAILED
    assert report.diagnostics == (f"Failed to renew token: Kind: RM_DELEGATION_TOKEN, "
                                  f"Service: {cluster.rm_address}, Ident: {_ident(token)}")


def test_the_rm_cancels_the_applications_tokens_when_it_ends(cluster, client, tmp_path):
    """The RM delegation token, and the HDFS one too (both renewed by the RM)."""
    app_id = client.submit(_spec("cancelled-at-the-end"), rm_delegation_token=True)
    wait_ended(client, app_id)
    tokens = _am_tokens(cluster, app_id)
    token = tokens.find_token(RM_DELEGATION_TOKEN_KIND)
    hdfs_token = tokens.find_token(HDFS_DELEGATION_TOKEN_KIND)
    assert token is not None and hdfs_token is not None

    def refused() -> Optional[str]:
        out = run_with_token_only(cluster.conf_dir, tmp_path, token)
        return out if "InvalidTokenError" in out and "can't be found in cache" in out else None
    wait_for(refused, 5.0, "the RM to cancel the token")
    assert cluster.hdfs is not None and cluster.hdfs.namenode.tokens is not None
    with pytest.raises(InvalidTokenError, match="can't be found in cache"):
        cluster.hdfs.namenode.tokens.retrieve_password(hdfs_token.identifier)


def test_tokens_the_rm_keeps_after_the_application(client):
    """``cancel_tokens_when_complete`` off: the RM renews the token but leaves it be; a token
    without a renewer is not the RM's at all (not renewed, even when cancelled, nor cancelled)."""
    mine = client.get_delegation_token(USER)
    report = _submit_and_end(client, "keep-my-token", _credentials(mine), cancel_tokens=False)
    assert not report.diagnostics.startswith("Failed to renew"), report.diagnostics
    client.renew_delegation_token(mine)  # alive

    unrenewable, cancelled = client.get_delegation_token(""), client.get_delegation_token("")
    client.cancel_delegation_token(cancelled)
    report = _submit_and_end(client, "no-renewer", _credentials(unrenewable, cancelled))
    assert not report.diagnostics.startswith("Failed to renew"), report.diagnostics
    message = f"alice tried to renew a token {_ident(unrenewable)} without a renewer"
    with pytest.raises(YarnError, match=wrapped(ACCESS_CONTROL, message)):
        client.renew_delegation_token(unrenewable)
    client.cancel_delegation_token(unrenewable)  # still there for its owner to cancel
    client.cancel_delegation_token(mine)


# ---------------------------------------------------------------- an RM without security


def test_an_rm_without_security_issues_tokens_as_yarn_does(minicluster):
    """Anybody gets, renews and cancels tokens (``isAllowedDelegationTokenOp`` is true without
    security); the renewer is stored as its name's first component; the errors are those of a
    secure RM (as measured on the reference cluster without security)."""
    with Client(minicluster.conf_dir, user=User("alice")) as client:
        token = client.get_delegation_token()
        identifier = _identifier(token)
        assert (identifier.owner, identifier.renewer, identifier.realUser) == ("alice", "alice", "")
        assert token.service == minicluster.rm_address
        client.renew_delegation_token(token)
        for renewer, stored in (("bob/host@EXAMPLE.COM", "bob"), ("rm/localhost@PYARN.TEST", "rm"),
                                ("bob@EXAMPLE.COM", "bob"), ("a/b", "a"), ("a/b/c", "a/b/c"), ("", "")):
            other = client.get_delegation_token(renewer)
            assert _identifier(other).renewer == stored, renewer
            client.cancel_delegation_token(other)  # as its owner
        with pytest.raises(RemoteError, match="^Malformed Kerberos name: x@Y@Z$"):
            client.get_delegation_token("x@Y@Z")
        forged = Token(token.identifier, b"x" * 20, token.kind, token.service)
        message = f"alice is trying to renew a token {_ident(token)} with wrong password"
        with pytest.raises(YarnError, match=wrapped(ACCESS_CONTROL, message)):
            client.renew_delegation_token(forged)
    with Client(minicluster.conf_dir, user=User("carol")) as carol:
        message = f"carol tries to renew a token {_ident(token)} with non-matching renewer alice"
        with pytest.raises(YarnError, match=wrapped(ACCESS_CONTROL, message)):
            carol.renew_delegation_token(token)
        message = f"carol is not authorized to cancel the token {_ident(token)}"
        with pytest.raises(YarnError, match=wrapped(ACCESS_CONTROL, message)):
            carol.cancel_delegation_token(token)
    with Client(minicluster.conf_dir, user=User("alice")) as client:
        client.cancel_delegation_token(token)
        with pytest.raises(YarnError, match=wrapped(INVALID_TOKEN, f"Token not found {_ident(token)}")):
            client.cancel_delegation_token(token)
        message = f"Renewal request for unknown token {_ident(token)}"
        with pytest.raises(YarnError, match=wrapped(INVALID_TOKEN, message)):
            client.renew_delegation_token(token)


def test_the_rms_own_user_renews_any_token(minicluster):
    """``getRenewerForToken``: the RM's login user (here the user running it, as the client's
    default user) renews a token as the token's renewer ("we can always renew our own tokens")."""
    with Client(minicluster.conf_dir) as client:
        assert client.user.name == User.current().name
        token = client.get_delegation_token("bob")
        client.renew_delegation_token(token)
        client.cancel_delegation_token(token)


def test_without_security_a_token_is_a_login(minicluster):
    """The client port takes TOKEN as well as SIMPLE: a holder of alice's token is alice, whatever
    name it gives, and may get a token of its own; a cancelled token lets nobody in."""
    with Client(minicluster.conf_dir, user=User("alice")) as alice:
        token = alice.get_delegation_token()
    with Client(minicluster.conf_dir, user=User("nobody", tokens=[token])) as holder:
        holder.get_applications()
        assert _identifier(holder.get_delegation_token("x")).owner == "alice"
    with Client(minicluster.conf_dir, user=User("alice")) as alice:
        alice.cancel_delegation_token(token)
    with Client(minicluster.conf_dir, user=User("nobody", tokens=[token])) as holder:
        refused = f"token {_ident(token)} can't be found in cache"
        with pytest.raises(InvalidTokenError, match=f"^{re.escape(refused)}$"):
            holder.get_applications()


def test_without_security_the_rm_leaves_submitted_tokens_alone(minicluster):
    """Neither renewed at submission (a cancelled token does not fail the application) nor
    cancelled at its end (``RMAppManager`` hands them to the renewer only with security)."""
    with Client(minicluster.conf_dir) as client:
        cancelled, kept = client.get_delegation_token(), client.get_delegation_token()
        client.cancel_delegation_token(cancelled)
        report = _submit_and_end(client, "tokens-without-security", _credentials(cancelled, kept))
        assert report.state is ApplicationState.FAILED
        assert "exited with  exitCode: 0" in report.diagnostics
        client.renew_delegation_token(kept)
        client.cancel_delegation_token(kept)
