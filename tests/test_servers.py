"""The object-storage test servers (tests/servers.py): moto's S3 and gcp-storage-emulator, each
behind the counting proxy, read and written through s3fs / gcsfs."""

from __future__ import annotations

import http.client
import os
import random
from urllib.parse import urlsplit

import pytest
from servers import Server, gcs_server, s3_server  # noqa: F401

pytestmark = pytest.mark.slow  # ~6 s: moto takes ~2 s to start, each new S3 client ~0.2 s

BIG = 1 << 20


@pytest.fixture(scope="module", params=["s3_server", "gcs_server"])
def server(request) -> Server:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def bucket(server, tmp_path_factory) -> tuple[str, dict[str, bytes]]:
    """A bucket holding ``folder/`` (3 files, one of 1 MB random bytes), made once per server
    (the tests only read it): ``(url, files)``, ``files``: relative path -> bytes."""
    files = {
        "a.txt": b"hello, object storage\n",
        "sub/b.json": b'{"x": [1, 2, 3]}',
        "big.bin": random.Random(7).randbytes(BIG),
    }
    local = tmp_path_factory.mktemp("upload") / "folder"
    for name, data in files.items():
        (local / name).parent.mkdir(parents=True, exist_ok=True)
        (local / name).write_bytes(data)
    url = server.make_bucket("stored")
    server.upload(local, f"{url}/folder")
    return url, files


@pytest.fixture
def stored(server, bucket) -> tuple[str, dict[str, bytes]]:
    """``bucket``, with the counter reset."""
    server.counter.reset()
    return bucket


def test_server_attributes(server):
    endpoint = urlsplit(server.endpoint)
    assert (endpoint.scheme, endpoint.hostname) == ("http", "127.0.0.1")
    assert server.upstream != server.endpoint  # the tests talk to the proxy
    if server.protocol == "s3":
        assert server.storage_options == {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": server.endpoint, "region_name": "us-east-1"},
        }
        assert type(server.fs()).__name__ == "S3FileSystem"
    else:
        assert server.protocol == "gs"
        assert server.storage_options == {
            "endpoint_url": server.endpoint,
            "token": "anon",
            "project": "test",
        }
        assert os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] == "false"
        assert type(server.fs()).__module__ == "gcsfs.core"  # not the gRPC-probing subclass
    assert server.fs() is not server.fs()


def test_make_bucket_url_and_short_names(server):
    assert server.make_bucket("mkb") == f"{server.protocol}://mkb"
    assert server.fs().ls("mkb") == []
    with pytest.raises(ValueError, match="3 to 63"):
        server.make_bucket("ab")


def test_upload_lists_every_file(server, stored):
    url, files = stored
    fs = server.fs()
    bucket = url.split("://")[1]
    found = fs.find(f"{url}/folder", detail=True)
    assert {k: v["size"] for k, v in found.items()} == {
        f"{bucket}/folder/{name}": len(data) for name, data in files.items()
    }
    assert sorted(fs.ls(f"{url}/folder")) == [
        f"{bucket}/folder/a.txt",
        f"{bucket}/folder/big.bin",
        f"{bucket}/folder/sub",
    ]
    assert fs.cat_file(f"{url}/folder/sub/b.json") == files["sub/b.json"]


def test_upload_is_counted_as_request_bytes(server, tmp_path):
    url = server.make_bucket("upload-count")
    data = random.Random(1).randbytes(BIG)
    (tmp_path / "one.bin").write_bytes(data)
    server.counter.reset()
    server.upload(tmp_path / "one.bin", f"{url}/one.bin")
    writes = [r for r in server.counter.requests if r.method in ("PUT", "POST")]
    assert writes and all(200 <= r.status < 300 for r in writes)
    assert BIG <= sum(r.sent_bytes for r in writes) < BIG + 16_384  # data plus form framing
    assert server.counter.bytes_for("one.bin") == 0  # nothing read back
    assert server.fs().cat_file(f"{url}/one.bin") == data


