"""The ``pyarn`` command line.

Library errors (``PyarnError``) become one line on stderr and exit status 1;
anything else is a bug and keeps its traceback. Imports stay lazy so that
``pyarn --help`` costs a Python start, not a protobuf load: the commands
import the client when they run.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence

from ._version import __version__

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from .app_client import ApplicationClient
    from .client import Client
    from .errors import FailoverExhaustedError

#: State names, spelled out here so that building the parser imports no protobuf
#: (tests check them against ApplicationState and NodeState).
APPLICATION_STATES = ("NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED", "RUNNING", "FINISHED", "FAILED", "KILLED")
NODE_STATES = ("NEW", "RUNNING", "UNHEALTHY", "DECOMMISSIONED", "LOST", "REBOOTED", "DECOMMISSIONING",
               "SHUTDOWN")
CONTAINER_STATES = ("WAITING", "REQUESTED", "RUNNING", "SUCCEEDED", "FAILED", "KILLED")
#: Final statuses an application can be shut down with.
SHUTDOWN_STATUSES = ("SUCCEEDED", "FAILED", "KILLED")
#: In place of an application id: the application this process runs in (as in Skein).
CURRENT_APP = "current"
#: The CLI fails fast: two rounds over the ResourceManagers, not Hadoop's 15 minutes of retries.
FAILOVER_ROUNDS = 2

# ---------------------------------------------------------------------- parser


#: Commands whose module brings its own parser (``add_parser``) and runner (``run``),
#: loaded only when that command runs.
DELEGATED = {
    "fs": ("pyarn.hdfs.cli", "work with files in HDFS (ls, put, get, cat, mkdir, rm, mv, stat)"),
    "minicluster": ("pyarn.minicluster.cli", "run pyarn's pure-Python mini cluster"),
}


def build_parser(delegate: Any = None) -> argparse.ArgumentParser:
    """The ``pyarn`` parser; ``delegate`` is the module of the :data:`DELEGATED`
    command about to run (it brings its own parser)."""
    parser = argparse.ArgumentParser(
        prog="pyarn",
        description="Deploy and run applications on Apache Hadoop YARN, from pure Python.",
    )
    parser.add_argument("--version", action="version", version=f"pyarn {__version__}")
    parser.add_argument("--conf-dir", metavar="DIR",
                        help="Hadoop configuration directory (default: $YARN_CONF_DIR, $HADOOP_CONF_DIR, "
                             "$HADOOP_HOME/etc/hadoop)")
    parser.add_argument("--principal", metavar="PRINCIPAL",
                        help="log in to Kerberos as PRINCIPAL from --keytab (default: the ticket cache, "
                             "$KRB5CCNAME)")
    parser.add_argument("--keytab", metavar="FILE", help="the keytab holding --principal's key")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_application(commands)
    _add_container(commands)
    _add_kv(commands)
    _add_node(commands)
    _add_queue(commands)
    for name, (module, help_text) in DELEGATED.items():
        if delegate is not None and delegate.__name__ == module:
            delegate.add_parser(commands)
        else:  # listed in --help; the real parser is loaded only when the command runs
            commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def _add_application(commands) -> None:
    app = commands.add_parser("application", aliases=["app"],
                              help="submit, list, inspect, shut down, kill and move applications",
                              description="Submit, list, inspect, shut down, kill and move YARN "
                                          "applications.")
    actions = app.add_subparsers(dest="action", metavar="ACTION", required=True)

    submit = actions.add_parser(
        "submit", help="submit an application spec",
        description="Submit an application described by a spec file (YAML or JSON, Skein's format) and "
                    "print its id.")
    submit.add_argument("spec", metavar="SPEC", help="the spec file")
    submit.add_argument("--wait", action="store_true",
                        help="wait until the application ends, print its final state and remove what "
                             "submitting left (staging directory, secret); exit status 0 only when it "
                             "SUCCEEDED")
    submit.add_argument("--python", metavar="COMMAND",
                        help="the Python that runs pyarn-am on the nodes when the spec does not say "
                             "(default: this Python on a file:// cluster, else python3)")
    submit.add_argument("--rm-delegation-token", action="store_true",
                        help="on a Kerberized cluster, give the application an RM delegation token, so that "
                             "its containers reach the ResourceManager without a Kerberos ticket")
    submit.set_defaults(run=_application_submit)

    ls = actions.add_parser(
        "ls", aliases=["list"], help="list applications",
        description="List applications (by default those SUBMITTED, ACCEPTED or RUNNING).")
    states = ls.add_mutually_exclusive_group()
    states.add_argument("--state", dest="states", nargs="+", action="extend", type=str.upper,
                        choices=APPLICATION_STATES, metavar="STATE",
                        help=f"only applications in these states ({', '.join(APPLICATION_STATES)})")
    states.add_argument("--all", action="store_true", help="applications in every state")
    ls.add_argument("--name", help="only applications with this name")
    ls.add_argument("--queue", help="only applications in this queue")
    ls.add_argument("--user", help="only applications of this user")
    _add_json(ls)
    ls.set_defaults(run=_application_ls)

    status = actions.add_parser("status", help="show one application",
                                description="Show the ResourceManager's report of one application.")
    status.add_argument("app_id", metavar="APP_ID")
    _add_json(status)
    status.set_defaults(run=_application_status)

    kill = actions.add_parser("kill", help="kill an application", description="Kill an application.")
    kill.add_argument("app_id", metavar="APP_ID")
    kill.set_defaults(run=_application_kill)

    mv = actions.add_parser("mv", aliases=["move"], help="move an application to another queue",
                            description="Move an application to another queue.")
    mv.add_argument("app_id", metavar="APP_ID")
    mv.add_argument("queue", metavar="QUEUE")
    mv.set_defaults(run=_application_mv)

    shutdown = actions.add_parser(
        "shutdown", help="end a pyarn application with a final status",
        description="Ask a running pyarn application's master to stop its containers and end the "
                    "application.")
    _add_app_id(shutdown)
    shutdown.add_argument("--status", default="SUCCEEDED", type=str.upper, choices=SHUTDOWN_STATUSES,
                          metavar="STATUS", help=f"final status ({', '.join(SHUTDOWN_STATUSES)}; "
                                                 "default SUCCEEDED)")
    shutdown.add_argument("--diagnostics", help="the message the ResourceManager reports")
    shutdown.set_defaults(run=_application_shutdown)


def _add_app_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("app_id", metavar="APP_ID",
                        help=f"a running pyarn application; '{CURRENT_APP}' inside one of its containers")


def _add_container(commands) -> None:
    container = commands.add_parser("container", help="list, kill and scale a pyarn application's containers",
                                     description="The containers of a running pyarn application's services.")
    actions = container.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = actions.add_parser("ls", aliases=["list"], help="list containers",
                            description="List containers (by default those WAITING, REQUESTED or RUNNING).")
    _add_app_id(ls)
    ls.add_argument("--service", dest="services", action="append", metavar="SERVICE",
                    help="only containers of this service (repeatable)")
    states = ls.add_mutually_exclusive_group()
    states.add_argument("--state", dest="states", action="append", type=str.upper, choices=CONTAINER_STATES,
                        metavar="STATE", help=f"only containers in this state, repeatable "
                                              f"({', '.join(CONTAINER_STATES)})")
    states.add_argument("--all", action="store_true", help="containers in every state")
    _add_json(ls)
    ls.set_defaults(run=_container_ls)

    kill = actions.add_parser("kill", help="kill a container", description="Kill one container.")
    _add_app_id(kill)
    kill.add_argument("--id", required=True, metavar="CONTAINER", help="the container, <service>_<instance>")
    kill.set_defaults(run=_container_kill)

    scale = actions.add_parser("scale", help="scale a service",
                               description="Change the number of containers of a service.")
    _add_app_id(scale)
    scale.add_argument("--service", "-s", required=True, help="the service")
    count = scale.add_mutually_exclusive_group(required=True)
    count.add_argument("--number", "-n", type=_non_negative, metavar="N", help="scale to N instances")
    count.add_argument("--delta", "-d", type=int, metavar="D", help="add D instances (remove when negative)")
    scale.set_defaults(run=_container_scale)


def _add_kv(commands) -> None:
    kv = commands.add_parser("kv", help="use a pyarn application's key-value store",
                             description="The key-value store of a running pyarn application.")
    actions = kv.add_subparsers(dest="action", metavar="ACTION", required=True)

    get = actions.add_parser("get", help="print a value", description="Print the value of a key.")
    _add_app_id(get)
    get.add_argument("--key", required=True, help="the key")
    get.add_argument("--wait", action="store_true", help="wait until the key is set")
    get.set_defaults(run=_kv_get)

    put = actions.add_parser("put", help="set a value", description="Set the value of a key.")
    _add_app_id(put)
    put.add_argument("--key", required=True, help="the key")
    put.add_argument("--value", help="the value (default: read from stdin)")
    put.set_defaults(run=_kv_put)

    delete = actions.add_parser("del", help="delete a key", description="Delete a key.")
    _add_app_id(delete)
    delete.add_argument("--key", required=True, help="the key")
    delete.set_defaults(run=_kv_del)

    ls = actions.add_parser("ls", aliases=["list"], help="list keys", description="List the keys, sorted.")
    _add_app_id(ls)
    ls.add_argument("--prefix", help="only keys starting with this")
    ls.set_defaults(run=_kv_ls)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of instances, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more instances, got {value}")
    return value


def _add_node(commands) -> None:
    node = commands.add_parser("node", help="list the NodeManagers",
                               description="The cluster's NodeManagers.")
    actions = node.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("ls", aliases=["list"], help="list NodeManagers",
                            description="List the NodeManagers (by default in every state).")
    ls.add_argument("--state", dest="states", nargs="+", action="extend", type=str.upper,
                    choices=NODE_STATES, metavar="STATE",
                    help=f"only nodes in these states ({', '.join(NODE_STATES)})")
    _add_json(ls)
    ls.set_defaults(run=_node_ls)


def _add_queue(commands) -> None:
    queue = commands.add_parser("queue", help="show the scheduler's queues",
                                description="Show one queue, or list every queue.")
    queue.add_argument("name", metavar="NAME", nargs="?", help="the queue to show (default: list them all)")
    _add_json(queue)
    queue.set_defaults(run=_queue)


#: Global options that take a value (the next word).
_VALUED_OPTIONS = ("--conf-dir", "--principal", "--keytab")


def _command_of(argv: Sequence[str]) -> Optional[str]:
    """The subcommand in ``argv``: the first word that is neither an option nor a global option's value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


