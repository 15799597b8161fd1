"""Where artifacts live: a local path, or an fsspec URL (``s3://``, ``gs://``, ``az://``, ...).

Inspection goes through :class:`RemotePath` for URLs: a small, path-like object with the parts
of :class:`pathlib.Path` that tfexplore's readers use (``name``, ``parent``, ``/``, ``exists``,
``is_dir``, ``iterdir``, ``stat``), backed by an fsspec file system. Everything a reader fetches
goes through :meth:`RemotePath.read_range` or :func:`tfexplore._files.read_ranges` (many byte
ranges in one round of concurrent requests), and is counted: :func:`count_fetches` tells a
caller how many bytes and requests a call cost.

Example::

    >>> import tfexplore
    >>> with tfexplore.count_fetches() as fetched:                       # doctest: +SKIP
    ...     ckpt = tfexplore.open("s3://bucket/run/model.ckpt-1000")
    ...     ckpt.variables
    >>> fetched.bytes, fetched.requests                                  # doctest: +SKIP
    (2417, 2)

fsspec and the package for the protocol (``s3fs``, ``gcsfs``, ``adlfs``) are optional:
``pip install 'tfexplore[remote]'``. Credentials and endpoints come from ``storage_options=``
(passed to fsspec) or from the usual environment (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``,
``GOOGLE_APPLICATION_CREDENTIALS``, ``STORAGE_EMULATOR_HOST``...).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat as stat_module
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ArtifactNotFoundError, TFExploreError, UnreadableFileError

__all__ = [
    "RemotePath",
    "as_path",
    "is_url",
    "is_remote",
    "count_fetches",
    "Fetched",
    "remote_error",
    "RemoteFile",
]

#: ``scheme://``: a URL (one letter is a Windows drive, ``C:\\``, never a scheme)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+)://")

#: the package fsspec needs for each common protocol
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "hf": "huggingface_hub",
    "http": "aiohttp",
    "https": "aiohttp",
}


def is_url(value: Any) -> bool:
    """Whether ``value`` is a URL string (``s3://bucket/run``), not a local path. ``file://``
    URLs count as local."""
    if isinstance(value, RemotePath):
        return True
    if not isinstance(value, str):
        return False
    match = _URL.match(value)
    return match is not None and match.group("scheme").lower() != "file"


def is_remote(path: Any) -> bool:
    """Whether ``path`` is a :class:`RemotePath`."""
    return isinstance(path, RemotePath)


def as_path(value: Any, storage_options: dict | None = None) -> Path | RemotePath:
    """A :class:`RemotePath` for a URL (or a ``RemotePath``), else a local
    :class:`~pathlib.Path` (``~`` expanded; ``file://`` stripped)."""
    if isinstance(value, RemotePath):
        if storage_options:
            return RemotePath(value.url, storage_options)
        return value
    if isinstance(value, str):
        if is_url(value):
            return RemotePath(value, storage_options)
        if value.lower().startswith("file://"):
            value = value[len("file://") :]
    return Path(os.fspath(value)).expanduser()


# -- counting what is fetched ------------------------------------------------------------------


@dataclass
class Fetched:
    """What the calls inside a :func:`count_fetches` block fetched from remote storage."""

    bytes: int = 0
    requests: int = 0
    by_file: dict[str, int] = field(default_factory=dict)

    def add(self, url: str, size: int) -> None:
        self.bytes += size
        self.requests += 1
        self.by_file[url] = self.by_file.get(url, 0) + size

    def __repr__(self) -> str:
        files = len(self.by_file)
        return f"<Fetched {self.bytes:,} bytes in {self.requests} request(s) from {files} file(s)>"


_COUNTERS: list[Fetched] = []
_LOCK = threading.Lock()


def _record(url: str, size: int) -> None:
    with _LOCK:
        for counter in _COUNTERS:
            counter.add(url, size)


@contextlib.contextmanager
def count_fetches() -> Iterator[Fetched]:
    """Count the bytes and requests fetched from remote storage inside the block (listings and
    metadata requests are not bytes of any file and are not counted).

    Example::

        >>> with count_fetches() as fetched:                             # doctest: +SKIP
        ...     ckpt.read("dense/kernel")
        >>> fetched.by_file                                               # doctest: +SKIP
        {'s3://bucket/run/model.ckpt-10.data-00000-of-00001': 40960}
    """
    counter = Fetched()
    with _LOCK:
        _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        with _LOCK:
            _COUNTERS.remove(counter)


# -- the file system of a URL -------------------------------------------------------------------


def _filesystem(url: str, storage_options: dict | None):
    scheme = url.split("://", 1)[0].lower()
    try:
        import fsspec
    except ImportError as exc:
        raise _missing_package(url, "fsspec") from exc
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as exc:
        package = _PACKAGES.get(scheme)
        if package is None:  # fsspec's own words: "pyarrow and local java libraries required..."
            raise UnreadableFileError(
                f"Reading {url!r} needs what fsspec's {scheme}:// backend needs: {exc}.",
                path=url,
                expected=f"the packages of fsspec's {scheme}:// backend",
                hint="install them, or copy the files to a local folder and open that",
            ) from exc
        raise _missing_package(url, package) from exc
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise UnreadableFileError(
            f"tfexplore cannot read {url!r}: {exc}.",
            path=url,
            expected="a local path, or a URL fsspec knows (s3://, gs://, az://, https://, ...)",
            hint="check the URL's scheme; `fsspec.available_protocols()` lists the known ones",
        ) from exc


def _missing_package(url: str, package: str) -> UnreadableFileError:
    return UnreadableFileError(
        f"Reading {url!r} needs the Python package {package!r}, which is not installed.",
        path=url,
        expected=f"{package} installed, to read {url.split('://', 1)[0]}:// URLs",
        hint=f"pip install 'tfexplore[remote]' (or pip install {package})",
    )


class RemotePath:
    """A file or folder at an fsspec URL, with the parts of ``pathlib.Path`` tfexplore uses.

    ``str()`` and ``os.fspath()`` give the URL; every derived path (``parent``, ``/``,
    ``with_name``) shares the file system and its credentials.

    Example::

        >>> run = RemotePath("s3://bucket/runs/mnist", {"anon": True})   # doctest: +SKIP
        >>> [p.name for p in run.iterdir()]                              # doctest: +SKIP
        ['checkpoint', 'model.ckpt-10.index', 'model.ckpt-10.data-00000-of-00001', ...]
    """

    __slots__ = ("url", "fs", "fs_path", "storage_options", "_scheme")

    def __init__(self, url: str, storage_options: dict | None = None, *, _fs=None) -> None:
        self.storage_options = dict(storage_options or {})
        self._scheme = url.split("://", 1)[0]
        if _fs is None:
            _fs, _ = _filesystem(url, self.storage_options)
        self.fs = _fs
        self.fs_path = self.fs._strip_protocol(url).rstrip("/") or "/"
        # one spelling per object (memory:///x and memory://x are the same), for == and hash
        self.url = f"{self._scheme}://{self.fs_path.lstrip('/')}"

    # -- names -----------------------------------------------------------------------------
    def __fspath__(self) -> str:
        return self.url

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __reduce__(self):  # pickles for Dask workers (fsspec file systems pickle themselves)
        return (_rebuild, (self.url, self.storage_options, self.fs))

    @property
    def name(self) -> str:
        return self.fs_path.rstrip("/").rpartition("/")[2]

    @property
    def suffix(self) -> str:
        name = self.name
        dot = name.rfind(".")
        return name[dot:] if 0 < dot < len(name) - 1 else ""

    @property
    def stem(self) -> str:
        suffix = self.suffix
        return self.name[: -len(suffix)] if suffix else self.name

    @property
    def parent(self) -> RemotePath:
        head, _, _ = self.fs_path.rstrip("/").rpartition("/")
        if not head.strip("/"):  # the bucket is its own parent
            return self
        return self._child_url(head)

    def _child_url(self, fs_path: str) -> RemotePath:
        return RemotePath(f"{self._scheme}://{fs_path}", self.storage_options, _fs=self.fs)

    def __truediv__(self, name: str) -> RemotePath:
        name = os.fspath(name).strip("/")
        return self._child_url(f"{self.fs_path}/{name}" if name else self.fs_path)

    def joinpath(self, *names: str) -> RemotePath:
        path = self
        for name in names:
            path = path / name
        return path

    def with_name(self, name: str) -> RemotePath:
        return self.parent / name

    def with_suffix(self, suffix: str) -> RemotePath:
        return self.with_name(self.stem + suffix)

    def expanduser(self) -> RemotePath:
        return self

    def resolve(self, strict: bool = False) -> RemotePath:
        return self

    absolute = resolve

    def is_absolute(self) -> bool:
        return True

    def relative_to(self, other: RemotePath) -> Path:
        base = other.fs_path.rstrip("/") + "/"
        if not self.fs_path.startswith(base):
            raise ValueError(f"{self.url!r} is not under {other.url!r}")
        return Path(self.fs_path[len(base) :])

    # -- what is there ---------------------------------------------------------------------
    def _info(self) -> dict | None:
        try:
            return self.fs.info(self.fs_path)
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - any backend's error, translated
            raise remote_error(self, "path", exc) from exc

    def exists(self) -> bool:
        return self._info() is not None

    def is_file(self) -> bool:
        info = self._info()
        return info is not None and info.get("type") == "file"

    def is_dir(self) -> bool:
        info = self._info()
        return info is not None and info.get("type") == "directory"

    def iterdir(self) -> Iterator[RemotePath]:
        try:
            names = self.fs.ls(self.fs_path, detail=False)
        except Exception as exc:  # noqa: BLE001
            raise remote_error(self, "folder", exc) from exc
        own = self.fs_path.rstrip("/")
        for name in sorted(names):
            name = name.rstrip("/")
            if name and name != own:
                yield self._child_url(name)

    def glob(self, pattern: str) -> Iterator[RemotePath]:
        """The entries of this folder whose names match ``pattern`` (one level, fnmatch)."""
        import fnmatch

        return (p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern))

    def rglob(self, pattern: str) -> Iterator[RemotePath]:
        """Every file under this folder (any depth) whose name matches ``pattern``."""
        import fnmatch

        try:
            found = self.fs.find(self.fs_path, withdirs=True)
        except Exception as exc:  # noqa: BLE001
            raise remote_error(self, "folder", exc) from exc
        for name in sorted(found):
            name = name.rstrip("/")
            if name != self.fs_path and fnmatch.fnmatchcase(name.rpartition("/")[2], pattern):
                yield self._child_url(name)

    def stat(self) -> os.stat_result:
        """An ``os.stat_result`` with the size and the kind (file or folder) filled in."""
        try:
            info = self.fs.info(self.fs_path)
        except Exception as exc:  # noqa: BLE001
            raise remote_error(self, "file", exc) from exc
        regular = info.get("type") == "file"
        mode = (stat_module.S_IFREG | 0o444) if regular else (stat_module.S_IFDIR | 0o555)
        size = int(info.get("size") or 0) if regular else 0
        mtime = _mtime(info)
        return os.stat_result((mode, 0, 0, 1, 0, 0, size, mtime, mtime, mtime))

    # -- reading ---------------------------------------------------------------------------
    def read_range(self, offset: int, size: int, *, what: str = "file") -> bytes:
        """``size`` bytes from ``offset`` (fewer at the end of the file), in one request."""
        if size <= 0:
            return b""
        try:
            data = self.fs.cat_file(self.fs_path, start=offset, end=offset + size)
        except Exception as exc:  # noqa: BLE001
            raise remote_error(self, what, exc) from exc
        _record(self.url, len(data))
        return data

    def open(
        self, mode: str = "rb", *, size: int | None = None, block_size: int = 1 << 20
    ) -> io.BufferedReader:
        """A seekable binary reader that fetches ``block_size`` blocks on demand (for zip and
        HDF5 files, of which a reader needs a few parts). ``size``: the file's, when known."""
        if mode != "rb":
            raise ValueError("tfexplore opens remote files for reading only ('rb')")
        size = self.stat().st_size if size is None else size
        return io.BufferedReader(RemoteFile(self, size, block_size), 1 << 16)


def _mtime(info: dict) -> float:
    """Seconds since the epoch when the object was last written, from whichever key the
    backend uses (s3fs ``LastModified``, gcsfs ``updated``, local ``mtime``...); 0 if none."""
    import datetime

    for key in ("LastModified", "last_modified", "updated", "mtime", "modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        try:
            text = str(value).replace("Z", "+00:00")
            return datetime.datetime.fromisoformat(text).timestamp()
        except ValueError:
            continue
    return 0.0


def _rebuild(url: str, storage_options: dict, fs) -> RemotePath:
    return RemotePath(url, storage_options, _fs=fs)


class RemoteFile(io.RawIOBase):
    """A read-only, seekable raw file over a :class:`RemotePath`: reads fetch whole blocks of
    ``block_size`` bytes, the last few kept (zip and HDF5 readers come back to their
    directories)."""

    def __init__(self, path: RemotePath, size: int, block_size: int = 1 << 20, keep: int = 8):
        super().__init__()
        self.path, self.size, self.block_size, self.keep = path, size, block_size, keep
        self.position = 0
        self.blocks: dict[int, bytes] = {}
        self.name = path.url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _block(self, number: int) -> bytes:
        block = self.blocks.pop(number, None)
        if block is None:
            start = number * self.block_size
            block = self.path.read_range(start, min(self.block_size, self.size - start))
        self.blocks[number] = block  # most recently used last
        while len(self.blocks) > self.keep:
            del self.blocks[next(iter(self.blocks))]
        return block

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self.size - self.position))
        if wanted >= self.block_size:  # a large read: one request, not one per block
            data = self.path.read_range(self.position, wanted)
            view[: len(data)] = data
            self.position += len(data)
            return len(data)
        done = 0
        while done < wanted:
            number, start = divmod(self.position, self.block_size)
            block = self._block(number)
            if start >= len(block):
                break
            take = min(wanted - done, len(block) - start)
            view[done : done + take] = block[start : start + take]
            done += take
            self.position += take
        return done


