"""The faces of a run: its figures (:mod:`riskmodel.report.figures`, the one plotting
module) and a self-contained HTML report of an output folder (:func:`build_report`)."""

from riskmodel.report.build import build_report

__all__ = ["build_report"]
