"""``pyarn-am`` itself: register, heartbeat, launch and watch containers, serve clients, finish.

:class:`ApplicationMaster` wires the pieces together:

* the :class:`~pyarn.am.scheduler.Scheduler` decides; its actions are carried
  out here (:meth:`ApplicationMaster.execute`): requests go to the
  :class:`~pyarn.yarn.amrm.AMRMClient`, launches and stops to the
  :class:`~pyarn.yarn.nodemanager.NMClient` on a small thread pool, owned
  keys to the :class:`~pyarn.am.kvstore.KeyValueStore`;
* the AM's protocol is served on pyarn's :class:`~pyarn.ipc.IpcServer`,
  TOKEN auth only, with the application token;
* the main thread heartbeats (every ``heartbeat`` seconds, every
  ``pending_heartbeat`` while requests are outstanding) until the scheduler
  reaches an outcome, a shutdown is requested, or a signal arrives; then it
  stops the containers and the master script, unregisters with the final
  status and diagnostics, and deletes the staging directory.

As in Skein, a FAILED application whose attempt is not its last exits
without unregistering, so YARN starts another attempt; a shutdown asked for
by a user always unregisters.

Each attempt journals its state in the staging directory
(:mod:`pyarn.am.recovery`) and starts from what its predecessors left:

* an attempt that ends without deciding the application's fate (the AM
  process died, was signalled, was told to shut down by the RM, or hit an
  unexpected error) leaves its services running: the next attempt takes
  over the key-value store, the services' state and, when the application
  was submitted with ``keep_containers_across_application_attempts``, the
  running containers themselves (without it YARN kills them, and the next
  attempt replaces them without spending restarts);
* an attempt whose application FAILED (a service beyond its restarts, the
  master script failed) stops its containers; the next attempt keeps the
  key-value store and starts the services afresh, as Skein does.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Callable, Dict, List, Optional

from hadoop_protos.pyarn_rpc import PYARN_APP_MASTER

from ..application.environment import CONF_ARCHIVE, CONF_DIR, CONF_DIR_ENV, SPEC_FILE
from ..application.security import SECRET_ALIAS, TOKEN_ALIAS, app_token
from ..conf import Configuration
from ..errors import PyarnError
from ..ipc import IpcServer, IpcSettings, ServerAuth
from ..ipc.constants import AuthMethod
from ..security.credentials import TOKEN_ENV, TOKEN_FILE_ENV, Credentials
from ..security.tokens import AMRM_TOKEN_KIND
from ..security.user import User
from ..spec import ApplicationSpec, File, FileType
from ..staging import stat_source
from ..yarn.amrm import AMRMClient
from ..yarn.nodemanager import NMClient
from ..yarn.records import FinalStatus, Resource
from .access import AccessPolicy, AuthorizedHandler
from .environment import AmEnvironment
from .kvstore import KeyValueStore
from .launch import LaunchContextBuilder, pyarn_env
from .recovery import Recovery
from .scheduler import (
    Action,
    CancelRequest,
    Finish,
    LaunchContainer,
    ReleaseContainer,
    ReleaseOwner,
    RequestContainer,
    Scheduler,
    StopContainer,
)
from .security import AppSecretManager
from .service import AppMasterHandler
from .staging import clean_staging

log = logging.getLogger(__name__)

__all__ = ["ApplicationMaster", "load_spec", "container_credentials", "DRIVER_LOG", "DRIVER_SCRIPT",
           "DRIVER_TOKENS"]

#: The master script is written here in the AM's working directory ...
DRIVER_SCRIPT = ".pyarn.master.sh"
#: ... with its credentials here (0600): what service containers get, not the AM's own.
DRIVER_TOKENS = ".pyarn.master.tokens"
#: ... and its output (stdout and stderr) goes here, in the AM's log directory.
DRIVER_LOG = "application.driver.log"
#: Allocate failures in a row (after the RPC layer's own retries) that fail the application.
MAX_HEARTBEAT_FAILURES = 3


def load_spec(path: str = SPEC_FILE) -> ApplicationSpec:
    """The spec the submitter staged (``.pyarn.spec.json`` in the working directory)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PyarnError(f"cannot read the application spec {path}: {exc.strerror or exc} "
                         f"(the submitter stages it as {SPEC_FILE} in the AM's working directory)") from None
    return ApplicationSpec.from_json(text, check_files=False)


