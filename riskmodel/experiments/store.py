"""The experiment store: one DuckDB file per experiment, written only by the coordinator.

Tables (every one keyed by ``run_id`` or ``point_id``):

* ``meta(key, value)``: the spec (JSON), its hash, the spec's folder, the package version;
* ``points``: one row per design point: ``point_id``, ``lever_set``, ``sample``, one
  column per varied path (its value) and one ``u.<factor>`` column per sampled factor
  (its unit value, which SALib's analysers read);
* ``runs``: one row per run: ``run_id``, ``point_id``, ``replication``, ``seed``,
  ``status`` (pending, running: sent to a worker, recorded with the next commit; done,
  failed), ``wall_time`` (s), ``worker``,
  ``finished``, and for a failed run ``error_type``, ``error_message``, ``traceback``;
* ``outcomes``: the kept scalar outcomes, long: ``run_id``, ``outcome``, ``value``
  (:func:`riskmodel.experiments.load_experiment` pivots them wide);
* ``staged_<table>`` and ``shards``: rows of the runs' tables (``[outcomes] tables``),
  first in DuckDB, then moved into Parquet shards in ``<store>.tables/<table>/`` when the
  batch ends; ``shards`` lists the shards that hold committed rows.

Everything a finished run gives is committed in one transaction (its status, outcomes and
table rows), so a batch killed at any moment, SIGKILL included, leaves each run either
done with all its results or not done with none; the next start reruns exactly the runs
not done. Moving rows into a shard writes the file first and then, in one transaction,
registers it and deletes the rows; a shard file that no transaction registered is an
orphan of a kill and is deleted when the store is next opened for writing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

import riskmodel
from riskmodel.errors import InputError
from riskmodel.experiments.designs import Design
from riskmodel.experiments.seeds import run_seed
from riskmodel.experiments.spec import ExperimentSpec
from riskmodel.experiments.worker import Record

SCHEMA = """
CREATE TABLE meta (key VARCHAR, value VARCHAR);
CREATE TABLE runs (run_id BIGINT, point_id BIGINT, replication INTEGER, seed UBIGINT, status VARCHAR,
                   wall_time DOUBLE, worker VARCHAR, finished TIMESTAMP, error_type VARCHAR, error_message VARCHAR,
                   traceback VARCHAR);
CREATE TABLE outcomes (run_id BIGINT, outcome VARCHAR, value DOUBLE);
CREATE TABLE shards ("table" VARCHAR, file VARCHAR, rows BIGINT);
"""


def tables_folder(path: Path) -> Path:
    """Where a store's Parquet shards live: ``<store>.tables/`` beside it."""
    return path.with_name(path.name + ".tables")


