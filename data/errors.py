"""The product's error family: each is also a built-in, so callers can catch either."""


class IstvError(Exception):
    """Base of every error the product raises on purpose."""


class InputFileError(IstvError, ValueError):
    """A file a user gave us cannot be read as what it claims to be.

    The message names the file, and where known the row, column and what was expected.
    """

    def __init__(self, path, problem: str, row: int | None = None, column: str | None = None):
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.column, self.problem = path, row, column, problem


class StoreError(IstvError, RuntimeError):
    """The database file is missing, unreadable or not an ISTV database."""


class BusyError(StoreError):
    """Another load is writing the database: one writer at a time (try again when it has finished)."""
