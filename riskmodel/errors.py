"""The one error type for bad input, so that every entry point reports it the same way.

A user who gets a scenario or portfolio wrong should read one line that names the file,
the field path, the value found and what was expected; the CLI prints that line and exits
with status 2. Everything that checks input raises :class:`InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """Bad user input: where it is, what was found and what was expected."""

    file: str | Path
    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        value = repr(self.value)
        if len(value) > 80:
            value = value[:77] + "..."
        where = f"{self.file}: {self.field}" if self.field else f"{self.file}"
        return f"{where}: got {value}; expected {self.expected}"
