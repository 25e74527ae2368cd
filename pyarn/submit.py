"""Submitting an application spec: validate, stage, build the master's launch context, submit.

:func:`submit` does what ``Client.submit`` promises, in this order:

1. load and validate the spec completely (:func:`prepare`): fields, local
   files, reserved names, tags, file sources, the Python that runs
   ``pyarn-am``, and (once the RM has granted an application id) each
   container's size against the largest the cluster allows. A bad spec
   raises :class:`~pyarn.spec.SpecError` naming the field, before anything
   is staged or submitted;
2. stage into ``<root>/<app id>`` (:mod:`pyarn.staging`): each local file
   once however many services share it, the spec as ``.pyarn.spec.json``
   with every source rewritten to its staged URL and the staged copy's size
   and modification time, and the client's Hadoop configuration for the AM
   (``.pyarn_conf``, a zip of one ``core-site.xml``);
3. make an application secret, put it in the AM's credentials (never on a
   command line, never logged) and save it for this user
   (:func:`pyarn.application.security.save_secret`);
4. submit, with ``keep_containers_across_application_attempts`` set (a new
   attempt of the master adopts the running containers, see
   :mod:`pyarn.am.recovery`), and wait until the ResourceManager has
   accepted the application or rejected it (an unknown queue, for instance).

When anything fails after staging began, the staging directory and the
saved secret are removed (and a submitted application killed) before the
error is raised. ``pyarn-am`` removes the staging directory when the
application ends; :func:`clean_up` does it (and forgets the secret) from
the client after a kill or an ending the client waited for, in case the
master never ran. The staged configuration holds every non-default setting
of the client's, like Spark's ``__spark_conf__``: it is private to the user
(0600 in a 0700 directory) and goes with the staging directory.

A spec's ``user`` other than the client's submits as that user, as Java's
``UserGroupInformation.createProxyUser`` does: every call from the new
application id on (staging in that user's home, the delegation tokens, the
submission) is made as that user on the client's Kerberos login, so the
application, its staging directory and its tokens are that user's. The
cluster's ``hadoop.proxyuser.<client user>.*`` settings decide whether the
client may; when not, the first call is refused, before anything is staged
or created. The application secret stays the client's (its ``~/.pyarn``).

The AM is started as
``<python> -m pyarn.am --conf-dir .pyarn_conf 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr``
where ``<python>`` is, first found: ``master.env.PYARN_PYTHON``;
``./environment/bin/python`` when the master's files have an archive named
``environment`` (a conda-pack or venv-pack environment); the client's
``python``; this interpreter (``sys.executable``) when the cluster runs on
this machine (staging on ``file://``, or the ResourceManager on a loopback
address: a mini or pseudo-distributed cluster); ``python3``.
"""
from __future__ import annotations

import io
import ipaddress
import logging
import os
import shlex
import socket
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import attrs

from .application.environment import CONF_ARCHIVE, CONF_DIR, SPEC_FILE, STAGING_DIR_ENV
from .application.security import SECRET_ALIAS, forget_secret, new_secret, save_secret
from .conf import Configuration, rm_addresses
from .conf.configuration import DEFAULTS_LABEL
from .conf.writer import site_xml
from .errors import AccessControlError, FailoverExhaustedError, PyarnError
from .ipc import IpcSettings
from .security.credentials import Credentials
from .security.user import User
from .spec import ApplicationSpec, File, FileType, FileVisibility, Resources, SpecError
from .staging import StagedFile, StagingDir, open_staging_dir, staging_scheme, stat_source
from .yarn.ids import ApplicationId
from .yarn.records import ApplicationState, Resource
from .yarn.resourcemanager import NewApplication, normalize_tags, rm_principal

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger(__name__)

__all__ = ["SubmissionError", "Prepared", "SpecLike", "prepare", "check_resources", "submit", "clean_up",
           "am_conf_archive", "APPLICATION_TYPE", "AM_CONF_DIR", "PYTHON_ENV", "ENVIRONMENT_ARCHIVE"]

