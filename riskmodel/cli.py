"""The ``riskmodel`` command line.

Every command turns bad input into one line on stderr that names the file, the field,
the value and what was expected, and exits with status 2; results are written only once
a run has succeeded, so a failed run leaves what was already in the output folder as it
was.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

import riskmodel
from riskmodel.errors import InputError
from riskmodel.overrides import Override
from riskmodel.runs.spec import WHERE as SPEC
from riskmodel.runs.spec import RunSpec
from riskmodel.scenario import default_scenario_path, packaged_file

try:  # recent typer vendors click: its errors are typer._click's, not click's
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover - typer that uses click itself
    from click import exceptions as click  # type: ignore[no-redef]

LIMITS = {"file": 200, "field": 160, "expected": 300}  # characters of each part of an error line


def _clip(text: object, limit: int) -> str:
    """One line of at most ``limit`` characters: control characters escaped, the middle cut."""
    flat = (
        str(text).encode("unicode_escape", "backslashreplace").decode("ascii")
        if not str(text).isprintable()
        else str(text)
    )
    return flat if len(flat) <= limit else flat[: limit * 2 // 3 - 2] + "..." + flat[-(limit - limit * 2 // 3 - 1) :]


def error_line(file: object, field: str, value: object, expected: str) -> str:
    """The one line that reports bad input: every part shortened, nothing spanning lines."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    where = _clip(file, LIMITS["file"]) + (f": {_clip(field, LIMITS['field'])}" if field else "")
    return f"error: {where}: got {shown}; expected {_clip(expected, LIMITS['expected'])}"


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _option_value(args: Sequence[str], names: Sequence[str]) -> str | None:
    """The text given to an option on the command line (the last one), if any."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif arg.startswith(name + "="):
                found = arg[len(name) + 1 :]
    return found


def usage_error_line(exc: click.ClickException, args: Sequence[str]) -> str:
    """A click usage error (bad value, unknown option or command, missing value, extra
    argument) as one ``error: (command line): ...; expected ...`` line."""
    where = "(command line)"
    message = exc.format_message().strip().removeprefix("Invalid value: ").removeprefix("Value error, ")
    ctx = getattr(exc, "ctx", None)
    command = ctx.command if ctx is not None else None
    known = sorted(o for p in (command.params if command else []) for o in p.opts if o.startswith("--"))
    if isinstance(exc, click.NoSuchOption):
        path = " ".join(["riskmodel", *(ctx.command_path.split()[1:] if ctx else [])])
        options = ", ".join(known) or "none"
        return error_line(where, exc.option_name, exc.option_name, f"an option of {path} ({options})")
    if isinstance(exc, click.BadOptionUsage):
        if "does not take a value" in message:
            given = _option_value(args, [exc.option_name])
            return error_line(where, exc.option_name, given, f"{exc.option_name} alone, without a value (a flag)")
        return error_line(where, exc.option_name, "(missing)", f"a value after {exc.option_name}")
    if isinstance(exc, click.MissingParameter):
        param = exc.param
        name = "(argument)" if param is None else param.opts[0] if param.opts and param.opts[0].startswith("-") else (
            getattr(param, "metavar", None) or str(param.name).upper())  # fmt: skip
        return error_line(where, name, "(missing)", "a value")
    if isinstance(exc, click.BadParameter):
        param = exc.param
        names = list(param.opts) if param is not None else []
        field = names[0] if names and names[0].startswith("-") else (exc.param_hint or "(value)")
        if param is not None and names and not names[0].startswith("-"):
            field = getattr(param, "metavar", None) or str(param.name).upper()
        raw = _option_value(args, names) if names and names[0].startswith("-") else None
        expected = re.sub(r"^Invalid value for [^:]*: ", "", message.split("\n")[0])
        expected = re.sub(r"^'.*?' is not ", "", expected).removeprefix("Input should be ").rstrip(".")
        return error_line(where, field, raw if raw is not None else "(bad value)", expected)
    if isinstance(exc, click.UsageError):
        found = re.match(r"No such command '(.*)'", message)
        if found:
            commands = sorted(command.list_commands(ctx)) if hasattr(command, "list_commands") and ctx else []
            return error_line(where, "COMMAND", found.group(1), f"one of {', '.join(commands)}")
        found = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
        if found:
            return error_line(where, "(arguments)", found.group(1), "no more arguments (see --help)")
        return error_line(where, "(usage)", message.split("\n")[0], "a valid command line (see riskmodel --help)")
    if isinstance(exc, click.FileError):
        return error_line(exc.ui_filename, "", exc.message or "(unreadable)", "a readable file")
    return error_line(where, "", message.split("\n")[0], "a valid command line (see riskmodel --help)")


class OneLineGroup(TyperGroup):
    """The command group that turns click's usage errors (multi-line panels) into one line
    on stderr and exit status 2, in-process (CliRunner) and from the console script alike."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        given = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(given, prog_name, complete_var, standalone_mode=False, **extra)
        except getattr(click, "NoArgsIsHelpError", ()) as exc:
            text = exc.format_message()  # the help (rich help is printed as it is made)
            if text.strip():
                print(text)
            code = exc.exit_code
        except click.ClickException as exc:
            _say(usage_error_line(exc, given))
            code = 2
        except typer.Abort:
            _say(error_line("(command line)", "", "(interrupted)", "a run left to finish"))
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineGroup,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="IT-failure risk in critical infrastructure: losses, acceptable risk, countermeasures.",
)
scenario_app = typer.Typer(no_args_is_help=True, help="Show, check or export scenario files.")
app.add_typer(scenario_app, name="scenario")
experiment_app = typer.Typer(no_args_is_help=True, help="Batches of runs over levers and uncertainties: run, resume, "
                             "inspect, export and analyse them.")  # fmt: skip
app.add_typer(experiment_app, name="experiment")
console = Console(width=None if sys.stdout.isatty() else 150)
errors = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., object])

ScenarioOption = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario TOML file or packaged name (default: the packaged Japan scenario)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a scenario field: PATH=VALUE sets it, PATH*=FACTOR scales it "
        "(e.g. 'threats[id=ddos].frequency.rate*=1.1'); repeatable.",
    ),
]
# run-spec fields that a command-line flag of another name sets
FLAGS = {"size": "--years", "seed": "--seed", "portfolio": "--portfolio", "scenario": "--scenario", "out": "--out"}


def _flag(field: str) -> str:
    """The command-line flag of a run-spec field (``options.cvar_max`` -> ``--cvar-max``)."""
    if field in FLAGS:
        return FLAGS[field]
    return "--" + field.removeprefix("options.").replace("_", "-")


