"""``python -m codegen [--check] | verify REFDIR``."""
from __future__ import annotations

import argparse
import sys

from . import generate, protoc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a generated file is stale instead of writing it")
    sub = parser.add_subparsers(dest="command")
    v = sub.add_parser("verify", help="compare our definitions with Hadoop's reference .proto files")
    v.add_argument("refdir", help="folder holding Hadoop's .proto files (searched recursively)")
    args = parser.parse_args(argv)

    try:
        if args.command == "verify":
            from . import verify

            differences = verify.verify(args.refdir)
            for line in differences:
                print(line)
            print(f"{len(differences)} difference(s)")
            return 1 if differences else 0
        if args.check:
            problems = generate.stale()
            for line in problems:
                print(line)
            if problems:
                print("generated code is stale: run `python -m codegen`", file=sys.stderr)
                return 1
            print("generated code is up to date")
            return 0
        for name in generate.write():
            print(f"wrote {name}")
        return 0
    except FileNotFoundError as exc:
        print(f"python -m codegen: {exc}", file=sys.stderr)
        return 2
    except protoc.ProtocError as exc:
        print(f"protoc failed:\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