# ---------------------------------------------------------------------- main


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``pyarn`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    delegate = None
    command = _command_of(argv)
    if command in DELEGATED:
        try:
            delegate = importlib.import_module(DELEGATED[command][0])
        except ImportError as exc:
            _error(f"'pyarn {command}' is not available ({exc})")
            return 1
    parser = build_parser(delegate)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into head: stay quiet, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    from .errors import FailoverExhaustedError, PyarnError

    client = None
    try:
        if (args.principal is None) != (args.keytab is None):
            _error("--principal and --keytab go together")
            return 2
        if args.principal is not None:
            from .security.kerberos import login_from_keytab

            login_from_keytab(args.principal, args.keytab)
        if args.command in DELEGATED:
            return _exit_status(importlib.import_module(DELEGATED[args.command][0]).run(args))
        client = _connect(args.conf_dir)
        return _exit_status(args.run(args, client))
    except FailoverExhaustedError as exc:
        _error(_unreachable(exc, client))
        return 1
    except PyarnError as exc:
        _error(_first_line(exc))
        return 1
    finally:
        if client is not None:
            client.close()


def _exit_status(result: Any) -> int:
    return result if isinstance(result, int) else 0


def _connect(conf_dir: Optional[str]) -> Client:
    from .client import Client
    from .conf import Configuration, rm_addresses
    from .ipc import RetryPolicy

    conf = Configuration.load(conf_dir)
    attempts = FAILOVER_ROUNDS * len(rm_addresses(conf))
    policy = RetryPolicy(max_attempts=attempts, sleep_base=0.2, sleep_max=1.0)
    return Client(conf=conf, retry_policy=policy)


def _error(message: str) -> None:
    print(f"pyarn: error: {message}", file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _unreachable(exc: FailoverExhaustedError, client: Optional[Client]) -> str:
    last = exc.attempts[-1][1] if exc.attempts else None
    reason = f"; last error: {_first_line(last)}" if last is not None else ""
    conf_dir = client.conf.source_dir if client is not None else None
    where = (f"configuration directory {conf_dir}" if conf_dir is not None else
             "no Hadoop configuration directory found (YARN_CONF_DIR, HADOOP_CONF_DIR, HADOOP_HOME)")
    return f"no ResourceManager answered (tried {', '.join(exc.addresses)}{reason}); {where}"


# ------------------------------------------------------------------ commands


def _application_ls(args: argparse.Namespace, client: Client) -> None:
    states = APPLICATION_STATES if args.all else args.states
    reports = client.get_applications(states=states, name=args.name, user=args.user, queue=args.queue)
    if args.json:
        _print_json([_plain(r) for r in reports])
        return
    rows = []
    for r in reports:
        usage = r.usage
        rows.append([r.id, r.name, r.user, r.queue, r.state, r.final_status,
                     _count(usage.num_used_containers if usage else None),
                     _count(usage.used_resources.vcores if usage else None),
                     _mib(usage.used_resources.memory if usage else None),
                     _duration(r.runtime)])
    print(format_table(["APPLICATION_ID", "NAME", "USER", "QUEUE", "STATE", "STATUS", "CONTAINERS", "VCORES",
                        "MEMORY", "RUNTIME"], rows))


def _application_status(args: argparse.Namespace, client: Client) -> None:
    r = client.application_report(args.app_id)
    if args.json:
        _print_json(_plain(r))
        return
    usage = r.usage
    print(format_fields([
        ("Application ID", r.id), ("Name", r.name), ("Type", r.application_type), ("User", r.user),
        ("Queue", r.queue), ("Priority", r.priority), ("Tags", ",".join(sorted(r.tags))),
        ("State", r.state), ("Final status", r.final_status), ("Progress", f"{r.progress:.0%}"),
        ("Started", _time(r.start_time)), ("Finished", _time(r.finish_time)),
        ("Runtime", _duration(r.runtime)),
        ("Containers", _count(usage.num_used_containers if usage else None)),
        ("Memory", _mib(usage.used_resources.memory if usage else None)),
        ("Vcores", _count(usage.used_resources.vcores if usage else None)),
        ("Master", f"{r.host}:{r.port}" if r.host and r.port > 0 else r.host),
        ("Current attempt", r.current_attempt_id), ("Tracking URL", r.tracking_url),
        ("Diagnostics", r.diagnostics),
    ]))


def _application_kill(args: argparse.Namespace, client: Client) -> None:
    client.kill_application(args.app_id)


def _application_mv(args: argparse.Namespace, client: Client) -> None:
    client.move_application(args.app_id, args.queue)


def _application_submit(args: argparse.Namespace, client: Client) -> int:
    from .errors import PyarnError
    from .spec import SpecError
    from .submit import clean_up
    from .yarn.records import FinalStatus

    if args.python:
        client.python = args.python
    try:
        app_id = client.submit(args.spec, rm_delegation_token=args.rm_delegation_token)
    except SpecError as exc:
        raise PyarnError(f"{args.spec}: {exc}") from None
    print(app_id, flush=True)
    if not args.wait:
        return 0
    report = client.wait_for_completion(app_id)
    clean_up(client, app_id)
    print(format_fields([("State", report.state), ("Final status", report.final_status),
                         ("Diagnostics", (report.diagnostics or "").strip())]))
    return 0 if report.final_status is FinalStatus.SUCCEEDED else 1


def _application_shutdown(args: argparse.Namespace, client: Client) -> None:
    with _app(args, client) as app:
        app.shutdown(args.status, args.diagnostics)


def _app(args: argparse.Namespace, client: Client) -> ApplicationClient:
    """The running application ``args.app_id`` names."""
    if args.app_id == CURRENT_APP:
        from .app_client import ApplicationClient

        return ApplicationClient.from_current()
    return client.connect(args.app_id)


def _container_ls(args: argparse.Namespace, client: Client) -> None:
    states = CONTAINER_STATES if args.all else args.states
    with _app(args, client) as app:
        containers = app.get_containers(services=args.services, states=states)
    if args.json:
        _print_json([{"id": c.id, **_plain(c)} for c in containers])
        return
    rows = [[c.id, c.service_name, c.state, c.yarn_container_id, c.yarn_node_id, _duration(c.runtime),
             c.exit_status if c.exit_status is not None else ""] for c in containers]
    print(format_table(["ID", "SERVICE", "STATE", "YARN_CONTAINER_ID", "NODE", "RUNTIME", "EXIT"], rows))


def _container_kill(args: argparse.Namespace, client: Client) -> None:
    with _app(args, client) as app:
        app.kill_container(args.id)


def _container_scale(args: argparse.Namespace, client: Client) -> None:
    with _app(args, client) as app:
        app.scale(args.service, count=args.number, delta=args.delta)


def _kv_get(args: argparse.Namespace, client: Client) -> None:
    from .errors import PyarnError

    with _app(args, client) as app:
        value = app.kv.wait(args.key) if args.wait else app.kv.get(args.key)
    if value is None:
        raise PyarnError(f"key {args.key!r} is not set")
    sys.stdout.buffer.write(value + b"\n")
    sys.stdout.flush()


def _kv_put(args: argparse.Namespace, client: Client) -> None:
    value = sys.stdin.buffer.read() if args.value is None else args.value.encode("utf-8")
    with _app(args, client) as app:
        app.kv[args.key] = value


def _kv_del(args: argparse.Namespace, client: Client) -> None:
    from .errors import PyarnError

    with _app(args, client) as app:
        if not app.kv.discard(args.key):
            raise PyarnError(f"key {args.key!r} is not set")


def _kv_ls(args: argparse.Namespace, client: Client) -> None:
    with _app(args, client) as app:
        keys = app.kv.list_keys(prefix=args.prefix)
    if keys:
        print("\n".join(sorted(keys)))


def _node_ls(args: argparse.Namespace, client: Client) -> None:
    nodes = client.get_nodes(states=args.states)
    if args.json:
        _print_json([_plain(n) for n in nodes])
        return
    rows = [[n.id, n.state, n.num_containers,
             f"{n.used_resources.memory}/{_mib(n.total_resources.memory)}",
             f"{n.used_resources.vcores}/{n.total_resources.vcores}",
             n.rack_name, n.http_address, ",".join(sorted(n.labels))] for n in nodes]
    headers = ["NODE_ID", "STATE", "CONTAINERS", "MEMORY", "VCORES", "RACK", "HTTP_ADDRESS", "LABELS"]
    print(format_table(headers, rows))


def _queue(args: argparse.Namespace, client: Client) -> None:
    if args.name is None:
        queues = client.get_all_queues()
        if args.json:
            _print_json([_plain(q) for q in queues])
            return
        rows = [[q.name, q.state, _percent(q.capacity), _percent(q.max_capacity), _percent(q.percent_used),
                 _count(q.statistics.num_apps_running if q.statistics else None),
                 _count(q.statistics.num_apps_pending if q.statistics else None)] for q in queues]
        headers = ["QUEUE", "STATE", "CAPACITY", "MAX_CAPACITY", "USED", "RUNNING", "PENDING"]
        print(format_table(headers, rows))
        return
    q = client.get_queue(args.name)
    if args.json:
        _print_json(_plain(q))
        return
    stats = q.statistics
    print(format_fields([
        ("Queue", q.name), ("Path", q.queue_path), ("State", q.state), ("Capacity", _percent(q.capacity)),
        ("Maximum capacity", _percent(q.max_capacity)), ("Used", _percent(q.percent_used)),
        ("Running applications", stats.num_apps_running if stats else None),
        ("Pending applications", stats.num_apps_pending if stats else None),
        ("Allocated", f"{_mib(stats.allocated_memory)}, {stats.allocated_vcores} vcores" if stats else None),
        ("Available", f"{_mib(stats.available_memory)}, {stats.available_vcores} vcores" if stats else None),
        ("Node labels", ",".join(sorted(q.node_labels))), ("Default node label", q.default_node_label),
    ]))


# ----------------------------------------------------------------- formatting


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart; None prints as empty."""
    cells = [list(headers)] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def format_fields(fields: Iterable[Sequence[Any]]) -> str:
    """``Label: value`` lines with the values aligned; fields whose value is None or empty are left out."""
    shown = [(label, str(value)) for label, value in fields if value is not None and str(value) != ""]
    width = max((len(label) for label, _ in shown), default=0) + 1
    return "\n".join(f"{label + ':':<{width}} {value}" for label, value in shown)


def _count(value: Optional[int]) -> str:
    return "" if value is None or value < 0 else str(value)  # the RM sends -1 for "not known"


def _mib(value: Optional[int]) -> str:
    return "" if value is None or value < 0 else f"{value} MiB"


def _percent(value: Optional[float]) -> str:
    return "" if value is None else f"{value:.1f}%"


def _time(value: Optional[datetime]) -> Optional[str]:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(value: timedelta) -> str:
    """``2d 3h``, ``3h 4m``, ``4m 5s``, ``5s``: the two largest units."""
    seconds = max(int(value.total_seconds()), 0)
    parts: List[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def _print_json(value: Any) -> None:
    import json

    print(json.dumps(value, indent=2))


def _plain(value: Any) -> Any:
    """A record as JSON-ready data: ids as their strings, enums as names, times in ISO 8601.
    Tokens are left out: their passwords are secrets."""
    import enum
    from datetime import datetime

    import attrs

    from .yarn import ids

    if isinstance(value, (ids.ApplicationId, ids.ApplicationAttemptId, ids.ContainerId, ids.NodeId)):
        return str(value)
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))
                if not f.name.endswith("_token")}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