# -- errors ---------------------------------------------------------------------------------


def _bucket(path: RemotePath) -> str:
    return path.fs_path.lstrip("/").split("/", 1)[0]


def remote_error(path: RemotePath, what: str, exc: BaseException) -> TFExploreError:
    """A tfexplore error for an fsspec/backend exception about ``path``: it names the URL and
    says whether the bucket is missing, access was denied, or the server could not be
    reached."""
    if isinstance(exc, TFExploreError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    bucket = _bucket(path)
    scheme = path.url.split("://", 1)[0]
    if isinstance(exc, FileNotFoundError) or "nosuchkey" in lowered or "not found" in lowered:
        if "bucket" in lowered and ("not exist" in lowered or "nosuchbucket" in lowered):
            return ArtifactNotFoundError(
                f"The bucket {bucket!r} of {path.url!r} does not exist.",
                path=path.url,
                expected=f"an existing bucket named {bucket!r}",
                hint="check the bucket's name (and storage_options' endpoint or project)",
            )
        return ArtifactNotFoundError(
            f"The {what} {path.url!r} does not exist.",
            path=path.url,
            expected=f"a {what} at that URL",
            hint=f"list the folder to see what is there: fsspec.filesystem({scheme!r}).ls("
            f"{path.parent.fs_path!r})",
        )
    if isinstance(exc, PermissionError) or any(
        word in lowered for word in ("accessdenied", "access denied", "forbidden", "403", "401")
    ):
        return UnreadableFileError(
            f"The {what} {path.url!r} cannot be read: access denied ({exc}).",
            path=path.url,
            expected=f"read permission on the bucket {bucket!r}",
            hint="pass credentials with storage_options= (s3: key/secret or profile; gs: "
            "token), or set them in the environment (AWS_PROFILE, "
            "GOOGLE_APPLICATION_CREDENTIALS); for a public bucket try storage_options="
            "{'anon': True}",
        )
    if isinstance(exc, ImportError):
        package = _PACKAGES.get(scheme, "the fsspec backend")
        return UnreadableFileError(
            f"Reading {path.url!r} needs {package}, which is not installed.",
            path=path.url,
            expected=f"{package} installed",
            hint="pip install 'tfexplore[remote]'",
        )
    return UnreadableFileError(
        f"The {what} {path.url!r} could not be fetched: {text}.",
        path=path.url,
        expected=f"a reachable {scheme}:// server",
        hint="check the network, and the endpoint in storage_options (endpoint_url for s3, "
        "endpoint_url or STORAGE_EMULATOR_HOST for gs)",
    )