#: YARN application type of pyarn applications.
APPLICATION_TYPE = "pyarn"
#: The AM's Hadoop configuration directory in its working directory (staged as a zip archive).
AM_CONF_DIR = CONF_DIR
#: ``master.env`` variable naming the Python that runs ``pyarn-am`` on the nodes.
PYTHON_ENV = "PYARN_PYTHON"
#: A master archive of this name is a packed Python environment that runs ``pyarn-am``.
ENVIRONMENT_ARCHIVE = "environment"
#: Names the submitter gives files in the AM's working directory.
RESERVED_NAMES = (SPEC_FILE, AM_CONF_DIR)
_SCHEMES_IN_PLACE = ("hdfs",)
#: Files written into the staging directory at the same time, at most.
_STAGING_THREADS = 8
_UNACCEPTED = (ApplicationState.NEW, ApplicationState.NEW_SAVING, ApplicationState.SUBMITTED)


SpecLike = Union[ApplicationSpec, Dict[str, Any], str, os.PathLike]


class SubmissionError(PyarnError):
    """The ResourceManager rejected the application ``app_id`` (its diagnostics say why)."""

    def __init__(self, message: str, app_id: Optional[ApplicationId] = None) -> None:
        super().__init__(message)
        self.app_id = app_id


@attrs.frozen
class Prepared:
    """A spec checked for submission: everything :func:`submit` needs besides an application id."""

    spec: ApplicationSpec
    #: Who the application runs as (the client's user, or a proxy for ``spec.user``).
    user: User
    #: The command prefix that runs Python on the AM's node.
    python: str
    #: Status of the sources YARN fetches where they are (not staged), by source URL.
    in_place: Mapping[str, StagedFile]
    #: The local sources to copy into the staging directory (``file://`` URLs, each once).
    uploads: Tuple[str, ...]
    #: Application tags as YARN stores them.
    tags: Tuple[str, ...]


# ---------------------------------------------------------------- validation


def _files(spec: ApplicationSpec) -> Iterator[Tuple[Tuple[str, ...], File]]:
    """Every file the containers get, with its field path."""
    for name, file in spec.master.files.items():
        yield ("master", "files", name), file
    for service_name, service in spec.services.items():
        for name, file in service.files.items():
            yield ("services", service_name, "files", name), file


def _on_this_machine(conf: Configuration, scheme: str) -> bool:
    """Whether the cluster runs on this machine: staging on ``file://``, or every ResourceManager
    at a loopback (or unspecified) address or this host's name (a mini or pseudo-distributed cluster)."""
    if scheme == "file":
        return True
    local_names = {"localhost", socket.gethostname().lower()}
    for _rm_id, host, _port in rm_addresses(conf):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if host.lower() not in local_names:
                return False
        else:
            if not (address.is_loopback or address.is_unspecified):
                return False
    return True


def _python(spec: ApplicationSpec, python: Optional[str], conf: Configuration, scheme: str) -> str:
    chosen = spec.master.env.get(PYTHON_ENV)
    where: Tuple[str, ...] = ("master", "env", PYTHON_ENV)
    if not chosen:
        archive = spec.master.files.get(ENVIRONMENT_ARCHIVE)
        if archive is not None and archive.type is FileType.ARCHIVE:
            return f"./{ENVIRONMENT_ARCHIVE}/bin/python"
        chosen, where = python, ("python",)
    if not chosen:
        return shlex.quote(sys.executable) if _on_this_machine(conf, scheme) else "python3"
    if '"' in chosen or "\n" in chosen or not chosen.strip():
        raise SpecError(f"expected a command that starts Python, without double quotes or newlines, "
                        f"got {chosen!r}", where)
    return chosen.strip()


