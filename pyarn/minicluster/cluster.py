"""``MiniCluster``: an HDFS, a ResourceManager and N NodeManagers in this process, on loopback.

::

    with MiniCluster(nodes=2, memory_mb=4096, vcores=4) as cluster:
        os.environ["HADOOP_CONF_DIR"] = cluster.conf_dir   # for pyarn's or Java's clients
        ...

The HDFS (a :class:`~.hdfs.MiniHDFS`, started first) is the default file
system, ``fs.defaultFS=hdfs://127.0.0.1:<port>``, set up as a fresh real
cluster is: ``/tmp`` (1777) and the current user's home ``/user/<name>``.
``hdfs=False`` leaves it out (``fs.defaultFS=file:///``). The RM's client
port speaks SIMPLE auth; its scheduler port and the NMs' ports take only
tokens, as on a real cluster. Containers run as local processes of the
current OS user. ``conf`` overrides YARN settings, e.g.
``{"yarn.am.liveness-monitor.expiry-interval-ms": "2000"}`` for quick AM
expiry in tests; every setting also lands in ``yarn-site.xml``.

``kerberos=KerberosSetup(...)`` (see :mod:`.security`) makes it a Kerberized
cluster against an existing KDC (the process's ``KRB5_CONFIG`` names it)::

    setup = KerberosSetup(realm="EXAMPLE.COM", keytab="services.keytab",  # rm/localhost, nn/localhost
                          protection="privacy", krb5_conf="krb5.conf", users=["alice"])
    with MiniCluster(kerberos=setup) as cluster:
        ...   # kinit alice; HADOOP_CONF_DIR=cluster.conf_dir

The RM client port and the NameNode then take KERBEROS and delegation tokens, the
scheduler and NodeManager ports tokens only, all at ``protection``; names map by
auth_to_local rules (``alice@EXAMPLE.COM`` owns ``/user/alice`` and her applications;
the NameNode's superuser is ``hdfs``); the NameNode issues real HDFS delegation
tokens and block access tokens; the AM gets its AMRMToken and whatever tokens its
submitter put in its credentials (the RM renews each HDFS and RM delegation token at
submission, as YARN's ``DelegationTokenRenewer``, so one the RM may not renew fails
the application, and cancels them when the application ends). The DataNodes speak
DataTransfer SASL when ``KerberosSetup.data_transfer_protection`` is set
(``dfs.data.transfer.protection``), else none, as secure DataNodes on privileged ports.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

from ..conf import Configuration
from ..hdfs import HDFS
from ..security.groups import GroupMapping
from ..security.tokens import HDFS_DELEGATION_TOKEN_KIND, Token
from ..security.user import User
from .confdir import write_conf_dir
from .delegation import TokenHandler
from .hdfs import MiniHDFS
from .launcher import DEFAULT_ENV_WHITELIST
from .nm import NodeManager
from .rm import ResourceManager
from .security import ClusterSecurity, KerberosSetup

#: Scheduler settings of the mini cluster (the reference cluster's, not yarn-default's 1024 MiB minimum).
DEFAULT_MIN_MEMORY = 128
ENV_WHITELIST_KEY = "yarn.nodemanager.env-whitelist"
USER_HOME_KEY = "yarn.nodemanager.user-home-dir"
ADMIN_ENV_KEY = "yarn.nodemanager.admin-env"
#: What containers of a Kerberized mini cluster find as their ticket cache: an empty one (they hold
#: tokens, not tickets, and must not pick up a ticket of the user who started the cluster).
CONTAINER_CCACHE = "MEMORY:pyarn-container"


class MiniCluster:
    """A pure-Python YARN: ``nodes`` NodeManagers of ``memory_mb`` MiB and ``vcores`` vcores each,
    on an HDFS of ``datanodes`` DataNodes unless ``hdfs`` is False.

    ``workdir`` holds the configuration, local and log directories and the
    DataNodes' blocks (a temporary directory, removed on :meth:`stop`, when None).
    ``kerberos`` runs it Kerberized (see the module notes).
    """

    def __init__(self, nodes: int = 2, memory_mb: int = 4096, vcores: int = 4,
                 workdir: Union[str, Path, None] = None, conf: Optional[Mapping[str, str]] = None, *,
                 hdfs: bool = True, datanodes: int = 1, kerberos: Optional[KerberosSetup] = None) -> None:
        if nodes < 1:
            raise ValueError(f"MiniCluster: nodes must be at least 1, got {nodes}")
        if hdfs and datanodes < 1:
            raise ValueError(f"MiniCluster: datanodes must be at least 1, got {datanodes}")
        if memory_mb < DEFAULT_MIN_MEMORY or vcores < 1:
            raise ValueError(f"MiniCluster: each node needs at least {DEFAULT_MIN_MEMORY} MiB and 1 vcore, "
                             f"got {memory_mb} MiB and {vcores} vcores")
        self.nodes = nodes
        self.memory_mb = memory_mb
        self.vcores = vcores
        self._own_workdir = workdir is None
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self.workdir: Optional[Path] = None
        self.settings: Dict[str, str] = {
            "yarn.scheduler.minimum-allocation-mb": str(DEFAULT_MIN_MEMORY),
            "yarn.scheduler.maximum-allocation-mb": str(memory_mb),
            "yarn.scheduler.maximum-allocation-vcores": str(vcores),
            "yarn.nodemanager.resource.memory-mb": str(memory_mb),
            "yarn.nodemanager.resource.cpu-vcores": str(vcores),
        }
        self.settings.update({k: str(v) for k, v in (conf or {}).items()})
        self.with_hdfs = hdfs
        self.datanodes = datanodes
        self.kerberos = kerberos
        #: The security the servers run with (``kerberos`` given), once started.
        self.security: Optional[ClusterSecurity] = None
        #: The NameNode and DataNodes, once started (None with ``hdfs=False``).
        self.hdfs: Optional[MiniHDFS] = None
        self.resource_manager: Optional[ResourceManager] = None
        self.node_managers: List[NodeManager] = []
        #: Seconds :meth:`start` took.
        self.start_seconds: Optional[float] = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> MiniCluster:
        """Start the HDFS, the RM and the NMs and write :attr:`conf_dir`."""
        if self.resource_manager is not None:
            raise RuntimeError("MiniCluster already started")
        began = time.monotonic()
        if self._own_workdir:
            self.workdir = Path(tempfile.mkdtemp(prefix="pyarn-minicluster-"))
        else:
            assert self._workdir_arg is not None
            self.workdir = self._workdir_arg.resolve()
            self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            if self.kerberos is not None:
                self.security = ClusterSecurity(self.kerberos, self.settings, groups=GroupMapping())
            if self.with_hdfs:
                self.hdfs = MiniHDFS(self.workdir / "hdfs", datanodes=self.datanodes, security=self.security,
                                     proxy_users=self.settings,
                                     data_transfer_protection=self.kerberos.data_transfer_qops
                                     if self.kerberos is not None else ()).start()
                self._set_up_hdfs()
            fs_conf = self._client_conf()
            conf = Configuration(self.settings)
            rm = self.resource_manager = ResourceManager(conf, security=self.security)
            if self.security is not None and self.hdfs is not None:
                rm.token_renewer.handlers[HDFS_DELEGATION_TOKEN_KIND] = TokenHandler(self._renew_hdfs_token,
                                                                                     self._cancel_hdfs_token)
            rm.start()
            env_whitelist = conf.get_list(ENV_WHITELIST_KEY, DEFAULT_ENV_WHITELIST)
            env = dict(os.environ)
            env["HADOOP_CONF_DIR"] = str(self.conf_path)
            for index in range(self.nodes):
                nm = NodeManager(rm, self.workdir / f"nm-{index}", self.memory_mb, self.vcores, env=env,
                                 env_whitelist=env_whitelist, user_home=conf.get_str(USER_HOME_KEY, "/home/"),
                                 name=f"pyarn NM {index}", conf=fs_conf, admin_env=self._admin_env())
                self.node_managers.append(nm.start())
            write_conf_dir(self.conf_path, self._core_site(), self._yarn_site(),
                           self._hdfs_site() if self.hdfs is not None else None)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Kill every container, stop every server, remove a temporary workdir."""
        if self.resource_manager is not None:
            self.resource_manager.stop()  # first: no new attempts or launches while the NMs go down
        for nm in self.node_managers:
            nm.stop()
        self.node_managers = []
        self.resource_manager = None
        if self.hdfs is not None:  # last: containers may have been writing to it
            self.hdfs.stop()
            self.hdfs = None
        self.security = None
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> MiniCluster:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def conf_path(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("MiniCluster is not started")
        return self.workdir / "conf"

    @property
    def conf_dir(self) -> str:
        """A HADOOP_CONF_DIR for this cluster (``core-site.xml``, ``yarn-site.xml``, ``hdfs-site.xml``)."""
        return str(self.conf_path)

    @property
    def default_fs(self) -> str:
        """``fs.defaultFS``: ``hdfs://127.0.0.1:<port>``, or ``file:///`` without HDFS."""
        if self.with_hdfs:
            if self.hdfs is None:
                raise RuntimeError("MiniCluster is not started")
            return self.hdfs.default_fs
        return "file:///"

    @property
    def rm_address(self) -> str:
        return self._rm().client_address

    @property
    def scheduler_address(self) -> str:
        return self._rm().scheduler_address

    def _rm(self) -> ResourceManager:
        if self.resource_manager is None:
            raise RuntimeError("MiniCluster is not started")
        return self.resource_manager

    def _set_up_hdfs(self) -> None:
        """``/tmp`` open to all (1777) and the users' homes, as on a freshly set-up cluster: the
        current user's, or with Kerberos those of ``KerberosSetup.users``. Done as the NameNode's
        superuser (:meth:`MiniHDFS.superuser`: with Kerberos over a delegation token of its own,
        cancelled afterwards)."""
        assert self.hdfs is not None
        namenode = self.hdfs.namenode
        superuser = self.hdfs.superuser()
        users = [User.current().name] if self.security is None else list(self.security.setup.users)
        with HDFS(conf=self._client_conf(), user=superuser) as fs:
            fs.mkdir("/tmp")
            fs.chmod("/tmp", 0o1777)
            for name in users:
                fs.chown(fs.mkdir(f"/user/{name}"), owner=name)
        if self.security is not None and namenode.tokens is not None:
            for token in superuser.tokens:
                namenode.tokens.cancel(token, self.security.principal("nn"))

    def _our_hdfs_token(self, token: Token) -> bool:
        """Whether ``token`` is this cluster's NameNode's (by its service)."""
        assert self.hdfs is not None
        services = {s.strip() for s in token.service.split(",")}
        ours = {self.hdfs.namenode_address, f"localhost:{self.hdfs.namenode.address[1]}"}
        return bool(services & ours)

    def _renew_hdfs_token(self, token: Token) -> None:
        """The RM renews an application's HDFS delegation token (in-process, as its service user,
        ``yarn``); another file system's is not the mini cluster's to check."""
        assert self.hdfs is not None and self.hdfs.namenode.tokens is not None and self.security is not None
        if self._our_hdfs_token(token):
            self.hdfs.namenode.tokens.renew(token, self.security.service_user("rm"))

    def _cancel_hdfs_token(self, token: Token) -> None:
        """The RM cancels an application's HDFS delegation token when it ends (as its principal)."""
        assert self.hdfs is not None and self.hdfs.namenode.tokens is not None and self.security is not None
        if self._our_hdfs_token(token):
            self.hdfs.namenode.tokens.cancel(token, self.security.principal("rm"))

    def _admin_env(self) -> Dict[str, str]:
        """What every container gets (``yarn.nodemanager.admin-env``): with Kerberos, the realm's
        configuration and an empty ticket cache."""
        if self.kerberos is None:
            return {}
        env = {"KRB5CCNAME": CONTAINER_CCACHE}
        if self.kerberos.krb5_conf is not None:
            env["KRB5_CONFIG"] = str(self.kerberos.krb5_conf)
        return env

    def _core_site(self) -> Dict[str, str]:
        if self.security is not None:
            return {"fs.defaultFS": self.default_fs, **self.security.core_site()}
        return {"fs.defaultFS": self.default_fs, "hadoop.security.authentication": "simple"}

    def _hdfs_site(self) -> Dict[str, str]:
        return self.hdfs.hdfs_site() if self.hdfs is not None else {}

    def _client_conf(self) -> Configuration:
        """What the conf dir tells a file-system client (the NMs' localizers read with it)."""
        return Configuration({**self._core_site(), **self._hdfs_site()})

    def _yarn_site(self) -> Dict[str, str]:
        rm = self._rm()
        host, _ = rm.client_server.address
        secure: Dict[str, str] = {}
        if self.security is not None:
            secure.update(self.security.yarn_site())
            secure[ADMIN_ENV_KEY] = ",".join(f"{k}={v}" for k, v in self._admin_env().items())
        return {
            "yarn.resourcemanager.hostname": host,
            "yarn.resourcemanager.address": rm.client_address,
            "yarn.resourcemanager.scheduler.address": rm.scheduler_address,
            **secure,
            **self.settings,
        }
