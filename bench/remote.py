"""Checkpoints on object storage: what reading over ``s3://`` costs beside downloading first.

A local S3 server (moto's, in a subprocess on 127.0.0.1) serves two checkpoints:

1. the BERT-like checkpoint of ``generate.py`` (``full``: ``model.ckpt-1``, 2.34 GB in one data
   file): ``tfexplore.open(url).variables`` and ``read`` of one tensor (the largest and a small
   one) against downloading the checkpoint's files with s3fs first (then tfexplore, or
   TensorFlow's ``tf.train.load_checkpoint``); ``stats()`` of every tensor, serial against a
   2-worker ``LocalCluster`` (``engine=client``), with the peak RSS of each worker;
2. a simulated large run: a V2 checkpoint of 8 data shards and 10.5 GB, generated here with
   TensorFlow's ``SaveV2`` (one shard at a time) and ``MergeV2Checkpoints``: the same figures
   beside the BERT-like one's, to show that time follows the bytes a call needs, not the size of
   the checkpoint.

Every figure runs in fresh Python processes (``remote.py --child CASE SPEC``, one timed run per
process: a cold start, as a notebook opening a run sees it); cheap figures are the median of
several processes. Bytes fetched are ``tfexplore.count_fetches()``'s; for downloads, the size of
the files downloaded.

The server is moto's, patched (see :func:`serve`): moto 5 answers a ``Range`` GET by reading
the whole object into memory and slicing it, which makes every ranged read of a 2.3 GB data
file cost a 2.3 GB copy. Real S3 (and GCS) read the range only; the patch makes moto do the
same (and stream whole-object GETs in 8 MB pieces) so that the figures measure the client.

Usage::

    .venv/bin/python bench/remote.py            # full scale (generates what is missing)
    .venv/bin/python bench/remote.py --small    # small artifacts, a few minutes
    .venv/bin/python bench/remote.py --scale tiny --out /tmp/r.md   # seconds (the tests)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the repo's tfexplore
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import generate  # noqa: E402 - bench/generate.py: the BERT-like checkpoint
import run  # noqa: E402 - bench/run.py: reset_peak, the machine

HOST = "127.0.0.1"
BUCKET = "bench"
MB = 1024 * 1024
GB = 1e9


# ---------------------------------------------------------------------------------------------
# The simulated large run: a sharded checkpoint written shard by shard
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Sharded:
    """A V2 checkpoint of ``shards`` data files, each holding ``per_shard`` kernels of
    ``rows x cols`` float32 (and a bias of ``cols`` each). Kernel ``k`` is in shard
    ``k % shards``, so that tensors in name order take turns across the shards."""

    name: str
    shards: int
    per_shard: int
    rows: int
    cols: int

    @property
    def nbytes(self) -> int:
        return self.shards * self.per_shard * (self.rows + 1) * self.cols * 4 + 8


@dataclasses.dataclass(frozen=True)
class Scale:
    """One run of this benchmark: the BERT-like scale of ``generate.py``, the sharded
    checkpoint (its kernels have the shape of BERT's word embeddings: the largest tensor of
    both is the same size), and the bytes of the subset whose ``stats`` both compare."""

    bert: str
    sharded: Sharded
    subset_bytes: int
    repeats: int | None = None  # None: chosen from the first run (see measure)


SCALES = {
    # 8 x 14 kernels of 30522 x 768 float32 (93.8 MB, BERT's word_embeddings): 10.50 GB
    "full": Scale("full", Sharded("sharded-full", 8, 14, 30522, 768), 1_000_000_000),
    "small": Scale("small", Sharded("sharded-small", 8, 8, 1000, 128), 3_000_000),
    "tiny": Scale("tiny", Sharded("sharded-tiny", 8, 4, 50, 16), 20_000, repeats=1),
}


def generate_sharded(spec: Sharded, root: Path, *, log=print) -> Path:
    """Write ``spec``'s checkpoint under ``root/<spec.name>`` (or reuse it); its prefix.

    Each shard is saved by ``tf.raw_ops.SaveV2`` from arrays made for it alone (so no more
    than one shard's tensors are in memory), then ``MergeV2Checkpoints`` merges the shards'
    indexes into ``model.ckpt.index`` and renames their data files ``model.ckpt.data-0000i-of-
    0000n``. TensorFlow's ``load_checkpoint`` reads it back before ``params.json`` is written."""
    folder = Path(root) / spec.name
    params = folder / "params.json"
    wanted = dataclasses.asdict(spec)
    prefix = folder / "model.ckpt"
    if params.is_file() and json.loads(params.read_text()).get("spec") == wanted:
        log(f"reusing {folder}")
        return prefix
    import numpy as np
    import tensorflow as tf

    if folder.exists():
        shutil.rmtree(folder)
    parts = folder / "parts"
    parts.mkdir(parents=True)
    started = time.perf_counter()
    log(f"writing {spec.name}: {spec.shards} shards, {spec.nbytes / GB:.2f} GB ...")
    rng = np.random.default_rng(0)
    total = spec.shards * spec.per_shard
    prefixes = []
    for shard in range(spec.shards):
        names, tensors = [], []
        for k in range(shard, total, spec.shards):
            kernel = rng.standard_normal((spec.rows, spec.cols), dtype=np.float32)
            kernel *= np.float32(0.02)
            names += [f"layer_{k:03d}/kernel", f"layer_{k:03d}/bias"]
            tensors += [kernel, np.full(spec.cols, k / total, dtype=np.float32)]
        if shard == 0:
            names.append("global_step")
            tensors.append(np.array(1000, dtype=np.int64))
        part = str(parts / f"part-{shard:05d}-of-{spec.shards:05d}")
        tf.raw_ops.SaveV2(
            prefix=part,
            tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=tensors,
        )
        prefixes.append(part)
        del tensors
        log(f"  shard {shard + 1}/{spec.shards} ({time.perf_counter() - started:.0f} s)")
    tf.raw_ops.MergeV2Checkpoints(
        checkpoint_prefixes=prefixes, destination_prefix=str(prefix), delete_old_dirs=True
    )
    shutil.rmtree(parts, ignore_errors=True)
    reader = tf.train.load_checkpoint(str(prefix))
    shapes = reader.get_variable_to_shape_map()
    if len(shapes) != 2 * total + 1 or shapes["layer_000/kernel"] != [spec.rows, spec.cols]:
        raise RuntimeError(f"{prefix} does not read back as written: {len(shapes)} tensors")
    if float(reader.get_tensor(f"layer_{total - 1:03d}/bias")[0]) != np.float32(
        (total - 1) / total
    ):
        raise RuntimeError(f"{prefix} does not read back as written")
    files = sorted(p.name for p in folder.iterdir())
    info = {
        "spec": wanted,
        "files": files,
        "bytes": sum(p.stat().st_size for p in folder.iterdir() if p.is_file()),
        "seconds": round(time.perf_counter() - started, 1),
    }
    params.write_text(json.dumps(info, indent=1))
    log(f"  wrote {folder}: {', '.join(files)} in {info['seconds']} s")
    return prefix


def checkpoint_files(prefix: Path) -> list[Path]:
    """The ``.index`` and data files of ``prefix`` (what a reader needs; not ``.meta``)."""
    return sorted(
        p
        for p in prefix.parent.glob(prefix.name + ".*")
        if p.name.endswith(".index") or ".data-" in p.name
    )


# ---------------------------------------------------------------------------------------------
# The server: moto's, patched to read ranges only
# ---------------------------------------------------------------------------------------------
def serve(argv: list[str]) -> None:
    """Run moto's standalone server (``moto_server`` arguments), reading ranges only.

    moto 5's ``get_object`` returns ``key.value`` (the whole object, read from its spooled
    temporary file) and a ``Range`` header is applied afterwards by slicing those bytes. Here,
    inside ``get_object`` only, ``key.value`` is an object that reads on demand: slicing it
    (what moto's range handling does) reads that range with ``pread``, and iterating it (what
    werkzeug does with a whole-object body) streams the object in 8 MB pieces. And before
    each PUT or POST, a garbage collection: the body of the last upload (1 to 2 GB here) stays
    in reference cycles otherwise, and eight of them added up to 13.6 GB of RSS. Everything
    else (uploads, copies, multipart completion, HEAD) is moto's own code."""
    import gc
    import threading

    from moto.s3 import models, responses
    from moto.server import main as moto_main

    inside_get = threading.local()
    value = models.FakeKey.value
    chunk = 8 * MB

    class ObjectBytes:
        def __init__(self, key) -> None:
            self.key, self.size = key, key.size

        def __len__(self) -> int:
            return self.size

        def __bool__(self) -> bool:
            return self.size > 0

        def read(self, start: int, stop: int) -> bytes:
            buffer = self.key._value_buffer
            if getattr(buffer, "_rolled", False):  # on disk: pread needs no lock or seek
                pieces, fd = [], buffer.fileno()
                while start < stop:
                    piece = os.pread(fd, min(stop - start, 1 << 30), start)
                    if not piece:
                        break
                    pieces.append(piece)
                    start += len(piece)
                return b"".join(pieces)
            with self.key.lock:
                buffer.seek(start)
                return buffer.read(stop - start)

        def __getitem__(self, item: slice) -> bytes:
            start, stop, step = item.indices(self.size)
            if step != 1:
                raise ValueError("ranges only")
            return self.read(start, max(start, stop))

        def __iter__(self) -> Iterator[bytes]:
            for start in range(0, self.size, chunk):
                yield self.read(start, min(start + chunk, self.size))

    def lazy_value(key):
        if getattr(inside_get, "on", False):
            return ObjectBytes(key)
        return value.fget(key)

    models.FakeKey.value = property(lazy_value, value.fset)
    get_object = responses.S3Response.get_object

    def ranged_get_object(self):
        inside_get.on = True
        try:
            return get_object(self)
        finally:
            inside_get.on = False

    responses.S3Response.get_object = ranged_get_object
    key_response = responses.S3Response._key_response

    def collected_key_response(self, request, full_url):
        if request.method in ("PUT", "POST"):  # free the last upload's body before this one's
            gc.collect()
        return key_response(self, request, full_url)

    responses.S3Response._key_response = collected_key_response
    sys.argv = ["moto_server", *argv]
    moto_main(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _status_of(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` figure in bytes (0 if unknown)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclasses.dataclass
class Server:
    endpoint: str
    storage_options: dict
    pid: int
    objects: Path  # moto's TMPDIR: its spooled temporary files (unlinked, counted by df)
    log: Path
    peak_rss: int = 0

    def requests(self) -> int:
        """The requests the server has logged so far (werkzeug logs a line each, after the
        response; the request part in ANSI colours for some statuses)."""
        import re

        request = re.compile(rb'HTTP/1\.[01](\x1b\[0m)?" \d{3} ')
        with self.log.open("rb") as log:
            return sum(bool(request.search(line)) for line in log)

    def cpu_seconds(self) -> float:
        """The server's CPU time so far (user + system, all its threads)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.storage_options)


@contextlib.contextmanager
def s3_server(scratch: Path, *, log=print) -> Iterator[Server]:
    """The patched moto server on a free port of 127.0.0.1, its temporary files in a folder of
    ``scratch`` of its own; stopped (its process group) and that folder deleted at exit."""
    objects = Path(tempfile.mkdtemp(prefix="tfexplore-bench-moto-", dir=scratch))
    log_path = objects / "server.log"
    env = {**os.environ, "TMPDIR": str(objects)}
    try:
        for attempt in range(3):  # another process may take the port between choice and bind
            port = free_port()
            with log_path.open("w") as out:
                process = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--serve", "-H", HOST]
                    + ["-p", str(port)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=objects,
                    env=env,
                    start_new_session=True,
                )
            try:
                if not _wait_until_up(f"http://{HOST}:{port}/", process):
                    if attempt == 2:
                        raise RuntimeError(
                            "the S3 server did not start; its log:\n"
                            + log_path.read_text(errors="replace")[-3000:]
                        )
                    continue
                endpoint = f"http://{HOST}:{port}"
                server = Server(
                    endpoint=endpoint,
                    storage_options={
                        "key": "testing",
                        "secret": "testing",
                        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
                    },
                    pid=process.pid,
                    objects=objects,
                    log=log_path,
                )
                log(f"S3 server (moto, ranges patched) at {endpoint}, objects in {objects}")
                try:
                    yield server
                finally:
                    server.peak_rss = _status_of(process.pid, "VmHWM")
                return
            finally:
                _stop(process)
    finally:
        shutil.rmtree(objects, ignore_errors=True)


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:  # it answered
            return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"the S3 server did not answer at {url} within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def upload(server: Server, files: list[Path], url: str, *, log=print) -> dict:
    """Put ``files`` under ``url`` with s3fs, one at a time, each in one PUT (up to 4 GiB);
    the seconds and bytes it took.

    moto holds a request's body in memory, about twice over (a 1.3 GB PUT peaks at 2.7 GB of
    RSS), and its multipart completion joins the parts in memory too; so: one file at a time
    (s3fs would send several at once), no multipart, and no retry (botocore retries a PUT
    that times out while moto still holds the first one's body)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        skip_instance_cache=True,
        config_kwargs={"read_timeout": 1800, "retries": {"max_attempts": 1}},
        **server.storage_options,
    )
    size = sum(p.stat().st_size for p in files)
    started = time.perf_counter()
    for path in files:
        fs.put_file(str(path), f"{url}/{path.name}", chunksize=2 << 30)
    seconds = time.perf_counter() - started
    log(f"  uploaded {len(files)} files, {size / GB:.2f} GB, to {url} in {seconds:.0f} s")
    return {"files": len(files), "bytes": size, "seconds": seconds}


def request_seconds(server: Server, url: str, repeats: int = 31) -> float:
    """The median time of a 1-byte ranged GET of ``url`` through s3fs (a warm client): what
    each request costs, whatever its size, against this server on this machine."""
    fs = server.fs()
    fs.cat_file(url, start=0, end=1)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fs.cat_file(url, start=0, end=1)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------
# Inside a child: one timed, cold run
# ---------------------------------------------------------------------------------------------
def _imports(*, tensorflow: bool = False) -> None:
    """What both sides import before the clock starts (TensorFlow only where it is used:
    tfexplore reads remote checkpoints without it)."""
    import fsspec  # noqa: F401
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import s3fs  # noqa: F401

    import tfexplore  # noqa: F401

    if tensorflow:
        import tensorflow  # noqa: F401


def _open_url(spec, url_key: str = "url"):
    import tfexplore

    return tfexplore.open(spec[url_key], storage_options=spec["storage_options"])


@contextlib.contextmanager
def _downloaded(spec) -> Iterator[tuple[Path, dict]]:
    """Download the checkpoint's files (``spec["files"]``, URLs) into a fresh folder with
    s3fs; yield the local prefix and ``{"download_seconds", "download_bytes"}``; delete it."""
    import s3fs

    folder = Path(tempfile.mkdtemp(prefix="tfexplore-bench-download-", dir=spec["scratch"]))
    try:
        started = time.perf_counter()
        fs = s3fs.S3FileSystem(skip_instance_cache=True, **spec["storage_options"])
        targets = [str(folder / url.rsplit("/", 1)[1]) for url in spec["files"]]
        fs.get(list(spec["files"]), targets)
        done = {
            "download_seconds": time.perf_counter() - started,
            "download_bytes": sum(Path(t).stat().st_size for t in targets),
        }
        yield folder / spec["url"].rsplit("/", 1)[1], done
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timed(work: Callable[[], dict | None]) -> dict:
    run.reset_peak()
    cpu, started = time.process_time(), time.perf_counter()
    extra = work() or {}
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        **extra,
    }


def case_variables_url(spec):
    import tfexplore

    _imports()

    def work():
        with tfexplore.count_fetches() as fetched:
            table = _open_url(spec).variables
        return {"fetched": fetched.bytes, "requests": fetched.requests, "tensors": len(table)}

    return _timed(work)


def case_variables_download_tfx(spec):
    import tfexplore

    _imports()

    def work():
        with _downloaded(spec) as (local, done):
            table = tfexplore.open(local).variables
            return {**done, "fetched": done["download_bytes"], "tensors": len(table)}

    return _timed(work)


def case_variables_download_tf(spec):
    _imports(tensorflow=True)
    import tensorflow as tf

    def work():
        with _downloaded(spec) as (local, done):
            shapes = tf.train.load_checkpoint(str(local)).get_variable_to_shape_map()
            return {**done, "fetched": done["download_bytes"], "tensors": len(shapes)}

    return _timed(work)


def case_read_url(spec):
    import tfexplore

    _imports()

    def work():
        with tfexplore.count_fetches() as fetched:
            checkpoint = _open_url(spec)
            started = time.perf_counter()
            array = checkpoint.read(spec["name"])
            read_seconds = time.perf_counter() - started
        return {
            "fetched": fetched.bytes,
            "requests": fetched.requests,
            "read_seconds": read_seconds,
            "nbytes": int(array.nbytes),
        }

    return _timed(work)


def case_read_download_tfx(spec):
    import tfexplore

    _imports()

    def work():
        with _downloaded(spec) as (local, done):
            array = tfexplore.open(local).read(spec["name"])
            return {**done, "fetched": done["download_bytes"], "nbytes": int(array.nbytes)}

    return _timed(work)


def case_read_download_tf(spec):
    _imports(tensorflow=True)
    import tensorflow as tf

    def work():
        with _downloaded(spec) as (local, done):
            array = tf.train.load_checkpoint(str(local)).get_tensor(spec["name"])
            return {**done, "fetched": done["download_bytes"], "nbytes": int(array.nbytes)}

    return _timed(work)


def _stats_setup(spec):
    _imports()
    checkpoint = _open_url(spec)
    variables = checkpoint.variables.set_index("name")
    names = spec.get("names")
    chosen = variables if names is None else variables.loc[names]
    chosen = chosen[chosen["role"] != "object_graph"]
    nbytes = chosen["nbytes"].fillna(0)
    return checkpoint, names, {"bytes": int(nbytes.sum()), "largest": int(nbytes.max())}


def case_stats_serial(spec):
    import tfexplore

    checkpoint, names, facts = _stats_setup(spec)

    def work():
        with tfexplore.count_fetches() as fetched:
            table = checkpoint.stats(names, progress=False)
        return {"fetched": fetched.bytes, "requests": fetched.requests, "tensors": len(table)}

    result = _timed(work)
    return {**result, **facts, "peak_rss": run._status("VmHWM"), "base_rss": run._BASE_RSS[0]}


def _worker_reset(dask_worker) -> int:
    """On a worker: reset its peak-RSS mark and start counting what it fetches; its RSS now.
    (This and the two below are self-contained: cloudpickle sends them by value.)"""
    import tfexplore

    counter = tfexplore.count_fetches()
    dask_worker.tfexplore_bench_fetches = (counter, counter.__enter__())
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:  # not allowed: the peak then covers the worker's life
        pass
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _worker_peak(dask_worker) -> dict:
    """On a worker: its peak RSS since the reset (``VmHWM``) and over its life
    (``ru_maxrss``), in bytes, and what it fetched since the reset."""
    import resource

    counter, fetched = dask_worker.tfexplore_bench_fetches
    counter.__exit__(None, None, None)
    peak = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return {
        "peak": peak,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "fetched": fetched.bytes,
        "requests": fetched.requests,
    }


def _worker_warm() -> None:
    """On a worker: the imports a task needs, before the clock (as in the serial case)."""
    import numpy  # noqa: F401
    import s3fs  # noqa: F401

    import tfexplore.artifacts.checkpoint.engine  # noqa: F401


#: in-process runs (the tests) start one cluster per worker count and reuse it
_CLUSTERS: dict[int, tuple] = {}


def _cluster(workers: int, *, reuse: bool):
    """``(client, cluster, start seconds)``: a ``LocalCluster`` of ``workers`` processes of one
    thread each, its workers' imports done."""
    import logging

    from distributed import Client, LocalCluster

    if reuse and workers in _CLUSTERS:
        return (*_CLUSTERS[workers], 0.0)
    if __name__ != "__main__":  # imported (in-process runs): send the worker helpers by value
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    client.run(_worker_warm)
    if reuse:
        _CLUSTERS[workers] = (client, cluster)
    return client, cluster, time.perf_counter() - started


def close_clusters() -> None:
    while _CLUSTERS:
        _, (client, cluster) = _CLUSTERS.popitem()
        client.close()
        cluster.close()


def case_stats_cluster(spec):
    import tfexplore

    checkpoint, names, facts = _stats_setup(spec)
    reuse = spec.get("reuse_cluster", False)
    client, cluster, start_seconds = _cluster(spec.get("workers", 2), reuse=reuse)
    try:
        base = client.run(_worker_reset)

        def work():
            with tfexplore.count_fetches() as fetched:
                table = checkpoint.stats(names, progress=False, engine=client)
            return {"here": (fetched.bytes, fetched.requests), "tensors": len(table)}

        result = _timed(work)
        peaks = client.run(_worker_peak)
    finally:
        if not reuse:
            client.close()
            cluster.close()
    workers = [{"base": base[address], **peaks[address]} for address in sorted(peaks)]
    here_bytes, here_requests = result.pop("here")
    return {
        **result,
        **facts,
        "fetched": here_bytes + sum(w["fetched"] for w in workers),
        "requests": here_requests + sum(w["requests"] for w in workers),
        "fetched_here": here_bytes,
        "cluster_start_seconds": start_seconds,
        "workers": workers,
        "peak_rss": run._status("VmHWM"),
        "base_rss": run._BASE_RSS[0],
    }


CASES = {name[len("case_") :]: fn for name, fn in globals().items() if name.startswith("case_")}


def child(case: str, spec: dict) -> dict:
    return CASES[case](spec)


# ---------------------------------------------------------------------------------------------
# The parent: children, repeats, tables
# ---------------------------------------------------------------------------------------------
def run_child(case: str, spec: dict, *, in_process: bool = False) -> dict:
    """One timed run of ``case`` in a fresh Python process (or here, for quick tests)."""
    if in_process:
        return child(case, spec)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", case, json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{case} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def measure(
    cases: list[tuple[str, dict]],
    *,
    repeats: int | None,
    in_process: bool,
    server: Server | None = None,
    same_runs: bool = False,
    log=print,
) -> list[dict]:
    """Each ``(case, spec)`` in ``repeats`` fresh processes (``None``: 5 if its first run took
    under 1 s, 3 under 10 s, else 1; with ``same_runs``, every case as many as the quickest
    one's first run says), the cases taking turns (a, b, a, b...) so that a change of load on
    a shared machine falls on all of them; per case, the median run's result with every run's
    seconds, or ``{"error": ...}``. With ``server``, each run also gets
    ``http_requests``: every request the server logged during it (HEADs and listings too,
    which ``count_fetches`` leaves out), and ``server_cpu_seconds``: the server's CPU time
    over the child's whole life (its setup too: the index fetched before a ``stats``)."""
    names = ", ".join(f"{case} {spec.get('label', '')}".strip() for case, spec in cases)
    log(f"  {names} ...", end="", flush=True)
    started = time.perf_counter()

    def one(case: str, spec: dict) -> dict:
        before = server.requests() if server else 0
        cpu = server.cpu_seconds() if server else 0.0
        result = run_child(case, spec, in_process=in_process)
        if server:
            time.sleep(0.3)  # the server logs a request after its response is sent
            result["http_requests"] = server.requests() - before
            result["server_cpu_seconds"] = server.cpu_seconds() - cpu
        return result

    runs: list[list[dict]] = [[] for _ in cases]
    wanted: list[int] = [repeats or 0 for _ in cases]
    errors: list[str | None] = [None for _ in cases]
    while any(
        errors[i] is None and (not runs[i] or len(runs[i]) < wanted[i]) for i in range(len(cases))
    ):
        for i, (case, spec) in enumerate(cases):
            if errors[i] is not None or (runs[i] and len(runs[i]) >= wanted[i]):
                continue
            try:
                runs[i].append(one(case, spec))
            except Exception as exc:  # noqa: BLE001 - one failing case must not lose the table
                if in_process:
                    raise
                errors[i] = str(exc).strip().splitlines()[-1]
                continue
            if not wanted[i]:
                first = runs[i][0]["seconds"]
                wanted[i] = 5 if first < 1 else 3 if first < 10 else 1
        if same_runs and all(runs) and not repeats:
            wanted = [max(wanted)] * len(cases)
    out = []
    for i in range(len(cases)):
        if errors[i] is not None:
            out.append({"error": errors[i]})
            continue
        seconds = [r["seconds"] for r in runs[i]]
        median = sorted(runs[i], key=lambda r: r["seconds"])[(len(seconds) - 1) // 2]
        out.append({**median, "seconds": statistics.median(seconds), "runs": seconds})
    took = time.perf_counter() - started
    log(
        " "
        + ", ".join(
            f"FAILED: {r['error']}" if "error" in r else f"{r['seconds']:.3f} s ({len(r['runs'])})"
            for r in out
        )
        + f" ({took:.0f} s)"
    )
    return out


def _largest_and_small(variables) -> tuple[str, str]:
    """The largest tensor (ties: the shortest name) and a small float one: the first bias."""
    table = variables[variables["role"] != "object_graph"].copy()
    table["nbytes"] = table["nbytes"].fillna(0)
    table["length"] = table["name"].str.len()
    largest = table.sort_values(["nbytes", "length", "name"], ascending=[False, True, True])
    floats = table[(table["dtype"] == "float32") & table["name"].str.endswith("bias")]
    small = floats.sort_values("name")["name"].iloc[0]
    return str(largest["name"].iloc[0]), str(small)


def _subset(variables, target: int) -> list[str]:
    """Tensors, largest first (ties in name order), until they add up to ``target`` bytes."""
    table = variables[variables["role"] != "object_graph"].copy()
    table["nbytes"] = table["nbytes"].fillna(0)
    names, total = [], 0
    for name, nbytes in table.sort_values(["nbytes", "name"], ascending=[False, True])[
        ["name", "nbytes"]
    ].itertuples(index=False):
        if total >= target:
            break
        names.append(str(name))
        total += int(nbytes)
    return names


def run_all(
    scale_name: str,
    data: Path,
    *,
    scratch: Path | None = None,
    in_process: bool = False,
    repeats: int | None = None,
    workers: int = 2,
    log=print,
) -> dict:
    """Generate (or reuse) both checkpoints, serve them, run every case; the tables as data."""
    import tfexplore

    scale = SCALES[scale_name]
    repeats = repeats or scale.repeats
    machine = run.machine()  # the load average before the work
    scratch = Path(scratch or tempfile.gettempdir())
    bert = generate.generate(scale.bert, data, log=log).after
    sharded = generate_sharded(scale.sharded, data, log=log)
    checkpoints = {"bert": bert, "sharded": sharded}
    files = {key: checkpoint_files(prefix) for key, prefix in checkpoints.items()}
    sizes = {key: sum(p.stat().st_size for p in paths) for key, paths in files.items()}
    need = sum(sizes.values()) + max(sizes.values()) + 2 * 1024**3
    free = shutil.disk_usage(scratch).free
    if free < need:
        raise SystemExit(
            f"{scratch} has {free / GB:.1f} GB free; the server's copies and the largest "
            f"download need {need / GB:.1f} GB (use --scratch)"
        )
    local = {key: tfexplore.open(prefix).variables for key, prefix in checkpoints.items()}
    picks = {key: _largest_and_small(table) for key, table in local.items()}
    subsets = {key: _subset(table, scale.subset_bytes) for key, table in local.items()}
    results: dict[str, dict] = {}
    with s3_server(scratch, log=log) as server:
        fs = server.fs()
        fs.call_s3("create_bucket", Bucket=BUCKET)
        uploads = {
            key: upload(server, files[key], f"s3://{BUCKET}/{key}", log=log) for key in files
        }
        per_request = request_seconds(server, f"s3://{BUCKET}/bert/{files['bert'][0].name}")
        log(f"  a 1-byte ranged GET takes {per_request * 1000:.1f} ms (median of 31)")
        base = {"storage_options": server.storage_options, "scratch": str(scratch)}
        specs = {
            key: {
                **base,
                "url": f"s3://{BUCKET}/{key}/{checkpoints[key].name}",
                "files": [f"s3://{BUCKET}/{key}/{p.name}" for p in files[key]],
            }
            for key in checkpoints
        }

        def spec_for(case: str, key: str, **extra) -> dict:
            spec = {**specs[key], **extra, "label": f"[{key}{extra.get('what', '')}]"}
            if case == "stats_cluster":
                spec.update(workers=workers, reuse_cluster=in_process)
            return spec

        def go(
            tags: list[str],
            cases: list[tuple[str, str, dict]],
            times: int | None = None,
            same_runs: bool = False,
        ) -> None:
            """Measure ``(case, checkpoint key, spec extras)`` in turns; store under ``tags``."""
            found = measure(
                [(case, spec_for(case, key, **extra)) for case, key, extra in cases],
                repeats=times or repeats,
                in_process=in_process,
                server=server,
                same_runs=same_runs,
                log=log,
            )
            results.update(zip(tags, found))

        try:
            log("the BERT-like checkpoint over s3://")
            cases = ("variables_url", "variables_download_tfx", "variables_download_tf")
            go(list(cases), [(case, "bert", {}) for case in cases])
            for size, name in zip(("large", "small"), picks["bert"]):
                cases = ("read_url", "read_download_tfx", "read_download_tf")
                go(
                    [f"read_{size}_url", f"read_{size}_download_tfx", f"read_{size}_download_tf"],
                    [(case, "bert", {"name": name}) for case in cases],
                )
            # over gigabytes: 3 turns (run.py's rule would give them one)
            go(
                ["stats_serial", "stats_cluster"],
                [("stats_serial", "bert", {}), ("stats_cluster", "bert", {})],
                times=min(3, repeats or 3),
            )
            log("the sharded checkpoint beside it (the two in turns)")
            both = list(checkpoints)
            pairs = [
                ("variables_url", [{} for _ in both]),
                ("read_large_url", [{"name": picks[k][0]} for k in both]),
                ("read_small_url", [{"name": picks[k][1]} for k in both]),
                ("subset_serial", [{"names": subsets[k], "what": ", subset"} for k in both]),
                ("subset_cluster", [{"names": subsets[k], "what": ", subset"} for k in both]),
                ("variables_download_tfx", [{} for _ in both]),
            ]
            for row, extras in pairs:
                case = {"subset_serial": "stats_serial", "subset_cluster": "stats_cluster"}.get(
                    row, row.replace("_large", "").replace("_small", "")
                )
                go(
                    [f"scale_{key}_{row}" for key in both],
                    [(case, key, extra) for key, extra in zip(both, extras)],
                    same_runs=True,
                )
        finally:
            close_clusters()
        objects_bytes = sum(sizes.values())
    machine["load_average_end"] = round(os.getloadavg()[0], 2)
    for module in ("s3fs", "fsspec", "moto", "distributed"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            machine[module] = version(module)
    return {
        "machine": machine,
        "scale": scale_name,
        "subset_bytes": scale.subset_bytes,
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "checkpoints": {
            key: {
                "prefix": str(checkpoints[key].relative_to(ROOT))
                if checkpoints[key].is_relative_to(ROOT)
                else str(checkpoints[key]),
                "files": [p.name for p in files[key]],
                "bytes": sizes[key],
                "tensors": int((local[key]["role"] != "object_graph").sum()),
                "largest": picks[key][0],
                "largest_bytes": int(local[key].set_index("name").loc[picks[key][0], "nbytes"]),
                "small": picks[key][1],
                "small_bytes": int(local[key].set_index("name").loc[picks[key][1], "nbytes"]),
                "subset_tensors": len(subsets[key]),
            }
            for key in checkpoints
        },
        "server": {
            "uploads": uploads,
            "peak_rss": server.peak_rss,
            "request_seconds": per_request,
            "objects_bytes": objects_bytes,
            "scratch": str(scratch),
        },
        "workers": workers,
        "rows": _rows(results, workers),
        "scaling": _scaling(results),
        "memory": _memory(results),
        "results": results,
    }


# (figure, tfexplore result, baseline result, baseline label)
_MAIN_ROWS = [
    (
        "`open(url).variables`",
        "variables_url",
        "variables_download_tfx",
        "download (s3fs) + `open(local).variables`",
    ),
    (
        "`open(url).variables`",
        "variables_url",
        "variables_download_tf",
        "download + `tf.train.load_checkpoint(local).get_variable_to_shape_map()`",
    ),
    (
        "`open(url).read(LARGE)`",
        "read_large_url",
        "read_large_download_tfx",
        "download + `open(local).read(...)`",
    ),
    (
        "`open(url).read(LARGE)`",
        "read_large_url",
        "read_large_download_tf",
        "download + `load_checkpoint(local).get_tensor(...)`",
    ),
    (
        "`open(url).read(SMALL)`",
        "read_small_url",
        "read_small_download_tfx",
        "download + `open(local).read(...)`",
    ),
    (
        "`open(url).read(SMALL)`",
        "read_small_url",
        "read_small_download_tf",
        "download + `load_checkpoint(local).get_tensor(...)`",
    ),
    (
        "`stats()` of every tensor, `engine=` WORKERS-worker `LocalCluster`",
        "stats_cluster",
        "stats_serial",
        "`stats()` serial, this process",
    ),
]


def _rows(results: dict, workers: int) -> list[dict]:
    rows = []
    for label, mine, theirs, base_label in _MAIN_ROWS:
        label = label.replace("WORKERS", str(workers))
        a, b = results.get(mine, {}), results.get(theirs, {})
        row = {"figure": label, "case": mine, "baseline_case": theirs, "baseline_label": base_label}
        if "error" in a or "error" in b or not a or not b:
            row["error"] = a.get("error") or b.get("error") or "not run"
            rows.append(row)
            continue
        row.update(
            tfexplore=a["seconds"],
            baseline=b["seconds"],
            ratio=a["seconds"] / b["seconds"],
            fetched=a.get("fetched"),
            baseline_fetched=b.get("fetched"),
            requests=_requests(a),
            baseline_requests=_requests(b),
            cpu=a.get("cpu_seconds"),
            baseline_cpu=b.get("cpu_seconds"),
            server_cpu=a.get("server_cpu_seconds"),
            baseline_server_cpu=b.get("server_cpu_seconds"),
            timing=_timing(a, b),
        )
        if "read_seconds" in a:
            row["read_seconds"] = a["read_seconds"]
        if "download_seconds" in b:
            row["download_seconds"] = b["download_seconds"]
        if "bytes" in a:  # stats: throughput of the bytes computed over
            row["gbps"], row["baseline_gbps"] = (
                a["bytes"] / GB / a["seconds"],
                b["bytes"] / GB / b["seconds"],
            )
        rows.append(row)
    return rows


def _requests(result: dict) -> str:
    """ "data GETs / all HTTP requests" of a run (downloads: all only)."""
    every = result.get("http_requests")
    data = result.get("requests")
    if data is None:
        return "—" if every is None else f"— / {every}"
    return f"{data}" if every is None else f"{data} / {every}"


def _timing(a: dict, b: dict) -> str:
    def one(r):
        n = len(r.get("runs", [1]))
        return "once" if n == 1 else f"median of {n}"

    first, second = one(a), one(b)
    return first if first == second else f"{first} / {second}"


_SCALING_ROWS = [
    ("`open(url).variables`", "variables_url"),
    ("`open(url).read(...)` of a LARGE_MB tensor", "read_large_url"),
    ("`open(url).read(...)` of a SMALL_KB tensor", "read_small_url"),
    ("`stats(subset)` serial", "subset_serial"),
    ("`stats(subset)`, `engine=` 2-worker `LocalCluster`", "subset_cluster"),
    ("download (s3fs) + `open(local).variables`", "variables_download_tfx"),
]


def _scaling(results: dict) -> list[dict]:
    rows = []
    for label, case in _SCALING_ROWS:
        a, b = results.get(f"scale_bert_{case}", {}), results.get(f"scale_sharded_{case}", {})
        row = {"figure": label, "case": case}
        if "error" in a or "error" in b or not a or not b:
            row["error"] = a.get("error") or b.get("error") or "not run"
        else:
            row.update(
                bert=a["seconds"],
                sharded=b["seconds"],
                ratio=b["seconds"] / a["seconds"],
                bert_fetched=a.get("fetched"),
                sharded_fetched=b.get("fetched"),
                bert_requests=_requests(a),
                sharded_requests=_requests(b),
                bert_server_cpu=a.get("server_cpu_seconds"),
                sharded_server_cpu=b.get("server_cpu_seconds"),
                timing=_timing(a, b),
            )
            if "bytes" in a:
                row["bert_bytes"], row["sharded_bytes"] = a["bytes"], b["bytes"]
                row["bert_tensors"], row["sharded_tensors"] = a["tensors"], b["tensors"]
        rows.append(row)
    return rows


def _memory(results: dict) -> list[dict]:
    rows = []
    for case, label in [
        ("stats_cluster", "every tensor"),
        ("scale_bert_subset_cluster", "subset"),
        ("scale_sharded_subset_cluster", "subset, sharded"),
    ]:
        r = results.get(case, {})
        if "error" in r or not r:
            continue
        for i, worker in enumerate(r["workers"]):
            rows.append(
                {
                    "stats": label,
                    "process": f"worker {i + 1}",
                    "base": worker["base"],
                    "peak": worker["peak"],
                    "maxrss": worker["maxrss"],
                    "largest": r["largest"],
                }
            )
        rows.append(
            {
                "stats": label,
                "process": "client (this process)",
                "base": r["base_rss"],
                "peak": r["peak_rss"],
                "maxrss": None,
                "largest": r["largest"],
            }
        )
    serial = results.get("stats_serial", {})
    if serial and "error" not in serial:
        rows.append(
            {
                "stats": "every tensor",
                "process": "serial (one process)",
                "base": serial["base_rss"],
                "peak": serial["peak_rss"],
                "maxrss": None,
                "largest": serial["largest"],
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Presentation
# ---------------------------------------------------------------------------------------------
def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _cpu(value: float | None) -> str:
    return "—" if value is None else _seconds(value)


def _bytes(value: int | None) -> str:
    if value is None:
        return "—"
    if value >= 0.1 * GB:
        return f"{value / GB:.2f} GB"
    if value >= 100_000:
        return f"{value / 1e6:.1f} MB"
    return f"{value / 1e3:.1f} KB"


def to_markdown(table: dict) -> str:
    m, c = table["machine"], table["checkpoints"]
    bert, sharded = c["bert"], c["sharded"]
    server = table["server"]
    lines = [
        f"# tfexplore over S3: reading in place vs downloading first ({table['scale']} scale, "
        f"{table['when']})",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
        f"{m['load_average']} at the start, {m.get('load_average_end', '?')} at the end (other "
        f"work shares this machine); Python {m['python']}, TensorFlow "
        f"{m.get('tensorflow', '?')}, s3fs {m.get('s3fs', '?')}, moto {m.get('moto', '?')}, "
        f"distributed {m.get('distributed', '?')}.",
        "",
        "Server: moto's S3 server on 127.0.0.1 (a subprocess, objects in its temporary files), "
        "patched to read only the range a `Range` GET asks for, as S3 does (moto 5 reads the "
        "whole object and slices it). Uploaded with s3fs: "
        + "; ".join(
            f"{key} {_bytes(u['bytes'])} in {u['seconds']:.0f} s"
            for key, u in server["uploads"].items()
        )
        + f"; server peak RSS {server['peak_rss'] / MB:,.0f} MB. A request costs "
        f"{server['request_seconds'] * 1000:.1f} ms whatever its size (a 1-byte ranged GET "
        "through s3fs, median of 31): real object storage adds tens of ms to each, and "
        "bandwidth far below a loopback's.",
        "",
        f"Checkpoints: BERT-like `{bert['prefix']}` ({_bytes(bert['bytes'])}, "
        f"{bert['tensors']} tensors, {len(bert['files']) - 1} data file); sharded "
        f"`{sharded['prefix']}` ({_bytes(sharded['bytes'])}, {sharded['tensors']} tensors, "
        f"{len(sharded['files']) - 1} data files, written with `SaveV2` shard by shard and "
        "`MergeV2Checkpoints`).",
        "",
        "## The BERT-like checkpoint",
        "",
        "| figure | tfexplore over `s3://` | baseline | baseline | ratio | bytes fetched "
        "tfexplore / baseline | requests tfexplore ; baseline (data GETs / all) | "
        "CPU tfexplore / baseline | server CPU tfexplore / baseline | timing |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    large = f"`{bert['largest']}` ({_bytes(bert['largest_bytes'])})"
    small = f"`{bert['small']}` ({_bytes(bert['small_bytes'])})"
    for row in table["rows"]:
        figure = row["figure"].replace("LARGE", "…").replace("SMALL", "…")
        if "LARGE" in row["figure"]:
            figure += f": {large}"
        elif "SMALL" in row["figure"]:
            figure += f": {small}"
        if "error" in row:
            lines.append(
                f"| {figure} | failed: {row['error'][:120]} | {row['baseline_label']} "
                "| | | | | | | |"
            )
            continue
        mine, theirs = _seconds(row["tfexplore"]), _seconds(row["baseline"])
        if "read_seconds" in row:
            mine += f" (read {_seconds(row['read_seconds'])})"
        if "download_seconds" in row:
            theirs += f" (download {_seconds(row['download_seconds'])})"
        if "gbps" in row:
            mine += f" ({row['gbps']:.3g} GB/s)"
            theirs += f" ({row['baseline_gbps']:.3g} GB/s)"
        lines.append(
            f"| {figure} | {mine} | {row['baseline_label']} | {theirs} | "
            f"{row['ratio']:.2f}x | {_bytes(row['fetched'])} / {_bytes(row['baseline_fetched'])} "
            f"| {row['requests']} ; {row['baseline_requests']} "
            f"| {_seconds(row['cpu'])} / {_seconds(row['baseline_cpu'])} "
            f"| {_cpu(row['server_cpu'])} / {_cpu(row['baseline_server_cpu'])} "
            f"| {row['timing']} |"
        )
    lines += [
        "",
        "Ratio: tfexplore's time / the baseline's (lower is better). tfexplore's times include "
        "`open` (making the S3 client, finding the checkpoint's files, fetching the `.index`) "
        "and, for `read`, the tensor's byte range (the read alone in brackets); the baselines "
        "include the download of the `.index` and data files (in brackets). Each run is a fresh "
        "process, imports done before the clock starts (TensorFlow only on TensorFlow's side). "
        "CPU is the measuring process's (with `engine=`, not the workers'); server CPU, the S3 "
        "server's over the measuring process's whole life (one Python process: where it comes "
        "near the wall-clock time, the server is the bottleneck). Requests: the data GETs "
        "`count_fetches` saw / every request the server logged (HEADs, listings).",
        "",
        f"### Peak memory of `stats()` (largest tensor {_bytes(bert['largest_bytes'])})",
        "",
        "| stats over | process | RSS before | peak during | peak - before | "
        "lifetime peak (`ru_maxrss`) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in table["memory"]:
        lifetime = "—" if row["maxrss"] is None else f"{row['maxrss'] / MB:,.0f} MB"
        lines.append(
            f"| {row['stats']} | {row['process']} | {row['base'] / MB:,.0f} MB | "
            f"{row['peak'] / MB:,.0f} MB | {(row['peak'] - row['base']) / MB:,.0f} MB | "
            f"{lifetime} |"
        )
    lines += [
        "",
        "Workers: peak RSS (`VmHWM`, its mark reset with `/proc/self/clear_refs` just before "
        "`stats`) read with `client.run` afterwards; a worker holds one task's tensors at a "
        "time (one tensor, or small neighbours up to 16 MB), so its peak above its RSS before "
        "should stay within a small multiple of the largest tensor. `ru_maxrss` is over the "
        "worker's life, and Linux carries it over the fork and exec that start a worker: it is "
        "at least the RSS of the process that started the cluster. The client's and the "
        "serial process's figures are the whole process.",
        "",
        f"## A larger run: {_bytes(sharded['bytes'])} in {len(sharded['files']) - 1} shards "
        f"beside {_bytes(bert['bytes'])} in one",
        "",
        f"| figure | BERT-like, {_bytes(bert['bytes'])} | sharded, {_bytes(sharded['bytes'])} "
        "| sharded / BERT | bytes fetched BERT / sharded | requests BERT ; sharded (data GETs / "
        "all) | server CPU BERT / sharded | timing |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in table["scaling"]:
        figure = (
            row["figure"]
            .replace("LARGE_MB", _bytes(bert["largest_bytes"]))
            .replace("SMALL_KB", _bytes(bert["small_bytes"]))
        )
        if "error" in row:
            lines.append(f"| {figure} | failed: {row['error'][:120]} | | | | | | |")
            continue
        a, b = _seconds(row["bert"]), _seconds(row["sharded"])
        if "bert_bytes" in row:
            figure += (
                f" ({row['bert_tensors']} / {row['sharded_tensors']} tensors, "
                f"{_bytes(row['bert_bytes'])} / {_bytes(row['sharded_bytes'])})"
            )
        requests = f"{row['bert_requests']} ; {row['sharded_requests']}"
        lines.append(
            f"| {figure} | {a} | {b} | {row['ratio']:.2f}x | {_bytes(row['bert_fetched'])} / "
            f"{_bytes(row['sharded_fetched'])} | {requests} | {_cpu(row['bert_server_cpu'])} / "
            f"{_cpu(row['sharded_server_cpu'])} | {row['timing']} |"
        )
    lines += [
        "",
        f"The sharded checkpoint is {sharded['bytes'] / bert['bytes']:.1f}x the BERT-like one; "
        f"its kernels have the shape of BERT's largest tensor, so `read` fetches the same bytes "
        f"from both (`{bert['largest']}` / `{sharded['largest']}`, `{bert['small']}` / "
        f"`{sharded['small']}`). The subset is the largest tensors, in name order, until "
        f"{_bytes(table.get('subset_bytes'))}; the sharded one's spread over its shards. Each "
        "row's two figures were measured in turns (BERT-like, sharded, BERT-like...), apart "
        "from the first table's.",
        "",
    ]
    return "\n".join(lines)


def _tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:  # the server subprocess: moto's arguments follow
        serve(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="the small scale (a few minutes)")
    parser.add_argument("--scale", choices=sorted(SCALES), help="a named scale")
    parser.add_argument("--data", default=None, help="artifact root (default bench/data)")
    parser.add_argument(
        "--scratch", help="where the server's objects and downloads go (default: the temp dir)"
    )
    parser.add_argument("--out", default=str(HERE / "results-remote.md"), help="Markdown output")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--repeats", type=int, help="runs per cheap figure (default: by time)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument(
        "--in-process", action="store_true", help="run every case here (quick tests)"
    )
    parser.add_argument("--child", nargs=2, metavar=("CASE", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = child(args.child[0], json.loads(args.child[1]))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    scale = args.scale or ("small" if args.small else "full")
    data = Path(args.data) if args.data else generate.DATA_DIR
    info = run.machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, load average "
        f"{info['load_average']}; scale {scale}"
    )
    table = run_all(
        scale,
        data,
        scratch=Path(args.scratch) if args.scratch else None,
        in_process=args.in_process,
        repeats=args.repeats,
        workers=args.workers,
    )
    markdown = to_markdown(table)
    print()
    print(markdown)
    Path(args.out).write_text(markdown)
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=1, default=str))
    made = [data / SCALES[scale].bert, data / SCALES[scale].sharded.name]
    print(
        "created (kept, git-ignored, reused next time): "
        + ", ".join(f"{p} ({_tree_size(p) / GB:.2f} GB)" for p in made)
        + f"; the server's copies ({table['server']['objects_bytes'] / GB:.2f} GB in "
        f"{table['server']['scratch']}) and the downloads were deleted; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
