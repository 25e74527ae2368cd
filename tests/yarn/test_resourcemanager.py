"""Pieces of the ResourceManager client that need no ResourceManager."""
from __future__ import annotations

import pytest

from pyarn.conf import Configuration
from pyarn.security.credentials import Credentials
from pyarn.security.tokens import RM_DELEGATION_TOKEN_KIND, Token
from pyarn.spec import File
from pyarn.yarn.resourcemanager import ResourceManagerClient, local_resource_proto


@pytest.mark.parametrize("source, host, port, userinfo, path", [
    ("hdfs://nn:8020/a%20b", "nn", 8020, "", "/a b"),
    ("hdfs://nn/x", "nn", -1, "", "/x"),
    ("hdfs://alice@[::1]:9000/x", "[::1]", 9000, "alice", "/x"),  # Java's URI keeps IPv6 brackets
    ("file:///tmp/x", "", -1, "", "/tmp/x"),
])
def test_local_resource_urls_split_as_java_does(source, host, port, userinfo, path):
    url = local_resource_proto(File(source=source, size=1, timestamp=2)).resource
    assert (url.host, url.port, url.userInfo, url.file) == (host, port, userinfo, path)


@pytest.mark.parametrize("source", ["hdfs://nn:80x/x", "hdfs://nn:99999/x", "hdfs://::1:8020/x"])
def test_a_bad_host_or_port_in_a_file_url_is_an_error(source):
    with pytest.raises(ValueError, match="file URL"):
        local_resource_proto(File(source=source, size=1, timestamp=2))


def test_from_conf_acts_as_the_login_user(tmp_path, monkeypatch):
    token = Token(b"rm", b"pw", RM_DELEGATION_TOKEN_KIND, "10.0.0.1:8032")
    credentials = Credentials()
    credentials.add_token(token.service, token)
    credentials.write_file(tmp_path / "tokens")
    monkeypatch.setenv("HADOOP_TOKEN_FILE_LOCATION", str(tmp_path / "tokens"))
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")
    with ResourceManagerClient.from_conf(Configuration({"yarn.resourcemanager.address": "rm:8032"})) as rm:
        assert rm.user.name == "alice" and rm.user.tokens == (token,)
