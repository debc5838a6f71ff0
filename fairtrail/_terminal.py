"""Text from data, specs, bundles and paths on a terminal: shown, never obeyed.

A terminal acts on some characters instead of showing them: ESC starts sequences that clear
the screen, move the cursor or set the window title; C1 controls do the same in one byte;
carriage return and backspace overwrite what was printed; bidi overrides and isolates
reorder the text around them, and other format characters hide in it. :func:`visible` is the
one place that decides what a terminal may receive verbatim: every command and the pytest
gate pass each piece of user text through it where they print it.

Rich markup is the other way user text could act (``[bold]``, or ``[/]`` that makes rich
raise): the printers build :class:`rich.text.Text` from user text, and the CLI's consoles
have markup off, so a ``[`` in user text is a ``[``.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

__all__ = ["plain", "visible"]

#: Unicode categories a terminal must not receive verbatim: controls (C0, DEL, C1), format
#: characters (bidi marks, overrides and isolates, zero-width characters, the BOM, tags),
#: lone surrogates (undecodable bytes of a file name), line and paragraph separators.
_SHOWN_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, *, newlines: bool = False) -> str:
    r"""``text`` with every character a terminal would act on written as an escape.

    Controls (C0, DEL and C1), format characters (Unicode category Cf: the bidi marks
    U+200E, U+200F and U+061C, the embeddings and overrides U+202A–U+202E, the isolates
    U+2066–U+2069, zero-width characters, the byte-order mark), lone surrogates and the line
    and paragraph separators U+2028, U+2029 become Python-style escapes: ``\t``, ``\n``,
    ``\r``, ``\xhh`` up to U+00FF, ``\uhhhh`` and ``\Uhhhhhhhh`` above. Everything else,
    backslashes and spaces included, is kept as it is, so printable text comes back unchanged.

    Parameters
    ----------
    text : str
        Text that came from outside the program: a column name, a group label, a path, a
        note, an error message quoting any of them.
    newlines : bool, default False
        Keep ``"\n"`` as a line break (for a message of several lines that the program
        composed itself). By default a newline is shown as ``\n``, so one line stays one.

    Returns
    -------
    str
        The text to print; it holds no character of the categories above (no ``"\n"``
        unless ``newlines``).

    Examples
    --------
    >>> visible("sex\x1b[2J")
    'sex\\x1b[2J'
    >>> print(visible("\x1b]0;title\x07 \u202eexe.txt \x00 \x9b"))
    \x1b]0;title\x07 \u202eexe.txt \x00 \x9b
    >>> print(visible("two\nlines\r"), visible("two\nlines\r", newlines=True), sep=" | ")
    two\nlines\r | two
    lines\r
    >>> visible("Zoë [bold]x[/bold] C:\\data")  # printable text: unchanged
    'Zoë [bold]x[/bold] C:\\data'
    """
    if text.isprintable():  # the usual case: no control, format or separator character
        return text
    return "".join(
        char
        if (char == "\n" and newlines) or unicodedata.category(char) not in _SHOWN_ESCAPED
        else _escape(char)
        for char in text
    )


def plain(text: str, style: str = "", *, newlines: bool = False) -> Text:
    r"""User text as a rich :class:`~rich.text.Text`: escaped by :func:`visible`, never markup.

    Parameters
    ----------
    text : str
        Text from outside the program.
    style : str, default ""
        A rich style for the whole text.
    newlines : bool, default False
        Keep ``"\n"`` as a line break (see :func:`visible`).

    Returns
    -------
    rich.text.Text

    Examples
    --------
    >>> from rich.console import Console
    >>> console = Console(width=40, color_system=None)
    >>> console.print(plain("sex[/] \x1b[31mred"), style="bold")
    sex[/] \x1b[31mred
    """
    return Text(visible(text, newlines=newlines), style=style)
