"""Text from the export or the user, made safe to print on a terminal with rich."""

from __future__ import annotations

import re

from rich.markup import escape as _escape_markup

# C0 and C1 control characters but tab and newline: an ESC from a therapist's name in the
# export would otherwise reach the terminal as an escape sequence (colours, cursor moves,
# window titles).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """`text` with control characters shown as � and rich markup ([bold]) escaped."""
    return _escape_markup(_CONTROL.sub("\ufffd", text))
