"""A protobuf file read whole, binary or text format (sniffed): :func:`read_proto_file`, with
damage turned into errors that name the file.
"""

from __future__ import annotations

import os

from .._files import read_bytes
from .._fs import as_path
from .._tf import parse_proto
from ..errors import CorruptArtifactError


def read_proto_file(path: str | os.PathLike, message_cls, what: str, *, hint: str | None = None):
    """Read ``path`` as a ``message_cls`` proto, binary or text format (sniffed).

    Returns ``(message, is_text)``. Damage becomes :class:`CorruptArtifactError` naming the
    file; a text file that is not this proto in text format says that it holds text. A missing
    or unreadable file raises ``ArtifactNotFoundError`` / ``UnreadableFileError``.
    """
    path = as_path(path)
    data = read_bytes(path, what=what, expected=f"a {what} file")
    if not data:
        raise CorruptArtifactError(
            f"{str(path)!r} is empty (0 bytes).",
            path=path,
            expected=f"a {what} ({message_cls.DESCRIPTOR.full_name} protocol buffer)",
            hint=hint or "the copy was probably interrupted; copy the file again",
        )
    text = _as_text(data)
    if text is not None:
        message, error = _parse_text(message_cls, text)
        if message is not None:
            return message, True
        try:
            return parse_proto(message_cls, data, path, what), False
        except CorruptArtifactError as exc:
            raise CorruptArtifactError(
                f"{str(path)!r} holds text, not a binary {what}, and the text is not a "
                f"{message_cls.DESCRIPTOR.name} in protobuf text format either ({error}).",
                path=path,
                expected=f"a binary {message_cls.DESCRIPTOR.full_name} protocol buffer "
                "(or its text format)",
                hint=hint or "check what wrote this file; it may be a different file renamed",
            ) from exc
    return parse_proto(message_cls, data, path, what, hint=hint), False


def _as_text(data: bytes) -> str | None:
    head = data[:4096]
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 128 for b in head)
    if printable / len(head) < 0.97:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_text(message_cls, text: str):
    from google.protobuf import text_format

    message = message_cls()
    try:
        text_format.Parse(text, message, allow_unknown_extension=True)
    except text_format.ParseError as exc:
        return None, str(exc).splitlines()[0]
    except Exception as exc:  # anything odd in the text: report it, never crash
        return None, f"{type(exc).__name__}: {exc}"
    return message, ""
