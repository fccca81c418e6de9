"""Experiment batches: many runs over policy levers and uncertain parameters, stored,
resumable and analysed with intervals, sensitivity indices and scenario discovery.

>>> from riskmodel.experiments import run_experiment, load_experiment, summarize
>>> run_experiment("experiments/blame_immunity.toml", workers=2)  # doctest: +SKIP
>>> data = load_experiment("out/experiments/blame_immunity.duckdb")  # doctest: +SKIP
>>> summarize(data)  # doctest: +SKIP
"""

from riskmodel.experiments.designs import Design, build_design
from riskmodel.experiments.results import ExperimentData, load_experiment
from riskmodel.experiments.runner import BatchReport, run_experiment
from riskmodel.experiments.spec import ExperimentSpec, load_spec

__all__ = [
    "BatchReport",
    "Design",
    "ExperimentData",
    "ExperimentSpec",
    "build_design",
    "load_experiment",
    "load_spec",
    "run_experiment",
]