def reports_input_errors(command: F) -> F:
    """Print an InputError as one line and exit with status 2; a run-spec field is
    named by the command-line flag that sets it."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            if str(exc.file) == SPEC or exc.field == "out":
                expected = re.sub(r"options\.\w+", lambda m: _flag(m.group(0)), exc.expected)
                exc = InputError("(command line)" if str(exc.file) == SPEC else exc.file, _flag(exc.field),
                                 exc.value, expected)  # fmt: skip
            _say(error_line(exc.file, exc.field, exc.value, exc.expected))
        except OSError as exc:  # the file system refused: a folder that cannot be read or written, a full disk
            where = exc.filename if exc.filename is not None else "(file system)"
            _say(error_line(where, "", exc.strerror or str(exc), "a file or folder that can be read and written"))
        except MemoryError:
            _say(error_line("(command line)", "--years", "(out of memory)", "a smaller run (fewer years, operators)"))
        raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        print(f"riskmodel {riskmodel.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """IT-failure risk in critical infrastructure: losses, acceptable risk, countermeasures."""


def _spec(kind: str, scenario: str | None, settings: list[str] | None, **fields: Any) -> RunSpec:
    """A run spec from a command's options (``--set`` texts parsed into overrides)."""
    overrides = tuple(Override.parse(text) for text in settings or [])
    return RunSpec(kind, scenario=scenario, overrides=overrides, **fields)


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on stderr (when it is a terminal) behind the run API's protocol."""
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield report


def _out(text: str) -> Path:
    """The --out folder (an empty name is refused rather than read as the current folder)."""
    if not text.strip():
        raise InputError("(command line)", "--out", text, "a folder name")
    return Path(text)


def _execute(spec: RunSpec, out: str) -> tuple[Any, list[str]]:
    """Run a spec and write its files into ``out`` (staged: all or nothing, as a set)."""
    from riskmodel.runs.run import prepare, run
    from riskmodel.runs.writers import output_dir, staged, write_files

    folder = _out(out)
    prepare(spec)  # bad input, or a run that cannot fit, is reported before the folder is touched
    folder = output_dir(folder, spec.kind)
    with staged(folder, spec.kind) as stage:
        with _progress() as report:
            result = run(spec, report, stream_to=stage)
        written = write_files(result, stage)
    return result, written


def _money(value: float) -> str:
    return f"{round(value / 1e9, 1) + 0.0:,.1f}"  # + 0.0: no "-0.0"


POSTERIOR_HELP = "Posterior draws file (riskmodel calibrate fit): each block of 1,024 years takes one draw."


