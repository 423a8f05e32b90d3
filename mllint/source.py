"""A SourceFile: a file's bytes decoded once, with its encoding, BOM, newline and line index."""

from __future__ import annotations

import codecs
import io
import os
import stat
import tokenize
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from mllint.lazyre import lazy_compile


class SourceReadError(Exception):
    """The file could not be read (permissions, vanished, not a file)."""


class SourceDecodeError(Exception):
    """The file's bytes are not text in its declared encoding."""

    def __init__(
        self, message: str, row: int = 1, column: int = 1, kind: str = "SyntaxError"
    ) -> None:
        super().__init__(message)
        self.row = row
        self.column = column
        #: how the ML001 message starts ("Invalid notebook" for a notebook's JSON)
        self.kind = kind


@dataclass
class SourceFile:
    """The text of one file as the analysis sees it.

    ``text`` has the BOM removed; rows and columns reported by mllint are 1-based and
    count characters, as editors do.
    """

    path: Path
    display_path: str
    raw: bytes
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    _line_starts: list[int] = field(default_factory=list, repr=False)

    #: A Jupyter notebook (``mllint.notebook.NotebookSource``): ``text`` is its code
    #: cells, and it is an entry point of its own.
    is_notebook: ClassVar[bool] = False

    def lines_by_cell(self) -> dict[int | None, list[str]]:
        """The lines as the user wrote them, by notebook cell (``None`` for a file)."""
        return {None: self.text.splitlines()}

    @property
    def line_starts(self) -> list[int]:
        if not self._line_starts:
            starts = [0]
            text = self.text
            index = 0
            while True:
                index = text.find("\n", index)
                if index < 0:
                    break
                index += 1
                starts.append(index)
            self._line_starts = starts
        return self._line_starts

    def line(self, row: int) -> str:
        """The text of 1-based ``row`` without its line ending ("" past the end)."""
        starts = self.line_starts
        if row < 1 or row > len(starts):
            return ""
        end = starts[row] if row < len(starts) else len(self.text)
        return self.text[starts[row - 1] : end].rstrip("\r\n")

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def row_of_offset(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def with_text(self, text: str) -> SourceFile:
        """The same file with new analysed text (after fixes); ``raw`` stays the bytes read."""
        return replace(self, text=text, _line_starts=[])

    def encode(self, text: str) -> bytes:
        """The bytes to write for ``text`` (this file's text after fixes).

        The single way fixed text goes back to disk: a ``.py`` file gets its original
        encoding and BOM back, and lines that a fix added get the file's line ending
        when the file used one style throughout. (A notebook's SourceFile overrides this
        to rebuild its JSON.) Raises ``UnicodeEncodeError`` when a fix introduced
        characters the file's encoding cannot hold.
        """
        if self.newline != "\n" and _uses_one_line_ending(self.raw, self.newline):
            text = _LINE_ENDING_RE.sub(self.newline, text)
        data = text.encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data


_LINE_ENDING_RE = lazy_compile(r"\r\n|\r|\n")


def _uses_one_line_ending(raw: bytes, newline: str) -> bool:
    crlf = raw.count(b"\r\n")
    if newline == "\r\n":
        return crlf == raw.count(b"\n") == raw.count(b"\r")
    return newline == "\r" and b"\n" not in raw


def read_source(
    path: Path, display_path: str | None = None, raw: bytes | None = None
) -> SourceFile:
    """Read and decode ``path`` (PEP 263 coding cookie or BOM; UTF-8 by default).

    A ``.ipynb`` file is read as a notebook (``mllint.notebook.NotebookSource``). With
    ``raw``, those bytes (already read from ``path``) are decoded instead of reading again.
    """
    try:
        raw = read_regular_file(path) if raw is None else raw
    except IsADirectoryError:
        raise SourceReadError("is a directory, not a file") from None
    except FileNotFoundError:
        raise SourceReadError("file not found (deleted during the run?)") from None
    except PermissionError:
        raise SourceReadError("permission denied") from None
    except OSError as error:
        raise SourceReadError(error.strerror or str(error)) from None
    if path.suffix == ".ipynb":
        from mllint.notebook import read_notebook

        return read_notebook(raw, path, display_path or os.fspath(path))
    return decode_source(raw, path, display_path or os.fspath(path))


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, refusing anything but a regular file: reading a named pipe
    would wait forever and a link to ``/dev/zero`` would never end. The check is made on
    the opened descriptor (non-blocking, so opening a pipe does not wait), not on the name,
    so the file cannot be swapped between the check and the read."""
    return read_regular_file_and_stat(path)[0]


def read_regular_file_and_stat(path: Path | str) -> tuple[bytes, os.stat_result]:
    """:func:`read_regular_file`, with the status of the descriptor the bytes were read
    from (the result cache remembers digests by it)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):
            raise SourceReadError("not a regular file (a pipe, socket or device); not read")
        # Plain reads until the end (a file that grew meanwhile is read whole): no buffered
        # file object for what is one read for most files. That read's bytes are returned
        # as they are, never copied (a 200 MB notebook must not take 400 MB).
        first = os.read(descriptor, info.st_size + 1)
        chunks = [first, os.read(descriptor, 1 << 20)] if first else [first]
        if len(chunks) == 1 or not chunks[1]:
            return first, info
        while chunks[-1]:
            chunks.append(os.read(descriptor, 1 << 20))
        return b"".join(chunks), info
    finally:
        os.close(descriptor)


def decode_source(raw: bytes, path: Path, display_path: str) -> SourceFile:
    bom = raw.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as error:
        raise SourceDecodeError(f"invalid encoding declaration: {error.msg}") from None
    body = raw[len(codecs.BOM_UTF8) :] if bom else raw
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        row = body.count(b"\n", 0, error.start) + 1
        column = error.start - (body.rfind(b"\n", 0, error.start) + 1) + 1
        raise SourceDecodeError(
            f"not valid {encoding} text: byte 0x{body[error.start]:02x} cannot be decoded",
            row,
            column,
        ) from None
    except LookupError:
        raise SourceDecodeError(f"unknown encoding {encoding!r}") from None
    newline = "\n"
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        newline = "\r\n"
    elif first < 0 and "\r" in text:
        newline = "\r"
        # Classic Mac line endings: analysed as "\n" (as Python reads them), so rows,
        # import scans and noqa comments work; ``encode`` writes "\r" back.
        text = text.replace("\r", "\n")
    return SourceFile(
        path=path,
        display_path=display_path,
        raw=raw,
        text=text,
        encoding=encoding,
        bom=bom,
        newline=newline,
    )
