"""Local object-storage servers for the remote (S3, GCS) tests, behind a byte-counting proxy.

Fixtures (session scope, one server per pytest process, so one per xdist worker):

* ``s3_server``: moto's standalone server (``moto_server``), used through s3fs;
* ``gcs_server``: ``gcp-storage-emulator`` (in memory), used through gcsfs.

Each yields a :class:`Server`: ``protocol`` (``"s3"`` / ``"gs"``), ``endpoint`` (the proxy's
``http://127.0.0.1:PORT``), ``storage_options`` (for fsspec / s3fs / gcsfs), ``fs()`` (a fresh
filesystem, ``skip_instance_cache=True``), ``make_bucket(name) -> "<protocol>://name"``,
``upload(local_file_or_folder, url)``, ``upstream`` (the real server's URL, not counted), ``log``
(its output) and ``counter`` (:class:`Counter`): a :class:`Record` per request the clients made
(``method``, URL-decoded ``path``, ``query``, ``range``, ``status``, response ``body_bytes``,
request ``sent_bytes``, ``complete``, ``data``) with ``reset()``, ``requests``,
``body_bytes(method="GET")``, ``bytes_for(key_substring)`` (object-data GETs only),
``ranges_for(key_substring)`` and ``data_requests(key_substring)``.

Import the fixtures where they are used (``tests/`` is on ``sys.path``); ruff takes a test's
argument of the same name for a redefinition of the import, hence the second ``noqa``::

    from servers import gcs_server, s3_server  # noqa: F401

    def test_x(s3_server):  # noqa: F811
        url = s3_server.make_bucket("bucket-x")
        s3_server.upload(folder, f"{url}/ckpt")
        s3_server.counter.reset()
        ...  # read f"{url}/ckpt/..." with storage_options=s3_server.storage_options
        assert s3_server.counter.bytes_for("ckpt/model.index") == ...

Bucket names live for the whole session: give each test its own (3 to 63 characters,
lowercase letters, digits and ``-``).

gcsfs: importing this module sets ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false``. gcsfs reads it
when it is first imported; when it is on (its default), gcsfs asks over gRPC for each bucket's
type, which against the emulator hangs for 60 s. So this module must be imported before
anything imports gcsfs (``from servers import ...`` at the top of a test module does it; fsspec
imports gcsfs only when a ``gs://`` filesystem is first made); ``gcs_server`` fails, saying so,
when gcsfs was imported first with it on.

The proxy (stdlib only) forwards every request to the real server: HTTP/1.1 keep-alive on both
sides, request bodies read whole (``Content-Length`` or ``Transfer-Encoding: chunked``; an
``Expect: 100-continue`` is answered by the proxy itself and not forwarded) and responses
streamed back with the upstream ``Content-Length``, or chunked when there is none. moto does
not check signatures and the original ``Host`` header is kept, so signed requests pass.
"""

from __future__ import annotations

import os

os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"  # see the module docstring

import contextlib  # noqa: E402
import http.client  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import parse_qsl, unquote, urlsplit  # noqa: E402

import pytest  # noqa: E402

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
INSTALL_HINT = (
    "pip install -e .[test] (or: pip install 'moto[server]' s3fs gcsfs gcp-storage-emulator)"
)