@app.command()
@reports_input_errors
def simulate(
    scenario: ScenarioOption = None,
    portfolio: Annotated[str | None, typer.Option(help="Portfolio TOML: measures in place per sector.")] = None,
    years: Annotated[int, typer.Option(help="Simulated years.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    threads: Annotated[int, typer.Option(help="Worker threads (results do not depend on it).")] = 1,
    out: Annotated[str, typer.Option(help="Folder for summary.json, ylt.parquet and the plots.")] = "out",
    elt: Annotated[bool, typer.Option(help="Also write the event loss table, elt.parquet.")] = False,
    set_: SetOption = None,
    posterior: Annotated[str | None, typer.Option(help=POSTERIOR_HELP)] = None,
) -> None:
    """Simulate years of IT failures and their losses; print and save the risk measures."""
    spec = _spec("simulate", scenario, set_, portfolio=portfolio, seed=seed, size=years,
                 options={"threads": threads, "elt": elt, "posterior": posterior})  # fmt: skip
    result, written = _execute(spec, out)
    from riskmodel.engine.kernels import LAYERS

    detail = result.detail
    table = Table(title=f"{detail.world.name}: {years:,} years, seed {seed} (billion yen a year)")
    for name in ("sector", "failures/yr", "AAL", "± SE", "own", "users", "others", "external", "TVaR 99%"):
        table.add_column(name, justify="left" if name == "sector" else "right")
    table.add_column("acceptability")
    for row in result.tables["sectors"].to_dict("records"):
        money = [_money(row[k]) for k in ("aal", "aal_se", *LAYERS, "external", "tvar_0.99")]
        table.add_row(row["sector"], f"{row['failures_per_year']:,.1f}", *money, row["acceptability"])
    console.print(table)
    if posterior:
        total = result.detail.split["aal"]["total"]
        low, high = total["interval_90"]
        console.print(f"AAL {_money(total['aal'])} bn yen a year, 90% interval {_money(low)}-{_money(high)}: "
                      f"Monte Carlo SE {_money(total['monte_carlo_se'])}, parameter SD "
                      f"{_money(total['parameter_sd'])}")  # fmt: skip
    console.print(f"wrote {out}/{', '.join(written)}")


@app.command()
@reports_input_errors
def abm(
    scenario: ScenarioOption = None,
    portfolio: Annotated[str | None, typer.Option(help="Portfolio TOML: measures in place at the start.")] = None,
    years: Annotated[int | None, typer.Option(help="Fiscal years to run (default: the scenario's horizon).")] = None,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    replications: Annotated[int, typer.Option(help="Runs on independent streams (replication 0 on --seed); "
                                              "figures are their means with 95% intervals.")] = 1,
    out: Annotated[str, typer.Option(help="Folder for abm_summary.json, the Parquet tables, the plot.")] = "out",
    set_: SetOption = None,
    posterior: Annotated[str | None, typer.Option(help="Posterior draws file (riskmodel calibrate fit): "
                                                  "replication r runs on draw r mod D.")] = None,
) -> None:
    """Run the agent model day by day through the fiscal years; print and save its series."""
    spec = _spec("abm", scenario, set_, portfolio=portfolio, seed=seed, size=years,
                 options={"replications": replications, "posterior": posterior})  # fmt: skip
    result, written = _execute(spec, out)
    from riskmodel.engine.kernels import LAYERS
    from riskmodel.runs.abm import summary

    document = summary(result.detail)
    over = document["replications"]
    intervals = over.get("fiscal_years")
    title = f"seed {seed}" if intervals is None else f"mean of {over['count']} replications (± half the 95% interval)"
    table = Table(title=f"{document['scenario']}: agent model, {title} (failures a year, billion yen a year)")
    for name in ("fiscal year", "failures", "reported", "own", "users", "others", "mandatory", "compliance",
                 "spend", "bots (m)", "anxious", "target"):  # fmt: skip
        table.add_column(name, justify="right")
    for year, row in document["fiscal_years"].items():
        spread = intervals[year] if intervals is not None else None

        def cell(path: tuple[str, ...], shown: Callable[[float], str], row=row, spread=spread) -> str:
            """A figure, or its mean over the replications ± half its interval's width."""
            if spread is None:
                value = row
                for key in path:
                    value = value[key]
                return shown(value)
            stats = spread
            for key in path:
                stats = stats.get(key) if stats is not None else None
            if stats is None:
                return ""
            if stats["ci_high"] is None:
                return shown(stats["mean"])
            return f"{shown(stats['mean'])} ± {shown((stats['ci_high'] - stats['ci_low']) / 2)}"

        target = row["anxious_target"]
        table.add_row(
            year,
            cell(("true_failures",), lambda v: f"{v:,.0f}"),
            cell(("reported_failures",), lambda v: f"{v:,.0f}"),
            *(cell(("loss", layer), _money) for layer in LAYERS),
            cell(("mandatory_measures",), lambda v: f"{v:,.0f}" if intervals is None else f"{v:,.1f}"),
            cell(("compliance",), lambda v: f"{v:.2f}"),
            cell(("security_spend",), _money),
            cell(("botnet_size",), lambda v: f"{v / 1e6:.2f}"),
            cell(("anxious_share",), lambda v: f"{v:.1%}"),
            f"{target:.1%}" if target is not None else "",
        )
    console.print(table)
    drawn = over.get("posterior")
    if drawn is not None:
        console.print(f"replications ran on {drawn['draws_used']} of {drawn['draws']} posterior draws: "
                      "the intervals carry parameter as well as Monte Carlo uncertainty")  # fmt: skip
        split = drawn["variance_split"]
        for key in ("loss.total.own", "security_spend", "targets_missed") if split else ():
            parts = split[key]
            if parts is not None and parts["parameter_share"] is not None:
                console.print(f"  {key}: {parts['parameter_share']:.0%} of its variance across draws, "
                              f"{1 - parts['parameter_share']:.0%} within")  # fmt: skip
    console.print(f"wrote {out}/{', '.join(written)}")


def _mode(sector: str | None, partial: bool, society: bool) -> str:
    """The mode from the mutually exclusive --sector / --partial / --society (default society)."""
    given = [name for name, on in (("--sector", sector is not None), ("--partial", partial), ("--society", society))
             if on]  # fmt: skip
    if len(given) > 1:
        raise InputError("(command line)", " and ".join(given), "both", "one mode: --sector ID, --partial or --society")
    return "sector" if sector is not None else "partial" if partial else "society"


def _print_optimum(result) -> None:
    """The readable tables: per sector, then totals and (society mode) the comparison."""
    table = Table(title=f"{result.world.name}: {result.settings.mode} optimum, {result.settings.years:,} years, "
                  f"seed {result.settings.seed} (billion yen a year; own loss: what the operators bear, all loss: "
                  "every layer; out of sample with its 95% CI)")  # fmt: skip
    counted = "own loss" if result.settings.mode != "society" else "all loss"  # the own layer; all layers
    for name in ("sector", "measures", "cost", f"{counted} before", f"{counted} after", "CVaR / bar", "F-N ratio"):
        table.add_column(name, justify="left" if name == "sector" else "right")
    table.add_column("out of sample", justify="right")
    table.add_column("acceptability")
    rows = result.sector_table().to_dict("records")
    for row in rows:
        ci = f"{_money(row['oos_expected_loss'])} ({_money(row['oos_ci_low'])}-{_money(row['oos_ci_high'])})"
        table.add_row(
            row["sector"],
            str(len(row["measures"])),
            _money(row["cost"]),
            _money(row["expected_loss_unmitigated"]),
            _money(row["expected_loss"]),
            f"{_money(row['cvar'])} / {_money(row['cvar_max'])}",
            f"{row['fn_ratio']:.2f}",
            ci,
            row["acceptability"] + ("" if row["oos_meets_bar"] else "; bar broken out of sample"),
        )
    console.print(table)
    for row in rows:
        console.print(f"{row['sector']}: {', '.join(row['measures']) or '(none)'}")
    oos, gap = result.out_of_sample, result.gap
    console.print(f"objective (annual cost + expected counted loss): {_money(result.objective)} bn yen a year")
    if result.status == "time_limit":
        worst = max(p.solution.gap for p in result.problems)
        console.print(f"stopped at the time limit: the best portfolio found, within {worst:.3%} of the optimum")
    console.print(
        f"out of sample ({oos.years:,} fresh engine years): {_money(oos.total[0])} bn yen a year "
        f"(95% CI {_money(oos.total[2])}-{_money(oos.total[3])})"
    )
    if gap is not None:
        console.print(
            f"optimality gap (Mak-Morton-Wood, {len(gap.batches)} batches of {gap.years:,} years, their bars "
            f"relaxed, so an upper bound): {_money(gap.estimate)} bn yen a year, 95% upper bound {_money(gap.ci_upper)}"
            + (f"; the portfolio breaks a bar in {gap.violating} batch(es)" if gap.violating else "")
        )
    if result.comparison is not None:
        frame = result.comparison[result.comparison["sector"] == "total"].set_index("portfolio")
        comparison = Table(title="partial (each sector's own losses) against society (all layers): same constraints, "
                           "same years (billion yen a year)")  # fmt: skip
        for name in ("portfolio", "cost", "own", "users", "others", "external", "social cost"):
            comparison.add_column(name, justify="left" if name == "portfolio" else "right")
        for name in ("partial", "society"):
            row = frame.loc[name]
            cells = [_money(row[k]) for k in ("cost", "own", "users", "others", "external", "social_cost")]
            comparison.add_row(name, *cells)
        console.print(comparison)
        price = frame.loc["partial", "social_cost"] - frame.loc["society", "social_cost"]
        console.print(f"price of externalities (social cost, partial - society): {_money(price)} bn yen a year "
                      "on the SAA years")  # fmt: skip
        if result.externality is not None:
            fresh = result.externality
            console.print(f"  out of sample ({fresh.years:,} fresh engine years, paired): {_money(fresh.mean)} "
                          f"bn yen a year (95% CI {_money(fresh.ci_low)}-{_money(fresh.ci_high)})")  # fmt: skip
    if result.instruments is not None:
        _print_instruments(result.instruments)


def _print_instruments(frame) -> None:
    """What makes each sector's operators choose society's portfolio, and its price."""
    table = Table(title="instruments that close each sector's gap (billion yen a year; changes against the sector's "
                  "own optimum; out of sample, paired, with 95% CI)")  # fmt: skip
    for name in ("sector", "instrument", "setting", "society's?", "operators", "state", "social cost",
                 "social cost out of sample"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("sector", "instrument", "setting") else "right")
    for row in frame.to_dict("records"):
        oos = (f"{_money(row['oos_social_cost'])} ({_money(row['oos_social_cost_ci_low'])} to "
               f"{_money(row['oos_social_cost_ci_high'])})")  # fmt: skip
        money = [_money(row[k]) for k in ("operator_cost", "state_cost", "social_cost")]
        reproduces = "yes" if row["reproduces"] else "no"
        table.add_row(row["sector"], row["instrument"], row["setting"], reproduces, *money, oos)
    console.print(table)


def _print_robustness(result) -> None:
    """The robust portfolio against the one chosen at the posterior means, across draws."""
    from riskmodel.engine.simulate import BLOCK_YEARS
    from riskmodel.optimize.run import saa_draws

    frame = result.robustness
    table = Table(title=f"robust (SAA years across {saa_draws(result)} posterior draws) against the portfolio chosen "
                  f"at the posterior means: out of sample, each block of {BLOCK_YEARS:,} fresh years under its draw, "
                  f"{int(frame['draws'].iloc[0])} draws, paired (billion yen a year; 95% intervals)")  # fmt: skip
    for name in ("sector", "social cost robust", "at means", "robust - means", "P(acceptable) robust", "at means"):
        table.add_column(name, justify="left" if name == "sector" else "right")
    rows = frame.set_index(["sector", "figure"])
    for sector in dict.fromkeys(frame["sector"]):
        money, share = rows.loc[(sector, "social_cost")], rows.loc[(sector, "acceptable")]
        table.add_row(
            sector, _money(money["robust"]), _money(money["posterior_mean"]),
            f"{_money(money['robust_minus_mean'])} ({_money(money['robust_minus_mean_ci_low'])} to "
            f"{_money(money['robust_minus_mean_ci_high'])})",
            *(f"{share[k]:.2f} ({share[k + '_ci_low']:.2f}-{share[k + '_ci_high']:.2f})"
              for k in ("robust", "posterior_mean")),
        )  # fmt: skip
    console.print(table)
    total = rows.loc[("total", "social_cost")]
    low, high = _money(-total["robust_minus_mean_ci_high"]), _money(-total["robust_minus_mean_ci_low"])
    console.print(f"value of robustness (social cost at the posterior means minus robust): "
                  f"{_money(-total['robust_minus_mean'])} bn yen a year (95% CI {low} to {high})")  # fmt: skip
    if result.settings.mode != "society":  # the objective counts the own layer: say what the run minimised too
        own = rows.loc[("total", "objective")]
        low, high = _money(own["robust_minus_mean_ci_low"]), _money(own["robust_minus_mean_ci_high"])
        console.print(f"objective (cost + own loss), robust - means: {_money(own['robust_minus_mean'])} bn yen a year "
                      f"(95% CI {low} to {high})")  # fmt: skip


OPTIMIZE_POSTERIOR_HELP = ("Posterior draws file (riskmodel calibrate fit): each block of 1,024 SAA and fresh years "
                           "takes one draw (needs --years and --eval-years of at least 2,048); compares the robust "
                           "portfolio with the one chosen at the posterior means (robustness.csv).")  # fmt: skip


@app.command()
@reports_input_errors
def optimize(
    scenario: ScenarioOption = None,
    sector: Annotated[str | None, typer.Option(help="Optimise one critical sector, counting its own losses.")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="Optimise every critical sector alone.")] = False,
    society: Annotated[
        bool, typer.Option("--society", help="Optimise all sectors jointly, every layer (the default mode).")
    ] = False,
    budget: Annotated[
        float | None, typer.Option(help="Yen a year: per sector (--sector, --partial) or in total (--society).")
    ] = None,
    cvar_level: Annotated[float | None, typer.Option(help="CVaR level of the replacing bar, in (0, 1).")] = None,
    cvar_max: Annotated[
        float | None,
        typer.Option(help="Yen: replaces each sector's CVaR bar (--sector, --partial) or bars society's total."),
    ] = None,
    fn: Annotated[bool, typer.Option("--fn/--no-fn", help="Impose the sectors' F-N tolerability lines.")] = True,
    years: Annotated[int, typer.Option(help="Simulated years in the SAA.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    solver: Annotated[str, typer.Option(help="MILP solver: highs or cbc.")] = "highs",
    gap: Annotated[float, typer.Option(help="Relative optimality gap at which the solver may stop.")] = 1e-4,
    time_limit: Annotated[float | None, typer.Option(help="Seconds per solve (default: none).")] = None,
    eval_years: Annotated[int, typer.Option(help="Fresh engine years for the out-of-sample check.")] = 10_000,
    replications: Annotated[int, typer.Option(help="Batches for the optimality-gap estimate (0: none).")] = 5,
    frontier_points: Annotated[int, typer.Option(help="Points on the cost-risk frontier (0: none).")] = 8,
    threads: Annotated[int, typer.Option(help="Engine threads (results do not depend on it).")] = 1,
    instruments: Annotated[
        bool,
        typer.Option("--instruments", help="Society mode: price, per sector, a standard, a liability share and a "
                     "subsidy that make its operators choose society's portfolio (instruments.csv)."),
    ] = False,
    out: Annotated[str, typer.Option(help="Folder for portfolio.toml, optimize_summary.json, frontier.*")] = "out",
    set_: SetOption = None,
    posterior: Annotated[str | None, typer.Option(help=OPTIMIZE_POSTERIOR_HELP)] = None,
) -> None:
    """The most cost-effective countermeasure portfolio under the acceptable-risk bars.

    Modes: --sector ID (one sector, what its operators bear: the own loss layer), --partial
    (every sector alone that way) or --society (the default: all sectors jointly, every
    loss layer, cascades included, compared with the partial optima). A scenario bar (an
    F-N line, a sector's CVaR bar) that no portfolio meets at any cost is relaxed to the
    lowest risk reachable plus 1%, and said so: the sector gets the cheapest portfolio
    within 1% of its least-risk one. Exit status 3 only when what you asked for cannot be
    met: a --budget too small for the bars, or a --cvar-max bar out of reach (the
    reachable risk is printed).
    """
    options = {
        "mode": _mode(sector, partial, society), "sector": sector, "budget": budget, "cvar_level": cvar_level,
        "cvar_max": cvar_max, "fn": fn, "solver": solver, "gap": gap, "time_limit": time_limit,
        "eval_years": eval_years, "replications": replications, "frontier_points": frontier_points, "threads": threads,
        "instruments": instruments, "posterior": posterior,
    }  # fmt: skip
    spec = _spec("optimize", scenario, set_, seed=seed, size=years, options=options)
    try:
        run_result, written = _execute(spec, out)
    except RuntimeError as exc:  # a solver fault (VerificationError included), never a result
        print(f"error: the solver failed: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    result = run_result.detail
    if result.has_portfolio:
        _print_optimum(result)
        problems: dict[str, list[str]] = {}  # the same bar relaxed in the society and partial problems: once
        for relaxation in result.relaxed:
            problems.setdefault(relaxation.sentence(), []).append(relaxation.problem)
        for sentence, labels in problems.items():
            console.print(f"[bold]bar out of reach[/bold] ({' and '.join(labels)}): {sentence}")
        if result.robustness is not None:
            _print_robustness(result)
        elif result.posterior is not None:
            console.print("no portfolio meets the bars at the posterior means: nothing to compare the robust one with")
    else:
        what = "infeasible: no portfolio meets the bars within the budget" if result.status == "infeasible" else (
            "time limit: no feasible portfolio found in time")  # fmt: skip
        print(what, file=sys.stderr)
        for label, diagnosis in result.diagnoses.items():
            for line in diagnosis.binding():
                print(f"  {line}" if label == "society" or line.startswith(label) else f"  {label}: {line}",
                      file=sys.stderr)  # fmt: skip
    console.print(f"wrote {out}/{', '.join(written)}")
    if not result.has_portfolio:
        raise typer.Exit(3)


@app.command()
@reports_input_errors
def compare(
    portfolios: Annotated[
        list[str], typer.Argument(help="Portfolio TOML files (or 'none' for no measures); the first is the reference.")
    ],
    scenario: ScenarioOption = None,
    years: Annotated[int, typer.Option(help="Simulated years, the same for every portfolio.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Root random seed (the same years for every portfolio).")] = 0,
    threads: Annotated[int, typer.Option(help="Worker threads (results do not depend on it).")] = 1,
    out: Annotated[str, typer.Option(help="Folder for compare_summary.csv and compare_differences.csv.")] = "out",
    set_: SetOption = None,
) -> None:
    """Portfolios on the same simulated years: cost, loss by layer, TVaR and class, and each
    one's paired differences from the first with 95% intervals."""
    from riskmodel.compare import LAYERS, NO_MEASURES, compare_portfolios
    from riskmodel.runs.run import prepare
    from riskmodel.runs.writers import output_dir, staged

    spec = _spec("simulate", scenario, set_, seed=seed, size=years, options={"threads": threads})
    for portfolio in portfolios:  # every file checked before any work
        prepare(RunSpec("simulate", scenario=scenario, overrides=spec.overrides,
                        portfolio=None if portfolio == NO_MEASURES else portfolio))  # fmt: skip
    out = output_dir(_out(out), "compare")
    with _progress() as report:
        result = compare_portfolios(portfolios, scenario, spec.overrides, years, seed, threads, progress=report)
    with staged(out, "compare") as stage:
        result.summary.to_csv(stage / "compare_summary.csv", index=False)
        result.differences.to_csv(stage / "compare_differences.csv", index=False)
    totals = Table(title=f"portfolios on the same {years:,} years, seed {seed} (billion yen a year)")
    for name in ("portfolio", "cost", "own", "users", "others", "loss", "social cost", f"TVaR {result.level:g}"):
        totals.add_column(name, justify="left" if name == "portfolio" else "right")
    for row in result.summary[result.summary.sector == "total"].to_dict("records"):
        money = [_money(row[k]) for k in ("cost", *LAYERS, "loss", "social_cost")]
        totals.add_row(row["portfolio"], *money, _money(row[f"tvar_{result.level}"]))
    console.print(totals)
    differences = Table(title=f"total against {portfolios[0]}: paired difference (95% interval), billion yen a year")
    for name in ("portfolio", "measure", "difference", "95% interval"):
        differences.add_column(name, justify="left" if name in ("portfolio", "measure") else "right")
    for row in result.differences[result.differences.sector == "total"].to_dict("records"):
        interval = f"{_money(row['ci_low'])} to {_money(row['ci_high'])}"
        differences.add_row(row["portfolio"], row["measure"], _money(row["difference"]), interval)
    console.print(differences)
    console.print(f"wrote {out}/compare_summary.csv, compare_differences.csv")


@app.command()
@reports_input_errors
def report(
    path: Annotated[Path, typer.Argument(help="Output folder of simulate, abm, optimize or calibrate (fit, recover), "
                                         "or an experiment store.")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: PATH/report.html, or STORE.html for a store).")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run's output folder or of an experiment's
    store (opens offline, prints)."""
    from riskmodel.report.build import build_report

    default = path.with_suffix(".html") if path.suffix == ".duckdb" else path / "report.html"
    target = out if out is not None else default
    html = build_report(path)
    try:
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(target, "--out", exc.strerror or str(exc), "a file that can be written") from None
    console.print(f"wrote {target}")


@app.command()
@reports_input_errors
def dashboard(
    scenario: ScenarioOption = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on (default: this machine only).")] = "127.0.0.1",
) -> None:
    """Serve Mesa's SolaraViz page of the agent model: levers, play/step/reset, live panels."""
    from riskmodel.world import load_world

    load_world(scenario)  # a bad scenario is reported here, before the server starts
    from riskmodel.app.server import serve

    console.print(f"dashboard on http://{host}:{port} (Ctrl-C stops it)")
    serve(scenario, host, port)


@scenario_app.command("show")
@reports_input_errors
def scenario_show(scenario: ScenarioOption = None) -> None:
    """Print a scenario: sectors, operators, threats, measures and interdependency."""
    from riskmodel.interdependency import dependence_ranking, spectral_radius
    from riskmodel.world import load_world

    world = load_world(scenario)
    sc = world.scenario
    console.print(f"[bold]{sc.scenario.title}[/bold] ({sc.scenario.name})")
    console.print(sc.scenario.description)
    console.print(
        f"{len(sc.regions)} regions, {world.n_sectors} sectors, {len(world.operators)} operators, "
        f"{len(sc.threats)} threats, {len(sc.measures)} measures ({world.catalogue.n_options} options), "
        f"horizon FY{sc.horizon.start_fiscal_year}-FY{sc.horizon.end_fiscal_year}"
    )
    sectors = Table(title="Sectors")
    for name in (
        "sector",
        "ministry",
        "operators",
        "users",
        "output (bn yen/yr)",
        "failures/yr",
        "IT dep.",
        "CVaR bar (bn yen)",
    ):
        sectors.add_column(name, justify="left" if name in ("sector", "ministry") else "right")
    counts = [int((world.operators.sector == s).sum()) for s in range(world.n_sectors)]
    for s, spec in enumerate(sc.sectors):
        sectors.add_row(
            spec.id,
            spec.ministry or "",
            str(counts[s]),
            f"{spec.users.total:,.0f}" if spec.users else "",
            _money(world.sector_output[s]),
            f"{world.sector_rate[s].sum():.1f}",
            f"{world.it_dependence[s]:.2f}",
            _money(spec.acceptability.cvar_max) if spec.acceptability else "",
        )
    console.print(sectors)
    threats = Table(title="Threats")
    for name in ("threat", "kind", "mean rate / operator-yr", "median hours", "mean depth"):
        threats.add_column(name)
    for t in sc.threats:
        rate = (
            f"{t.frequency.rate:g}"
            if t.kind != "disaster"
            else f"{sum(t.frequency.regional_rates.values()):g} / yr (regional)"
        )
        depth = t.depth.alpha / (t.depth.alpha + t.depth.beta)
        threats.add_row(t.id, t.kind, rate, f"{t.duration.median_hours:g}", f"{depth:.2f}")
    console.print(threats)
    console.print(_measure_catalogue(sc.measures))
    ranking = dependence_ranking(world.cascade, world.sector_ids, list(world.critical))
    console.print(f"Interdependency: spectral radius of A* {spectral_radius(world.cascade.national):.3f}")
    console.print("Sectors the others depend on most (inoperability of the other critical sectors when one is out):")
    for row in ranking.itertuples(index=False):
        console.print(f"  {row.sector:28s} {row.dependence:6.2f}")


def _measure_catalogue(measures) -> Table:
    """The measure catalogue: each level's annual cost to one operator (a fixed part and a
    share of its revenue) and what it needs or rules out."""
    table = Table(title="Measures (annual cost per operator: fixed part plus a share of its revenue)")
    for name in ("measure", "pillar", "level", "fixed (million yen/yr)", "+ % of revenue/yr", "requires", "excludes"):
        right = name.startswith(("fixed", "+", "level"))
        table.add_column(name, justify="right" if right else "left", no_wrap=name not in ("requires", "excludes"))
    for measure in measures:
        for level, option in enumerate(measure.levels, start=1):
            table.add_row(
                measure.id if level == 1 else "",
                measure.pillar if level == 1 else "",
                str(level),
                f"{option.cost_fixed / 1e6:,.1f}",
                f"{100 * option.cost_revenue_share:.3g}",
                ", ".join(measure.requires) if level == 1 else "",
                ", ".join(measure.excludes) if level == 1 else "",
            )
    return table


@scenario_app.command("validate")
@reports_input_errors
def scenario_validate(file: Annotated[Path, typer.Argument(help="Scenario TOML file to check.")]) -> None:
    """Check a scenario file: schema, references, and a well-posed interdependency matrix."""
    from riskmodel.world import load_world

    world = load_world(file)
    console.print(
        f"{file}: valid scenario {world.name!r} ({world.n_sectors} sectors, {len(world.operators)} operators, "
        f"{world.catalogue.n_options} measure options)"
    )


@scenario_app.command("export")
@reports_input_errors
def scenario_export(
    directory_text: Annotated[
        str, typer.Argument(metavar="DIRECTORY", help="Folder to write the default scenario and its data files into.")
    ],
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> None:
    """Write the default scenario and its data files out, as a start for your own."""
    from riskmodel.scenario import load_scenario

    scenario = load_scenario()
    names = [default_scenario_path().name] + [name for _, name in scenario.data_files()]
    if not directory_text.strip():
        raise InputError("(command line)", "DIRECTORY", directory_text, "a folder name")
    directory = Path(directory_text)
    try:
        if directory.exists() and not directory.is_dir():
            raise InputError(directory, "DIRECTORY", "(an existing file)", "a directory")
        for name in names:
            target = directory / name
            if target.is_dir() and not target.is_symlink():
                raise InputError(target, "", "(a folder)", "a file name that no folder takes")
            if (target.exists() or target.is_symlink()) and not force:
                raise InputError(target, "", "(exists)", "a file that does not exist yet (or --force to overwrite)")
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(directory, "DIRECTORY", exc.strerror or str(exc), "a directory that can be created") from None
    _write_inside(directory, {name: packaged_file(name).read_bytes() for name in names})
    console.print(f"wrote {', '.join(str(directory / n) for n in names)}")
    console.print(f"edit {directory / names[0]} and run: riskmodel simulate --scenario {directory / names[0]}")


def _write_inside(directory: Path, files: dict[str, bytes]) -> None:
    """Write files into ``directory`` and nowhere else: each is written to a new temporary
    file there (never through a link) and renamed over its name (a link of that name is
    replaced, its target left alone); all are written before any is renamed."""
    temporary: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():
            part = directory / f".{name}.{secrets.token_hex(4)}.part"
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            temporary.append((part, directory / name))
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        for part, target in temporary:
            os.replace(part, target)
    except OSError as exc:
        raise InputError(directory, "DIRECTORY", exc.strerror or str(exc), "a directory that can be written") from None
    finally:
        for part, _ in temporary:
            part.unlink(missing_ok=True)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a run as an error does: staged files are removed on the way out."""
    raise SystemExit(128 + signum)


StoreArgument = Annotated[Path, typer.Argument(help="Experiment store (the .duckdb file a run made).")]
WorkersOption = Annotated[int, typer.Option(help="Worker processes (1: in this process). Results do not depend on it.")]
SchedulerOption = Annotated[str | None, typer.Option(help="Run on the Dask cluster of this scheduler (tcp://host:port).")]
DaskOption = Annotated[bool, typer.Option("--dask", help="Run on a local Dask cluster of --workers processes.")]
RetryOption = Annotated[bool, typer.Option(help="Run failed runs again too.")]
FiguresOption = Annotated[Path | None, typer.Option("--out", help="Folder for tables and figures (default: beside "
                                                    "the store, named after it).")]  # fmt: skip


def _batch(spec: Any, store: Path | None, workers: int, scheduler: str | None, dask: bool, retry: bool) -> None:
    from riskmodel.experiments import run_experiment

    report = run_experiment(spec, store, workers=workers, scheduler=scheduler, dask=dask, retry_failed=retry,
                            log=lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    console.print(f"{report.store}: ran {report.ran:,} runs in {report.seconds:,.1f} s ({report.done:,} done, "
                  f"{report.failed:,} failed)")  # fmt: skip
    experiment_status(report.store)


@experiment_app.command("run")
@reports_input_errors
def experiment_run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (TOML), e.g. experiments/blame_immunity.toml.")],
    store: Annotated[Path | None, typer.Option(help="Store file (default: <output>/<name>.duckdb).")] = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
    retry_failed: RetryOption = False,
) -> None:
    """Run an experiment's runs that are not done yet (again: resume), storing each as it ends."""
    from riskmodel.experiments import load_spec

    _batch(load_spec(spec), store, workers, scheduler, dask, retry_failed)


@experiment_app.command("resume")
@reports_input_errors
def experiment_resume(
    store: StoreArgument,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    dask: DaskOption = False,
    retry_failed: RetryOption = False,
) -> None:
    """Run what is not done in a store, from the spec stored in it."""
    from riskmodel.experiments.spec import check_spec
    from riskmodel.experiments.store import stored_spec

    data, folder = stored_spec(store)
    _batch(check_spec(data, store, folder), store, workers, scheduler, dask, retry_failed)


@experiment_app.command("status")
@reports_input_errors
def experiment_status(store: StoreArgument) -> None:
    """Counts of runs by status, and the failed runs' errors."""
    from riskmodel.experiments import load_experiment

    data = load_experiment(store)
    counts = data.runs.status.value_counts()
    by_status = ", ".join(f"{counts.get(s, 0):,} {s}" for s in ("done", "failed", "running", "pending"))
    console.print(f"{data.spec['experiment']['name']}: {len(data.points):,} design points x "
                  f"{data.spec['experiment']['replications']} replications = {len(data.runs):,} runs: {by_status}")
    failed = data.failures()
    for row in failed.head(20).itertuples():
        last = (row.traceback or "").strip().splitlines()[-3:-1]
        console.print(f"  run {row.run_id} (point {row.point_id}, replication {row.replication}): "
                      f"{row.error_type}: {row.error_message}" + (f"  [{last[0].strip()}]" if last else ""),
                      markup=False, highlight=False)  # fmt: skip
    if len(failed) > 20:
        console.print(f"  ... and {len(failed) - 20:,} more failed runs (experiment export --what runs)")


@experiment_app.command("export")
@reports_input_errors
def experiment_export(
    store: StoreArgument,
    out: Annotated[Path, typer.Option(help="File to write; its suffix (.csv or .parquet) sets the format.")],
    what: Annotated[str, typer.Option(help="results (a row per run done: parameters and outcomes), runs, "
                                      "points, or a kept table's name.")] = "results",
) -> None:
    """Write an experiment's results, runs, points or a kept table as CSV or Parquet."""
    from riskmodel.experiments import load_experiment

    if out.suffix not in (".csv", ".parquet"):
        raise InputError("(command line)", "--out", str(out), "a file name ending in .csv or .parquet")
    data = load_experiment(store)
    frames = {"results": data.wide, "runs": lambda: data.runs, "points": lambda: data.points}
    frame = frames[what]() if what in frames else data.table(what)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False) if out.suffix == ".csv" else frame.to_parquet(out, index=False)
    console.print(f"wrote {out} ({len(frame):,} rows)")


OutcomesOption = Annotated[list[str] | None, typer.Option(help="An outcome to analyse (repeatable; default: all).")]


def _known_outcomes(data: Any, outcomes: list[str] | None) -> None:
    for name in outcomes or []:
        if name not in data.outcome_names:
            raise InputError("(command line)", "--outcome", name, f"a kept outcome: {', '.join(data.outcome_names)}")


def _figures_folder(store: Path, out: Path | None) -> Path:
    return out if out is not None else store.with_suffix("")


def _show(frame: Any, title: str) -> None:
    console.print(f"[bold]{title}[/bold]")
    console.print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"), markup=False, highlight=False)


@experiment_app.command("summary")
@reports_input_errors
def experiment_summary(store: StoreArgument, out: FiguresOption = None, outcome: OutcomesOption = None) -> None:
    """Mean, SE and 95% interval per design point and outcome; paired lever differences."""
    from riskmodel.experiments import analysis, load_experiment

    data = load_experiment(store)
    _known_outcomes(data, outcome)
    folder = _figures_folder(store, out)
    folder.mkdir(parents=True, exist_ok=True)
    table = analysis.summarize(data, outcome)
    _show(table.drop(columns="point_id"), "Per design point: mean over replications, SE, 95% interval")
    table.to_csv(folder / "summary.csv", index=False)
    paired = analysis.paired_differences(data, outcome)
    if len(paired):
        _show(paired, "Paired differences (value - baseline), same replications (common random numbers)")
        paired.to_csv(folder / "paired_differences.csv", index=False)
    written = analysis.figures(data, folder, outcome)
    console.print(f"wrote {folder}/summary.csv" + (", paired_differences.csv" if len(paired) else "")
                  + f" and {len(written)} figures")  # fmt: skip


@experiment_app.command("sensitivity")
@reports_input_errors
def experiment_sensitivity(
    store: StoreArgument,
    out: FiguresOption = None,
    outcome: OutcomesOption = None,
) -> None:
    """Morris or Sobol indices (SALib), or first-order indices of a posterior's parameters
    (given data), with bootstrap intervals and Monte Carlo noise."""
    from riskmodel.experiments import load_experiment, sensitivity

    data = load_experiment(store)
    _known_outcomes(data, outcome)
    method = sensitivity.method_of(data)
    table = sensitivity.sensitivity(data, outcome)
    folder = _figures_folder(store, out)
    folder.mkdir(parents=True, exist_ok=True)
    titles = {"morris": "Morris indices", "sobol": "Sobol indices", "posterior": "First-order indices (given draws)"}
    _show(table, titles[method])
    table.to_csv(folder / "sensitivity.csv", index=False)
    written = sensitivity.figures(table, method, folder)
    console.print(f"wrote {folder}/sensitivity.csv and {len(written)} figures")


@experiment_app.command("discover")
@reports_input_errors
def experiment_discover(
    store: StoreArgument,
    outcome: Annotated[str, typer.Option(help="The outcome whose high (or low) values to explain.")],
    threshold: Annotated[float, typer.Option(help="A design point is of interest above it (below: --below).")],
    below: Annotated[bool, typer.Option(help="Of interest below the threshold.")] = False,
    min_density: Annotated[float, typer.Option(help="PRIM: the density the box reported must reach.")] = 0.8,
    out: FiguresOption = None,
) -> None:
    """Scenario discovery: PRIM boxes (EMA Workbench) and a CART tree (scikit-learn)."""
    from riskmodel.experiments import discovery, load_experiment

    found = discovery.discover(load_experiment(store), outcome, threshold, below, min_density)
    side = "below" if below else "above"
    console.print(f"{found.of_interest} of {found.cases} design points have {outcome} {side} {threshold:g}",
                  markup=False)  # fmt: skip
    _show(found.tradeoff.reset_index(names="step"), "PRIM peeling trajectory (coverage-density trade-off)")
    _show(found.box.reset_index(names="restricted"), f"PRIM box at step {found.chosen}")
    console.print(f"CART tree (accuracy {found.tree_accuracy:.2f} on the design points):", markup=False)
    console.print(found.tree_rules, markup=False, highlight=False)
    written = discovery.figures(found, _figures_folder(store, out))
    console.print(f"wrote {', '.join(str(p) for p in written)}")


# --- calibrate: fits to incident data (riskmodel.calibration) -----------------------------
calibrate_app = typer.Typer(no_args_is_help=True, help="Fit frequencies and durations to incident data; recovery "
                            "of known parameters.")  # fmt: skip
app.add_typer(calibrate_app, name="calibrate")


DATA_HELP = "Incident CSV (default: the packaged press-reported failures 2003-2020)."
TARGETS_HELP = "Targets TOML: reporting filters and count targets (default: the packaged one)."


@calibrate_app.command("fit")
@reports_input_errors
def calibrate_fit(
    data: Annotated[str | None, typer.Argument(metavar="DATA", help=DATA_HELP)] = None,
    targets: Annotated[str | None, typer.Option(help=TARGETS_HELP)] = None,
    out: Annotated[str, typer.Option(help="Folder for the fitted values, draws, calibrated scenario.")] = "calibration",
    scenario: ScenarioOption = None,
    draws: Annotated[int, typer.Option(help="Posterior draws to write.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    check_draws: Annotated[int, typer.Option(help="Posterior draws the predictive check simulates.")] = 20,
    check_years: Annotated[int, typer.Option(help="Years simulated per draw for the check (0: no check).")] = 1000,
) -> None:
    """Fit the scenario's failure rates and durations to incident data; write fitted values with
    intervals, posterior draws, a calibrated scenario and the predictive check of each incident."""
    from riskmodel.calibration.fit import calibration_date
    from riskmodel.calibration.write import fit_and_check, write_calibration
    from riskmodel.world import load_world

    folder = _out(out)
    counts = (("--draws", draws, 1), ("--check-draws", check_draws, 0), ("--check-years", check_years, 0))
    for name, value, low in counts:
        if not low <= value <= 100_000:
            raise InputError("(command line)", name, value, f"a whole number from {low} to 100,000")
    world = load_world(scenario)
    with _progress() as report:
        cal, check = fit_and_check(world, data, targets, draws, seed, check_draws, check_years, report)
    date = calibration_date()
    summary = {"data": str(data) if data else cal.source, "targets": str(cal.targets.path), "scenario": world.name,
               "scenario_hash": world.content_hash, "date": date, "seed": seed, "draws": draws,
               "version": riskmodel.__version__}  # fmt: skip
    written = write_calibration(cal, check, world, folder, date, summary)
    table = Table(title=f"{world.name}: fitted to {cal.source} (90% intervals)")
    for name in ("parameter", "kind", "sector", "data", "estimate", "interval", "prior", "identified"):
        table.add_column(name, justify="right" if name in ("data", "estimate") else "left")
    for row in cal.fitted.to_dict("records"):
        table.add_row(row["parameter"], row["kind"], row["sector"], str(row["data"]), f"{row['estimate']:.3g}",
                      f"{row['low']:.3g} - {row['high']:.3g}", f"{row['prior_low']:.3g} - {row['prior_high']:.3g}",
                      "yes" if row["identified"] else "prior")  # fmt: skip
    console.print(table)
    if not check.empty:
        checks = Table(title="posterior predictive check: is each incident inside its sector's 90% region?")
        for name in ("date", "sector", "magnitude", "reported", "P(<=)", "P(>=)", "plausible"):
            checks.add_column(name)
        for row in check.to_dict("records"):
            checks.add_row(row["date"], row["sector"], row["magnitude"], row["reported"], f"{row['p_below']:.3f}",
                           f"{row['p_above']:.3f}", "yes" if row["plausible"] else "NO")  # fmt: skip
        console.print(checks)
    console.print(f"wrote {folder}/{', '.join(written)}")


@calibrate_app.command("recover")
@reports_input_errors
def calibrate_recover(
    data_sets: Annotated[int, typer.Option(help="Synthetic data sets to fit.")] = 50,
    years: Annotated[int, typer.Option(help="Years of each synthetic data set.")] = 20,
    targets: Annotated[str | None, typer.Option(help="Targets TOML whose (single) filter the data pass.")] = None,
    out: Annotated[str, typer.Option(help="Folder for recovery.csv and recovery_runs.csv.")] = "recovery",
    scenario: ScenarioOption = None,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
) -> None:
    """Draw synthetic incident data from known parameters through the reporting filter, fit each,
    and report how often the nominal 90% intervals cover the truth."""
    from riskmodel.calibration.observation import read_targets
    from riskmodel.calibration.recovery import coverage_table, recovery_runs
    from riskmodel.world import load_world

    folder = _out(out)
    for name, value, top in (("--data-sets", data_sets, 10_000), ("--years", years, 1000)):
        if not 1 <= value <= top:
            raise InputError("(command line)", name, value, f"a whole number from 1 to {top:,}")
    world = load_world(scenario)
    spec = read_targets(targets)
    if len(spec.filters) != 1:
        raise InputError(spec.path, "filters", len(spec.filters), "one filter for synthetic data")
    with _progress() as report:
        runs = recovery_runs(world, spec, data_sets, years, seed, progress=report)
    table = coverage_table(runs)
    folder.mkdir(parents=True, exist_ok=True)
    runs.to_csv(folder / "recovery_runs.csv", index=False)
    table.to_csv(folder / "recovery.csv", index=False)
    shown = Table(title=f"recovery: {data_sets} synthetic data sets of {years} years, seed {seed}")
    for name in ("parameter", "kind", "sector", "truth", "coverage", "± SE", "median estimate", "median width"):
        shown.add_column(name)
    for row in table.to_dict("records"):
        numbers = (f"{row['truth']:.3g}", f"{row['coverage']:.2f}", f"{row['coverage_se']:.3f}",
                   f"{row['median_estimate']:.3g}", f"{row['median_width']:.3g}")  # fmt: skip
        shown.add_row(row["parameter"], row["kind"], row["sector"], *numbers)
    console.print(shown)
    console.print(f"wrote {folder}/recovery.csv, recovery_runs.csv")


TRUTH_HELP = "NAME=VALUE: synthetic targets from the model at these values (the others the scenario's); repeatable."


@calibrate_app.command("abm")
@reports_input_errors
def calibrate_abm(
    data: Annotated[str | None, typer.Option(help=DATA_HELP)] = None,
    targets: Annotated[str | None, typer.Option(help=TARGETS_HELP)] = None,
    out: Annotated[str, typer.Option(help="Folder for the pyABC history, draws and summary.")] = "calibration_abm",
    scenario: ScenarioOption = None,
    populations: Annotated[int, typer.Option(help="ABC-SMC populations in all (a resumed run may ask more).")] = 3,
    particles: Annotated[int, typer.Option(help="Particles per population.")] = 16,
    replications: Annotated[int, typer.Option(help="Replication seeds of every particle (common random numbers).")] = 2,
    years: Annotated[int, typer.Option(help="Fiscal years each replication runs (3: FY2006-08).")] = 3,
    workers: Annotated[int, typer.Option(help="Processes for the replications (results do not depend on it).")] = 2,
    draws: Annotated[int, typer.Option(help="Posterior draws to write.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root random seed.")] = 0,
    truth: Annotated[list[str] | None, typer.Option(help=TRUTH_HELP)] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the calibration held in --out.")] = False,
) -> None:
    """Calibrate agent-model parameters (press threshold, hiding, sharing) by ABC-SMC (pyABC) to
    the press counts of incident data or to synthetic targets; a killed run resumes with --resume."""
    import logging

    from riskmodel.calibration.agents import DRAWS_FILE, HISTORY_FILE, SUMMARY_FILE, calibrate

    folder = _out(out)
    counts = (("--populations", populations, 1, 50), ("--particles", particles, 2, 10_000),
              ("--replications", replications, 1, 100), ("--years", years, 1, 200), ("--workers", workers, 1, 64),
              ("--draws", draws, 1, 100_000))  # fmt: skip
    for name, value, low, high in counts:
        if not low <= value <= high:
            raise InputError("(command line)", name, value, f"a whole number from {low} to {high:,}")
    known = None
    if truth:
        known = {}
        for item in truth:
            name, _, text = item.partition("=")
            try:
                known[name.strip()] = float(text)
            except ValueError:
                raise InputError("(command line)", "--truth", item, "NAME=VALUE such as base_probability=0.3") from None
    config = {"data": data, "targets": targets, "truth": known, "scenario": scenario, "years": years,
              "replications": replications, "particles": particles, "populations": populations, "seed": seed,
              "workers": workers, "draws": draws}  # fmt: skip
    logging.getLogger("ABC").setLevel(logging.WARNING)
    with _progress() as report:
        summary, _ = calibrate(folder, config, resume, report)
    source = "synthetic targets" if known else (data or "the packaged press-reported failures")
    table = Table(title=f"agent model calibrated to {source}: ABC-SMC, {populations} populations of {particles} "
                  f"particles, {replications} replications x {years} fiscal years (90% intervals)")  # fmt: skip
    for name in ("parameter", "path", "prior", "estimate", "interval", "width/prior", "identified"):
        table.add_column(name, justify="right" if name in ("estimate", "width/prior") else "left")
    for row in summary.to_dict("records"):
        table.add_row(row["parameter"], row["path"], f"{row['prior_low']:.3g} - {row['prior_high']:.3g} "
                      f"({row['scale']})", f"{row['estimate']:.3g}", f"{row['low']:.3g} - {row['high']:.3g}",
                      f"{row['width_share']:.2f}", "yes" if row["identified"] else "prior")  # fmt: skip
    console.print(table)
    console.print(f"wrote {folder}/{', '.join((HISTORY_FILE, DRAWS_FILE, SUMMARY_FILE))}")


def main() -> None:
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminate)
    app()
