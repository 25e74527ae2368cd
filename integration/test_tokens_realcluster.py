"""RM delegation tokens on a real Kerberized YARN.

Runs only when ``PYARN_TEST_HADOOP_CONF_DIR`` names a cluster whose ``core-site.xml`` says
``hadoop.security.authentication=kerberos`` (``KRB5CCNAME`` holding a ticket), e.g. the reference
cluster in its ``krbtest`` network namespace (``realcluster.sh env`` sets everything). The same
scenarios run on the mini cluster's Kerberos mode in ``tests/minicluster/test_rm_tokens.py``.

* ``Client.get_delegation_token`` / ``renew_delegation_token`` / ``cancel_delegation_token``, and
  the RM's answers when the renewer is not the caller or the caller holds only a token;
* a process with no ticket (``KRB5CCNAME`` names a missing file) and the token in the file
  ``HADOOP_TOKEN_FILE_LOCATION`` names lists applications; once cancelled the token is refused;
* Java reads the token file pyarn wrote (``DtUtilShell print``) and Java's ``yarn application
  -list`` authenticates with it alone (so its service is what Java's token selector looks for);
* ``Client.submit(..., rm_delegation_token=True)``: a service container lists applications with
  the token ``pyarn-am`` passed on, and no ticket.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, List

import pytest

from pyarn.client import Client
from pyarn.conf import Configuration
from pyarn.errors import YarnError
from pyarn.security.credentials import Credentials
from pyarn.security.kerberos import KerberosCredentials
from pyarn.security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from pyarn.yarn.ids import ApplicationId
from pyarn.yarn.records import ApplicationState, FinalStatus
from tests.minicluster.test_rm_tokens import LISTER, run_with_token_only

from .conftest import ENV, hadoop_classpath, java_command, real_conf_dir
from .test_submission import service_stdout

PYTHON = sys.executable
_UTC = timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+)


def _kerberized() -> bool:
    conf_dir = real_conf_dir()
    return conf_dir is not None and (conf_dir / "core-site.xml").is_file() and Configuration.load(
        conf_dir).get_str("hadoop.security.authentication", "simple").lower() == "kerberos"


pytestmark = [
    pytest.mark.realcluster,
    pytest.mark.skipif(not _kerberized(), reason=f"needs a Kerberized Hadoop: set {ENV} to a cluster "
                                                 "started with --kerberos (realcluster.sh env)"),
]


@pytest.fixture(scope="module")
def client(hadoop_conf_dir, tmp_path_factory) -> Iterator[Client]:
    if not os.environ.get("KRB5CCNAME"):
        pytest.skip("KRB5CCNAME is not set: eval \"$(../shared/realcluster/realcluster.sh env)\"")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYARN_HOME", str(tmp_path_factory.mktemp("pyarn-home")))
        with Client(hadoop_conf_dir, python=PYTHON) as c:
            yield c


@pytest.fixture(scope="module")
def principal() -> str:
    return KerberosCredentials.from_ticket_cache(os.environ.get("KRB5CCNAME")).principal


@pytest.fixture
def tokens(client) -> Iterator[List[Token]]:
    """Tokens a test gets; those it did not cancel are cancelled at its end."""
    got: List[Token] = []
    yield got
    for token in got:
        try:
            client.cancel_delegation_token(token)
        except YarnError:
            pass  # cancelled already


def _identifier(token: Token):
    from hadoop_protos.yarn_tokens_pb2 import YARNDelegationTokenIdentifierProto

    return YARNDelegationTokenIdentifierProto.FromString(token.identifier)


def test_get_renew_and_cancel(client, principal, tokens):
    before = datetime.now(_UTC)
    token = client.get_delegation_token(client.user.name)
    tokens.append(token)
    assert (token.kind, token.service) == (RM_DELEGATION_TOKEN_KIND, client.rm.token_service)
    identifier = _identifier(token)
    assert (identifier.owner, identifier.renewer, identifier.realUser) == (principal, client.user.name, "")
    assert identifier.maxDate - identifier.issueDate == 7 * 24 * 3600 * 1000
    expiry = client.renew_delegation_token(token)
    assert before + timedelta(hours=23) < expiry <= before + timedelta(hours=24, minutes=1)
    client.cancel_delegation_token(token)
    with pytest.raises(YarnError, match=r"^org.apache.hadoop.security.token.SecretManager\$InvalidToken: "
                                        r"Renewal request for unknown token \(RM_DELEGATION_TOKEN owner="):
        client.renew_delegation_token(token)


def test_by_default_the_rm_renews_the_token(client, tokens):
    """The default renewer is the RM (its principal; the RM stores its short name by the cluster's
    auth_to_local rules): the owner may not renew the token, YARN may."""
    from pyarn.security.auth_to_local import AuthToLocal
    from pyarn.yarn.resourcemanager import rm_principal

    token = client.get_delegation_token()
    tokens.append(token)
    rm = rm_principal(client.conf)
    realm = rm.rpartition("@")[2]
    rules = AuthToLocal(client.conf.get_str("hadoop.security.auth_to_local", "DEFAULT"), realm)
    assert _identifier(token).renewer == rules.short_name(rm)
    with pytest.raises(YarnError, match=f"^org.apache.hadoop.security.AccessControlException: "
                                        f"{client.user.name} tries to renew a token .* with non-matching "
                                        f"renewer {_identifier(token).renewer}$"):
        client.renew_delegation_token(token)


def test_the_token_alone_reaches_the_rm_until_it_is_cancelled(client, hadoop_conf_dir, tmp_path, tokens):
    token = client.get_delegation_token(client.user.name)
    tokens.append(token)
    out = run_with_token_only(str(hadoop_conf_dir), tmp_path, token)
    assert out.startswith("no ticket: NoTicketError\nlisted "), out
    assert out.endswith("YarnError: java.io.IOException: Delegation Token can be issued only with kerberos "
                        "authentication\n"), out
    client.cancel_delegation_token(token)
    out = run_with_token_only(str(hadoop_conf_dir), tmp_path, token)
    assert out.startswith("no ticket: NoTicketError\n"
                          "InvalidTokenError: token (RM_DELEGATION_TOKEN owner="), out
    assert out.endswith("can't be found in cache\n"), out


@pytest.fixture(scope="module")
def java(hadoop_conf_dir):
    """``java <class> <args>`` with the cluster's conf dir and Hadoop's client classpath."""
    if shutil.which("java") is None:
        pytest.skip("no java on PATH")
    classpath = hadoop_classpath(hadoop_conf_dir)
    if classpath is None:
        pytest.skip("no Hadoop client classpath (set PYARN_TEST_HADOOP_CLASSPATH)")

    def run(*args: str, env: dict) -> subprocess.CompletedProcess:
        command = java_command(hadoop_conf_dir, classpath, *args)
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    return run


def test_java_reads_the_token_file_and_lists_applications_with_it(client, java, tmp_path, tokens):
    token = client.get_delegation_token(client.user.name)
    tokens.append(token)
    credentials = Credentials()
    credentials.add_token(token.service, token)
    token_file = tmp_path / "rm.tokens"
    credentials.write_file(token_file)
    printed = java("org.apache.hadoop.security.token.DtUtilShell", "print", str(token_file), env={})
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    row = next(line.split() for line in lines if line.startswith(RM_DELEGATION_TOKEN_KIND))
    assert row[1:3] == [token.service, client.user.name]
    no_ticket = {"KRB5CCNAME": f"FILE:{tmp_path / 'no-such-ccache'}"}
    listed = java("org.apache.hadoop.yarn.client.cli.ApplicationCLI", "application", "-list", "-appStates",
                  "ALL", env={**no_ticket, "HADOOP_TOKEN_FILE_LOCATION": str(token_file)})
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "Total number of applications" in listed.stdout
    without = java("org.apache.hadoop.yarn.client.cli.ApplicationCLI", "application", "-list", env=no_ticket)
    assert without.returncode != 0  # the token, not something else, let Java in


def _spec(name: str) -> dict:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return {"name": name, "max_attempts": 1, "master": {"env": env},
            "services": {"lister": {"resources": {"memory": 128, "vcores": 1}, "env": env,
                                    "script": LISTER.format(python=PYTHON)}}}


def _run(client: Client, spec: dict, **options) -> ApplicationId:
    app_id = client.submit(spec, **options)
    try:
        report = client.wait_for_completion(app_id, timeout=180)
    except BaseException:
        client.kill_application(app_id)
        raise
    assert report.state in (ApplicationState.FINISHED, ApplicationState.FAILED), report.diagnostics
    return app_id


def test_a_container_lists_applications_with_the_submissions_rm_token(client, hadoop_conf_dir):
    app_id = _run(client, _spec("rm-token"), rm_delegation_token=True)
    report = client.application_report(app_id)
    out = service_stdout(Path(hadoop_conf_dir), app_id)
    assert report.final_status is FinalStatus.SUCCEEDED, report.diagnostics + out
    assert out == ("no ticket: NoTicketError\n"
                   "tokens: HDFS_DELEGATION_TOKEN PYARN_APP_TOKEN RM_DELEGATION_TOKEN\n"
                   "lists itself: True\n"), out


def test_without_the_rm_token_a_container_cannot_reach_the_rm(client, hadoop_conf_dir):
    app_id = _run(client, _spec("no-rm-token"))
    assert client.application_report(app_id).final_status is FinalStatus.FAILED
    out = service_stdout(Path(hadoop_conf_dir), app_id)
    assert out.startswith("no ticket: NoTicketError\ntokens: HDFS_DELEGATION_TOKEN PYARN_APP_TOKEN\n"), out