def prepare(spec: SpecLike, conf: Configuration, user: User, *, python: Optional[str] = None,
            staging_root: Optional[str] = None) -> Prepared:
    """Load ``spec`` (a spec, a dict or a spec file) and check everything that can be checked
    before the cluster is asked for anything; :class:`~pyarn.spec.SpecError` names the field."""
    spec = ApplicationSpec.coerce(spec)
    spec.validate(check_files=True)
    for name in spec.master.files:
        if name.removeprefix("./") in RESERVED_NAMES:
            raise SpecError(f"{name!r} is reserved for pyarn's own files in the master's working directory",
                            ("master", "files", name))
    try:
        tags = tuple(normalize_tags(spec.tags))
    except ValueError as exc:
        raise SpecError(str(exc).removeprefix("tags: "), ("tags",)) from None
    scheme = staging_scheme(conf, staging_root)
    for uri in spec.file_systems:
        if not uri.lower().startswith("hdfs://"):
            raise SpecError(f"expected an hdfs:// file system URI, got {uri!r}", ("file_systems",))
    # Who the application runs as reads the in-place files, as YARN will (as Skein's doAs does).
    run_as = user if not spec.user or spec.user == user.name else user.proxy_for(spec.user)
    uploads = []
    in_place: Dict[str, StagedFile] = {}
    for path, file in _files(spec):
        local = file.local_path is not None
        if local and not (file.visibility is FileVisibility.PUBLIC and scheme == "file"):
            if file.visibility is FileVisibility.PUBLIC:
                raise SpecError("a public file must already be world-readable on the cluster's file system; "
                                "local files are staged privately (use 'application' or 'private', or give "
                                "an hdfs:// source)", path + ("visibility",))
            uploads.append(file.source)
            continue
        if file.source in in_place or (file.size and file.timestamp):
            continue
        if not local and file.source.split(":", 1)[0].lower() not in _SCHEMES_IN_PLACE:
            raise SpecError(f"cannot look up the size and modification time of {file.source!r}; give size "
                            "and timestamp, or an hdfs:// or local source", path + ("source",))
        try:
            in_place[file.source] = stat_source(file.source, conf, run_as)
        except FileNotFoundError:
            raise SpecError(f"{file.source} does not exist", path + ("source",)) from None
    return Prepared(spec=spec, user=run_as, python=_python(spec, python, conf, scheme), in_place=in_place,
                    uploads=tuple(dict.fromkeys(uploads)), tags=tags)


def check_resources(spec: ApplicationSpec, maximum: Resource) -> None:
    """Every container of ``spec`` must fit in ``maximum``, the largest the cluster allows."""
    parts: List[Tuple[Tuple[str, ...], Resources]] = [(("master", "resources"), spec.master.resources)]
    parts += [(("services", name, "resources"), s.resources) for name, s in spec.services.items()]
    for path, resources in parts:
        for field, asked, most, unit in (("memory", resources.memory, maximum.memory, " MiB"),
                                         ("vcores", resources.vcores, maximum.vcores, "")):
            if most > 0 and asked > most:
                raise SpecError(f"{asked}{unit} is more than the largest container this cluster allows "
                                f"({most}{unit})", path + (field,))


# ---------------------------------------------------------------- staging


