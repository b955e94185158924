"""The ChartauditError family: user-facing errors that name the file, row or item and the fix."""

from __future__ import annotations

EXIT_SUCCESS = 0
EXIT_THRESHOLD = 1  # the run worked but --fail-under / --fail-on was breached
EXIT_ERROR = 2  # usage, input or checklist error


class ChartauditError(Exception):
    """An error a user can fix; its message names the culprit and the fix. Never holds PHI."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, fix: str = "") -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if not fix else f"{message}\n  fix: {fix}")

    def __reduce__(self):
        # Pickled whole (message and fix apart), as a helper process sends it to the parent.
        return (_rebuilt, (type(self), self.message, self.fix))


def _rebuilt(kind: type[ChartauditError], message: str, fix: str) -> ChartauditError:
    return kind(message, fix=fix)


class InputError(ChartauditError):
    """The export folder or one of its files cannot be used."""


class ChecklistError(ChartauditError):
    """A checklist or criteria file is malformed."""


class MappingError(ChartauditError):
    """The mapping file is malformed."""
