"""The one exception family for bad input data."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Input data that cannot be loaded as given.

    The message always names the file and, where it applies, the line (1-based, counting the
    header) or column, and what was expected, so that a user can fix the file without reading code.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        where = []
        if self.path:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
