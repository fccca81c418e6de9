"""``python -m benchmarks <suite> [options]``: run one benchmark suite and print its table."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

from benchmarks import abm, engine, experiments, optimize

# Each suite module provides HELP, add_arguments(parser) and run(args) -> exit code.
SUITES: dict[str, ModuleType] = {"engine": engine, "abm": abm, "optimize": optimize, "experiments": experiments}


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per suite, with the options every suite shares."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quick", action="store_true", help="shrink everything for a smoke test (about a minute)")
    common.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run one benchmark suite of riskmodel and print its table (see benchmarks/README.md).",
    )
    suites = parser.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for name, module in SUITES.items():
        sub = suites.add_parser(name, parents=[common], help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
