"""IpcSettings from Hadoop configuration keys."""
from __future__ import annotations

import pytest

from pyarn.ipc import IpcSettings, Qop


def test_defaults_are_hadoops():
    settings = IpcSettings.from_conf({}, env={})
    assert settings == IpcSettings()
    timing = (settings.connect_timeout, settings.rpc_timeout, settings.ping_interval, settings.max_idle_time)
    assert timing == (20.0, 120.0, 60.0, 10.0)
    assert settings.max_response_length == settings.max_data_length == 128 * 1024 * 1024
    assert settings.qops == (Qop.AUTH,) and not settings.security_enabled


def test_keys_are_read_and_converted():
    settings = IpcSettings.from_conf({
        "ipc.client.connect.timeout": " 1500 ",
        "ipc.client.rpc-timeout.ms": "0",
        "ipc.ping.interval": "2000",
        "ipc.client.ping": "FALSE",
        "ipc.client.connection.maxidletime": "250",
        "ipc.maximum.response.length": "1024",
        "ipc.maximum.data.length": "2048",
        "hadoop.security.authentication": "Kerberos",
        "hadoop.rpc.protection": "privacy, integrity,authentication",
        "hadoop.security.sasl.mechanism": "DIGEST-MD5",
        "ipc.client.fallback-to-simple-auth-allowed": "true",
    }, env={})
    assert settings.connect_timeout == 1.5
    assert settings.rpc_timeout is None  # 0 means no timeout
    assert (settings.ping_interval, settings.ping, settings.max_idle_time) == (2.0, False, 0.25)
    assert (settings.max_response_length, settings.max_data_length) == (1024, 2048)
    assert settings.security_enabled and settings.fallback_to_simple_auth_allowed
    assert settings.qops == (Qop.AUTH_CONF, Qop.AUTH_INT, Qop.AUTH)


def test_environment_mechanism_wins():
    settings = IpcSettings.from_conf({"hadoop.security.sasl.mechanism": "DIGEST-MD5"},
                                     env={"HADOOP_SASL_MECHANISM": "PLAIN"})
    assert settings.sasl_mechanism == "PLAIN"


@pytest.mark.parametrize("key, value", [
    ("ipc.client.connect.timeout", "soon"),
    ("ipc.client.ping", "yes"),
    ("hadoop.security.authentication", "ldap"),
    ("hadoop.rpc.protection", "secret"),
])
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        IpcSettings.from_conf({key: value}, env={})