class Store:
    """An open experiment store (see the module's description for its tables)."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path = Path(path)
        self._started: list[int] = []  # sent to a worker, marked running with the next commit
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(self.path, "", str(exc).splitlines()[0], "an experiment store (DuckDB file) that no "
                             "other process has open for writing") from None  # fmt: skip

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------

    def initialised(self) -> bool:
        found = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()
        return bool(found and found[0])

    def meta(self) -> dict[str, str]:
        return dict(self.con.execute("SELECT key, value FROM meta").fetchall())

    def frame(self, query: str, *args: Any) -> pd.DataFrame:
        return self.con.execute(query, list(args)).df()

    def todo(self, retry_failed: bool) -> list[int]:
        """Run ids still to run, in order: pending and interrupted (and failed, when retried)."""
        statuses = ("pending", "running", "failed") if retry_failed else ("pending", "running")
        marks = ", ".join("?" * len(statuses))
        query = f"SELECT run_id FROM runs WHERE status IN ({marks}) ORDER BY run_id"
        return [row[0] for row in self.con.execute(query, list(statuses)).fetchall()]

    def run_rows(self, run_ids: list[int]) -> list[tuple[int, int, int, int]]:
        """(run_id, point_id, replication, seed) of the given runs."""
        self.con.register("wanted", pa.table({"run_id": pa.array(run_ids, pa.int64())}))
        rows = self.con.execute("SELECT run_id, point_id, replication, seed FROM runs JOIN wanted USING (run_id) "
                                "ORDER BY run_id").fetchall()  # fmt: skip
        self.con.unregister("wanted")
        return rows

    def table(self, name: str) -> pd.DataFrame:
        """A run table's rows (of runs done), from its shards and from the rows not moved yet."""
        parts = []
        files = [row[0] for row in self.con.execute('SELECT file FROM shards WHERE "table" = ? ORDER BY file', [name])
                 .fetchall()]  # fmt: skip
        folder = tables_folder(self.path)
        if files:
            listed = ", ".join(f"'{folder / file}'" for file in files)
            parts.append(self.con.execute(f"SELECT * FROM read_parquet([{listed}], union_by_name = true)").df())
        if self._has(f"staged_{name}"):
            parts.append(self.con.execute(f'SELECT * FROM "staged_{name}"').df())
        if not parts:
            raise InputError(self.path, "tables", name, "a table the experiment kept ([outcomes] tables)")
        return pd.concat(parts, ignore_index=True).sort_values("run_id", kind="stable").reset_index(drop=True)

    def _has(self, table: str) -> bool:
        found = self.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table])
        return bool(found.fetchone()[0])  # type: ignore[index]

    # --- writing (the coordinator only) ------------------------------------------------

    def initialise(self, spec: ExperimentSpec, design: Design) -> None:
        """Write the spec, the design points and every run as pending, in one transaction."""
        replications = spec.file.experiment.replications
        root, crn = spec.file.experiment.seed, spec.file.experiment.crn
        n_points = len(design.points)
        runs = pd.DataFrame({
            "run_id": range(n_points * replications),
            "point_id": [p for p in range(n_points) for _ in range(replications)],
            "replication": list(range(replications)) * n_points,
        })  # fmt: skip
        runs["seed"] = [run_seed(root, r, None if crn else p) for p, r in zip(runs.point_id, runs.replication,
                                                                              strict=True)]  # fmt: skip
        runs["seed"] = runs["seed"].astype("uint64")
        meta = pd.DataFrame(
            [("spec", spec.to_json()), ("hash", spec.hash), ("source", str(spec.source)), ("folder", str(spec.folder)),
             ("version", riskmodel.__version__), ("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))],
            columns=["key", "value"],
        )  # fmt: skip
        points = design.points
        self.con.begin()
        self.con.execute(SCHEMA)
        self.con.register("meta_frame", meta)
        self.con.execute("INSERT INTO meta SELECT * FROM meta_frame")
        self.con.register("points_frame", points)
        self.con.execute("CREATE TABLE points AS SELECT * FROM points_frame")
        self.con.register("runs_frame", runs)
        self.con.execute("INSERT INTO runs (run_id, point_id, replication, seed, status) "
                         "SELECT run_id, point_id, replication, seed, 'pending' FROM runs_frame")  # fmt: skip
        self.con.commit()
        for name in ("meta_frame", "points_frame", "runs_frame"):
            self.con.unregister(name)

    def remove_orphans(self) -> None:
        """Delete shard files that no committed transaction registered (left by a kill)."""
        folder = tables_folder(self.path)
        if not folder.exists():
            return
        known = {row[0] for row in self.con.execute("SELECT file FROM shards").fetchall()}
        for file in folder.rglob("*.parquet*"):
            if str(file.relative_to(folder)) not in known:
                file.unlink()

    def mark_running(self, run_ids: list[int]) -> None:
        """Note runs sent to a worker; they are marked ``running`` in the next commit's
        transaction rather than in one of their own (a commit costs a write to disk, and
        running and pending runs are alike to a restart: both run again)."""
        self._started.extend(run_ids)

    def commit(self, record: Record) -> None:
        """Store one finished run (status, outcomes, table rows) in one transaction."""
        con = self.con
        con.begin()  # a run not done has no outcomes or rows yet: they are only ever added here, with "done"
        if self._started:
            con.register("started", pa.table({"run_id": pa.array(self._started, pa.int64())}))
            con.execute("UPDATE runs SET status = 'running' WHERE run_id IN (SELECT run_id FROM started)")
            con.unregister("started")
            self._started = []
        con.execute(
            "UPDATE runs SET status = ?, wall_time = ?, worker = ?, finished = ?, error_type = ?, error_message = ?, "
            "traceback = ? WHERE run_id = ?",
            [record.status, record.wall_time, record.worker, dt.datetime.now(dt.UTC).replace(tzinfo=None),
             record.error_type, record.error_message, record.traceback, record.run_id],
        )  # fmt: skip
        if record.outcomes:
            incoming = pa.table({
                "run_id": pa.array([record.run_id] * len(record.outcomes), pa.int64()),
                "outcome": pa.array(list(record.outcomes), pa.string()),
                "value": pa.array(list(record.outcomes.values()), pa.float64()),
            })  # fmt: skip
            con.register("incoming", incoming)
            con.execute("INSERT INTO outcomes SELECT * FROM incoming")
            con.unregister("incoming")
        for name, frame in record.tables.items():
            rows = frame.reset_index(drop=True)
            rows.insert(0, "run_id", record.run_id)
            con.register("incoming", rows)
            staged = f'"staged_{name}"'
            if not self._has(f"staged_{name}"):
                con.execute(f"CREATE TABLE {staged} AS SELECT * FROM incoming LIMIT 0")
            con.execute(f"INSERT INTO {staged} BY NAME SELECT * FROM incoming")
            con.unregister("incoming")
        con.commit()

    def compact(self) -> None:
        """Move the staged rows of every run table into a new Parquet shard each."""
        query = "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'staged_%'"
        names = [row[0].removeprefix("staged_") for row in self.con.execute(query).fetchall()]
        for name in names:
            staged = f'"staged_{name}"'
            rows = self.con.execute(f"SELECT count(*) FROM {staged}").fetchone()[0]  # type: ignore[index]
            if not rows:
                continue
            number = self.con.execute('SELECT count(*) FROM shards WHERE "table" = ?', [name]).fetchone()[0]  # type: ignore[index]
            relative = f"{name}/shard-{number:06d}.parquet"
            final = tables_folder(self.path) / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            partial = final.with_name(final.name + ".partial")
            self.con.execute(f"COPY (SELECT * FROM {staged} ORDER BY run_id) TO '{partial}' (FORMAT parquet)")
            os.replace(partial, final)
            self.con.begin()
            self.con.execute("INSERT INTO shards VALUES (?, ?, ?)", [name, relative, rows])
            self.con.execute(f"DELETE FROM {staged}")
            self.con.commit()


def open_for_writing(path: Path, spec: ExperimentSpec, design: Design) -> Store:
    """Open (or create) the store of ``spec``; a store made from another spec is refused
    before anything in it changes."""
    if path.exists():
        with Store(path, read_only=True) as store:
            if store.initialised():
                _same_spec(store, spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(path)
    if not store.initialised():
        store.initialise(spec, design)
    store.remove_orphans()
    return store


def _same_spec(store: Store, spec: ExperimentSpec) -> None:
    held = store.meta().get("hash")
    if held != spec.hash:
        raise InputError(store.path, "spec", spec.hash, f"the spec this store was made from (hash {held}): use "
                         "another --store, or another [experiment] name for a new experiment")  # fmt: skip


def stored_spec(path: Path) -> tuple[dict[str, Any], Path]:
    """The spec data a store was made from and the folder its relative paths start from."""
    if not Path(path).is_file():
        raise InputError(path, "", "(no such file)", "an experiment store made by 'riskmodel experiment run'")
    with Store(path, read_only=True) as store:
        if not store.initialised():
            raise InputError(path, "", "(no experiment)", "an experiment store made by 'riskmodel experiment run'")
        meta = store.meta()
    return json.loads(meta["spec"]), Path(meta["folder"])
