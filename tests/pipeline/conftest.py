"""Fixtures for running the ``sarlign`` command line the way a user does."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from sarlign.pipeline.cli import run_command_line

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "data" / "sample"


@dataclass(frozen=True)
class Ran:
    """What one run of the command line gave: its exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The non-empty lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def errors(self) -> list[str]:
        """The ``error:`` lines on stderr (a failure has exactly one, and no traceback)."""
        assert "Traceback" not in self.stderr, self.stderr
        return [line for line in self.lines if line.startswith("error:")]

    @property
    def flat_stderr(self) -> str:
        """stderr without whitespace, so a path wrapped by the terminal renderer is still found."""
        return "".join(self.stderr.split())

    def json(self) -> dict:
        return json.loads(self.stdout)


@pytest.fixture
def sarlign(capsys):
    """``sarlign(*arguments)``: run the command line in this process as its console entry point does
    (``sarlign.pipeline.cli.run_command_line``) and return a :class:`Ran`."""

    def run(*arguments: object) -> Ran:
        capsys.readouterr()
        code = run_command_line([str(a) for a in arguments])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def demo_pair() -> tuple[Path, Path]:
    """The bundled demo pair (reference, SAR offset by a known 14, −9 px): 768² px, four tiles."""
    return SAMPLE / "s2_reference.tif", SAMPLE / "s1_offset.tif"


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with single byte-range requests (``Range: bytes=a-b``), as GDAL's /vsicurl/ reads COGs;
    every request is recorded in the server's ``requests`` as (method, path, range header or None, status)."""

    ranges = True  # False: a server that ignores Range headers and sends whole files

    def send_head(self):  # noqa: ANN201 — http.server's own signature
        path = Path(self.translate_path(self.path))
        wanted = self.headers.get("Range") if self.ranges else None
        if not path.is_file():
            self.server.requests.append((self.command, self.path, wanted, 404))  # type: ignore[attr-defined]
            self.send_error(404)
            return None
        if self.path in self.server.fail_once:  # type: ignore[attr-defined]
            self.server.fail_once.discard(self.path)  # type: ignore[attr-defined]
            self.server.requests.append((self.command, self.path, wanted, 503))  # type: ignore[attr-defined]
            self.send_error(503)
            return None
        size = path.stat().st_size
        f = open(path, "rb")  # noqa: SIM115 — http.server copies from it, then closes it
        if wanted and wanted.startswith("bytes="):
            first, _, last = wanted[len("bytes="):].partition("-")
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
            f.seek(start)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            length = end - start + 1
        else:
            self.send_response(200)
            length = size
        if self.ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.server.requests.append((self.command, self.path, wanted, 206 if wanted else 200))  # type: ignore[attr-defined]
        return _Limited(f, length)

    def log_message(self, *args: object) -> None:  # quiet
        pass


class _Limited:
    """A file object that yields at most ``length`` bytes (the requested range)."""

    def __init__(self, f, length: int) -> None:
        self.f, self.left = f, length

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.f.read(n)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


class _Requests(list):
    """The requests a test server answered: (method, path, range header or None, status)."""

    fail_once: set[str]


class _WholeFileHandler(_RangeHandler):
    ranges = False


@pytest.fixture
def http_folder(tmp_path, monkeypatch):
    """``(url, folder, requests)``: an HTTP server on loopback serving ``folder`` with byte ranges, and
    the list of requests it answered. Proxies are bypassed for it. A path (``/name``) added to
    ``requests.fail_once`` is answered 503 once, as a busy server may."""
    yield from _served(tmp_path, monkeypatch, _RangeHandler)


@pytest.fixture
def http_folder_without_ranges(tmp_path, monkeypatch):
    """As ``http_folder``, from a server that answers every request with the whole file."""
    yield from _served(tmp_path, monkeypatch, _WholeFileHandler)


def _served(tmp_path, monkeypatch, handler_class):
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = _Requests()  # type: ignore[attr-defined]
    server.fail_once = server.requests.fail_once = set()  # type: ignore[attr-defined]
    # Quiet about clients hanging up mid-transfer (GDAL does, once it finds a server sends whole files).
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder, server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
