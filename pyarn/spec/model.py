"""The application spec: services, the master, and how YARN runs them."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Union

import attrs

from ..security.acl import AccessControlList
from ._base import (
    Path,
    SpecError,
    check_bool,
    check_env,
    check_int,
    check_mapping,
    check_str,
    check_str_list,
    describe,
    did_you_mean,
    fail,
    require,
)
from ._spec import (
    NamedEnum,
    SpecBase,
    check_enum,
    check_instance,
    convert_enum,
    convert_nested,
    to_dict,
    to_list,
    to_set,
)
from .files import File, check_file_map, convert_file, files_from_obj, to_files
from .units import parse_memory

if TYPE_CHECKING:
    from ..yarn.records import Resource

__all__ = ["ApplicationSpec", "Master", "Service", "Resources", "ACLs", "Security", "LogLevel", "find_cycle"]


class LogLevel(NamedEnum):
    """The ApplicationMaster's log level (Skein's log4j names)."""

    ALL = "all"
    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    FATAL = "fatal"
    OFF = "off"


def _to_log_level(value: Any) -> Any:
    return convert_enum(LogLevel, value)


def _to_memory(value: Any) -> Any:
    try:
        return parse_memory(value)
    except SpecError:
        return value


_RESERVED_RESOURCES = {"memory": "memory", "memory-mb": "memory", "vcores": "vcores",
                       "yarn.io/gpu": "gpus", "yarn.io/fpga": "fpgas"}


@attrs.define
class Resources(SpecBase):
    """The resources of one container.

    ``memory`` is in MiB; it may be given as a string with units (``'512
    MiB'``, ``'2 GiB'``, ``'1.5 GB'``, see :func:`~pyarn.spec.parse_memory`)
    and is stored as an int. ``gpus`` and ``fpgas`` request ``yarn.io/gpu``
    and ``yarn.io/fpga``. ``extra`` (pyarn only) requests other YARN resource
    types by name, e.g. ``{"example.com/widget": 2}``.
    """

    memory: int = attrs.field(converter=_to_memory)
    vcores: int
    gpus: int = 0
    fpgas: int = 0
    extra: Dict[str, int] = attrs.field(factory=dict, converter=to_dict)

    _FIELDS = ("memory", "vcores", "gpus", "fpgas", "extra")
    _NULL_IS_DEFAULT = ("extra",)
    _ADDITIONS = ("extra",)
    _EXPECTED = "a mapping with memory and vcores"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> Resources:
        kwargs = cls._fields_of(obj, path)
        require(kwargs, "memory", path)
        require(kwargs, "vcores", path)
        return cls._build(kwargs, path)

    def _check(self, path: Path, check_files: bool) -> None:
        memory = self.memory
        if isinstance(memory, bool) or not isinstance(memory, int) or memory < 1:
            detail = ""
            if isinstance(memory, str):
                try:
                    parse_memory(memory)
                except SpecError as exc:
                    if "negative" not in exc.problem and "as a number" not in exc.problem:
                        detail = f" ({exc.problem})"
            fail(path + ("memory",),
                 f"expected a positive size such as 512 or '2 GiB', got {describe(memory)}{detail}")
        check_int(self.vcores, path + ("vcores",), 1)
        check_int(self.gpus, path + ("gpus",), 0)
        check_int(self.fpgas, path + ("fpgas",), 0)
        extra = check_mapping(self.extra, path + ("extra",),
                              "a mapping of YARN resource type names to amounts")
        for name, amount in extra.items():
            check_str(name, path + ("extra",), nonempty=True)
            if name in _RESERVED_RESOURCES:
                fail(path + ("extra", name), f"set {_RESERVED_RESOURCES[name]!r} instead")
            check_int(amount, path + ("extra", name), 0)

    def yarn_resources(self) -> Dict[str, int]:
        """The request by YARN resource type name (``memory-mb``, ``vcores``, ...), zeros left out."""
        out = {"memory-mb": self.memory, "vcores": self.vcores}
        if self.gpus:
            out["yarn.io/gpu"] = self.gpus
        if self.fpgas:
            out["yarn.io/fpga"] = self.fpgas
        out.update((k, v) for k, v in self.extra.items() if v)
        return out

    def to_yarn(self) -> Resource:
        """The YARN :class:`~pyarn.yarn.records.Resource` of a container of this size: memory and
        vcores, and the other resource types (GPUs, FPGAs, ``extra``) that are not zero."""
        from ..yarn.records import Resource  # only when submitting: reading specs loads no protobuf

        others = {k: v for k, v in self.yarn_resources().items() if k not in ("memory-mb", "vcores")}
        return Resource(memory=self.memory, vcores=self.vcores, resources=others)


def _to_resources(value: Any) -> Any:
    return convert_nested(Resources, "resources", value)


def _to_cert_file(value: Any) -> Any:
    return convert_file("cert_file", value)


def _to_key_file(value: Any) -> Any:
    return convert_file("key_file", value)


@attrs.define
class Security(SpecBase):
    """Skein's TLS credentials for its ApplicationMaster.

    Accepted so that Skein specs load; pyarn authenticates clients to its
    ApplicationMaster with an application secret delivered through YARN's
    token mechanism and does not use these. As in Skein, give exactly one of
    ``cert_file``/``cert_bytes`` and one of ``key_file``/``key_bytes``.
    """

    cert_file: Optional[File] = attrs.field(default=None, converter=_to_cert_file)
    key_file: Optional[File] = attrs.field(default=None, converter=_to_key_file)
    cert_bytes: Optional[str] = None
    key_bytes: Optional[str] = None

    _FIELDS = ("cert_file", "key_file", "cert_bytes", "key_bytes")
    _NULL_IS_DEFAULT = _FIELDS
    _EXPECTED = "a mapping with cert_file and key_file"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> Security:
        kwargs = cls._fields_of(obj, path)
        for name in ("cert_file", "key_file"):
            if name in kwargs:
                kwargs[name] = File._from_obj(kwargs[name], path + (name,), base_dir)
        return cls._build(kwargs, path)

    def _check(self, path: Path, check_files: bool) -> None:
        for kind in ("cert", "key"):
            file, text = getattr(self, f"{kind}_file"), getattr(self, f"{kind}_bytes")
            if (file is None) == (text is None):
                fail(path, f"expected exactly one of {kind}_file and {kind}_bytes")
            if file is not None:
                check_instance(file, File, path + (f"{kind}_file",))
                file._check(path + (f"{kind}_file",), False)
            else:
                check_str(text, path + (f"{kind}_bytes",))


def _to_security(value: Any) -> Any:
    return convert_nested(Security, "security", value)


def _to_log_config(value: Any) -> Any:
    return convert_file("log_config", value)


@attrs.define
class ACLs(SpecBase):
    """Who besides the owner may view, modify, and use the web UI of the application.

    Ignored unless ``enable`` is true; ``"*"`` means everyone.
    """

    enable: bool = False
    view_users: List[str] = attrs.field(factory=list, converter=to_list)
    view_groups: List[str] = attrs.field(factory=list, converter=to_list)
    modify_users: List[str] = attrs.field(factory=list, converter=to_list)
    modify_groups: List[str] = attrs.field(factory=list, converter=to_list)
    ui_users: List[str] = attrs.field(factory=list, converter=to_list)

    _FIELDS = ("enable", "view_users", "view_groups", "modify_users", "modify_groups", "ui_users")
    _NULL_IS_DEFAULT = _FIELDS[1:]
    _EXPECTED = "a mapping with enable and lists of users and groups"

    def _check(self, path: Path, check_files: bool) -> None:
        check_bool(self.enable, path + ("enable",))
        for name in self._FIELDS[1:]:
            check_str_list(getattr(self, name), path + (name,))

    def to_yarn(self) -> Dict[str, str]:
        """The application ACLs by YARN access type name (``VIEW_APP``, ``MODIFY_APP``) as YARN
        reads them (``"user1,user2 group1,group2"``); empty unless enabled. ``ui_users`` is
        Skein's web UI setting: YARN has no such access type."""
        if not self.enable:
            return {}
        return {"VIEW_APP": str(self.view_acl()), "MODIFY_APP": str(self.modify_acl())}

    def view_acl(self) -> AccessControlList:
        """Who besides the owner may view the application (``*`` in a list: everybody)."""
        return AccessControlList.of(self.view_users, self.view_groups)

    def modify_acl(self) -> AccessControlList:
        """Who besides the owner may modify the application (``*`` in a list: everybody)."""
        return AccessControlList.of(self.modify_users, self.modify_groups)


def _to_acls(value: Any) -> Any:
    return convert_nested(ACLs, "acls", value)


@attrs.define
class Service(SpecBase):
    """A group of identical containers, each running the bash ``script``.

    ``instances`` start with the application (0 is fine: scale up later).
    A failed container is restarted while the service's total restarts stay
    below ``max_restarts`` (-1: always); past that the application fails
    unless ``allow_failures``. A service starts only after every service in
    ``depends`` has started. ``node_label`` defaults to the application's;
    ``nodes`` and ``racks`` restrict placement, or only suggest it with
    ``relax_locality``.

    Skein's older ``commands`` list is accepted in specs and becomes
    ``script`` the way Skein did it: ``set -x -e`` followed by the commands.
    """

    resources: Resources = attrs.field(converter=_to_resources)
    script: str
    instances: int = 1
    files: Dict[str, File] = attrs.field(factory=dict, converter=to_files)
    env: Dict[str, str] = attrs.field(factory=dict, converter=to_dict)
    depends: frozenset = attrs.field(factory=frozenset, converter=to_set)
    max_restarts: int = 0
    allow_failures: bool = False
    node_label: str = ""
    nodes: List[str] = attrs.field(factory=list, converter=to_list)
    racks: List[str] = attrs.field(factory=list, converter=to_list)
    relax_locality: bool = False

    _FIELDS = ("instances", "resources", "files", "env", "depends", "max_restarts", "allow_failures",
               "node_label", "nodes", "racks", "relax_locality", "script")
    _NULL_IS_DEFAULT = ("files", "env", "depends", "nodes", "racks")
    _EXPECTED = "a mapping describing the service (resources, script, ...)"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> Service:
        kwargs = cls._fields_of(obj, path, extra=("commands",))
        if "commands" in kwargs:
            commands = kwargs.pop("commands")
            if "script" in kwargs:
                fail(path, "give either script or the older commands list, not both")
            check_str_list(commands, path + ("commands",))
            if not commands:
                fail(path + ("commands",), "expected at least one command")
            kwargs["script"] = "\n".join(["set -x -e", *commands])
        if "script" not in kwargs:
            fail(path + ("script",), "required field is missing: the bash script that runs the service "
                                     "(or Skein's older commands list)")
        kwargs["resources"] = Resources._from_obj(require(kwargs, "resources", path),
                                                  path + ("resources",), base_dir)
        if "files" in kwargs:
            kwargs["files"] = files_from_obj(kwargs["files"], path + ("files",), base_dir)
        return cls._build(kwargs, path)

    def _check(self, path: Path, check_files: bool) -> None:
        check_instance(self.resources, Resources, path + ("resources",))
        self.resources._check(path + ("resources",), check_files)
        check_str(self.script, path + ("script",))
        if not self.script.strip():
            fail(path + ("script",), "expected a bash script to run, got an empty one")
        check_int(self.instances, path + ("instances",), 0)
        check_file_map(self.files, path + ("files",), check_files)
        check_env(self.env, path + ("env",))
        check_str_list(self.depends, path + ("depends",), unordered=True)
        check_int(self.max_restarts, path + ("max_restarts",), -1, " (-1 restarts without limit)")
        check_bool(self.allow_failures, path + ("allow_failures",))
        check_str(self.node_label, path + ("node_label",))
        check_str_list(self.nodes, path + ("nodes",))
        check_str_list(self.racks, path + ("racks",))
        check_bool(self.relax_locality, path + ("relax_locality",))


def _default_master_resources() -> Resources:
    return Resources(memory=512, vcores=1)


@attrs.define
class Master(SpecBase):
    """The ApplicationMaster's container, and an optional driver ``script`` it runs.

    When ``script`` is set, the application ends when the script exits.
    Resources default to 512 MiB and 1 vcore. ``log_config`` (a log4j file in
    Skein) and ``security`` are accepted for Skein specs; pyarn's
    ApplicationMaster does not use them.
    """

    resources: Resources = attrs.field(factory=_default_master_resources,
                                       converter=_to_resources)
    script: str = ""
    files: Dict[str, File] = attrs.field(factory=dict, converter=to_files)
    env: Dict[str, str] = attrs.field(factory=dict, converter=to_dict)
    log_level: LogLevel = attrs.field(default=LogLevel.INFO, converter=_to_log_level)
    log_config: Optional[File] = attrs.field(default=None, converter=_to_log_config)
    security: Optional[Security] = attrs.field(default=None, converter=_to_security)

    _FIELDS = ("resources", "files", "env", "log_level", "log_config", "security", "script")
    _NULL_IS_DEFAULT = ("resources", "files", "env", "log_config", "security")
    _EXPECTED = "a mapping describing the application master (resources, script, ...)"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> Master:
        kwargs = cls._fields_of(obj, path)
        if "resources" in kwargs:
            kwargs["resources"] = Resources._from_obj(kwargs["resources"], path + ("resources",), base_dir)
        if "files" in kwargs:
            kwargs["files"] = files_from_obj(kwargs["files"], path + ("files",), base_dir)
        if "log_config" in kwargs:
            kwargs["log_config"] = File._from_obj(kwargs["log_config"], path + ("log_config",), base_dir)
        if "security" in kwargs:
            kwargs["security"] = Security._from_obj(kwargs["security"], path + ("security",), base_dir)
        return cls._build(kwargs, path)

    def _check(self, path: Path, check_files: bool) -> None:
        check_instance(self.resources, Resources, path + ("resources",))
        self.resources._check(path + ("resources",), check_files)
        check_str(self.script, path + ("script",))
        check_file_map(self.files, path + ("files",), check_files)
        check_env(self.env, path + ("env",))
        check_enum(self.log_level, LogLevel, path + ("log_level",))
        if self.log_config is not None:
            check_instance(self.log_config, File, path + ("log_config",))
            self.log_config._check(path + ("log_config",), False)
        if self.security is not None:
            check_instance(self.security, Security, path + ("security",))
            self.security._check(path + ("security",), False)


def _to_master(value: Any) -> Any:
    return convert_nested(Master, "master", value)


def find_cycle(graph: Dict[str, Iterable[str]]) -> Optional[List[str]]:
    """A dependency cycle in ``graph`` as ``[a, b, ..., a]``, or ``None``.

    Names outside ``graph`` are ignored. The search is deterministic: nodes in
    the mapping's order, each node's edges sorted.
    """
    state: Dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in graph:
        if root in state:
            continue
        state[root] = 1
        trail = [root]
        stack = [iter(sorted(graph[root]))]
        while stack:
            for nxt in stack[-1]:
                if nxt not in graph or state.get(nxt) == 2:
                    continue
                if state.get(nxt) == 1:
                    return trail[trail.index(nxt):] + [nxt]
                state[nxt] = 1
                trail.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
                break
            else:
                state[trail.pop()] = 2
                stack.pop()
    return None


def _to_services(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: Service._from_obj(v, ("services", k), None) if isinstance(v, dict) else v
            for k, v in value.items()}


@attrs.define
class ApplicationSpec(SpecBase):
    """A complete application: its services, its master and how YARN runs it.

    Loads Skein spec files unchanged (:meth:`from_file`, :meth:`from_yaml`,
    :meth:`from_json`, :meth:`from_dict`); every way in validates, raising
    :class:`~pyarn.spec.SpecError` naming the field. An application needs at
    least one service or a ``master.script``.

    ``name`` defaults to ``'pyarn'``, ``queue`` to ``'default'``; ``user``
    submits as another user (needs proxy-user rights); ``node_label`` is the
    default for every service; ``tags`` are YARN application tags;
    ``file_systems`` lists extra Hadoop file systems to get delegation tokens
    for; ``max_attempts`` is how many times YARN may start the master.
    """

    services: Dict[str, Service] = attrs.field(factory=dict, converter=_to_services)
    master: Master = attrs.field(factory=Master, converter=_to_master)
    name: str = "pyarn"
    queue: str = "default"
    user: str = ""
    node_label: str = ""
    tags: frozenset = attrs.field(factory=frozenset, converter=to_set)
    file_systems: List[str] = attrs.field(factory=list, converter=to_list)
    acls: ACLs = attrs.field(factory=ACLs, converter=_to_acls)
    max_attempts: int = 1

    _FIELDS = ("name", "queue", "user", "node_label", "tags", "file_systems", "acls", "max_attempts",
               "master", "services")
    _NULL_IS_DEFAULT = ("services", "master", "tags", "file_systems", "acls")
    _ALWAYS = ("name",)
    _EXPECTED = "a mapping (an application spec)"

    @classmethod
    def _from_obj(cls, obj: Any, path: Path, base_dir: Optional[str]) -> ApplicationSpec:
        kwargs = cls._fields_of(obj, path)
        services = kwargs.get("services")
        if isinstance(services, dict):
            for name in services:
                if not isinstance(name, str) or not name:
                    fail(path + ("services",),
                         f"service names must be non-empty strings, got {describe(name)}")
            kwargs["services"] = {name: Service._from_obj(svc, path + ("services", name), base_dir)
                                  for name, svc in services.items()}
        if "master" in kwargs:
            kwargs["master"] = Master._from_obj(kwargs["master"], path + ("master",), base_dir)
        if "acls" in kwargs:
            kwargs["acls"] = ACLs._from_obj(kwargs["acls"], path + ("acls",), base_dir)
        return cls._build(kwargs, path)

    def _check(self, path: Path, check_files: bool) -> None:
        for name in ("name", "queue", "user", "node_label"):
            check_str(getattr(self, name), path + (name,))
        check_str_list(self.tags, path + ("tags",), unordered=True)
        check_str_list(self.file_systems, path + ("file_systems",))
        check_instance(self.acls, ACLs, path + ("acls",))
        self.acls._check(path + ("acls",), check_files)
        check_int(self.max_attempts, path + ("max_attempts",), 1)
        check_instance(self.master, Master, path + ("master",))
        self.master._check(path + ("master",), check_files)

        spath = path + ("services",)
        services = check_mapping(self.services, spath, "a mapping of service names to services")
        for name, service in services.items():
            if not isinstance(name, str) or not name:
                fail(spath, f"service names must be non-empty strings, got {describe(name)}")
            check_instance(service, Service, spath + (name,))
            service._check(spath + (name,), check_files)
        for name, service in services.items():
            for dep in sorted(service.depends):
                if dep not in services:
                    known = ", ".join(repr(s) for s in services)
                    fail(spath + (name, "depends"),
                         f"unknown service {dep!r}{did_you_mean(dep, services)}; the services are {known}")
        cycle = find_cycle({name: service.depends for name, service in services.items()})
        if cycle:
            fail(spath + (cycle[0], "depends"), "dependency cycle: " + " -> ".join(cycle))
        if not services and not self.master.script:
            fail(spath, "expected at least one service, or a master script to run")

    @classmethod
    def coerce(cls, spec: Union[ApplicationSpec, Dict[str, Any], str, os.PathLike]) -> ApplicationSpec:
        """An ``ApplicationSpec`` from itself, a dict, or the path of a spec file."""
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, dict):
            return cls.from_dict(spec)
        if isinstance(spec, (str, os.PathLike)):
            return cls.from_file(spec)
        raise TypeError(f"expected an ApplicationSpec, a dict or a path, got {type(spec).__name__}")
