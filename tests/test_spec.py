"""Application specs: Skein specs load unchanged, round trips, validation messages, units."""
from __future__ import annotations

import copy
import json
import math
import os
import pickle
import textwrap
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pyarn.errors import PyarnError
from pyarn.spec import (
    ACLs,
    ApplicationSpec,
    File,
    FileType,
    FileVisibility,
    LogLevel,
    Master,
    Resources,
    Service,
    SpecError,
    find_cycle,
    format_path,
    parse_memory,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MIB = 2**20

# Every field name Skein's model knows (skein/model.py), per class: what pyarn
# writes by default must stay inside these so Skein can read pyarn's output.
SKEIN_FIELDS = {
    "app": {"name", "queue", "user", "node_label", "tags", "file_systems", "acls", "max_attempts",
            "master", "services"},
    "master": {"resources", "script", "files", "env", "log_level", "log_config", "security"},
    "service": {"resources", "script", "instances", "files", "env", "depends", "max_restarts",
                "allow_failures", "node_label", "nodes", "racks", "relax_locality"},
    "resources": {"memory", "vcores", "gpus", "fpgas"},
    "file": {"source", "type", "visibility", "size", "timestamp"},
    "acls": {"enable", "view_users", "view_groups", "modify_users", "modify_groups", "ui_users"},
}

# --- realistic Skein specs --------------------------------------------------

# Skein's quickstart: no services, the master runs a driver script.
SKEIN_QUICKSTART = """\
name: hello_world
queue: default

master:
  resources:
    vcores: 1
    memory: 512 MiB
  script: |
    sleep 60
    echo "Hello World!"
"""

# Skein's examples/echo_server/spec.yaml, with the older `commands` form.
SKEIN_ECHO_SERVER = """\
name: echoserver

services:
    server:
        resources:
            vcores: 1
            memory: 256 MiB
        files:
            # A packaged conda environment to be distributed with the
            # application.
            environment: environment.tar.gz
            # The server implementation.
            server.py: server.py
        commands:
            # Activate the conda environment
            - source environment/bin/activate
            # Start the server
            - python server.py
"""

# The example of Skein's specification docs: jupyter in the master, dask
# scheduler and workers as services with `depends`.
SKEIN_DASK = """\
name: dask-with-jupyter
queue: default

master:
  resources:
    memory: 2 GiB
    vcores: 1
  files:
    conda_env: env.tar.gz
    data.csv: hdfs:///path/to/some/data.csv
  script: |
    source conda_env/bin/activate
    start-jupyter-notebook-and-register-address  # pseudocode

services:
  dask.scheduler:
    resources:
      memory: 2 GiB
      vcores: 1
    files:
      conda_env: env.tar.gz
    script: |
      source conda_env/bin/activate
      start-dask-scheduler-and-register-address  # pseudocode

  dask.worker:
    instances: 4
    resources:
      memory: 4 GiB
      vcores: 4
    max_restarts: 8  # Restart workers a maximum of 8 times
    files:
      conda_env: env.tar.gz
    depends:
      - dask.scheduler  # Ensure scheduler is started before workers
    script: |
      source conda_env/bin/activate
      get-dask-scheduler-address-and-start-worker  # pseudocode
"""

# Every application-level field, archives in both forms, env, locality,
# ACLs, GPUs, and a master with log settings (after Skein's test_model.py).
SKEIN_FULL = """\
name: test
queue: analytics
user: alice
node_label: cpu
max_attempts: 2
tags:
    - tag1
    - tag2
file_systems:
    - hdfs://preprod
    - webhdfs://nn3.com:50070
acls:
    enable: true
    view_users:
        - '*'
    modify_groups: [admins]
    ui_users: [nancy]
master:
    log_level: debug
    env:
        MASTER_ENV: '1'
    resources:
        memory: 1 GiB
        vcores: 2
services:
    service_1:
        node_label: gpu
        resources:
            vcores: 1
            memory: 1.5 GB
            gpus: 2
            fpgas: 1
        files:
            testfile: /path/to/testfile
            testarchive: /path/to/testarchive.zip
            otherpath:
                source: /path/to/other.tgz
                type: file
                visibility: public
            remote:
                source: hdfs://nn:9000/data/lib.tar.gz
                visibility: PRIVATE
                size: 1024
                timestamp: 1700000000000
        env:
            key1: val1
            key2: val2
        script: |-
            command 1
            command 2
        nodes:
            - worker.example.com
        racks: [rack1]
        relax_locality: true
        allow_failures: true
        max_restarts: -1
        instances: 0
"""

HELLO = """\
services:
  worker:
    resources:
      memory: 1 GiB
      vcores: 1
    script: echo hello
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    """A directory holding the local files the realistic specs name."""
    for name in ("environment.tar.gz", "server.py", "env.tar.gz"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


def load(text: str, **kwargs: Any) -> ApplicationSpec:
    return ApplicationSpec.from_yaml(text, **kwargs)


def test_skein_quickstart_loads_with_master_script_and_no_services() -> None:
    spec = load(SKEIN_QUICKSTART)
    assert spec.name == "hello_world"
    assert spec.queue == "default"
    assert spec.services == {}
    assert spec.master.script == 'sleep 60\necho "Hello World!"\n'
    assert spec.master.resources == Resources(memory=512, vcores=1)
    assert spec.master.log_level is LogLevel.INFO


def test_skein_echo_server_commands_become_skeins_script(spec_dir: Path) -> None:
    spec = ApplicationSpec.from_file(write_spec(spec_dir, SKEIN_ECHO_SERVER))
    server = spec.services["server"]
    # Skein turned the deprecated commands into exactly this script.
    assert server.script == "set -x -e\nsource environment/bin/activate\npython server.py"
    assert server.resources.memory == 256
    # Relative sources resolve against the spec file's directory, not the cwd.
    env = server.files["environment"]
    assert env.source == f"file://{spec_dir}/environment.tar.gz"
    assert env.type is FileType.ARCHIVE
    assert env.local_path == str(spec_dir / "environment.tar.gz")
    assert server.files["server.py"].type is FileType.FILE
    assert server.files["server.py"].visibility is FileVisibility.APPLICATION


def test_skein_dask_example_with_depends_and_dotted_names(spec_dir: Path) -> None:
    spec = ApplicationSpec.from_file(write_spec(spec_dir, SKEIN_DASK))
    worker = spec.services["dask.worker"]
    assert worker.instances == 4
    assert worker.max_restarts == 8
    assert worker.resources.memory == 4 * 1024
    assert worker.resources.vcores == 4
    assert worker.depends == frozenset({"dask.scheduler"})
    assert spec.services["dask.scheduler"].instances == 1  # Skein's default
    assert spec.services["dask.scheduler"].depends == frozenset()
    assert spec.master.resources.memory == 2048
    # Sources with a scheme are kept as written.
    assert spec.master.files["data.csv"].source == "hdfs:///path/to/some/data.csv"
    assert spec.master.files["data.csv"].local_path is None
    assert spec.master.files["conda_env"].type is FileType.ARCHIVE


def test_skein_full_spec_every_field() -> None:
    spec = load(SKEIN_FULL, check_files=False)
    assert (spec.name, spec.queue, spec.user, spec.node_label) == ("test", "analytics", "alice", "cpu")
    assert spec.max_attempts == 2
    assert spec.tags == frozenset({"tag1", "tag2"})
    assert spec.file_systems == ["hdfs://preprod", "webhdfs://nn3.com:50070"]
    assert spec.acls == ACLs(enable=True, view_users=["*"], modify_groups=["admins"], ui_users=["nancy"])
    assert spec.master.log_level is LogLevel.DEBUG
    assert spec.master.env == {"MASTER_ENV": "1"}
    assert spec.master.resources == Resources(memory=1024, vcores=2)

    svc = spec.services["service_1"]
    assert svc.resources == Resources(memory=math.ceil(1.5e9 / MIB), vcores=1, gpus=2, fpgas=1)
    assert svc.resources.memory == 1431
    assert svc.node_label == "gpu"
    assert svc.script == "command 1\ncommand 2"
    assert svc.env == {"key1": "val1", "key2": "val2"}
    assert (svc.nodes, svc.racks, svc.relax_locality) == (["worker.example.com"], ["rack1"], True)
    assert (svc.allow_failures, svc.max_restarts, svc.instances) == (True, -1, 0)

    files = svc.files
    assert files["testfile"] == File("file:///path/to/testfile", type="file")
    assert files["testarchive"].type is FileType.ARCHIVE
    # An explicit type wins over the extension.
    assert files["otherpath"].type is FileType.FILE
    assert files["otherpath"].visibility is FileVisibility.PUBLIC
    remote = files["remote"]
    assert remote.source == "hdfs://nn:9000/data/lib.tar.gz"
    assert (remote.type, remote.visibility) == (FileType.ARCHIVE, FileVisibility.PRIVATE)
    assert (remote.size, remote.timestamp) == (1024, 1700000000000)


def test_defaults_match_skein() -> None:
    spec = load(HELLO)
    svc = spec.services["worker"]
    assert (svc.instances, svc.max_restarts, svc.allow_failures, svc.relax_locality) == (1, 0, False, False)
    assert (svc.files, svc.env, svc.depends, svc.nodes, svc.racks, svc.node_label) == (
        {}, {}, frozenset(), [], [], "")
    assert (svc.resources.gpus, svc.resources.fpgas, svc.resources.extra) == (0, 0, {})
    assert (spec.queue, spec.user, spec.node_label, spec.max_attempts) == ("default", "", "", 1)
    assert spec.acls == ACLs(enable=False)
    assert spec.master == Master(resources=Resources(memory=512, vcores=1), script="",
                                 log_level="info")


def test_null_collections_mean_empty() -> None:
    spec = load(HELLO + "    env:\n    files:\n    depends:\ntags:\nmaster:\n")
    svc = spec.services["worker"]
    assert (svc.env, svc.files, svc.depends) == ({}, {}, frozenset())
    assert spec.tags == frozenset()
    assert spec.master == Master()


def test_yaml_anchors_and_merge_keys_are_not_duplicates() -> None:
    text = """\
services:
  a: &base
    resources: &res {memory: 2 GiB, vcores: 2}
    script: run a
  b:
    <<: *base
    script: run b
    instances: 3
"""
    spec = load(text)
    assert spec.services["b"].script == "run b"
    assert spec.services["b"].instances == 3
    assert spec.services["b"].resources == spec.services["a"].resources == Resources(2048, 2)
    # Shared YAML nodes become separate objects: changing one leaves the other.
    spec.services["b"].resources.memory = 1
    assert spec.services["a"].resources.memory == 2048


def test_from_dict_leaves_its_input_alone() -> None:
    obj = yaml.safe_load(SKEIN_FULL)
    before = copy.deepcopy(obj)
    spec = ApplicationSpec.from_dict(obj, check_files=False)
    assert obj == before
    spec.services["service_1"].env["new"] = "x"
    assert "new" not in obj["services"]["service_1"]["env"]


# --- round trips ---------------------------------------------------------------

REALISTIC = [SKEIN_QUICKSTART, SKEIN_ECHO_SERVER, SKEIN_DASK, SKEIN_FULL, HELLO]


@pytest.mark.parametrize("text", REALISTIC, ids=["quickstart", "echo", "dask", "full", "hello"])
@pytest.mark.parametrize("skip_defaults", [False, True])
def test_round_trips(text: str, skip_defaults: bool, spec_dir: Path) -> None:
    spec = ApplicationSpec.from_file(write_spec(spec_dir, text), check_files=False)
    dumped_yaml = spec.to_yaml(skip_defaults=skip_defaults)
    assert ApplicationSpec.from_yaml(dumped_yaml, check_files=False) == spec
    assert ApplicationSpec.from_json(spec.to_json(skip_defaults=skip_defaults), check_files=False) == spec
    assert ApplicationSpec.from_dict(spec.to_dict(skip_defaults=skip_defaults), check_files=False) == spec
    # A dump of a load is the same text: dumping is deterministic.
    again = ApplicationSpec.from_yaml(dumped_yaml, check_files=False)
    assert again.to_yaml(skip_defaults=skip_defaults) == dumped_yaml
    # The dump is plain data (no Python objects): yaml.safe_load and json read it.
    assert yaml.safe_load(dumped_yaml) == json.loads(spec.to_json(skip_defaults=skip_defaults))


def test_to_dict_speaks_skein() -> None:
    spec = load(SKEIN_FULL, check_files=False)
    out = spec.to_dict()
    assert set(out) == SKEIN_FIELDS["app"]
    assert set(out["master"]) <= SKEIN_FIELDS["master"]
    assert set(out["acls"]) == SKEIN_FIELDS["acls"]
    svc = out["services"]["service_1"]
    assert set(svc) == SKEIN_FIELDS["service"]
    assert set(svc["resources"]) == SKEIN_FIELDS["resources"]
    for f in svc["files"].values():
        assert set(f) == SKEIN_FIELDS["file"]
    # Enum values as strings Skein reads (it upper-cases them), sets as sorted lists.
    assert svc["files"]["testarchive"]["type"] == "archive"
    assert out["master"]["log_level"] == "debug"
    assert out["tags"] == ["tag1", "tag2"]
    assert svc["resources"]["memory"] == 1431


def test_skip_defaults_keeps_only_what_differs() -> None:
    out = load(HELLO).to_dict(skip_defaults=True)
    assert out == {"name": "pyarn", "services": {"worker": {
        "resources": {"memory": 1024, "vcores": 1}, "script": "echo hello"}}}


def test_extra_resources_written_only_when_set() -> None:
    spec = load(HELLO)
    assert "extra" not in spec.to_dict()["services"]["worker"]["resources"]
    spec.services["worker"].resources.extra = {"example.com/widget": 2}
    out = spec.to_dict()["services"]["worker"]["resources"]
    assert out["extra"] == {"example.com/widget": 2}
    assert ApplicationSpec.from_dict(spec.to_dict()) == spec
    assert spec.services["worker"].resources.yarn_resources() == {
        "memory-mb": 1024, "vcores": 1, "example.com/widget": 2}


def test_scripts_dump_as_literal_blocks() -> None:
    text = load(SKEIN_DASK, check_files=False).to_yaml()
    assert "script: |\n" in text
    assert "\\n" not in text


def test_to_file_and_from_file_by_extension(tmp_path: Path) -> None:
    spec = load(SKEIN_FULL, check_files=False)
    for name in ("out.yaml", "out.yml", "out.json"):
        spec.to_file(tmp_path / name)
        assert ApplicationSpec.from_file(tmp_path / name, check_files=False) == spec
    assert json.loads((tmp_path / "out.json").read_text())["name"] == "test"
    assert yaml.safe_load((tmp_path / "out.yaml").read_text())["name"] == "test"


SCRIPT_TEXT = st.text(min_size=1).filter(lambda s: s.strip())


@settings(max_examples=300, deadline=None)
@given(script=SCRIPT_TEXT, env_value=st.text(), name=st.text(min_size=1),
       target=st.text(min_size=1).filter(lambda s: "/" not in s and s not in (".", "..")))
def test_any_text_round_trips(script: str, env_value: str, name: str, target: str) -> None:
    spec = ApplicationSpec(
        name=name,
        services={name: Service(resources=Resources(memory=1, vcores=1), script=script,
                                env={"V": env_value}, files={target: File("hdfs:///x")})})
    assert ApplicationSpec.from_yaml(spec.to_yaml()) == spec
    assert ApplicationSpec.from_json(spec.to_json()) == spec


# --- memory units ----------------------------------------------------------------

@pytest.mark.parametrize(("value", "mib"), [
    (512, 512),
    (1.5, 2),
    (1e3, 1000),
    ("100", 100),
    ("100 MiB", 100),
    ("100MiB", 100),
    ("100Mi", 100),
    ("100 MB", math.ceil(100e6 / MIB)),  # 96: MB is decimal
    ("100M", 96),
    ("5kB", 1),
    ("5.4 MiB", 6),
    ("0.9 MiB", 1),
    ("1e3", 1000),
    ("1e6 kB", math.ceil(1e9 / MIB)),
    ("MiB", 1),
    ("2 GiB", 2048),
    ("2 gib", 2048),
    ("2 GIB", 2048),
    ("2g", 1908),
    ("2 Gi", 2048),
    ("1.5 GB", 1431),
    ("1.5 GiB", 1536),
    ("1 TiB", 1024 * 1024),
    ("1 TB", math.ceil(1e12 / MIB)),
    ("1 PiB", 1024**3),
    ("1048576 B", 1),
    ("1048577 B", 2),
    ("1 b", 1),
    ("  3 GiB ", 3072),
    ("1024 KiB", 1),
    ("1025 KiB", 2),
])
def test_parse_memory(value: Any, mib: int) -> None:
    assert parse_memory(value) == mib


@pytest.mark.parametrize("value", [
    "5 foos", "", "   ", "1.1.1GB", -1, "-1.5 MiB", "-3 GiB", [], None, True, float("nan"),
    float("inf"), "1e999 GiB", "GiB5", "five GiB", "2 GiBs",
])
def test_parse_memory_rejects(value: Any) -> None:
    with pytest.raises(SpecError):
        parse_memory(value)


def test_memory_strings_convert_on_construction_and_assignment() -> None:
    r = Resources(memory="1 GiB", vcores=1)
    assert r.memory == 1024
    r.memory = "2 GiB"
    assert r.memory == 2048
    assert Resources(memory="2 GiB", vcores=1) == Resources(memory=2048, vcores=1)


# --- bad specs -------------------------------------------------------------------

SVC = "services.worker"


def with_service(extra: str = "", memory: str = "1 GiB", vcores: str = "1", script: str = "echo") -> str:
    lines = ["services:", "  worker:", "    resources:", f"      memory: {memory}", f"      vcores: {vcores}"]
    if script is not None:
        lines.append(f"    script: {script}")
    extra = textwrap.indent(textwrap.dedent(extra), "    ")
    return "\n".join(lines) + "\n" + (extra + "\n" if extra else "")


SERVICE_B = "  b:\n    resources: {memory: 1, vcores: 1}\n    script: x\n"

BAD_SPECS = [
    # (spec text, field path, fragment of the message)
    (with_service(memory="'-3 GiB'"), f"{SVC}.resources.memory",
     "expected a positive size such as 512 or '2 GiB', got '-3 GiB'"),
    (with_service(memory="-3"), f"{SVC}.resources.memory", "got -3"),
    (with_service(memory="0"), f"{SVC}.resources.memory", "positive size"),
    (with_service(memory="0 MiB"), f"{SVC}.resources.memory", "positive size"),
    (with_service(memory="5 foos"), f"{SVC}.resources.memory", "unknown unit 'foos'"),
    (with_service(memory="[1]"), f"{SVC}.resources.memory", "got a list"),
    (with_service(vcores="0"), f"{SVC}.resources.vcores", "expected an integer >= 1, got 0"),
    (with_service(vcores="-2"), f"{SVC}.resources.vcores", "got -2"),
    (with_service(vcores="'two'"), f"{SVC}.resources.vcores", "got 'two'"),
    (with_service(vcores="1.5"), f"{SVC}.resources.vcores", "got 1.5"),
    (with_service(vcores="1\n      gpus: -1"), f"{SVC}.resources.gpus", "expected an integer >= 0, got -1"),
    (with_service(vcores="1\n      fpgas: '1'"), f"{SVC}.resources.fpgas", "got '1'"),
    (with_service(vcores="1\n      extra: {yarn.io/gpu: 1}"), f'{SVC}.resources.extra["yarn.io/gpu"]',
     "set 'gpus' instead"),
    (with_service(vcores="1\n      extra: {example.com/w: -1}"), f'{SVC}.resources.extra["example.com/w"]',
     ">= 0"),
    (with_service(vcores="1\n      cpus: 2"), f"{SVC}.resources.cpus", "unknown field"),
    ("services:\n  worker:\n    resources: {vcores: 1}\n    script: x\n", f"{SVC}.resources.memory",
     "required field is missing"),
    ("services:\n  worker:\n    script: x\n", f"{SVC}.resources", "required field is missing"),
    ("services:\n  worker:\n    resources: 1 GiB\n    script: x\n", f"{SVC}.resources",
     "expected a mapping with memory and vcores, got '1 GiB'"),
    # unknown fields, with a suggestion when one is close
    (with_service("instnaces: 3"), f"{SVC}.instnaces", "unknown field (did you mean 'instances'?)"),
    (with_service("dependencies: [b]"), f"{SVC}.dependencies", "unknown field"),
    (with_service("max_restart: 1"), f"{SVC}.max_restart", "did you mean 'max_restarts'?"),
    ("service:\n  worker: {}\n", "service", "did you mean 'services'?"),
    (with_service() + "nmae: x\n", "nmae", "did you mean 'name'?"),
    (with_service() + "bogus: 1\n", "bogus", "known fields: name, queue"),
    (with_service() + "master:\n  scirpt: x\n", "master.scirpt", "did you mean 'script'?"),
    (with_service() + "acls:\n  enabled: true\n", "acls.enabled", "did you mean 'enable'?"),
    (with_service("files:\n  f: {source: /x, kind: file}"), f"{SVC}.files.f.kind", "unknown field"),
    # wrong types
    (with_service("instances: '3'"), f"{SVC}.instances", "expected an integer >= 0, got '3'"),
    (with_service("instances: -1"), f"{SVC}.instances", "expected an integer >= 0, got -1"),
    (with_service("instances: true"), f"{SVC}.instances", "got true"),
    (with_service("max_restarts: -2"), f"{SVC}.max_restarts", "expected an integer >= -1"),
    (with_service("allow_failures: 'no'"), f"{SVC}.allow_failures", "expected true or false, got 'no'"),
    (with_service("relax_locality: 1"), f"{SVC}.relax_locality", "expected true or false"),
    (with_service("nodes: worker1"), f"{SVC}.nodes", "expected a list of strings, got 'worker1'"),
    (with_service("racks: [r1, 2]"), f"{SVC}.racks[1]", "expected a string, got 2"),
    (with_service("node_label: 3"), f"{SVC}.node_label", "expected a string, got 3"),
    (with_service("env: [A=1]"), f"{SVC}.env", "expected a mapping of environment variable names"),
    (with_service("env: {PORT: 8080}"), f"{SVC}.env.PORT", "expected a string (quote it in YAML), got 8080"),
    (with_service("env: {DEBUG: yes}"), f"{SVC}.env.DEBUG", "got true"),
    (with_service("depends: b"), f"{SVC}.depends", "expected a list of strings"),
    (with_service(script="[echo, hi]"), f"{SVC}.script", "expected a string, got a list"),
    (with_service(script="''"), f"{SVC}.script", "got an empty one"),
    (with_service("commands: echo hi", script=None), f"{SVC}.commands", "expected a list of strings"),
    (with_service("commands: []", script=None), f"{SVC}.commands", "at least one command"),
    (with_service("commands: [echo]"), SVC, "either script or the older commands list, not both"),
    (with_service() + "name: [a]\n", "name", "expected a string"),
    (with_service() + "queue: 7\n", "queue", "expected a string, got 7"),
    (with_service() + "max_attempts: 0\n", "max_attempts", "expected an integer >= 1, got 0"),
    (with_service() + "tags: mytag\n", "tags", "expected a list of strings"),
    (with_service() + "file_systems: [hdfs://a, 1]\n", "file_systems[1]", "expected a string"),
    (with_service() + "acls: {enable: 'true'}\n", "acls.enable", "expected true or false"),
    (with_service() + "acls: {enable: true, view_users: nancy}\n", "acls.view_users",
     "expected a list of strings, got 'nancy'"),
    (with_service() + "master: {log_level: verbose}\n", "master.log_level",
     "expected one of 'all', 'trace', 'debug', 'info'"),
    (with_service() + "master: {resources: {memory: 1 GiB}}\n", "master.resources.vcores",
     "required field is missing"),
    (with_service() + "master: {resources: {memory: -1, vcores: 1}}\n", "master.resources.memory",
     "positive size"),
    (with_service() + "master: {script: [a]}\n", "master.script", "expected a string"),
    (with_service() + "master: {security: {cert_file: /a.crt}}\n", "master.security",
     "exactly one of key_file and key_bytes"),
    (with_service() + "master: []\n", "master", "expected a mapping describing the application master"),
    # services as a whole
    (with_service(script=None), f"{SVC}.script", "required field is missing"),
    ("services:\n  worker: echo hi\n", SVC, "expected a mapping describing the service"),
    ("services: [worker]\n", "services", "expected a mapping of service names to services"),
    ("services:\n  1: {resources: {memory: 1, vcores: 1}, script: x}\n", "services",
     "service names must be non-empty strings, got 1"),
    ("name: lonely\n", "services", "expected at least one service, or a master script"),
    ("services: {}\nmaster: {script: ''}\n", "services", "at least one service"),
    # depends
    (with_service("depends: [schedular]") + "  scheduler:\n    resources: {memory: 1, vcores: 1}\n"
     "    script: x\n", f"{SVC}.depends", "unknown service 'schedular' (did you mean 'scheduler'?)"),
    (with_service("depends: [ghost]"), f"{SVC}.depends",
     "unknown service 'ghost'; the services are 'worker'"),
    (with_service("depends: [worker]"), f"{SVC}.depends", "dependency cycle: worker -> worker"),
    (with_service("depends: [b]") + SERVICE_B.replace("script: x", "script: x\n    depends: [worker]"),
     f"{SVC}.depends", "dependency cycle: worker -> b -> worker"),
    # files
    (with_service("files:\n  env: {source: hdfs:///env, type: tarball}"), f"{SVC}.files.env.type",
     "expected one of 'file', 'archive', got 'tarball'"),
    (with_service("files:\n  env: {source: hdfs:///env, visibility: everyone}"),
     f"{SVC}.files.env.visibility", "expected one of 'application', 'private', 'public', got 'everyone'"),
    (with_service("files:\n  env: {source: hdfs:///env, size: -1}"), f"{SVC}.files.env.size", ">= 0"),
    (with_service("files:\n  env: {source: hdfs:///env, timestamp: x}"), f"{SVC}.files.env.timestamp",
     "expected an integer"),
    (with_service("files:\n  env: {type: archive}"), f"{SVC}.files.env.source", "required field is missing"),
    (with_service("files:\n  env: ''"), f"{SVC}.files.env.source", "expected a non-empty string"),
    (with_service("files:\n  env: 3"), f"{SVC}.files.env", "expected a source path or URL"),
    (with_service("files:\n  env:"), f"{SVC}.files.env", "got null"),
    (with_service("files:\n  a/b: hdfs:///x"), f'{SVC}.files["a/b"]', "no directories"),
    (with_service("files:\n  ..: hdfs:///x"), f'{SVC}.files[".."]', "no directories"),
    (with_service("files: [a]"), f"{SVC}.files", "expected a mapping of file names"),
    (with_service("files:\n  x: file://host/etc/passwd"), f"{SVC}.files.x.source",
     "file:///absolute/path"),
    (with_service() + "master:\n  files:\n    y: {source: hdfs:///y, type: 1}\n", "master.files.y.type",
     "expected one of"),
]


@pytest.mark.parametrize(("text", "field", "fragment"), BAD_SPECS,
                         ids=[f"{i}-{case[1]}" for i, case in enumerate(BAD_SPECS)])
def test_bad_spec_names_the_field(text: str, field: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load(text)
    err = info.value
    assert str(err).startswith(f"{field}: "), str(err)
    assert err.field == field
    assert fragment in str(err)


def test_bad_spec_errors_are_value_errors_and_pyarn_errors() -> None:
    with pytest.raises(SpecError) as info:
        load(with_service(memory="'-3 GiB'"))
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, PyarnError)
    assert err.path == ("services", "worker", "resources", "memory")
    assert str(err) == ("services.worker.resources.memory: expected a positive size such as 512 "
                        "or '2 GiB', got '-3 GiB'")
    clone = pickle.loads(pickle.dumps(err))
    assert (type(clone), str(clone), clone.path) == (SpecError, str(err), err.path)


def test_cycle_is_named_in_order() -> None:
    text = "services:\n" + "".join(
        f"  {name}:\n    resources: {{memory: 1, vcores: 1}}\n    script: x\n    depends: [{dep}]\n"
        for name, dep in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")])
    with pytest.raises(SpecError, match=r"^services\.a\.depends: dependency cycle: a -> b -> c -> a$"):
        load(text)


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}) is None  # a diamond is fine
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"x": [], "a": ["b"], "b": ["x", "a"]}) == ["a", "b", "a"]
    assert find_cycle({"a": ["missing"]}) is None


def test_duplicate_yaml_keys_are_rejected() -> None:
    text = HELLO + "  worker:\n    resources: {memory: 1, vcores: 1}\n    script: other\n"
    with pytest.raises(SpecError, match=r"duplicate key 'worker' on line 7 \(first on line 2\)"):
        load(text)


@pytest.mark.parametrize(("text", "fragment"), [
    ("services: [", "invalid YAML at line 1, column 12"),
    ("services:\n  a: b: c\n", "invalid YAML at line 2, column 7"),
    ("", "the spec is empty"),
    ("# just a comment\n", "the spec is empty"),
    ("- a\n- b\n", "expected a mapping (an application spec), got a list"),
    ("spec.yaml", "to load a file, use from_file or pass a pathlib.Path"),
])
def test_unreadable_yaml(text: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load(text)
    assert fragment in str(info.value)
    assert info.value.path == ()


def test_bad_json() -> None:
    with pytest.raises(SpecError, match="^invalid JSON"):
        ApplicationSpec.from_json('{"services": ')


def test_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read spec file .*missing.yaml"):
        ApplicationSpec.from_file(tmp_path / "missing.yaml")
    txt = write_spec(tmp_path, HELLO, "spec.txt")
    with pytest.raises(SpecError, match="cannot tell the format"):
        ApplicationSpec.from_file(txt)
    assert ApplicationSpec.from_file(txt, format="yaml") == load(HELLO)
    write_spec(tmp_path, json.dumps(load(HELLO).to_dict()), "spec.json")
    assert ApplicationSpec.from_file(tmp_path / "spec.json") == load(HELLO)


# --- local files -------------------------------------------------------------------

FILES_SPEC = with_service("files:\n  env: env.tar.gz\n  conf:\n    source: conf/app.cfg")


def test_missing_local_file_is_named_with_the_resolved_path(tmp_path: Path) -> None:
    path = write_spec(tmp_path, FILES_SPEC)
    (tmp_path / "env.tar.gz").write_bytes(b"x")
    with pytest.raises(SpecError) as info:
        ApplicationSpec.from_file(path)
    assert str(info.value) == (f"{SVC}.files.conf.source: local file "
                               f"'{tmp_path}/conf/app.cfg' does not exist")


def test_relative_sources_follow_the_spec_file_not_the_cwd(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.cfg").write_text("x")
    (tmp_path / "env.tar.gz").write_bytes(b"x")
    path = write_spec(tmp_path, FILES_SPEC)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    for spec in (ApplicationSpec.from_file(path), ApplicationSpec.from_yaml(path),
                 ApplicationSpec.from_file(os.path.relpath(path))):
        files = spec.services["worker"].files
        assert files["env"].source == f"file://{tmp_path}/env.tar.gz"
        assert files["env"].type is FileType.ARCHIVE
        assert files["conf"].source == f"file://{tmp_path}/conf/app.cfg"
    # From text, relative paths mean the current directory (or base_dir).
    with pytest.raises(SpecError, match=f"'{elsewhere}/env.tar.gz' does not exist"):
        load(FILES_SPEC)
    assert load(FILES_SPEC, base_dir=str(tmp_path)) == ApplicationSpec.from_file(path)
    spec = load(FILES_SPEC, check_files=False)
    assert spec.services["worker"].files["env"].local_path == f"{elsewhere}/env.tar.gz"


def test_validate_checks_files_now(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.cfg").write_text("x")
    (tmp_path / "env.tar.gz").write_bytes(b"x")
    spec = ApplicationSpec.from_file(write_spec(tmp_path, FILES_SPEC))
    spec.validate()
    (tmp_path / "env.tar.gz").unlink()
    missing = r"^services\.worker\.files\.env\.source: local file .* does not exist"
    with pytest.raises(SpecError, match=missing):
        spec.validate()
    spec.validate(check_files=False)


def test_file_url_sources_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load(with_service(f"files:\n  x: file://{tmp_path}/nope"))
    (tmp_path / "yes").write_text("x")
    spec = load(with_service(f"files:\n  x: file://{tmp_path}/yes"))
    assert spec.services["worker"].files["x"].local_path == f"{tmp_path}/yes"


def test_archive_must_be_a_file_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "env.zip").mkdir()
    with pytest.raises(SpecError, match=r"files\.env\.source: .* is a directory"):
        load(with_service(f"files:\n  env: {tmp_path}/env.zip"))
    (tmp_path / "dir").mkdir()
    spec = load(with_service(f"files:\n  d: {tmp_path}/dir"))  # YARN localizes directories as files
    assert spec.services["worker"].files["d"].type is FileType.FILE


def test_remote_sources_are_not_checked_locally() -> None:
    spec = load(with_service("files:\n  a: hdfs:///nowhere/a.tgz\n  b: s3a://bucket/b.zip\n"
                             "  c: viewfs://cluster/c"))
    files = spec.services["worker"].files
    assert [files[k].type for k in "abc"] == [FileType.ARCHIVE, FileType.ARCHIVE, FileType.FILE]


def test_master_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"^master\.files\.driver\.source: local file"):
        load(with_service() + f"master:\n  files:\n    driver: {tmp_path}/driver.py\n")


@pytest.mark.parametrize(("source", "kind"), [
    ("/a/env.zip", FileType.ARCHIVE),
    ("/a/env.tar.gz", FileType.ARCHIVE),
    ("/a/env.tgz", FileType.ARCHIVE),
    ("hdfs:///a/env.tgz", FileType.ARCHIVE),
    ("/a/env.tar", FileType.FILE),  # Skein infers only .zip, .tar.gz and .tgz
    ("/a/env.gz", FileType.FILE),
    ("/a/env.ZIP", FileType.FILE),  # Skein's check is case-sensitive
    ("/a/zip", FileType.FILE),
    ("/a/script.py", FileType.FILE),
])
def test_archive_inference(source: str, kind: FileType) -> None:
    assert File(source).type is kind
    assert File.from_dict(source, check_files=False).type is kind
    assert File(source, type="FILE").type is FileType.FILE
    assert File(source, type="Archive").type is FileType.ARCHIVE


def test_file_short_and_long_forms_are_equal() -> None:
    short = load(with_service("files:\n  x: hdfs:///x.zip")).services["worker"].files["x"]
    long = load(with_service("files:\n  x: {source: hdfs:///x.zip, type: archive, visibility: application}"))
    assert short == long.services["worker"].files["x"]
    assert short.to_dict() == {"source": "hdfs:///x.zip", "type": "archive", "visibility": "application",
                               "size": 0, "timestamp": 0}


def test_local_sources_become_absolute_file_urls(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert File("a/../b.txt").source == f"file://{tmp_path}/b.txt"
    assert File("/x/./y").source == "file:///x/y"
    assert File(tmp_path / "p.zip").source == f"file://{tmp_path}/p.zip"
    assert File("hdfs://nn:8020/a/../b").source == "hdfs://nn:8020/a/../b"
    assert File.from_dict({"source": "../../file"}, base_dir="/path/to/origin/spot",
                          check_files=False).source == "file:///path/to/file"


def test_dot_slash_targets_are_plain_names() -> None:
    spec = load(with_service("files:\n  ./bar: hdfs:///bar"))
    assert list(spec.services["worker"].files) == ["./bar"]


# --- constructing in Python ----------------------------------------------------------

def test_direct_construction_converts_and_validates() -> None:
    svc = Service(resources={"memory": "1 GiB", "vcores": 1}, script="x",
                  files={"env": "hdfs:///env.tgz", "cfg": {"source": "hdfs:///c", "visibility": "public"}},
                  depends=["a", "a"])
    assert svc.resources == Resources(memory=1024, vcores=1)
    assert svc.files["env"].type is FileType.ARCHIVE
    assert svc.files["cfg"].visibility is FileVisibility.PUBLIC
    assert svc.depends == frozenset({"a"})

    with pytest.raises(SpecError, match=r"^instances: expected an integer >= 0, got -1$"):
        Service(resources=Resources(1, 1), script="x", instances=-1)
    with pytest.raises(SpecError, match=r"^resources\.memory: expected a positive size"):
        Service(resources={"memory": "-1 GiB", "vcores": 1}, script="x")
    with pytest.raises(SpecError, match=r"^files\.env\.visibility: expected one of"):
        Service(resources=Resources(1, 1), script="x", files={"env": {"source": "/e", "visibility": "x"}})
    with pytest.raises(SpecError, match=r"^services\.w\.max_restarts"):
        ApplicationSpec(services={"w": {"resources": {"memory": 1, "vcores": 1}, "script": "x",
                                        "max_restarts": -5}})
    with pytest.raises(SpecError, match=r"^services: expected at least one service"):
        ApplicationSpec()


def test_changes_after_loading_are_caught_by_validate() -> None:
    spec = load(HELLO)
    worker = spec.services["worker"]
    worker.instances = -1
    with pytest.raises(SpecError, match=r"^services\.worker\.instances: "):
        spec.validate()
    worker.instances = 2
    worker.depends = ["nobody"]
    assert worker.depends == frozenset({"nobody"})
    with pytest.raises(SpecError, match=r"^services\.worker\.depends: unknown service 'nobody'"):
        spec.validate()
    with pytest.raises(SpecError):  # dumping validates too: nothing invalid is written
        spec.to_yaml()
    worker.depends = []
    worker.resources.memory = "3 GiB"
    spec.validate()
    assert spec.to_dict()["services"]["worker"]["resources"]["memory"] == 3072


def test_coerce() -> None:
    spec = load(HELLO)
    assert ApplicationSpec.coerce(spec) is spec
    assert ApplicationSpec.coerce(spec.to_dict()) == spec
    assert ApplicationSpec.coerce(str(EXAMPLES / "hello-world.yaml")).name == "hello-world"
    with pytest.raises(TypeError):
        ApplicationSpec.coerce(42)  # type: ignore[arg-type]


def test_enums_read_any_case_and_write_lower_case() -> None:
    assert FileType("ARCHIVE") is FileType.ARCHIVE
    assert FileVisibility("Public") is FileVisibility.PUBLIC
    assert LogLevel("WARN") is LogLevel.WARN
    assert str(LogLevel.DEBUG) == "debug"
    assert load(HELLO + "master: {log_level: TRACE}\n").to_dict()["master"]["log_level"] == "trace"


def test_format_path() -> None:
    assert format_path(("services", "worker", "resources", "memory")) == "services.worker.resources.memory"
    assert format_path(("services", "dask.worker", "files", "env.tar.gz", "source")) == \
        'services["dask.worker"].files["env.tar.gz"].source'
    assert format_path(("file_systems", 2)) == "file_systems[2]"
    assert format_path(()) == ""


# --- the examples shipped with pyarn ---------------------------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load_and_round_trip(path: Path) -> None:
    spec = ApplicationSpec.from_file(path)
    assert spec.services
    assert ApplicationSpec.from_yaml(spec.to_yaml()) == spec
    # Skein compatibility: only Skein's fields, no pyarn additions.
    raw: Dict[str, Any] = yaml.safe_load(path.read_text())
    assert set(raw) <= SKEIN_FIELDS["app"]
    for svc in raw["services"].values():
        assert set(svc) <= SKEIN_FIELDS["service"]
        assert set(svc["resources"]) <= SKEIN_FIELDS["resources"]


def test_hello_world_example() -> None:
    spec = ApplicationSpec.from_file(EXAMPLES / "hello-world.yaml")
    assert spec.name == "hello-world"
    (svc,) = spec.services.values()
    assert svc.instances == 1
    assert 'echo "Hello from pyarn"' in svc.script
    assert svc.resources.memory == 256