def test_cat_file_range_counts_exactly_its_bytes(server, stored):
    url, files = stored
    data = server.fs().cat_file(f"{url}/folder/big.bin", start=123_456, end=124_456)
    assert data == files["big.bin"][123_456:124_456]
    counter = server.counter
    assert counter.bytes_for("folder/big.bin") == 1000
    assert counter.ranges_for("folder/big.bin") == ["bytes=123456-124455"]
    [read] = counter.data_requests("folder/big.bin")
    assert (read.method, read.status, read.body_bytes, read.complete) == ("GET", 206, 1000, True)
    assert counter.bytes_for("a.txt") == 0


def test_cat_ranges_reads_three_ranges_in_one_call(server, stored):
    url, files = stored
    path = f"{url}/folder/big.bin"
    starts, ends = [0, 500_000, BIG - 10], [10, 500_300, BIG]
    out = server.fs().cat_ranges([path] * 3, starts, ends)
    assert out == [files["big.bin"][s:e] for s, e in zip(starts, ends)]
    assert server.counter.bytes_for("folder/big.bin") == 10 + 300 + 10
    assert sorted(server.counter.ranges_for("folder/big.bin")) == sorted(
        f"bytes={s}-{e - 1}" for s, e in zip(starts, ends)
    )


def test_whole_file_read_and_metadata_are_told_apart(server, stored):
    url, files = stored
    fs = server.fs()
    assert fs.info(f"{url}/folder/big.bin")["size"] == BIG
    assert server.counter.bytes_for("folder/big.bin") == 0  # metadata is not object data
    assert fs.cat_file(f"{url}/folder/big.bin") == files["big.bin"]
    assert server.counter.bytes_for("folder/big.bin") == BIG
    assert server.counter.body_bytes("HEAD") == 0
    assert server.counter.body_bytes("GET") >= BIG
    assert server.counter.body_bytes(None) >= server.counter.body_bytes("GET")
    server.counter.reset()
    assert server.counter.requests == [] and server.counter.body_bytes() == 0


def test_missing_key_raises_file_not_found(server, stored):
    url, _ = stored
    fs = server.fs()
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{url}/folder/nope.bin")
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{url}/folder/nope.bin", start=0, end=10)
    with pytest.raises(FileNotFoundError):
        fs.info(f"{url}/folder/nope.bin")
    assert fs.exists(f"{url}/folder/nope.bin") is False
    assert 404 in {r.status for r in server.counter.requests}
    assert server.counter.bytes_for("nope.bin") == 0  # failed reads are not object data


def test_missing_bucket_raises_file_not_found(server):
    fs = server.fs()
    url = f"{server.protocol}://no-such-bucket-here"
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{url}/key")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{url}/key")
    with pytest.raises(FileNotFoundError):
        fs.ls(url)


def test_proxy_passes_chunked_and_expect_continue_uploads(s3_server):  # noqa: F811
    """A request body sent chunked with ``Expect: 100-continue`` reaches moto whole."""
    url = s3_server.make_bucket("chunked-put")
    proxy = urlsplit(s3_server.endpoint)
    signed = {  # moto wants an owner for reads, and checks no signatures
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request,"
        " SignedHeaders=host, Signature=0"
    }
    connection = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=30)
    try:
        connection.putrequest("PUT", "/chunked-put/hello.txt")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Expect", "100-continue")
        connection.putheader("Authorization", signed["Authorization"])
        connection.endheaders()
        connection.send(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        # the same kept-alive connection
        connection.request("GET", "/chunked-put/hello.txt", headers=signed)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"hello world")
    finally:
        connection.close()
    assert s3_server.fs().cat_file(f"{url}/hello.txt") == b"hello world"
    [put] = [r for r in s3_server.counter.requests if r.path == "/chunked-put/hello.txt"][:1]
    assert (put.method, put.sent_bytes) == ("PUT", 11)
