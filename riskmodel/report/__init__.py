"""The faces of a run: its figures (:mod:`riskmodel.report.figures`, the one plotting
module, which the writers of the commands' PNG files use too) and a self-contained HTML
report of an output folder (:func:`riskmodel.report.build.build_report`). Nothing is
imported here, so that a writer drawing a figure does not load the report's templates."""
