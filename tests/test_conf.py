"""pyarn.conf: loading, Hadoop's expansion/final/deprecation rules, typed getters, HA resolution."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyarn.conf import (
    DEFAULTS,
    MAX_SUBST,
    ConfigError,
    Configuration,
    find_conf_dir,
    namenode_addresses,
    parse_address,
    rm_addresses,
    substitute_host,
)
from pyarn.security import principals as principals_mod


def site(props: Dict[str, object]) -> str:
    """A site file: values are strings, or (value, final) pairs."""
    lines = ['<?xml version="1.0"?>', "<configuration>"]
    for name, value in props.items():
        final = False
        if isinstance(value, tuple):
            value, final = value
        lines.append(f"  <property><name>{name}</name><value>{value}</value>"
                     + ("<final>true</final>" if final else "") + "</property>")
    lines.append("</configuration>")
    return "\n".join(lines) + "\n"


def write_conf(directory: Path, core=None, hdfs=None, yarn=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, props in (("core-site.xml", core), ("hdfs-site.xml", hdfs), ("yarn-site.xml", yarn)):
        if props is not None:
            (directory / name).write_text(props if isinstance(props, str) else site(props))
    return directory


def load(tmp_path: Path, env: Optional[Dict[str, str]] = None, **files) -> Configuration:
    return Configuration.load(write_conf(tmp_path / "conf", **files), env=env or {})


def conf_of(values: Dict[str, str], env: Optional[Dict[str, str]] = None) -> Configuration:
    return Configuration(values, env=env or {})


# -- loading ------------------------------------------------------------------------------------


def test_load_reads_the_three_site_files_in_order(tmp_path):
    conf = load(tmp_path, core={"a": "core", "b": "core", "c": "core"},
                hdfs={"b": "hdfs", "c": "hdfs"}, yarn={"c": "yarn"})
    assert (conf["a"], conf["b"], conf["c"]) == ("core", "hdfs", "yarn")
    assert conf.source_dir == tmp_path / "conf"
    assert [p.name for p in conf.files] == ["core-site.xml", "hdfs-site.xml", "yarn-site.xml"]
    assert conf.origin("b") == (str(tmp_path / "conf" / "hdfs-site.xml"), 3)


def test_absent_site_files_are_skipped(tmp_path):
    conf = load(tmp_path, yarn={"yarn.resourcemanager.hostname": "rm.example.com"})
    assert [p.name for p in conf.files] == ["yarn-site.xml"]
    assert conf["yarn.resourcemanager.address"] == "rm.example.com:8032"
    assert conf["fs.defaultFS"] == "file:///"


def test_defaults():
    conf = Configuration(env={})
    assert conf["ipc.maximum.data.length"] == "134217728"
    assert conf["yarn.resourcemanager.scheduler.address"] == "0.0.0.0:8030"
    assert conf.raw("yarn.resourcemanager.address") == "${yarn.resourcemanager.hostname}:8032"
    assert conf.origin("dfs.replication") == ("<hadoop defaults>", None)
    assert "dfs.nameservices" not in conf  # empty in hdfs-default.xml: unset, as in Hadoop
    assert len(Configuration(defaults=False, env={})) == 0
    assert all(isinstance(v, str) for v in DEFAULTS.values())
    for key in DEFAULTS:  # every default expands
        conf[key]


def test_find_conf_dir_precedence(tmp_path):
    yarn_dir = write_conf(tmp_path / "y")
    hadoop_dir = write_conf(tmp_path / "h")
    assert find_conf_dir(env={"YARN_CONF_DIR": str(yarn_dir), "HADOOP_CONF_DIR": str(hadoop_dir)}) \
        == yarn_dir
    assert find_conf_dir(env={"YARN_CONF_DIR": "", "HADOOP_CONF_DIR": str(hadoop_dir)}) == hadoop_dir
    assert find_conf_dir(tmp_path / "h", env={"YARN_CONF_DIR": str(yarn_dir)}) == hadoop_dir
    home = tmp_path / "home"
    assert find_conf_dir(env={"HADOOP_HOME": str(home)}) is None
    (home / "etc" / "hadoop").mkdir(parents=True)
    assert find_conf_dir(env={"HADOOP_HOME": str(home)}) == home / "etc" / "hadoop"
    (home / "conf").mkdir()
    (home / "conf" / "hadoop-env.sh").write_text("")
    assert find_conf_dir(env={"HADOOP_HOME": str(home)}) == home / "conf"
    assert find_conf_dir(env={}) is None


def test_load_without_any_conf_dir_gives_defaults():
    conf = Configuration.load(env={})
    assert conf.source_dir is None and conf.files == ()
    assert conf["fs.defaultFS"] == "file:///"


@pytest.mark.parametrize("var", ["YARN_CONF_DIR", "HADOOP_CONF_DIR"])
def test_missing_conf_dir_names_the_variable(tmp_path, var):
    with pytest.raises(ConfigError, match=f"^{var}={tmp_path / 'nope'} does not exist"):
        Configuration.load(env={var: str(tmp_path / "nope")})


def test_missing_explicit_conf_dir(tmp_path):
    with pytest.raises(ConfigError, match=f"^configuration directory {tmp_path / 'nope'} does not exist"):
        Configuration.load(tmp_path / "nope", env={})


def test_malformed_xml_names_file_and_line(tmp_path):
    bad = "<configuration>\n<property><name>a</name>\n<value>1</value>\n</propertee>\n</configuration>\n"
    with pytest.raises(ConfigError) as info:
        load(tmp_path, core={"x": "1"}, yarn=bad)
    err = info.value
    path = str(tmp_path / "conf" / "yarn-site.xml")
    assert (err.file, err.line) == (path, 4)
    assert str(err).startswith(f"{path}:4: malformed XML: mismatched tag")


@pytest.mark.parametrize("text, line", [
    ("", 1),
    ("<configuration>", 1),
    ("<configuration>\n<property>\n</configuration>", 3),
    ("<?xml version='1.0'?>\n<configuration>&undefined;</configuration>", 2),
])
def test_more_malformed_xml(tmp_path, text, line):
    with pytest.raises(ConfigError, match="malformed XML") as info:
        load(tmp_path, core=text)
    assert info.value.line == line


def test_unreadable_site_file(tmp_path):
    directory = write_conf(tmp_path / "conf")
    (directory / "core-site.xml").mkdir()
    with pytest.raises(ConfigError, match="core-site.xml: cannot read"):
        Configuration.load(directory, env={})


def test_entity_declarations_are_refused(tmp_path):
    text = ('<?xml version="1.0"?>\n<!DOCTYPE configuration [\n<!ENTITY big "xxxxxxxx">\n]>\n'
            "<configuration><property><name>a</name><value>&big;</value></property></configuration>")
    with pytest.raises(ConfigError, match="entity declarations are not supported") as info:
        load(tmp_path, core=text)
    assert info.value.line == 3


def test_property_forms(tmp_path):
    text = """<configuration>
      <property name="attr.form" value="v1" final="true"/>
      <property><name>  trimmed.name  </name><value>  kept spaces </value></property>
      <property><name>dfs.replication</name><value></value></property>
      <property><name>dfs.blocksize</name></property>
      <property><value>nameless</value></property>
      <property><name>not.final</name><value>x</value><final>True</final></property>
      <property><name>with.description</name><value>v</value><description>d</description></property>
    </configuration>"""
    conf = load(tmp_path, core=text, yarn={"attr.form": "v2", "not.final": "y"})
    assert conf["attr.form"] == "v1" and conf.is_final("attr.form")
    assert conf["trimmed.name"] == "  kept spaces "
    assert conf.get_str("trimmed.name") == "kept spaces"
    assert conf["dfs.replication"] == "3"  # an empty value sets nothing
    assert conf["dfs.blocksize"] == "134217728"
    assert conf["not.final"] == "y"  # only the exact text "true" makes a property final
    assert conf["with.description"] == "v"


# -- final --------------------------------------------------------------------------------------


def test_final_properties_resist_later_files(tmp_path):
    conf = load(tmp_path,
                core={"locked": ("core", True), "open": "core"},
                hdfs={"locked": "hdfs", "open": "hdfs", "late": ("hdfs", True)},
                yarn={"locked": "yarn", "late": "yarn"})
    assert conf["locked"] == "core"
    assert conf["open"] == "hdfs"
    assert conf["late"] == "hdfs"
    assert conf.is_final("locked") and conf.is_final("late") and not conf.is_final("open")
    assert conf.origin("locked")[0].endswith("core-site.xml")


def test_final_in_the_same_file_keeps_the_first(tmp_path):
    text = ("<configuration><property><name>k</name><value>1</value><final>true</final></property>"
            "<property><name>k</name><value>2</value></property></configuration>")
    assert load(tmp_path, core=text)["k"] == "1"


def test_overrides_in_code_beat_final(tmp_path):
    directory = write_conf(tmp_path / "conf", core={"locked": ("core", True)})
    conf = Configuration.load(directory, overrides={"locked": "code"}, env={})
    assert conf["locked"] == "code"
    assert conf.origin("locked") == ("<overrides>", None)


# -- deprecated keys ----------------------------------------------------------------------------


def test_deprecated_keys_in_files(tmp_path):
    conf = load(tmp_path, core={"fs.default.name": "hdfs://old:8020"},
                hdfs={"dfs.block.size": "64m", "dfs.federation.nameservices": "ns1"})
    assert conf["fs.defaultFS"] == "hdfs://old:8020"
    assert conf["fs.default.name"] == "hdfs://old:8020"
    assert "fs.default.name" in conf
    assert "fs.default.name" not in set(conf)  # stored under the current name
    assert conf.get_bytes("dfs.blocksize") == 64 * 1024 * 1024
    assert conf.get_list("dfs.nameservices") == ["ns1"]


def test_deprecated_and_current_name_later_file_wins(tmp_path):
    conf = load(tmp_path, core={"fs.defaultFS": "hdfs://new"}, yarn={"fs.default.name": "hdfs://old"})
    assert conf["fs.defaultFS"] == "hdfs://old"


def test_final_on_a_deprecated_key(tmp_path):
    conf = load(tmp_path, core={"fs.default.name": ("hdfs://old", True)},
                yarn={"fs.defaultFS": "hdfs://new"})
    assert conf["fs.defaultFS"] == "hdfs://old" and conf.is_final("fs.default.name")


def test_deprecated_keys_in_overrides_and_expansion():
    conf = conf_of({"fs.default.name": "hdfs://nn:8020", "x": "${fs.default.name}/tmp"})
    assert conf["fs.defaultFS"] == "hdfs://nn:8020"
    assert conf["x"] == "hdfs://nn:8020/tmp"
    assert conf.with_overrides({"dfs.block.size": 10}).get_int("dfs.blocksize") == 10


# -- expansion ----------------------------------------------------------------------------------


def test_variable_expansion(tmp_path):
    conf = load(tmp_path,
                core={"base": "/data", "dir": "${base}/dir", "deep": "${dir}/${leaf}", "leaf": "x"},
                yarn={"yarn.resourcemanager.hostname": "${rmhost}", "rmhost": "rm1.example.com"})
    assert conf["dir"] == "/data/dir"
    assert conf["deep"] == "/data/dir/x"
    assert conf["yarn.resourcemanager.address"] == "rm1.example.com:8032"
    assert conf.raw("deep") == "${dir}/${leaf}"


@pytest.mark.parametrize("raw, expanded", [
    ("${unknown}", "${unknown}"),
    ("${unknown}/${a}", "${unknown}/${a}"),  # an unbound name stops the expansion (Hadoop)
    ("${a}/${unknown}/${a}", "A/${unknown}/${a}"),
    ("${}", "${}"),
    ("${a b}", "${a b}"),
    ("$${a}", "$A"),
    ("${a${a}}", "${aA}"),
    ("{a}", "{a}"),
    ("$a", "$a"),
    ("${a}${a}", "AA"),
])
def test_expansion_edge_cases(raw, expanded):
    assert conf_of({"a": "A", "k": raw})["k"] == expanded


def test_env_expansion():
    env = {"HOME_DIR": "/home/u", "EMPTY": ""}
    conf = conf_of({
        "plain": "${env.HOME_DIR}/x",
        "unset": "${env.NOPE}",
        "colon.unset": "${env.NOPE:-fallback}",
        "colon.empty": "${env.EMPTY:-fallback}",
        "colon.set": "${env.HOME_DIR:-fallback}",
        "dash.unset": "${env.NOPE-fallback}",
        "dash.empty": "${env.EMPTY-fallback}",
        "default.with.colon": "${env.NOPE:-http://h:1}",
        "default.is.var": "${env.NOPE-${a}}",
        "a": "A",
        "env.CONFKEY": "from-conf",
        "conf.fallback": "${env.CONFKEY}",
        "short": "${env.}",
    }, env=env)
    assert conf["plain"] == "/home/u/x"
    assert conf["unset"] == "${env.NOPE}"
    assert conf["colon.unset"] == "fallback"
    assert conf["colon.empty"] == "fallback"
    assert conf["colon.set"] == "/home/u"
    assert conf["dash.unset"] == "fallback"
    assert conf["dash.empty"] == ""
    assert conf["default.with.colon"] == "http://h:1"
    assert conf["conf.fallback"] == "from-conf"
    assert conf["short"] == "${env.}"


def test_env_comes_from_load_env(tmp_path):
    directory = write_conf(tmp_path / "conf", core={"d": "${env.PYARN_TEST_DIR}"})
    conf = Configuration.load(env={"HADOOP_CONF_DIR": str(directory), "PYARN_TEST_DIR": "/t"})
    assert conf["d"] == "/t"


def test_self_reference_is_an_error_naming_key_file_and_line(tmp_path):
    conf = load(tmp_path, core={"ok": "1", "loop": "x${loop}"})
    assert conf["ok"] == "1"  # errors are per key, when read
    with pytest.raises(ConfigError, match=r"\$\{loop\} refers to itself") as info:
        conf["loop"]
    assert info.value.key == "loop"
    assert info.value.file.endswith("core-site.xml") and info.value.line == 4
    with pytest.raises(ConfigError):
        conf.get("loop")  # not swallowed by Mapping.get


def test_reference_to_a_self_referencing_key():
    with pytest.raises(ConfigError, match=r"a: \$\{b\} refers to itself"):
        conf_of({"a": "${b}", "b": "x${b}"})["a"]


def test_loop_through_keys_hits_the_depth_limit():
    for values in ({"a": "${b}", "b": "${a}"}, {"a": "${b}", "b": "${a}/x"}):
        with pytest.raises(ConfigError, match=f"more than {MAX_SUBST} substitutions"):
            conf_of(values)["a"]


def chain(n: int) -> Dict[str, str]:
    """k0 needs n substitutions: k0 -> ${k1} -> ... -> ${kn} -> end."""
    values = {f"k{i}": f"${{k{i + 1}}}" for i in range(n)}
    values[f"k{n}"] = "end"
    return values


def test_depth_limit_matches_hadoop():
    # Hadoop's loop does at most MAX_SUBST - 1 substitutions and then still needs a round to
    # see that nothing is left: 19 succeed, 20 fail.
    assert conf_of(chain(MAX_SUBST - 1))["k0"] == "end"
    with pytest.raises(ConfigError, match="depth too large"):
        conf_of(chain(MAX_SUBST))["k0"]


@given(st.text(alphabet=st.characters(blacklist_characters="$"), max_size=40))
def test_values_without_dollar_are_unchanged(text):
    assert conf_of({"k": text})["k"] == text


# -- mapping and overrides ----------------------------------------------------------------------


def test_mapping_behaviour():
    conf = conf_of({"a": "1"})
    assert conf["a"] == "1" and conf[" a "] == "1"
    with pytest.raises(KeyError):
        conf["missing"]
    assert conf.get("missing") is None and conf.get("missing", "d") == "d"
    assert "a" in conf and "missing" not in conf and 3 not in conf
    assert len(conf) == len(DEFAULTS) + 1
    assert set(conf) == set(DEFAULTS) | {"a"}
    assert dict(conf)["yarn.resourcemanager.address"] == "0.0.0.0:8032"
    assert conf.raw("missing") is None and conf.origin("missing") is None


def test_with_overrides_returns_a_new_configuration(tmp_path):
    base = load(tmp_path, core={"a": "1", "b": "${a}"})
    assert base["b"] == "1"
    new = base.with_overrides({"a": "2", "flag": True, "n": 5, "fs.defaultFS": None})
    assert (new["a"], new["b"], new["flag"], new["n"]) == ("2", "2", "true", "5")
    assert "fs.defaultFS" not in new
    assert (base["a"], base["b"]) == ("1", "1") and "fs.defaultFS" in base
    assert new.source_dir == base.source_dir and new.files == base.files


# -- typed getters ------------------------------------------------------------------------------


def test_get_int():
    conf = conf_of({"i": " 42 ", "neg": "-7", "hex": "0x1F", "neghex": "-0x10", "bad": "4x",
                    "empty": ""})
    assert conf.get_int("i") == 42
    assert conf.get_int("neg") == -7
    assert conf.get_int("hex") == 31
    assert conf.get_int("neghex") == -16
    assert conf.get_int("missing", 3) == 3
    assert conf.get_int("ipc.client.connect.timeout") == 20000
    with pytest.raises(ConfigError, match="bad: expected an integer, got '4x'"):
        conf.get_int("bad")
    with pytest.raises(ConfigError, match="missing: is not set"):
        conf.get_int("missing")
    with pytest.raises(ConfigError, match="expected an integer"):
        conf.get_int("empty")


def test_getter_errors_name_file_and_line(tmp_path):
    conf = load(tmp_path, yarn={"x": "1", "ipc.client.connect.timeout": "soon"})
    with pytest.raises(ConfigError) as info:
        conf.get_int("ipc.client.connect.timeout")
    assert str(info.value) == (f"{tmp_path / 'conf' / 'yarn-site.xml'}:4: ipc.client.connect.timeout: "
                               "expected an integer, got 'soon'")


def test_get_bool():
    conf = conf_of({"t": "TRUE", "f": " false ", "e": "", "bad": "yes"})
    assert conf.get_bool("t") is True
    assert conf.get_bool("f") is False
    assert conf.get_bool("e", True) is True
    assert conf.get_bool("missing", False) is False
    assert conf.get_bool("ipc.client.ping") is True
    with pytest.raises(ConfigError, match="expected true or false, got 'yes'"):
        conf.get_bool("bad")


@pytest.mark.parametrize("value, unit, expected", [
    ("1500", "ms", 1500),
    ("1500", "s", 1500),  # a bare number is in the requested unit
    ("30s", "ms", 30000),
    ("2m", "ms", 120000),
    ("1h", "s", 3600),
    ("1d", "h", 24),
    ("1500ms", "s", 1),  # truncated, as TimeUnit.convert
    ("-1500ms", "s", -1),
    ("10us", "ns", 10000),
    ("7ns", "us", 0),
    (" 5S ", "ms", 5000),  # trimmed and lower-cased
])
def test_get_time_duration(value, unit, expected):
    assert conf_of({"t": value}).get_time_duration("t", unit=unit) == expected


def test_get_time_duration_defaults_and_errors():
    conf = conf_of({"bad": "5 minutes", "nounit": "ms", "space": "5 s"})
    assert conf.get_time_duration("missing", 7) == 7
    assert conf.get_time_duration("missing", "2s") == 2000
    assert conf.get_time_duration("ipc.client.rpc-timeout.ms") == 120000
    with pytest.raises(ConfigError, match="expected a duration"):
        conf.get_time_duration("bad")
    for key in ("nounit", "space"):
        with pytest.raises(ConfigError, match="expected a duration"):
            conf.get_time_duration(key)
    with pytest.raises(ValueError):
        conf.get_time_duration("missing", 1, unit="weeks")


def test_get_bytes():
    conf = conf_of({"a": "128m", "b": "1G", "c": "512", "d": "1.5m", "e": "k"})
    assert conf.get_bytes("a") == 128 * 2**20
    assert conf.get_bytes("b") == 2**30
    assert conf.get_bytes("c") == 512
    assert conf.get_bytes("dfs.blocksize") == 134217728
    for key in ("d", "e"):
        with pytest.raises(ConfigError, match="expected a size"):
            conf.get_bytes(key)


def test_get_list():
    conf = conf_of({"l": " a, b ,,c\n d ,", "empty": " "})
    assert conf.get_list("l") == ["a", "b", "c", "d"]
    assert conf.get_list("empty") == []
    assert conf.get_list("missing") == []
    assert conf.get_list("missing", ["x"]) == ["x"]
    assert conf.get_list("missing", None) is None  # was a TypeError
    assert conf.get_list("empty", None) == []
    assert Configuration().get_list("no.such.key", None) is None


def test_get_address():
    conf = conf_of({"hp": " host.example.com:8032 ", "h": "host", "v6": "[::1]:9000",
                    "uri": "hdfs://nn:8020/path", "badport": "h:99999", "noport": "h:",
                    "path": "h:1/x", "v6bare": "::1"})
    assert conf.get_address("hp") == ("host.example.com", 8032)
    assert conf.get_address("h", 8020) == ("host", 8020)
    assert conf.get_address("v6") == ("::1", 9000)
    assert conf.get_address("uri") == ("nn", 8020)
    assert conf.get_address("noport", 5) == ("h", 5)
    assert conf.get_address("missing", 1, ("d", 2)) == ("d", 2)
    assert conf.get_address("yarn.resourcemanager.address") == ("0.0.0.0", 8032)
    with pytest.raises(ConfigError, match="h: 'host' has no port"):
        conf.get_address("h")
    with pytest.raises(ConfigError, match="invalid port '99999'"):
        conf.get_address("badport")
    for key in ("path", "v6bare"):
        with pytest.raises(ConfigError, match="not a valid host:port"):
            conf.get_address(key)


@given(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True), st.integers(0, 65535))
def test_parse_address_round_trip(host, port):
    assert parse_address(f"{host}:{port}") == (host, port)
    assert parse_address(host, port) == (host, port)


# -- ResourceManager addresses ------------------------------------------------------------------


def test_rm_addresses_without_ha():
    assert rm_addresses(conf_of({})) == [(None, "0.0.0.0", 8032)]
    conf = conf_of({"yarn.resourcemanager.hostname": "rm"})
    assert rm_addresses(conf) == [(None, "rm", 8032)]
    assert rm_addresses(conf, "scheduler.address") == [(None, "rm", 8030)]
    assert rm_addresses(conf, "webapp.address") == [(None, "rm", 8088)]
    conf = conf_of({"yarn.resourcemanager.address": "other:1234",
                    "yarn.resourcemanager.scheduler.address": "sched"})
    assert rm_addresses(conf) == [(None, "other", 1234)]
    assert rm_addresses(conf, "scheduler.address") == [(None, "sched", 8030)]


HA = {"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": " rm1, rm2 "}


def test_rm_addresses_ha_with_explicit_addresses():
    conf = conf_of({**HA, "yarn.resourcemanager.address.rm1": "a.example.com:8032",
                    "yarn.resourcemanager.address.rm2": "b.example.com:18032",
                    "yarn.resourcemanager.hostname": "ignored"})
    assert rm_addresses(conf) == [("rm1", "a.example.com", 8032), ("rm2", "b.example.com", 18032)]


@pytest.mark.parametrize("service, port", [
    ("address", 8032), ("scheduler.address", 8030), ("webapp.address", 8088),
    ("resource-tracker.address", 8031), ("admin.address", 8033), ("webapp.https.address", 8090),
])
def test_rm_addresses_ha_fall_back_to_hostname_and_default_port(service, port):
    conf = conf_of({**HA, "yarn.resourcemanager.hostname.rm1": "a",
                    "yarn.resourcemanager.hostname.rm2": "b",
                    "yarn.resourcemanager.scheduler.address.rm2": "b2:9999"})
    expected_rm2 = ("rm2", "b2", 9999) if service == "scheduler.address" else ("rm2", "b", port)
    assert rm_addresses(conf, service) == [("rm1", "a", port), expected_rm2]


def test_rm_addresses_ha_errors(tmp_path):
    conf = conf_of({**HA, "yarn.resourcemanager.hostname.rm1": "a"})
    with pytest.raises(ConfigError, match="yarn.resourcemanager.hostname.rm2 or "
                                          "yarn.resourcemanager.address.rm2 needs to be set"):
        rm_addresses(conf)
    conf = load(tmp_path, yarn={"yarn.resourcemanager.ha.enabled": "true"})
    with pytest.raises(ConfigError, match="yarn.resourcemanager.ha.rm-ids: must list") as info:
        rm_addresses(conf)
    assert info.value.file == str(tmp_path / "conf")
    with pytest.raises(ValueError, match="unknown ResourceManager service"):
        rm_addresses(conf_of({}), "nope")


def test_rm_addresses_ha_disabled_ignores_ids():
    conf = conf_of({**HA, "yarn.resourcemanager.ha.enabled": "false",
                    "yarn.resourcemanager.hostname": "single"})
    assert rm_addresses(conf) == [(None, "single", 8032)]


# -- NameNode addresses -------------------------------------------------------------------------


def test_namenode_plain_uri():
    conf = conf_of({"fs.defaultFS": "hdfs://nn.example.com:9000"})
    nns = namenode_addresses(conf)
    assert (nns.nameservice, nns.namenodes, nns.is_logical, nns.is_ha) == \
        (None, ((None, "nn.example.com", 9000),), False, False)
    assert namenode_addresses(conf, "hdfs://other/x/y").namenodes == ((None, "other", 8020),)
    assert namenode_addresses(conf, "HDFS://Other:1").namenodes == ((None, "Other", 1),)


NS = {
    "fs.defaultFS": "hdfs://ns1",
    "dfs.nameservices": "ns1,ns2",
    "dfs.ha.namenodes.ns1": "nn1, nn2",
    "dfs.namenode.rpc-address.ns1.nn1": "a.example.com:8020",
    "dfs.namenode.rpc-address.ns1.nn2": "b.example.com",
    "dfs.client.failover.proxy.provider.ns1":
        "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider",
}


def test_namenode_ha_nameservice():
    nns = namenode_addresses(conf_of(NS))
    assert nns.nameservice == "ns1" and nns.is_logical and nns.is_ha
    assert nns.namenodes == (("nn1", "a.example.com", 8020), ("nn2", "b.example.com", 8020))
    assert namenode_addresses(conf_of(NS), "hdfs://ns1:8020/user").nameservice == "ns1"


def test_namenode_nn_without_address_is_skipped_as_hadoop_does():
    conf = conf_of({**NS, "dfs.ha.namenodes.ns1": "nn1,nn2,nn3"})
    assert [nn[0] for nn in namenode_addresses(conf).namenodes] == ["nn1", "nn2"]


def test_namenode_logical_by_provider_only_or_by_nameservices_only():
    provider_only = {k: v for k, v in NS.items() if k != "dfs.nameservices"}
    assert namenode_addresses(conf_of(provider_only)).nameservice == "ns1"
    listed_only = {k: v for k, v in NS.items() if not k.startswith("dfs.client.failover")}
    assert namenode_addresses(conf_of(listed_only)).nameservice == "ns1"


def test_namenode_single_nn_nameservice():
    conf = conf_of({"fs.defaultFS": "hdfs://ns2", "dfs.nameservices": "ns2",
                    "dfs.namenode.rpc-address.ns2": "c:8021"})
    nns = namenode_addresses(conf)
    assert nns.namenodes == ((None, "c", 8021),) and nns.is_logical and not nns.is_ha


def test_namenode_errors(tmp_path):
    with pytest.raises(ConfigError, match="fs.defaultFS: 'file:///' is not an hdfs:// URI"):
        namenode_addresses(conf_of({}))
    with pytest.raises(ConfigError, match="is not an hdfs:// URI"):
        namenode_addresses(conf_of({}), "viewfs://cluster")
    with pytest.raises(ConfigError, match="has no host"):
        namenode_addresses(conf_of({}), "hdfs:///tmp")
    with pytest.raises(ConfigError, match="port 9000 specified .* logical"):
        namenode_addresses(conf_of(NS), "hdfs://ns1:9000")
    with pytest.raises(ConfigError, match="no NameNode RPC address for nameservice 'ns2'"):
        namenode_addresses(conf_of(NS), "hdfs://ns2")
    conf = load(tmp_path, core={"fs.defaultFS": "s3a://bucket"})
    with pytest.raises(ConfigError) as info:
        namenode_addresses(conf)
    assert info.value.file.endswith("core-site.xml") and info.value.line == 3


# -- _HOST --------------------------------------------------------------------------------------


def test_substitute_host(monkeypatch):
    assert substitute_host("rm/_HOST@EXAMPLE.COM", "RM1.Example.COM") == "rm/rm1.example.com@EXAMPLE.COM"
    assert substitute_host("nn/fixed.host@R", "other") == "nn/fixed.host@R"
    assert substitute_host("user@R", "h") == "user@R"
    assert substitute_host("nn/_HOST@", "h") == "nn/_HOST@"
    assert substitute_host("nn/_HOST", "h") == "nn/_HOST"
    monkeypatch.setattr(principals_mod.socket, "getfqdn", lambda: "Local.Example.com")
    assert substitute_host("nn/_HOST@R") == "nn/local.example.com@R"
    assert substitute_host("nn/_HOST@R", "0.0.0.0") == "nn/local.example.com@R"


# -- XInclude -----------------------------------------------------------------------------------

XI = 'xmlns:xi="http://www.w3.org/2001/XInclude"'


def test_xinclude_relative_file(tmp_path):
    directory = write_conf(tmp_path / "conf")
    (directory / "extra.xml").write_text(site({"from.include": "yes", "shared": "include"}))
    (directory / "core-site.xml").write_text(
        f'<configuration {XI}>\n<property><name>shared</name><value>before</value></property>\n'
        '<xi:include href="extra.xml"/>\n'
        '<property><name>after</name><value>${from.include}</value></property>\n</configuration>\n')
    conf = Configuration.load(directory, env={})
    assert conf["from.include"] == "yes" and conf["shared"] == "include" and conf["after"] == "yes"
    assert conf.origin("from.include")[0] == str(directory / "extra.xml")


def test_xinclude_missing_with_and_without_fallback(tmp_path):
    with_fallback = (f'<configuration {XI}><xi:include href="absent.xml"><xi:fallback>'
                     '<property><name>fb</name><value>used</value></property>'
                     '</xi:fallback></xi:include></configuration>')
    assert load(tmp_path / "a", core=with_fallback)["fb"] == "used"
    without = f'<configuration {XI}>\n<xi:include href="absent.xml"/>\n</configuration>'
    with pytest.raises(ConfigError, match="cannot include 'absent.xml'") as info:
        load(tmp_path / "b", core=without)
    assert info.value.line == 2


def test_xinclude_present_skips_fallback(tmp_path):
    directory = write_conf(tmp_path / "conf")
    (directory / "extra.xml").write_text(site({"x": "included"}))
    (directory / "core-site.xml").write_text(
        f'<configuration {XI}><xi:include href="extra.xml"><xi:fallback>'
        '<property><name>x</name><value>fallback</value></property>'
        '</xi:fallback></xi:include></configuration>')
    assert Configuration.load(directory, env={})["x"] == "included"


def test_xinclude_loop(tmp_path):
    directory = write_conf(tmp_path / "conf")
    for name, href in (("core-site.xml", "b.xml"), ("b.xml", "core-site.xml")):
        (directory / name).write_text(f'<configuration {XI}><xi:include href="{href}"/></configuration>')
    with pytest.raises(ConfigError, match="XInclude loop") as info:
        Configuration.load(directory, env={})
    assert info.value.file == str(directory / "b.xml")


def test_realcluster_conf_if_present():
    directory = Path.home() / ".cache" / "pyarn-realcluster" / "run" / "conf"
    if not (directory / "yarn-site.xml").exists():
        pytest.skip("no realcluster configuration on this machine")
    conf = Configuration.load(directory, env={})
    assert rm_addresses(conf)[0][2] == 8032
    assert conf.get_bool("yarn.resourcemanager.ha.enabled") in (True, False)


def test_config_error_is_a_pyarn_error():
    from pyarn.errors import PyarnError

    assert issubclass(ConfigError, PyarnError)
    err = ConfigError("bad", file="/c/yarn-site.xml", line=3, key="k")
    assert str(err) == "/c/yarn-site.xml:3: k: bad"
    assert (err.message, err.file, err.line, err.key) == ("bad", "/c/yarn-site.xml", 3, "k")
    assert str(ConfigError("bad", key="k")) == "k: bad"


# -- the IPC layer's view of the configuration --------------------------------------------------


def test_ipc_defaults_are_the_configurations():
    """The IPC layer reads only what is set; what it falls back on must be conf/defaults.py's."""
    from pyarn.ipc import IpcSettings, RetryPolicy
    from pyarn.ipc.retry import RM_CONNECT_DEFAULTS_MS

    assert IpcSettings.from_conf(Configuration(), env={}) == IpcSettings.from_conf({}, env={})
    assert IpcSettings.from_conf({}, env={}) == IpcSettings()
    for service in ("hdfs", "yarn"):
        assert RetryPolicy.from_conf(Configuration(), service) == RetryPolicy.from_conf({}, service)
    for key, value in RM_CONNECT_DEFAULTS_MS.items():
        assert DEFAULTS[key] == str(value)


def test_ipc_settings_use_the_configurations_parser(tmp_path):
    """A bad IPC value in a site file is reported with its file and line, as any other."""
    from pyarn.ipc import IpcSettings, RetryPolicy

    conf = load(tmp_path, core={"ipc.client.connect.timeout": "0x10", "ipc.client.ping": "TRUE"})
    settings = IpcSettings.from_conf(conf, env={})
    assert (settings.connect_timeout, settings.ping) == (0.016, True)  # Configuration.get_int takes hex
    for key, value in (("ipc.client.connect.timeout", "soon"), ("hadoop.security.authentication", "ldap"),
                       ("hadoop.rpc.protection", "secret"), ("ipc.client.ping", "yes")):
        bad = load(tmp_path / key, core={key: value})
        with pytest.raises(ConfigError) as info:
            IpcSettings.from_conf(bad, env={})
        assert (info.value.key, info.value.line) == (key, 3)
        assert info.value.file.endswith("core-site.xml")
    bad = load(tmp_path / "retry", hdfs={"dfs.client.failover.max.attempts": "many"})
    with pytest.raises(ConfigError, match=r"hdfs-site.xml:3: dfs.client.failover.max.attempts"):
        RetryPolicy.from_conf(bad, "hdfs")
