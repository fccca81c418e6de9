"""The interdependency matrix A* and the dynamic inoperability input-output model (DIIM).

National A* (one row and column per model sector) is built from the input-output table:

1. domestic flows: each row of the transactions table ``z`` loses its imported part, in
   proportion to the row's import share of domestic demand (the table is of the
   competitive-import type, so a sector such as mining would otherwise sell many times
   its own output);
2. the 13 IO sectors are split into model sectors by stated output shares, each part
   keeping its parent's input and sales structure; the sector marked ``io_remainder``
   takes what is left;
3. ``a*_ij = z_ij / x_i`` (Santos & Haimes 2004, demand side);
4. physical lifeline dependencies (share of sector i that stops when j is out) are added.

Losses are valued at value added, not gross output: a node's lost output ``x q`` also
counts the intermediate inputs it no longer buys, which the cascade already counts where
they are lost; value added (the IO table's value-added rows, compensation of employees to
current subsidies, the GDP definition) counts each yen of lost production once. A model
sector takes its IO parent's value-added ratio (the split keeps the parent's input
structure).

A ``matrix`` (with ``output``) in the scenario replaces steps 1-4. Nodes of the cascade are
(region, sector) pairs. A sector's deliveries stay in the buyer's region for a share
``rho_i`` and otherwise spread over the regions by population, so regional A* has the
same row sums as the national one; lifelines act inside a region only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from riskmodel.errors import InputError
from riskmodel.scenario import packaged_file
from riskmodel.schema import Scenario

RECOVERY_LEVEL = 0.01  # q_T = 0.01 q_0 in the recovery coefficient (Lian & Haimes 2006)
HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class IOTable:
    """Domestic inter-industry flows and outputs of an input-output table (million yen)."""

    sectors: list[str]
    flows: np.ndarray  # z[i, j]: domestic sales of sector i to sector j
    output: np.ndarray  # x[i]
    value_added: np.ndarray  # v[i]: gross value added at the GDP definition (rows VALUE_ADDED_ROWS)


# The value-added rows of the MIC IO table that make up GDP-basis gross value added: the
# row "71_Consumption expenditure outside households" is part of the table's gross input
# but not of GDP (it is intermediate consumption in the SNA), so it is left out.
VALUE_ADDED_ROWS = ("91_", "92_", "93_", "94_", "95_")


def read_io_table(path: Path) -> IOTable:
    """Read an IO table in the layout of ``japan_io_2011_13sector.csv`` and remove imports."""
    try:
        frame = pd.read_csv(path, index_col=0, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise InputError(path, "", str(exc), "a readable input-output CSV") from None
    industries = [c for c in frame.columns if c.startswith("industry/")]
    if not industries or any(c not in frame.index for c in industries):
        raise InputError(path, "columns", list(frame.columns)[:3], "industry/... rows and columns")
    used = [c for c in frame.columns if c.split("/")[0] in ("industry", "finaldemand", "export", "import")]
    cells = frame.loc[industries, used].apply(pd.to_numeric, errors="coerce")
    bad = cells.isna() | ~np.isfinite(cells)
    if bad.to_numpy().any():
        row, column = bad.stack().idxmax()
        value = frame.loc[row, column]
        shown = "(empty)" if pd.isna(value) else value if isinstance(value, str) else float(value)
        raise InputError(path, f"row {row!r}, column {column!r}", shown, "a finite number")
    z = cells[industries].to_numpy(dtype=float)

    def block(prefix: str) -> np.ndarray:
        return cells[[c for c in used if c.startswith(prefix)]].to_numpy(dtype=float).sum(axis=1)

    final, exports, imports = block("finaldemand/"), block("export/"), block("import/")
    output = z.sum(axis=1) + final + exports + imports
    if np.any(output <= 0):
        bad = industries[int(np.argmin(output))]
        raise InputError(path, bad, float(output.min()), "a positive total output")
    value_rows = [r for r in frame.index if r.startswith("valueadded/") and r.split("/", 1)[1][:3] in VALUE_ADDED_ROWS]
    if len(value_rows) != len(VALUE_ADDED_ROWS):
        expected = f"the value-added rows valueadded/{', '.join(VALUE_ADDED_ROWS)}..."
        raise InputError(path, "rows", f"{len(value_rows)} of them", expected)
    va_cells = frame.loc[value_rows, industries].apply(pd.to_numeric, errors="coerce")
    if va_cells.isna().to_numpy().any():
        row, column = va_cells.isna().stack().idxmax()
        raise InputError(path, f"row {row!r}, column {column!r}", "(not a number)", "a finite number")
    value_added = va_cells.to_numpy(dtype=float).sum(axis=0)
    if np.any((value_added <= 0) | (value_added > output)):
        bad = int(np.argmax((value_added <= 0) | (value_added > output)))
        raise InputError(path, f"value added of {industries[bad]}", float(value_added[bad]), "between 0 and the output")
    domestic_demand = z.sum(axis=1) + final
    import_share = np.clip(-imports / np.where(domestic_demand > 0, domestic_demand, 1.0), 0.0, 1.0)
    flows = z * (1.0 - import_share)[:, None]
    return IOTable([c.removeprefix("industry/") for c in industries], flows, output, value_added)


MAX_DATA_BYTES = 64 * 2**20  # a data file a scenario names (the packaged IO table is about 10 kB)


def resolve_data_file(name: str, scenario_path: Path | None) -> Path:
    """Where a data file named in a scenario is: in the scenario file's own folder (the
    package's data folder for the packaged scenarios); never elsewhere, so that a file
    missing beside a scenario is an error rather than quietly replaced by a packaged one."""
    if scenario_path is None:
        return packaged_file(name)
    return Path(scenario_path).parent / name


def data_file(name: str, scenario_path: Path | None, field: str) -> Path:
    """The data file ``name`` of a scenario (see :func:`resolve_data_file`), checked: a
    regular file inside the scenario's folder (a link that leads out of it is refused),
    readable and of a sensible size; raises InputError naming the scenario's ``field``."""
    where = scenario_path or Path("<scenario>")
    path = resolve_data_file(name, scenario_path)
    folder = path.parent
    try:
        if not path.exists():
            raise InputError(where, field, name, f"a file of that name in the scenario's folder ({folder})")
        if not path.is_file():
            raise InputError(where, field, name, f"a regular file in the scenario's folder ({folder}), not a folder")
        if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
            raise InputError(where, field, name, f"a file inside the scenario's folder ({folder}), no link out")
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(where, field, name, f"a readable file ({exc.strerror or exc})") from None
    if size > MAX_DATA_BYTES:
        raise InputError(path, "", f"{size:,} bytes", f"a data file of at most {MAX_DATA_BYTES:,} bytes")
    return path


