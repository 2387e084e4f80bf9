"""kill -9 in the middle of an upload to a storage_config destination (issue 8 §4).

The SFTP destination sits behind a relay that stalls the upload part-way (the file is half
written, as ``.{name}.partial``, on the SFTP server) while the server is killed. After the restart
the delivery is taken over and completes: the destination holds each file exactly once, whole and
byte-identical to the bucket's copy, and no ``.partial`` file is left behind.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.recording import Kit, Tenant
from tests.support.servers import RkServer
from tests.support.storage_servers import SftpServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.usefixtures("store_kind"),
]  # every test on both stores (tests/conftest.py)

SMALL = {"width": 160, "height": 120}
STALL_AFTER = 24_576  # bytes from RecordKit to the SFTP server: past the login, inside the first file


class StallingRelay:
    """Listens on a free port and pipes each connection to ``target``; while ``stalling``, stops
    passing RecordKit's bytes on once a connection has sent ``STALL_AFTER`` of them."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.stalling = True
        self.stalled = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := source.recv(4096):
                if outbound and self.stalling and sent + len(data) > STALL_AFTER:
                    self.stalled.set()
                    while self.stalling:  # hold the rest: the upload hangs half-way
                        time.sleep(0.05)
                    return  # the connection is abandoned (its server was killed meanwhile)
                sink.sendall(data)
                sent += len(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def release(self) -> None:
        """Pass everything from now on, and drop the stalled connections."""
        self.stalling = False
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self.release()
        self._sock.close()


@pytest.fixture
def relay(sftp_server: SftpServer) -> Iterator[StallingRelay]:
    made = StallingRelay((sftp_server.host, sftp_server.port))
    yield made
    made.stop()


def test_kill_9_mid_upload_to_a_destination_then_restart(
    sftp_server: SftpServer, relay: StallingRelay, tmp_path: Path, databases: Callable[[], dict[str, str]]
) -> None:
    folder = f"/uploads/crash-{relay.port}"
    config = {
        "type": "sftp",
        "host": sftp_server.host,
        "port": relay.port,
        "username": sftp_server.password_user,
        "password": sftp_server.password,
        "path": folder,
    }
    srv = RkServer(tmp_path / "srv", env={**databases(), "RECORDKIT_UPLOAD_RETRY_BASE_SECONDS": "0.5"})
    tenant = Tenant.create(srv)
    srv.start()
    try:
        with tenant.sdk() as client:
            kit = Kit(tenant, client)
            rec = kit.start(kit.meeting("crash: mid-upload"), video_config=SMALL, storage_config=config)
            kit.wait(rec.id, {"RECORDING"}, 60)
            time.sleep(2.5)
            kit.act(rec.id, "stop")
        assert relay.stalled.wait(60), f"the upload never reached the relay\n{srv.log()[-3000:]}"
        partial = [f for f in sftp_server.files() if f.startswith(folder) and f.endswith(".partial")]
        assert partial, sftp_server.files()  # half a file is on the SFTP server
        srv.kill9()
        assert srv.db_status(rec.id) == "UPLOADING"

        relay.release()
        srv.start()
        with tenant.sdk() as client:
            final = Kit(tenant, client).wait(rec.id, {"UPLOADED", "ERRORED"}, 90)
        assert final.status == "UPLOADED", srv.log()[-3000:]
        video = httpx.get(final.download_url, timeout=30)
        audio = httpx.get(final.audio_download_url, timeout=30)
        assert video.status_code == audio.status_code == 200
        names = sorted(f for f in sftp_server.files() if f.startswith(folder))
        stem = final.output_file_name.rsplit(".", 1)[0]
        assert names == sorted([f"{folder}/{final.output_file_name}", f"{folder}/{stem}_audio.m4a"]), names
        assert sftp_server.read(f"{folder}/{final.output_file_name}") == video.content
        assert sftp_server.read(f"{folder}/{stem}_audio.m4a") == audio.content
        assert len(video.content) == final.file_size
    finally:
        srv.stop()