def container_credentials(credentials: Credentials, app_id, secret: bytes) -> Credentials:
    """What service containers and the master script get: the AM's credentials without the AMRM
    token and the secret, with the application token."""
    out = Credentials()
    for alias, token in credentials.tokens.items():
        if token.kind != AMRM_TOKEN_KIND:
            out.add_token(alias, token)
    for alias, value in credentials.secrets.items():
        if alias != SECRET_ALIAS:
            out.add_secret(alias, value)
    out.add_token(TOKEN_ALIAS, app_token(app_id, secret))
    return out


class ApplicationMaster:
    """One attempt of a pyarn application's master. Call :meth:`run`."""

    def __init__(self, env: AmEnvironment, spec: ApplicationSpec, conf: Configuration,
                 credentials: Credentials, *, amrm: Optional[AMRMClient] = None,
                 nm: Optional[NMClient] = None, heartbeat: float = 1.0, pending_heartbeat: float = 0.2,
                 bind_host: str = "0.0.0.0") -> None:
        self.env = env
        self.spec = spec
        self.conf = conf
        self.credentials = credentials
        self.heartbeat = heartbeat
        self.pending_heartbeat = pending_heartbeat
        self._bind_host = bind_host
        self.scheduler = Scheduler(spec)
        self.kv = KeyValueStore(owner_check=self.scheduler.owner_check)
        self.amrm = amrm if amrm is not None else AMRMClient.from_conf(conf, credentials)
        self.nm = nm if nm is not None else NMClient(env.attempt_id, self.amrm.nm_token,
                                                     settings=IpcSettings.from_conf(conf))
        self.progress = -1.0
        self.recovery: Optional[Recovery] = None
        self._previous_address: Optional[str] = None
        self.server: Optional[IpcServer] = None
        #: Checks the tokens of the server's callers (set when the server starts).
        self.secrets: Optional[AppSecretManager] = None
        self.launcher: Optional[LaunchContextBuilder] = None
        #: The credentials of service containers and the master script (set by :meth:`run`).
        self.container_credentials: Optional[Credentials] = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=16,
                                                           thread_name_prefix="pyarn-am launch")
        self._wake = threading.Event()
        self._signalled: Optional[int] = None
        self._interrupted = False  # the attempt ends without deciding the application's fate
        self._driver: Optional[subprocess.Popen] = None

    @classmethod
    def from_environment(cls, conf: Optional[Configuration] = None, **kwargs) -> ApplicationMaster:
        """The AM of this container: its environment, staged spec, configuration and tokens."""
        env = AmEnvironment.from_env()
        conf = conf if conf is not None else Configuration.load()
        return cls(env, load_spec(), conf, Credentials.from_env(conf=conf), **kwargs)

    # ------------------------------------------------------------------ running

    @property
    def address(self) -> str:
        """``host:port`` where clients reach this AM."""
        assert self.server is not None
        return f"{self.env.nm_host}:{self.server.address[1]}"

    def run(self) -> int:
        """Run the application to its end; returns the process exit code (0: SUCCEEDED)."""
        registered = False
        try:
            secret = self.credentials.get_secret(SECRET_ALIAS)
            if not secret:
                raise PyarnError(f"the AM's credentials hold no application secret ({SECRET_ALIAS!r}); "
                                 "clients could not authenticate")
            self._recover()
            port = self._start_server(secret)
            log.info("registering %s with the ResourceManager, serving clients at %s",
                     self.env.attempt_id, self.address)
            registration = self.amrm.register(self.env.nm_host, port, "")
            registered = True
            if registration.client_to_am_token_master_key:
                assert self.secrets is not None
                self.secrets.set_client_token_master_key(self.env.attempt_id,
                                                         registration.client_to_am_token_master_key)
            self.container_credentials = container_credentials(self.credentials, self.env.app_id, secret)
            self.launcher = LaunchContextBuilder(
                self.spec, self.env.app_id, self.address, self.container_credentials,
                user=self.env.user, secure=IpcSettings.from_conf(self.conf).security_enabled,
                conf_archive=self._conf_archive())
            self.execute(self.scheduler.start(registration.containers_from_previous_attempts))
            if not self.scheduler.finished:
                self._start_driver()
            self._heartbeat_loop()
        except BaseException as exc:
            log.exception("the application master failed")
            self._interrupted = True
            self.execute(self.scheduler.shutdown(FinalStatus.FAILED,
                                                 f"Unexpected error in application master: {exc}"))
            if not registered:
                self._register_quietly()
                registered = self.amrm.registration is not None
        return self._finish(registered)

    def _staging_user(self) -> User:
        """Who reaches the staging directory: the submitter, with the AM's delegation tokens."""
        return User(self.env.user or User.current().name).with_tokens(self.credentials.tokens.values())

    def _conf_archive(self) -> Optional[File]:
        """The configuration archive the submitter staged (``.pyarn_conf.zip``), for the containers to
        reach the ResourceManager with; None when there is none."""
        if not self.env.staging_dir:
            return None
        url = f"{self.env.staging_dir.rstrip('/')}/{CONF_ARCHIVE}"
        try:
            staged = stat_source(url, self.conf, self._staging_user())
        except FileNotFoundError:
            return None
        except Exception as exc:  # the containers can do without (HADOOP_CONF_DIR may serve)
            log.warning("cannot find the staged configuration %s for the containers: %s", url, exc)
            return None
        return File(source=url, type=FileType.ARCHIVE, size=staged.size, timestamp=staged.timestamp)

    def _recover(self) -> None:
        """Load what earlier attempts journaled, and journal this one."""
        if not self.env.staging_dir:
            log.warning("no staging directory (PYARN_STAGING_DIR): this attempt's state is not journaled, "
                        "a later attempt would start afresh")
            return
        self.recovery = Recovery.open(self.env.staging_dir, self.conf, self._staging_user())
        saved = self.recovery.recover(self.kv, self.scheduler)
        if isinstance(saved.get("progress"), (int, float)):
            self.progress = float(saved["progress"])
        self._previous_address = saved.get("address")
        self.recovery.start(self.kv, self.scheduler, lambda: {
            "progress": self.progress, "address": self.address if self.server is not None else None})
        log.info("journaling into %s", self.recovery.url)

    def _sync(self) -> None:
        if self.recovery is not None:
            self.recovery.sync()

    def _start_server(self, secret: bytes) -> int:
        owner = self.env.user or User.current().name
        self.secrets = AppSecretManager(self.env.app_id, secret, owner)
        auth = ServerAuth(methods=(AuthMethod.TOKEN,), secret_manager=self.secrets,
                          qops=IpcSettings.from_conf(self.conf).qops)
        handler = AppMasterHandler(self.spec, self.scheduler, self.kv, self.execute, self._set_progress,
                                   self._sync)
        policy = AccessPolicy.from_conf(str(self.env.app_id), owner, self.spec.acls, self.conf)
        self.server = self._bind(lambda port: IpcServer(
            self._bind_host, port, auth=auth, handler_threads=handler.handler_threads, idle_timeout=300.0,
            name="pyarn-am"))
        self.server.register(PYARN_APP_MASTER, AuthorizedHandler(handler, policy, self.secrets.caller_of))
        self.server.start()
        if self.recovery is not None:
            self.recovery.record_master(address=self.address)
        return self.server.address[1]

    def _bind(self, make: Callable[[int], IpcServer]) -> IpcServer:
        """The server, on the previous attempt's port when that attempt ran on this host (the
        containers it leaves know that address), else on any free port (they then look this
        attempt up in the ResourceManager's application report)."""
        host, _, port = (self._previous_address or "").rpartition(":")
        if host == self.env.nm_host and port.isdigit():
            try:
                return make(int(port))
            except OSError as exc:
                log.warning("cannot serve on the previous attempt's port %s (%s): containers adopted "
                            "from it must look this attempt up through the ResourceManager", port, exc)
        return make(0)

    def _register_quietly(self) -> None:
        try:
            port = self.server.address[1] if self.server is not None else -1
            self.amrm.register(self.env.nm_host, port, "")
        except Exception as exc:
            log.warning("cannot register with the ResourceManager: %s", exc)

    def _set_progress(self, progress: float) -> None:
        self.progress = progress
        if self.recovery is not None:
            self.recovery.record_master(progress=progress)

    def request_stop(self, signum: int) -> None:
        """A signal asks the AM to end (SIGTERM from the NodeManager)."""
        self._signalled = signum
        self._wake.set()

    def _heartbeat_loop(self) -> None:
        failures = 0
        unsettled = self.scheduler.resumed
        while not self.scheduler.finished and self._signalled is None:
            self._wake.clear()
            progress = self.progress if self.progress >= 0 else 0.1
            try:
                result = self.amrm.allocate(progress)
                failures = 0
            except PyarnError as exc:
                failures += 1
                log.warning("heartbeat %d/%d to the ResourceManager failed: %s", failures,
                            MAX_HEARTBEAT_FAILURES, exc)
                if failures >= MAX_HEARTBEAT_FAILURES:
                    raise
                result = None
            if result is not None:
                for allocation in result.allocated:
                    self.execute(self.scheduler.allocated(allocation))
                for completed in result.completed:
                    self.execute(self.scheduler.completed(completed.id, completed.exit_status,
                                                          completed.diagnostics))
                if unsettled:  # what the previous attempt left is known now
                    self.execute(self.scheduler.settle())
                    unsettled = False
                if result.command == "AM_SHUTDOWN":
                    log.warning("the ResourceManager told this attempt to shut down")
                    self._signalled = signal.SIGTERM
                    break
            pending = self.scheduler.pending or self.amrm.has_requests
            self._wake.wait(self.pending_heartbeat if pending else self.heartbeat)
        if self._signalled is not None and not self.scheduler.finished:
            self._interrupted = True
            self.execute(self.scheduler.shutdown(
                FinalStatus.FAILED, "Application master shut down by an external signal. This usually means "
                "the application was killed by a user or administrator, or exceeded its memory limit."))

    # ------------------------------------------------------------------ actions

    def execute(self, actions: List[Action]) -> None:
        """Carry out the scheduler's decisions (from any thread)."""
        for action in actions:
            if isinstance(action, RequestContainer):
                log.info("REQUESTED: %s", action.container_id)
                self.amrm.add_container_request(action.request)
                self._wake.set()
            elif isinstance(action, CancelRequest):
                self.amrm.remove_container_request(action.request)
            elif isinstance(action, LaunchContainer):
                log.info("RUNNING: %s on %s (%s)", action.container_id, action.allocation.id,
                         action.allocation.node_id)
                self._submit(self._launch, action)
            elif isinstance(action, StopContainer):
                log.info("stopping %s (%s)", action.container_id, action.yarn_container_id)
                self._submit(self._stop, action)
            elif isinstance(action, ReleaseContainer):
                self.amrm.release_assigned_container(action.yarn_container_id)
            elif isinstance(action, ReleaseOwner):
                self.kv.release_owner(action.container_id)
            elif isinstance(action, Finish):
                log.info("shutting down: %s: %s", action.status, action.diagnostics)
                self._wake.set()

    def _submit(self, function, action) -> None:
        try:
            self._pool.submit(function, action)
        except RuntimeError:  # the pool has shut down: the application is ending
            function(action)

    def _launch(self, action: LaunchContainer) -> None:
        assert self.launcher is not None
        service = self.spec.services[action.service]
        resource = Resource(memory=action.allocation.resource.memory, vcores=service.resources.vcores)
        try:
            context = self.launcher.build(action.service, action.container_id, resource, action.env)
            self.nm.start_container(action.allocation, context)
        except Exception as exc:
            log.warning("failed to start %s on %s: %s", action.container_id, action.allocation.id, exc)
            self.execute(self.scheduler.launch_failed(action.container_id, str(exc)))

    def _stop(self, action: StopContainer) -> None:
        try:
            self.nm.stop_container(action.yarn_container_id, action.node_id)
        except Exception as exc:
            log.info("stopping %s through its NodeManager failed (%s); releasing it",
                     action.container_id, exc)
        self.amrm.release_assigned_container(action.yarn_container_id)

    # ------------------------------------------------------------------- driver

    def _start_driver(self) -> None:
        script = self.spec.master.script
        if not script:
            return
        path = Path(self.env.working_dir, DRIVER_SCRIPT)
        path.write_text(script, encoding="utf-8")
        env = self.driver_environment()
        log_path = Path(self.env.log_dir, DRIVER_LOG)
        log.info("starting the master script, output in %s", log_path)
        with open(log_path, "ab") as out:
            self._driver = subprocess.Popen(["bash", str(path)], cwd=self.env.working_dir, env=env,
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        threading.Thread(target=self._watch_driver, name="pyarn-am driver", daemon=True).start()

    def driver_environment(self) -> Dict[str, str]:
        """The master script's environment: the AM's own, then the master's ``env``, then pyarn's
        variables, with credentials of its own. The AM's token file holds the AMRM token and the
        application secret; the script gets a 0600 token file (:data:`DRIVER_TOKENS`) with what
        service containers get instead (:func:`container_credentials`)."""
        assert self.container_credentials is not None
        tokens = Path(self.env.working_dir, DRIVER_TOKENS)
        self.container_credentials.write_file(tokens)
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}  # inline tokens are the AM's too
        env.update(self.spec.master.env)
        env.update(pyarn_env(self.env.app_id, self.address, resource=self.spec.master.resources.to_yarn()))
        conf_dir = Path(self.env.working_dir, CONF_DIR)
        if conf_dir.is_dir():
            env[CONF_DIR_ENV] = str(conf_dir.resolve())
        env[TOKEN_FILE_ENV] = str(tokens.resolve())
        return env

    def _watch_driver(self) -> None:
        assert self._driver is not None
        code = self._driver.wait()
        log.info("the master script exited with code %d", code)
        self.execute(self.scheduler.driver_exited(code))

    def _stop_driver(self) -> None:
        driver = self._driver
        if driver is None or driver.poll() is not None:
            return
        driver.terminate()
        try:
            driver.wait(5)
        except subprocess.TimeoutExpired:
            driver.kill()

    # ------------------------------------------------------------------ finish

    def _last_attempt(self) -> bool:
        max_attempts = self.conf.get_int("yarn.resourcemanager.am.max-attempts", 2)
        if self.spec.max_attempts:
            max_attempts = min(self.spec.max_attempts, max_attempts)
        return self.env.attempt_id.attempt_id >= max_attempts

    def _finish(self, registered: bool) -> int:
        outcome = self.scheduler.outcome
        assert outcome is not None
        final = outcome.status is FinalStatus.SUCCEEDED or outcome.by_user or self._last_attempt()
        if self.recovery is not None and not final:
            # Interrupted: the next attempt resumes from the journal, with the containers YARN keeps.
            # Failed: it keeps the key-value store only and starts the services afresh.
            self.recovery.close(reset_services=not self._interrupted)
        self._stop_driver()
        if final or not self._interrupted:
            self.execute(self.scheduler.stop_all())
        self._pool.shutdown(wait=True)
        if registered and final:
            try:
                log.info("unregistering with status %s", outcome.status)
                self.amrm.finish(outcome.status, outcome.diagnostics)
            except Exception as exc:
                log.error("failed to unregister: %s", exc)
            if self.recovery is not None:
                self.recovery.close()  # before its directory goes
            clean_staging(self.env.staging_dir, self.conf, self._staging_user())
        elif registered:
            log.info("attempt %s ended; YARN may start another one", self.env.attempt_id)
        if self.recovery is not None:
            self.recovery.close()
        self.kv.close()  # first: it ends the long polls the server would wait for
        if self.server is not None:
            self.server.stop()
        self.nm.close()
        self.amrm.close()
        return 0 if outcome.status is FinalStatus.SUCCEEDED else 1