def split_matrix(scenario: Scenario, table: IOTable, path: Path) -> np.ndarray:
    """P[s, k]: share of IO sector k's output that belongs to model sector s."""
    index = {name: k for k, name in enumerate(table.sectors)}
    split = np.zeros((len(scenario.sectors), len(table.sectors)))
    remainder = None
    for s, sector in enumerate(scenario.sectors):
        if sector.io_remainder:
            remainder = s
        for i, entry in enumerate(sector.io):
            if entry.io_sector not in index:
                raise InputError(
                    path, f"sectors[id={sector.id}].io[{i}].io_sector", entry.io_sector, f"one of {table.sectors}"
                )
            split[s, index[entry.io_sector]] += entry.share
    assert remainder is not None  # checked by check_references
    split[remainder] = 1.0 - split.sum(axis=0) + split[remainder]
    return split


def national_matrix(
    scenario: Scenario, scenario_path: Path | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """National A* split into its economic (IO) and lifeline parts, outputs x and value
    added v (yen a year).

    A* is their sum; with an explicit ``matrix`` the lifeline part is zero and value added
    is the scenario's ``value_added`` (the outputs themselves when it is not given).
    """
    spec = scenario.interdependency
    n = len(scenario.sectors)
    if spec.matrix is not None and spec.output is not None:
        output = np.array(spec.output, dtype=float)
        value_added = output if spec.value_added is None else np.array(spec.value_added, dtype=float)
        return np.array(spec.matrix, dtype=float), np.zeros((n, n)), output, value_added
    path = scenario_path or Path("<scenario>")
    io_path = data_file(spec.io_table, scenario_path, "interdependency.io_table")
    table = read_io_table(io_path)
    split = split_matrix(scenario, table, path)
    output = split @ table.output * 1e6
    value_added = split @ table.value_added * 1e6
    flows = split @ table.flows @ split.T * 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        economic = np.where(output[:, None] > 0, flows / output[:, None], 0.0)
    lifeline = np.zeros((n, n))
    position = {s.id: i for i, s in enumerate(scenario.sectors)}
    for link in scenario.lifelines:
        lifeline[position[link.sector], position[link.depends_on]] += link.share
    return economic, lifeline, output, value_added


def spectral_radius(matrix: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(matrix)))) if matrix.size else 0.0


