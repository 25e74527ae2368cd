"""``pyarn fs``: ls, put, get, cat, mkdir, rm, mv and stat on HDFS.

:func:`add_parser` adds the ``fs`` command to a ``pyarn`` sub-parser set and
:func:`run` runs a parsed command; ``python -m pyarn.hdfs.cli`` runs it
alone (:func:`main`). ``ls`` prints what Hadoop's ``hdfs dfs -ls`` prints.
``put`` and ``get`` draw a progress bar when stderr is a terminal: a dozen
lines here rather than a dependency (tqdm would do it, but one carriage-return
line is all these two commands need). Imports stay lazy: building the parser
loads no protobuf.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Sequence, TextIO

if TYPE_CHECKING:
    from .filesystem import HDFS
    from .namenode import FileStatus

__all__ = ["add_parser", "run", "main", "format_ls", "LsFormatter", "human_size", "ProgressBar"]

#: The CLI fails fast: two rounds over the NameNodes, not Hadoop's 15 attempts.
FAILOVER_ROUNDS = 2


# ---------------------------------------------------------------------- parser


_DESCRIPTION = "List, copy, move and delete files on HDFS. Relative paths start at the home directory."


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``fs`` and its actions to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    fs = subparsers.add_parser("fs", help="work with files on HDFS", description=_DESCRIPTION)
    _add_actions(fs)
    return fs


def _add_actions(fs: argparse.ArgumentParser) -> None:
    actions = fs.add_subparsers(dest="fs_action", metavar="ACTION", required=True)

    ls = actions.add_parser("ls", help="list directories", description="List files as `hdfs dfs -ls` does.")
    ls.add_argument("-d", dest="directory", action="store_true", help="list directories as plain files")
    ls.add_argument("-R", dest="recursive", action="store_true", help="list subdirectories recursively")
    ls.add_argument("-H", "--human", dest="human", action="store_true",
                    help="sizes in human-readable form (1.5 K, 3 M)")
    ls.add_argument("paths", nargs="*", metavar="PATH", help="default: the home directory")
    ls.set_defaults(fs_run=_ls)

    put = actions.add_parser("put", help="copy local files to HDFS",
                             description="Copy local files or directories to HDFS ('-' reads stdin). "
                                         "Each file appears only once complete.")
    put.add_argument("-f", dest="force", action="store_true", help="replace existing files")
    put.add_argument("--block-size", type=int, metavar="BYTES", help="block size of the new files")
    put.add_argument("--replication", type=int, metavar="N", help="replication of the new files")
    _add_quiet(put)
    put.add_argument("sources", nargs="+", metavar="LOCAL")
    put.add_argument("target", metavar="REMOTE")
    put.set_defaults(fs_run=_put)

    get = actions.add_parser("get", help="copy HDFS files to the local disk",
                             description="Copy HDFS files or directories to the local disk.")
    get.add_argument("-f", dest="force", action="store_true", help="replace existing files")
    _add_quiet(get)
    get.add_argument("sources", nargs="+", metavar="REMOTE")
    get.add_argument("target", metavar="LOCAL")
    get.set_defaults(fs_run=_get)

    cat = actions.add_parser("cat", help="print files", description="Write files to standard output.")
    cat.add_argument("paths", nargs="+", metavar="PATH")
    cat.set_defaults(fs_run=_cat)

    mkdir = actions.add_parser("mkdir", help="make directories", description="Make directories.")
    mkdir.add_argument("-p", dest="parents", action="store_true",
                       help="make parents as needed; no error if the directory exists")
    mkdir.add_argument("paths", nargs="+", metavar="PATH")
    mkdir.set_defaults(fs_run=_mkdir)

    rm = actions.add_parser("rm", help="delete files", description="Delete files at once (no trash).")
    rm.add_argument("-r", "-R", dest="recursive", action="store_true",
                    help="delete directories and their contents")
    rm.add_argument("-f", dest="force", action="store_true", help="no error when a path does not exist")
    rm.add_argument("paths", nargs="+", metavar="PATH")
    rm.set_defaults(fs_run=_rm)

    mv = actions.add_parser("mv", help="move or rename", description="Move or rename files and directories.")
    mv.add_argument("sources", nargs="+", metavar="SRC")
    mv.add_argument("target", metavar="DST")
    mv.set_defaults(fs_run=_mv)

    stat = actions.add_parser("stat", help="show file status", description="Show what the NameNode says "
                                                                            "about paths.")
    stat.add_argument("--json", action="store_true", help="print JSON for scripts")
    stat.add_argument("paths", nargs="+", metavar="PATH")
    stat.set_defaults(fs_run=_stat)


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


# ---------------------------------------------------------------------- running


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``fs`` command; returns the exit status (errors are printed, one line each)."""
    from ..errors import FailoverExhaustedError, PyarnError

    fs = None
    try:
        fs = _connect(getattr(args, "conf_dir", None))
        return args.fs_run(args, fs)
    except FailoverExhaustedError as exc:
        last = exc.attempts[-1][1] if exc.attempts else None
        reason = f"; last error: {_first_line(last)}" if last is not None else ""
        _error(f"no NameNode answered (tried {', '.join(exc.addresses)}{reason})")
    except (PyarnError, OSError, ValueError) as exc:
        _error(_describe(exc))
    finally:
        if fs is not None:
            fs.close()
    return 1


