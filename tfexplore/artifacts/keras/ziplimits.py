"""Reading members of a ``.keras`` zip without letting a zip bomb take the memory.

A zip's central directory declares each member's compressed and uncompressed size. Before any
member is read (by tfexplore or, in a session, by Keras) :func:`check_members` refuses an
archive whose declared sizes are out of bounds: more than :data:`MAX_MEMBERS` members, a JSON
member (``config.json``, ``metadata.json``) over :data:`MAX_JSON_BYTES`, any member over
:data:`MAX_MEMBER_BYTES`, or a compressed member that would inflate more than
:data:`MAX_RATIO` times (beyond :data:`RATIO_FREE_BYTES`: real weights and configs compress a
few times, bombs a thousand). :func:`read_member` then reads with a cap: never more than the
declared size (plus one byte, to catch a member that lies about its size, which is refused).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ...errors import CorruptArtifactError, TooLargeError

__all__ = [
    "check_members",
    "check_inflation",
    "read_member",
    "MAX_MEMBERS",
    "MAX_JSON_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "RATIO_FREE_BYTES",
]

MAX_MEMBERS = 10_000
MAX_JSON_BYTES = 64 << 20
MAX_MEMBER_BYTES = 2 << 30  # a compressed member is inflated in memory: at most this
MAX_RATIO = 100
RATIO_FREE_BYTES = 16 << 20
_CHUNK = 1 << 20


def _limit_for(info: zipfile.ZipInfo) -> int:
    if info.filename.endswith(".json"):
        return MAX_JSON_BYTES
    return MAX_MEMBER_BYTES


def check_members(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive whose central directory declares sizes a Keras file never has."""
    if len(infos) > MAX_MEMBERS:
        raise CorruptArtifactError(
            f"{str(path)!r} declares {len(infos)} zip members; a Keras file has a handful.",
            path=path,
            expected=f"a .keras zip of at most {MAX_MEMBERS} members",
            hint="the file is damaged or not a Keras model; list it with `unzip -l`",
        )
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # zipfile inflates bzip2 and lzma without an output bound: refused, not tried
            raise CorruptArtifactError(
                f"The member {info.filename!r} of {str(path)!r} uses zip compression method "
                f"{info.compress_type}; Keras writes members stored or deflated.",
                path=path,
                expected="a .keras zip of stored or deflated members",
                hint="re-save the model with model.save('x.keras')",
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise CorruptArtifactError(
                f"The stored member {info.filename!r} of {str(path)!r} declares {info.file_size} "
                f"bytes but occupies {info.compress_size}.",
                path=path,
                expected="a .keras zip whose stored members are as long as they say",
                hint="re-copy the file; if you made it, re-save it with model.save()",
            )
        limit = _limit_for(info)
        compressed = info.compress_type != zipfile.ZIP_STORED
        if info.file_size > limit and (compressed or info.filename.endswith(".json")):
            raise _too_large(
                path,
                info,
                f"declares {info.file_size} bytes, more than the {limit} tfexplore reads of it",
            )
        if (
            compressed
            and info.file_size > RATIO_FREE_BYTES
            and info.file_size > MAX_RATIO * max(info.compress_size, 1)
        ):
            raise _too_large(
                path,
                info,
                f"inflates {info.compress_size} bytes to a declared {info.file_size} (more than "
                f"{MAX_RATIO} times: a zip bomb)",
            )


def check_inflation(path: Path, info: zipfile.ZipInfo, source=None) -> None:
    """Inflate a deflated member in bounded steps (never more than ``_CHUNK`` bytes out at a
    time, nothing kept) and refuse it unless its stream ends at exactly its declared size.

    ``zipfile`` stops *returning* bytes at the declared size, but its ``read()`` asks zlib for
    up to 2 GB of output at once, so a member that declares 1 KB and inflates to 3 GB takes
    3 GB in whoever reads it (Keras's ``load_model`` does). After this check no reader can get
    more than the declared size out of the member. ``source``: where the bytes come from
    (``container.byte_source``), when not the local file ``path``."""
    import struct
    import zlib

    from ..._files import open_regular

    if info.compress_type != zipfile.ZIP_DEFLATED:
        return
    inflater = zlib.decompressobj(-15)
    total = 0
    with source.open() if source is not None else open_regular(path, what="Keras zip") as raw:
        raw.seek(info.header_offset)
        header = raw.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        raw.seek(info.header_offset + 30 + name_length + extra_length)
        left = info.compress_size
        pending = b""
        while not inflater.eof:
            if not pending:
                if left <= 0:
                    break
                pending = raw.read(min(_CHUNK, left))
                if not pending:
                    break
                left -= len(pending)
            total += len(inflater.decompress(pending, _CHUNK))
            pending = inflater.unconsumed_tail
            if total > info.file_size:
                raise _too_large(
                    path,
                    info,
                    f"inflates to more than the {info.file_size} bytes it declares (a zip bomb)",
                )
    if not inflater.eof or total != info.file_size:
        raise CorruptArtifactError(
            f"The member {info.filename!r} of {str(path)!r} inflates to {total} bytes, not the "
            f"{info.file_size} it declares.",
            path=path,
            expected="a .keras zip whose members are intact",
            hint="re-copy the file; if you made it, re-save it with model.save()",
        )


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> bytes:
    """The bytes of ``info`` (checked by :func:`check_members`), read in pieces and never
    more than its declared size, or the limit for its kind, allows."""
    limit = min(info.file_size, _limit_for(info))
    if info.file_size > _limit_for(info):
        raise _too_large(path, info, f"declares {info.file_size} bytes")
    pieces, total = [], 0
    with archive.open(info) as member:
        while True:
            piece = member.read(min(_CHUNK, limit + 1 - total))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
            if total > limit:
                raise _too_large(
                    path, info, f"holds more than the {info.file_size} bytes it declares"
                )
    return b"".join(pieces)


def _too_large(path: Path, info: zipfile.ZipInfo, what: str) -> TooLargeError:
    return TooLargeError(
        f"The member {info.filename!r} of {str(path)!r} {what}; it is not read.",
        path=path,
        expected="a .keras zip whose members fit in memory (configs of at most "
        f"{MAX_JSON_BYTES >> 20} MB, weights stored or compressed at most {MAX_RATIO} times)",
        hint="the file is damaged or hostile; if you made it, re-save it with model.save()",
    )