def am_conf_archive(conf: Configuration) -> bytes:
    """A zip holding ``core-site.xml`` with every setting of ``conf`` that is not Hadoop's default,
    as written (``${...}`` unexpanded): the AM reads the cluster as this client does."""
    properties = {key: conf.raw(key) or "" for key in conf
                  if (conf.origin(key) or (DEFAULTS_LABEL,))[0] != DEFAULTS_LABEL}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("core-site.xml", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o600 << 16
        archive.writestr(info, site_xml(properties))
    return buffer.getvalue()


def _unique(name: str, taken: set) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{n}_{name}"
    taken.add(candidate)
    return candidate


def _stage(prepared: Prepared, staging: StagingDir, conf: Configuration
           ) -> Tuple[ApplicationSpec, File, File]:
    """Write everything into the staging directory, several files at a time: the local files
    (each once), the AM's configuration and, last, the spec with every file's staged (or in-place)
    URL, size and timestamp. Returns that spec and the spec's and configuration's staged files."""
    taken = set(RESERVED_NAMES) | {CONF_ARCHIVE}
    paths = {source: File(source=source).local_path or "" for source in prepared.uploads}
    names = {source: _unique(os.path.basename(path.rstrip("/")) or "file", taken)
             for source, path in paths.items()}
    workers = min(_STAGING_THREADS, len(names) + 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pyarn-staging") as pool:
        conf_file = pool.submit(staging.write, CONF_ARCHIVE, am_conf_archive(conf))
        uploads = {source: pool.submit(staging.upload, paths[source], name) for source, name in names.items()}
        staged: Dict[str, StagedFile] = dict(prepared.in_place)
        staged.update((source, future.result()) for source, future in uploads.items())

        def place(file: File) -> File:
            status = staged.get(file.source)
            if status is None:  # size and timestamp given in the spec
                return file
            return attrs.evolve(file, source=status.url, size=status.size, timestamp=status.timestamp)

        spec = ApplicationSpec.from_dict(prepared.spec.to_dict(), check_files=False)
        spec.master.files = {name: place(file) for name, file in spec.master.files.items()}
        for service in spec.services.values():
            service.files = {name: place(file) for name, file in service.files.items()}
        spec_file = staging.write(SPEC_FILE, spec.to_json().encode("utf-8"))
        return spec, _as_file(spec_file), _as_file(conf_file.result(), FileType.ARCHIVE)


def _as_file(staged: StagedFile, type: FileType = FileType.FILE) -> File:  # noqa: A002
    return File(source=staged.url, type=type, size=staged.size, timestamp=staged.timestamp)


def _delegation_tokens(conf: Configuration, user: User, spec: ApplicationSpec) -> Credentials:
    """HDFS delegation tokens for the default file system and ``spec.file_systems``, renewable by
    the ResourceManager, on a secure cluster (none otherwise). Asked for before anything is staged:
    a ``file_systems`` entry that gives none raises SpecError naming it."""
    credentials = Credentials()
    if not IpcSettings.from_conf(conf).security_enabled:
        return credentials
    from .hdfs import HDFS

    renewer = rm_principal(conf)
    sources: Dict[str, Tuple[Union[str, int], ...]] = {}
    if conf.get_str("fs.defaultFS", "").lower().startswith("hdfs:"):
        sources[conf.get_str("fs.defaultFS")] = ()
    for index, uri in enumerate(spec.file_systems):
        sources.setdefault(uri, ("file_systems", index))
    for uri, where in sources.items():
        try:
            with HDFS(conf=conf, uri=uri, user=user) as fs:
                token = fs.get_delegation_token(renewer)
        except (PyarnError, OSError, ValueError) as exc:
            if not where:
                raise
            cause: BaseException = exc
            if isinstance(exc, FailoverExhaustedError) and exc.attempts:
                cause = exc.attempts[-1][1]  # the last attempt says why
            raise SpecError(f"cannot get a delegation token from {uri}: {type(cause).__name__}: {cause}",
                            where) from None
        credentials.add_token(token.service, token)
    return credentials


def _rm_delegation_token(submitter: Client) -> Credentials:
    """An RM delegation token of the application's user, renewable by the ResourceManager (which
    renews it while the application runs and cancels it when the application ends), on a secure
    cluster; none otherwise: without security the containers reach the RM without a token."""
    credentials = Credentials()
    if not IpcSettings.from_conf(submitter.conf).security_enabled:
        log.info("no RM delegation token: the cluster does not use Kerberos, its containers need none")
        return credentials
    token = submitter.get_delegation_token(rm_principal(submitter.conf))
    credentials.add_token(token.service, token)
    return credentials


def _launch(prepared: Prepared, staging: StagingDir, conf: Configuration, secret: bytes,
            credentials: Optional[Credentials] = None) -> Dict[str, Any]:
    """Stage everything and return the arguments of ``Client.submit_context`` (but the id);
    ``credentials`` (the delegation tokens) become the AM's, with the secret."""
    credentials = credentials if credentials is not None else Credentials()
    spec, spec_file, conf_file = _stage(prepared, staging, conf)
    local_resources = {**spec.master.files, SPEC_FILE: spec_file, AM_CONF_DIR: conf_file}

    environment = dict(spec.master.env)
    environment[STAGING_DIR_ENV] = staging.url
    if not IpcSettings.from_conf(conf).security_enabled:
        environment.setdefault("HADOOP_USER_NAME", prepared.user.name)
    credentials.add_secret(SECRET_ALIAS, secret)
    command = f"{prepared.python} -m pyarn.am --conf-dir {AM_CONF_DIR} 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"
    return dict(commands=[command], name=spec.name, queue=spec.queue, environment=environment,
                local_resources=local_resources, resource=spec.master.resources.to_yarn(),
                max_attempts=spec.max_attempts, tags=prepared.tags, application_type=APPLICATION_TYPE,
                tokens=credentials, node_label=spec.node_label or None, acls=spec.acls.to_yarn(),
                keep_containers=True)


# ---------------------------------------------------------------- submission


def _undo(client: Client, app_id: ApplicationId, staging: StagingDir, sent: bool) -> None:
    """After a failed submission: kill the application if it was sent, delete its staging
    directory and forget its secret. Failures here are logged; the original error matters more."""
    steps: List[Tuple[str, Callable[[], object]]] = [("remove the staging directory of", staging.remove),
                                                     ("forget the secret of", lambda: forget_secret(app_id))]
    if sent:
        steps.insert(0, ("kill", lambda: client.rm.kill_application(app_id, "pyarn: the submission failed")))
    for what, step in steps:
        try:
            step()
        except Exception as exc:
            log.warning("could not %s %s after a failed submission: %s", what, app_id, exc)


def _wait_accepted(client: Client, app_id: ApplicationId) -> None:
    """Return once the RM has accepted ``app_id``; SubmissionError when it rejected it."""
    report = client.wait_for(app_id, lambda r: r.state not in _UNACCEPTED)
    if report.state in (ApplicationState.FAILED, ApplicationState.KILLED):
        raise SubmissionError(f"the ResourceManager rejected {app_id}: {report.diagnostics or report.state}",
                              app_id)


def _new_application(submitter: Client) -> NewApplication:
    """A new application id from the RM: the first call the submission makes as its user, so the
    one a cluster refuses an impersonation at (``user`` in the spec; see ``hadoop.proxyuser.*``)."""
    try:
        return submitter.new_application()
    except AccessControlError as exc:
        user = submitter.user
        if user.real_user is None or "impersonate" not in exc.message:
            raise
        raise type(exc)(f"cannot submit as {user.name} (the spec's user): {exc.message}; the cluster's "
                        f"hadoop.proxyuser.* settings decide whom {user.real_user} may submit as",
                        exc.java_class, java_text=exc.java_text, error_code=exc.error_code) from exc


def submit(client: Client, spec: SpecLike, *, python: Optional[str] = None,
           staging_root: Optional[str] = None, rm_delegation_token: bool = False) -> ApplicationId:
    """Submit ``spec`` through ``client``; returns the application id once the RM has accepted it.
    See the module for the steps; ``Client.submit`` calls this. ``rm_delegation_token`` adds an RM
    delegation token to the application's credentials (secure clusters only)."""
    prepared = prepare(spec, client.conf, client.user, python=python, staging_root=staging_root)
    submitter = client
    if prepared.user != client.user:
        from .client import Client as _Client

        submitter = _Client(conf=client.conf, user=prepared.user)
    try:
        new = _new_application(submitter)
        check_resources(prepared.spec, new.max_resource)
        app_id = new.id
        tokens = _delegation_tokens(client.conf, prepared.user, prepared.spec)  # before anything is staged
        if rm_delegation_token:
            tokens.update(_rm_delegation_token(submitter))
        staging = open_staging_dir(client.conf, prepared.user, app_id, staging_root)
        sent = False
        try:
            staging.create()
            secret = new_secret()
            context = _launch(prepared, staging, client.conf, secret, tokens)
            save_secret(app_id, secret)
            sent = True
            submitter.submit_context(application_id=app_id, **context)
            _wait_accepted(submitter, app_id)
        except BaseException:
            _undo(submitter, app_id, staging, sent)
            raise
        finally:
            staging.close()
    finally:
        if submitter is not client:
            submitter.close()
    log.info("submitted %s (%s), staged in %s", app_id, prepared.spec.name, staging.url)
    return app_id


def _application_user(client: Client, app_id: ApplicationId) -> User:
    """Who ``app_id`` was submitted as, seen from ``client``: its user, or a proxy for the
    application's user when that is someone else (the report unreachable: the client's user)."""
    try:
        owner = client.application_report(app_id).user
    except Exception as exc:  # best effort, as the clean-up itself
        log.warning("could not look up the user of %s, cleaning up as %s: %s", app_id, client.user.name, exc)
        return client.user
    return client.user if not owner or owner == client.user.name else client.user.proxy_for(owner)


def clean_up(client: Client, app_id: ApplicationId) -> None:
    """After an application has ended: delete its staging directory if it is still there (its
    master removes it, unless it never ran) and the saved secret, which no client can use any more.
    The directory is in the home of the application's user: the client's, or the user it
    submitted as (``user`` in the spec), reached by impersonating that user as :func:`submit` did."""
    user = _application_user(client, app_id)
    with open_staging_dir(client.conf, user, app_id, client.staging_dir) as staging:
        try:
            staging.remove()
        except Exception as exc:  # best effort: the application's outcome is what matters
            log.warning("could not delete the staging directory %s: %s", staging.url, exc)
    forget_secret(app_id)