@dataclass(frozen=True)
class Cascade:
    """Everything the DIIM kernels need, for nodes ``n = region * n_sectors + sector``.

    The hourly update uses the factored form ``A* q = A_local q_r + A_national qbar``
    (``qbar_j`` is the population-weighted national inoperability of sector j), which
    costs O(R S^2) a step instead of O((R S)^2). The dense regional matrix is kept for
    the closed forms and for tests.
    """

    n_regions: int
    n_sectors: int
    national: np.ndarray  # A*, sector x sector
    local: np.ndarray  # diag(rho) A*_io + lifelines
    spread: np.ndarray  # diag(1 - rho) A*_io
    region_weight: np.ndarray  # omega_r, sums to 1
    regional: np.ndarray  # dense A* over nodes
    k: np.ndarray  # recovery coefficient per node, per hour
    output: np.ndarray  # x per node, yen per hour
    value_added: np.ndarray  # v per node, yen per hour: what a node's full outage loses
    leontief: np.ndarray  # S = (I - A*)^-1 over nodes
    va_weight: np.ndarray  # v^T S per node: value added lost everywhere per unit of c*-hour forced on it
    sector_va_weight: np.ndarray  # [sector, node]: the part of va_weight on that sector's nodes
    others_weight: np.ndarray  # v^T (S - I) per node: va_weight less the forced node's own lost value added
    clip_bound: np.ndarray  # max_m S[m, n]: c* above 1 / clip_bound may hit the clip

    @property
    def n_nodes(self) -> int:
        return self.n_regions * self.n_sectors


def build_cascade(scenario: Scenario, scenario_path: Path | None = None) -> Cascade:
    """Assemble the regional DIIM for a scenario, checking that it is well posed."""
    path = scenario_path or Path("<scenario>")
    economic, lifeline, output, value_added = national_matrix(scenario, scenario_path)
    national = economic + lifeline
    radius = spectral_radius(national)
    if not radius < 1.0:
        raise InputError(path, "interdependency", f"A* with spectral radius {radius:.4f}", "a spectral radius below 1")

    n_sectors, n_regions = len(scenario.sectors), len(scenario.regions)
    rho = np.array([s.local_supply.share for s in scenario.sectors])
    population = np.array([r.population for r in scenario.regions])
    omega = population / population.sum()
    local = rho[:, None] * economic + lifeline
    spread = (1.0 - rho)[:, None] * economic
    regional = np.kron(np.eye(n_regions), local) + np.kron(np.tile(omega, (n_regions, 1)), spread)

    diagonal = np.diag(regional)
    hours = np.tile([s.recovery.hours for s in scenario.sectors], n_regions)
    k = math.log(1.0 / RECOVERY_LEVEL) / (hours * (1.0 - diagonal))
    if np.any(k > 1.0):
        n = int(np.argmax(k))
        sector = scenario.sectors[n % n_sectors]
        needed = math.log(1.0 / RECOVERY_LEVEL) / (1.0 - diagonal[n])
        raise InputError(
            path, f"sectors[id={sector.id}].recovery.hours", sector.recovery.hours, f"at least {needed:.2f} hours"
        )

    node_output = np.kron(omega, output) / HOURS_PER_YEAR
    node_value_added = np.kron(omega, value_added) / HOURS_PER_YEAR
    with threadpool_limits(limits=1, user_api="blas"):  # a threaded BLAS would change the last bits
        leontief = np.linalg.inv(np.eye(n_regions * n_sectors) - regional)
    weighted = node_value_added[:, None] * leontief
    sector_of_node = np.tile(np.arange(n_sectors), n_regions)
    sector_va_weight = np.zeros((n_sectors, n_regions * n_sectors))
    np.add.at(sector_va_weight, sector_of_node, weighted)
    va_weight = weighted.sum(axis=0)
    return Cascade(
        n_regions=n_regions,
        n_sectors=n_sectors,
        national=national,
        local=local,
        spread=spread,
        region_weight=omega,
        regional=regional,
        k=k,
        output=node_output,
        value_added=node_value_added,
        leontief=leontief,
        va_weight=va_weight,
        sector_va_weight=sector_va_weight,
        others_weight=np.maximum(va_weight - node_value_added, 0.0),
        clip_bound=leontief.max(axis=0),
    )


def dependence_ranking(cascade: Cascade, sector_ids: list[str], critical: list[bool]) -> pd.DataFrame:
    """How much the other critical sectors depend on each sector.

    ``dependence`` of sector j is the total inoperability that the static model puts on
    the other critical sectors when j is fully out (``c*_j = 1``): the clipped fixed point
    ``q = min(1, A* q + c*)``, summed over the critical sectors other than j. It answers
    NISC's static interdependency question ("which sectors do the others depend on"); in
    the default scenario the answer is carried by the lifeline assumptions, since money
    flows between the ten sectors are a few per cent of their outputs.
    """
    n = cascade.n_sectors
    mask = np.array(critical, dtype=bool)
    scores = []
    for j, sector in enumerate(sector_ids):
        shock = np.zeros(n)
        shock[j] = 1.0
        q = shock.copy()
        for _ in range(10_000):  # a monotone contraction: converges from below the fixed point
            nxt = np.minimum(1.0, cascade.national @ q + shock)
            if np.max(np.abs(nxt - q)) < 1e-12:
                break
            q = nxt
        rows = mask.copy()
        rows[j] = False
        scores.append((sector, float(q[rows].sum())))
    frame = pd.DataFrame(scores, columns=["sector", "dependence"])
    frame = frame[mask].sort_values("dependence", ascending=False, kind="stable")
    return frame.reset_index(drop=True)