def _connect(conf_dir: Optional[str]) -> HDFS:
    from ..conf import Configuration, namenode_addresses
    from ..ipc import RetryPolicy
    from .filesystem import HDFS

    conf = Configuration.load(conf_dir)
    fs_uri = conf.get_str("fs.defaultFS")
    if not fs_uri.lower().startswith("hdfs://"):
        raise ValueError(f"the default file system is {fs_uri!r}, not HDFS (fs.defaultFS)")
    attempts = FAILOVER_ROUNDS * len(namenode_addresses(conf).namenodes)
    return HDFS(conf=conf, retry_policy=RetryPolicy(max_attempts=attempts, sleep_base=0.2, sleep_max=1.0))


def _error(message: str) -> None:
    print(f"pyarn: error: {message}", file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _describe(exc: BaseException) -> str:
    """One line for an error: built-in OSErrors as ``path: reason``, others by their message."""
    from ..errors import PyarnError

    if isinstance(exc, OSError) and not isinstance(exc, PyarnError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return _first_line(exc)


def _each(paths: Sequence[str], action: Callable[[str], None]) -> int:
    """Run ``action`` on every path; report each failure and go on, as FsShell does."""
    from ..errors import PyarnError

    status = 0
    for path in paths:
        try:
            action(path)
        except (PyarnError, OSError, ValueError) as exc:
            _error(_describe(exc))
            status = 1
    return status


# ---------------------------------------------------------------------- ls


def human_size(size: int) -> str:
    """Hadoop's ``TraditionalBinaryPrefix.long2String(size, "", 1)``: ``500``, ``1 K``, ``1.5 M``."""
    if size < 1024:
        return str(size)
    symbols = "KMGTPE"
    index = min((size.bit_length() - 1) // 10, len(symbols)) - 1
    shift = 10 * (index + 1)
    if size & ((1 << shift) - 1) == 0:
        return f"{size >> shift} {symbols[index]}"
    text = f"{size / (1 << shift):.1f}"
    if text.startswith("1024") and index + 1 < len(symbols):
        index += 1
        text = f"{size / (1 << (shift + 10)):.1f}"
    return f"{text} {symbols[index]}"


class LsFormatter:
    """Lines as Hadoop's ``Ls`` command prints them; column widths only grow, as in Java."""

    def __init__(self, human: bool = False) -> None:
        self.human = human
        self.replication_width, self.length_width, self.owner_width, self.group_width = 3, 10, 0, 0

    def widen(self, entries: Sequence[FileStatus]) -> None:
        for entry in entries:
            self.replication_width = max(self.replication_width, len(str(entry.replication)))
            self.length_width = max(self.length_width, len(str(entry.length)))
            self.owner_width = max(self.owner_width, len(entry.owner))
            self.group_width = max(self.group_width, len(entry.group))

    def line(self, entry: FileStatus, shown_as: str) -> str:
        replication = str(entry.replication) if entry.is_file else "-"
        size = human_size(entry.length) if self.human else str(entry.length)
        owner = f"{entry.owner:<{self.owner_width}} " if self.owner_width else entry.owner
        group = f"{entry.group:<{self.group_width}} " if self.group_width else entry.group
        when = entry.modification_time.astimezone().strftime("%Y-%m-%d %H:%M")
        return (f"{'d' if entry.is_dir else '-'}{entry.permission_string}{'+' if entry.acl else ' '}"
                f"{replication:>{self.replication_width}} {owner}{group}{size:>{self.length_width}} "
                f"{when} {shown_as}")


def _display(arg: str) -> str:
    """How FsShell shows a path argument: slashes collapsed, no trailing slash."""
    from .paths import split_uri

    scheme, authority, path = split_uri(arg)
    collapsed = "/".join(part for i, part in enumerate(path.split("/")) if part or i == 0) or "/"
    if path.startswith("/") and not collapsed.startswith("/"):
        collapsed = "/" + collapsed
    if scheme is None:
        return collapsed
    return f"{scheme}://{authority}{collapsed}" if authority is not None else f"{scheme}:{collapsed}"


def _child(shown_parent: str, name: str) -> str:
    if shown_parent == ".":
        return name
    return shown_parent + name if shown_parent.endswith("/") else f"{shown_parent}/{name}"


def format_ls(fs: HDFS, args: Sequence[str], directory: bool = False, recursive: bool = False,
              human: bool = False) -> Iterator[str]:
    """The lines ``hdfs dfs -ls`` prints for ``args``; a missing path raises ``FileNotFoundError``
    when its turn comes (earlier lines are out by then)."""
    formatter = LsFormatter(human)
    for arg in args or ["."]:
        status = fs.stat(arg)
        shown = _display(arg)
        if status.is_dir and not directory:
            yield from _ls_dir(fs, formatter, status.path, shown, recursive)
        else:
            formatter.widen([status])
            yield formatter.line(status, shown)


def _ls_dir(fs: HDFS, formatter: LsFormatter, path: str, shown: str, recursive: bool) -> Iterator[str]:
    entries = list(fs.namenode.list_directory(path))
    if not entries:
        return
    if not recursive:
        yield f"Found {len(entries)} items"
    formatter.widen(entries)
    for entry in entries:
        child = _child(shown, entry.name)
        yield formatter.line(entry, child)
        if recursive and entry.is_dir:
            yield from _ls_dir(fs, formatter, entry.path, child, recursive)


def _ls(args: argparse.Namespace, fs: HDFS) -> int:
    out = sys.stdout

    def one(arg: str) -> None:
        for line in format_ls(fs, [arg], args.directory, args.recursive, args.human):
            out.write(line + "\n")

    return _each(args.paths or ["."], one)


# ---------------------------------------------------------------------- transfers


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class ProgressBar:
    """A one-line progress bar on ``stream``: ``label [#####     ]  50%  512.0 MiB / 1.0 GiB  210.3 MiB/s``.

    Call it with ``(done, total)``; it redraws at most every ``interval`` seconds.
    """

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 30,
                 interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.interval = interval
        self._clock = clock
        self._start = clock()
        self._last = -interval
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        fraction = done / total if total else 1.0
        filled = int(fraction * self.width)
        rate = done / max(now - self._start, 1e-6)
        self.stream.write(f"\r{self.label} [{'#' * filled}{' ' * (self.width - filled)}] {fraction:4.0%}  "
                          f"{_size(done)} / {_size(total)}  {_size(rate)}/s")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the line (if anything was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _progress(args: argparse.Namespace, label: str) -> Optional[ProgressBar]:
    if args.quiet or not sys.stderr.isatty():
        return None
    return ProgressBar(label)


def _transfer(args: argparse.Namespace, copy: Callable[[str, Optional[ProgressBar]], object]) -> int:
    def one(source: str) -> None:
        bar = _progress(args, os.path.basename(source.rstrip("/")) or source)
        try:
            copy(source, bar)
        finally:
            if bar is not None:
                bar.finish()

    return _each(args.sources, one)


def _put(args: argparse.Namespace, fs: HDFS) -> int:
    if "-" in args.sources:
        if len(args.sources) > 1:
            raise ValueError("put: '-' (stdin) must be the only source")
        return _put_stdin(args, fs)
    if len(args.sources) > 1:
        _require_directory(fs, args.target)
    return _transfer(args, lambda source, bar: fs.put(
        source, args.target, overwrite=args.force, progress=bar, block_size=args.block_size,
        replication=args.replication))


def _put_stdin(args: argparse.Namespace, fs: HDFS) -> int:
    import shutil

    with fs.open(args.target, "wb", overwrite=args.force, atomic=True, block_size=args.block_size,
                 replication=args.replication) as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 4 * 1024 * 1024)
    return 0


def _require_directory(fs: HDFS, target: str) -> None:
    status = fs.stat(target)
    if not status.is_dir:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", status.path)


def _get(args: argparse.Namespace, fs: HDFS) -> int:
    if len(args.sources) > 1 and not os.path.isdir(args.target):
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", args.target)
    return _transfer(args, lambda source, bar: fs.get(source, args.target, progress=bar,
                                                       overwrite=args.force))


def _cat(args: argparse.Namespace, fs: HDFS) -> int:
    out = sys.stdout.buffer

    def one(path: str) -> None:
        with fs.open(path) as reader:
            for piece in reader.raw.chunks():
                out.write(piece)
        out.flush()

    return _each(args.paths, one)


# ---------------------------------------------------------------------- namespace


def _mkdir(args: argparse.Namespace, fs: HDFS) -> int:
    def one(path: str) -> None:
        fs.mkdir(path, parents=args.parents)

    return _each(args.paths, one)


def _rm(args: argparse.Namespace, fs: HDFS) -> int:
    def one(path: str) -> None:
        status = fs.namenode.get_file_info(fs.resolve(path))
        if status is None:
            if args.force:
                return
            from .namenode import not_found

            raise not_found(fs.resolve(path))
        if status.is_dir and not args.recursive:
            raise IsADirectoryError(errno.EISDIR, "Is a directory (use -r)", status.path)
        fs.rm(status.path, recursive=args.recursive)

    return _each(args.paths, one)


def _mv(args: argparse.Namespace, fs: HDFS) -> int:
    if len(args.sources) > 1:
        _require_directory(fs, args.target)
    def one(source: str) -> None:
        fs.mv(source, args.target)

    return _each(args.sources, one)


def _stat(args: argparse.Namespace, fs: HDFS) -> int:
    records: List[Dict[str, Any]] = []

    def one(path: str) -> None:
        records.append(_stat_record(fs.stat(path)))

    status = _each(args.paths, one)
    if args.json:
        import json

        print(json.dumps(records if len(args.paths) > 1 else (records[0] if records else None), indent=2))
    else:
        print("\n\n".join(_stat_text(record) for record in records))
    return status


def _stat_record(status: FileStatus) -> Dict[str, Any]:
    return {
        "path": status.path,
        "type": status.type.value,
        "length": status.length,
        "permission": f"{status.permission:04o}",
        "mode": status.mode,
        "owner": status.owner,
        "group": status.group,
        "replication": status.replication,
        "block_size": status.block_size,
        "modification_time": status.modification_time.isoformat(),
        "access_time": status.access_time.isoformat() if status.access_time else None,
        **({"symlink": status.symlink} if status.symlink else {}),
    }


def _stat_text(record: Dict[str, Any]) -> str:
    width = max(len(key) for key in record)
    return "\n".join(f"{key.replace('_', ' '):<{width}}  {'-' if value is None else value}"
                     for key, value in record.items())


# ---------------------------------------------------------------------- main


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m pyarn.hdfs.cli [--conf-dir DIR] ACTION ...``: the ``fs`` command on its own."""
    parser = argparse.ArgumentParser(prog="python -m pyarn.hdfs.cli", description=_DESCRIPTION)
    parser.add_argument("--conf-dir", metavar="DIR",
                        help="Hadoop configuration directory (default: $HADOOP_CONF_DIR, ...)")
    _add_actions(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