# hop-by-hop headers (RFC 9110 7.6.1) and those the proxy re-frames itself
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
}
# S3 GET sub-resources that are not the object's bytes
_S3_NOT_DATA = {
    "acl",
    "attributes",
    "legal-hold",
    "list-type",
    "location",
    "object-lock",
    "retention",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "delimiter",
    "prefix",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# counting


@dataclass(frozen=True)
class Record:
    """One request the proxy forwarded. ``path``: URL-decoded, without the query (so it holds
    the object key: ``/bucket/key`` for S3, ``.../b/bucket/o/key`` for GCS). ``body_bytes``:
    response body bytes sent to the client; ``sent_bytes``: request body bytes. ``complete``:
    False when the client left before the whole response was sent (``body_bytes`` is then what
    was sent). ``data``: a successful GET of an object's bytes (not a listing or metadata)."""

    method: str
    path: str
    query: str
    range: str | None
    status: int
    body_bytes: int
    sent_bytes: int
    complete: bool
    data: bool


class Counter:
    """The proxy's log of requests (thread-safe). A client can have its response before the
    proxy thread has logged it, so reading (``requests``, and every total) and ``reset()``
    first wait, up to ``settle_timeout`` seconds, until no request is in flight."""

    settle_timeout = 30.0

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._records: list[Record] = []
        self._in_flight = 0

    def begin(self) -> None:
        """A request arrived (called before any of its response is sent)."""
        with self._cond:
            self._in_flight += 1

    def end(self, record: Record | None) -> None:
        """That request is over; ``record``: what it was (``None``: nothing to log)."""
        with self._cond:
            if record is not None:
                self._records.append(record)
            self._in_flight -= 1
            self._cond.notify_all()

    def _settle(self) -> None:
        if not self._cond.wait_for(lambda: self._in_flight == 0, timeout=self.settle_timeout):
            raise TimeoutError(f"{self._in_flight} proxied request(s) still running")

    def reset(self) -> None:
        """Forget every request so far."""
        with self._cond:
            self._settle()
            self._records.clear()

    @property
    def requests(self) -> list[Record]:
        """A copy of the records so far, in the order the responses finished."""
        with self._cond:
            self._settle()
            return list(self._records)

    def body_bytes(self, method: str | None = "GET") -> int:
        """Response body bytes of all requests with ``method`` (``None``: every method)."""
        return sum(r.body_bytes for r in self.requests if method is None or r.method == method)

    def data_requests(self, key_substring: str = "") -> list[Record]:
        """Object-data GETs whose path contains ``key_substring``."""
        return [r for r in self.requests if r.data and key_substring in r.path]

    def bytes_for(self, key_substring: str) -> int:
        """Response body bytes of object-data GETs whose path contains ``key_substring``
        (listings and metadata GETs are not counted, even when their path holds the key)."""
        return sum(r.body_bytes for r in self.data_requests(key_substring))

    def ranges_for(self, key_substring: str) -> list[str | None]:
        """The ``Range`` header of each object-data GET of ``key_substring`` (``None``: whole)."""
        return [r.range for r in self.data_requests(key_substring)]


def _is_data_s3(method: str, path: str, query: str) -> bool:
    keys = {k for k, _ in parse_qsl(query, keep_blank_values=True)}
    return method == "GET" and path.count("/") >= 2 and not keys & _S3_NOT_DATA


def _is_data_gcs(method: str, path: str, query: str) -> bool:
    return method == "GET" and ("alt", "media") in parse_qsl(query, keep_blank_values=True)


# ---------------------------------------------------------------------------------------------
# the proxy


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream_port: int, counter: Counter, is_data: Callable) -> None:
        self.upstream_port = upstream_port
        self.counter = counter
        self.is_data = is_data
        super().__init__((HOST, 0), _Handler)

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client leaving is no error
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; BaseHTTPRequestHandler answers 100-continue
    server: _Proxy

    def log_message(self, format, *args):  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None

    def finish(self) -> None:
        with contextlib.suppress(Exception):
            super().finish()
        self._close_upstream()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after the chunk
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> http.client.HTTPResponse:
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        for attempt in range(2):
            reused = self._upstream is not None
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(
                    HOST, self.server.upstream_port, timeout=120
                )
            try:
                self._upstream.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for key, value in headers:  # as the client sent them: Host, repeated headers
                    self._upstream.putheader(key, value)
                self._upstream.endheaders(body or None)
                return self._upstream.getresponse()
            except (ConnectionError, http.client.HTTPException, OSError):
                self._upstream.close()
                self._upstream = None
                if not reused or attempt:  # a fresh connection failed: the server is gone
                    raise
        raise AssertionError("unreachable")

    def _handle(self) -> None:
        counter = self.server.counter
        counter.begin()
        record = None
        try:
            record = self._proxy_one()
        finally:
            counter.end(record)

    def _proxy_one(self) -> Record:
        body = self._read_body()
        split = urlsplit(self.path)
        try:
            response = self._forward(body)
        except Exception as e:  # upstream failed: tell the client, log it as a 502
            status, sent, complete = 502, 0, False
            message = f"proxy: upstream failed: {e!r}".encode()
            self.close_connection = True
            with contextlib.suppress(ConnectionError):
                self.send_response(502)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                sent, complete = len(message), True
        else:
            status = response.status
            sent, complete = self._relay(response)
        path = unquote(split.path)
        return Record(
            method=self.command,
            path=path,
            query=split.query,
            range=self.headers.get("Range"),
            status=status,
            body_bytes=sent,
            sent_bytes=len(body),
            complete=complete,
            data=200 <= status < 300 and self.server.is_data(self.command, path, split.query),
        )

    def _relay(self, response: http.client.HTTPResponse) -> tuple[int, bool]:
        """Send ``response`` to the client: ``(body bytes sent, whether all were)``. A client
        that goes away mid-response (gcsfs cancels the listing it races against each object
        GET) ends the connection quietly; what was sent until then is counted."""
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        length = response.getheader("Content-Length")
        chunked = not no_body and length is None
        sent = 0
        try:
            self.send_response_only(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            if length is not None:
                self.send_header("Content-Length", length)  # HEAD: the object's size, no body
            elif chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()  # the client's connection stays open even when upstream's closes
            if no_body:
                response.read()
            else:
                while chunk := response.read(1 << 16):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    sent += len(chunk)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except ConnectionError:  # the client left: drop both connections
            self.close_connection = True
            self._close_upstream()
            return sent, False
        if response.will_close:
            self._close_upstream()
        return sent, True

    def _close_upstream(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = _handle


@contextlib.contextmanager
def counting_proxy(upstream_port: int, is_data: Callable) -> Iterator[tuple[int, Counter]]:
    """A proxy on a free port of 127.0.0.1 in front of ``upstream_port``: ``(port, counter)``."""
    counter = Counter()
    proxy = _Proxy(upstream_port, counter, is_data)
    thread = threading.Thread(target=proxy.serve_forever, name="counting-proxy", daemon=True)
    thread.start()
    try:
        yield proxy.server_address[1], counter
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------------------------------------
# the servers


@dataclass
class Server:
    """A running object store as the tests see it (through the counting proxy)."""

    protocol: str
    endpoint: str
    storage_options: dict
    counter: Counter
    upstream: str  # the real server's URL, bypassing the proxy (uncounted)
    log: Path
    _helper_fs: object = field(default=None, repr=False)

    def fs(self):
        """A fresh fsspec filesystem (no instance cache, so no stale listings)."""
        import fsspec

        return fsspec.filesystem(self.protocol, skip_instance_cache=True, **self.storage_options)

    def _fs(self):
        """The filesystem ``make_bucket`` and ``upload`` share (an S3 client takes ~0.2 s to
        make; these write and never list, so its caches cannot mislead them)."""
        if self._helper_fs is None:
            self._helper_fs = self.fs()
        return self._helper_fs

    def make_bucket(self, name: str) -> str:
        """Create bucket ``name``; its URL, ``"<protocol>://name"``."""
        if not 3 <= len(name) <= 63:
            raise ValueError(f"bucket names have 3 to 63 characters. Received: name={name!r}")
        fs = self._fs()
        if self.protocol == "s3":
            fs.call_s3("create_bucket", Bucket=name)
        else:
            fs.mkdir(name)
        return f"{self.protocol}://{name}"

    def upload(self, local: str | os.PathLike, url: str) -> None:
        """Put a local file at ``url``, or a folder's files under ``url`` (``url/<relative>``)."""
        local = Path(local)
        url = url.rstrip("/")
        if local.is_dir():
            files = sorted(p for p in local.rglob("*") if p.is_file())
            remotes = [f"{url}/{p.relative_to(local).as_posix()}" for p in files]
        elif local.is_file():
            files, remotes = [local], [url]
        else:
            raise FileNotFoundError(f"nothing to upload at {local}")
        if files:
            self._fs().put([str(p) for p in files], remotes)


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited ({process.returncode}) before answering; its log:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:  # it answered
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.1)
    raise RuntimeError(
        f"{process.args[0]} did not answer at {url} within {START_TIMEOUT:.0f} s; its log:\n"
        + log.read_text(errors="replace")[-4000:]
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def _run(command: Callable[[int], list[str]], folder: Path) -> Iterator[tuple[int, Path]]:
    """Start ``command(port)`` on a free port (three tries: another process may take the
    port between choosing and binding it); yield ``(port, log)``; stop it (its process group)."""
    log_path = folder / "server.log"
    for attempt in range(3):
        port = free_port()
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=folder,
                start_new_session=True,
            )
        try:
            try:
                _wait_until_up(f"http://{HOST}:{port}/", process, log_path)
            except RuntimeError:
                if attempt == 2 or process.poll() is None:
                    raise
                continue  # exited at start: most likely the port was taken
            yield port, log_path
            return
        finally:
            _stop(process)


def _executable(name: str, module: str) -> list[str]:
    """The venv's ``name`` script next to the interpreter, else ``python -m module``."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


@contextlib.contextmanager
def run_s3_server(folder: Path) -> Iterator[Server]:
    """moto's S3 behind a counting proxy (what the ``s3_server`` fixture yields)."""
    base = _executable("moto_server", "moto.server")
    with _run(lambda port: [*base, "-H", HOST, "-p", str(port)], folder) as (port, log):
        with counting_proxy(port, _is_data_s3) as (proxy_port, counter):
            endpoint = f"http://{HOST}:{proxy_port}"
            yield Server(
                protocol="s3",
                endpoint=endpoint,
                storage_options={
                    "key": "testing",
                    "secret": "testing",
                    "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
                },
                counter=counter,
                upstream=f"http://{HOST}:{port}",
                log=log,
            )


@contextlib.contextmanager
def run_gcs_server(folder: Path) -> Iterator[Server]:
    """gcp-storage-emulator behind a counting proxy (what the ``gcs_server`` fixture yields)."""
    base = _executable("gcp-storage-emulator", "gcp_storage_emulator")

    def command(port: int) -> list[str]:
        return [*base, "start", "--host", HOST, "--port", str(port), "--in-memory"]

    with _run(command, folder) as (port, log):
        with counting_proxy(port, _is_data_gcs) as (proxy_port, counter):
            endpoint = f"http://{HOST}:{proxy_port}"
            yield Server(
                protocol="gs",
                endpoint=endpoint,
                storage_options={"endpoint_url": endpoint, "token": "anon", "project": "test"},
                counter=counter,
                upstream=f"http://{HOST}:{port}",
                log=log,
            )


def _require(*modules: str) -> None:
    for module in modules:
        pytest.importorskip(module, reason=f"needs {module}: {INSTALL_HINT}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[Server]:
    """moto's S3 server behind a counting proxy, for the whole session."""
    _require("moto", "flask", "s3fs")
    with run_s3_server(tmp_path_factory.mktemp("s3_server")) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory) -> Iterator[Server]:
    """gcp-storage-emulator (in memory) behind a counting proxy, for the whole session."""
    _require("gcp_storage_emulator", "gcsfs")
    import gcsfs

    if gcsfs.GCSFileSystem.__module__ != "gcsfs.core":
        pytest.fail(
            "gcsfs was imported before tests/servers.py with GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT "
            "on: its bucket-type lookups hang against the emulator. Import servers first."
        )
    with run_gcs_server(tmp_path_factory.mktemp("gcs_server")) as server:
        yield server
