"""Real storage servers on loopback for tests, each a subprocess on a free 127.0.0.1 port.

    start_s3(workdir)       moto's server (S3 + IAM), IAM authentication enforced
    start_azurite(workdir)  Azurite's blob service (npm package, installed by .ci/run in tests/node)
    start_gcs(workdir)      gcp-storage-emulator, plus a small OAuth token endpoint (this file)
                            that checks the service-account JWTs google-auth signs
    start_sftp(workdir)     an asyncssh SFTP server (this file) rooted in a folder, with a password
                            user and a key user

Each returns a handle with the connection details, credentials, a way to read stored objects back,
and ``stop()``. Start-up waits until the server answers (``READY_SECONDS``) and fails with the
server's log otherwise. The fixtures are in tests/conftest.py; they only call these.

The two servers written here run as ``python -m tests.support.storage_servers sftp|gcs-token CONFIG.json``
(the repository on PYTHONPATH).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import HOST, free_port

READY_SECONDS = 60.0
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
REPO = Path(__file__).resolve().parents[2]
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public: documented by Microsoft).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class ServerProcess:
    """A started server: its own process group, output to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, *, cwd: Path | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("ab")
        # the repository on the path: this module's own servers run as ``python -m tests.support.storage_servers``
        python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        atexit.register(self.stop)  # should the session end without its fixture teardown

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, check: Callable[[], bool], timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} while starting; its log:\n{self.log_tail()}"
                )
            try:
                if check():
                    return
            except Exception:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s; its log:\n{self.log_tail()}")

    def stop(self) -> None:
        atexit.unregister(self.stop)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


def _http_answers(url: str) -> bool:
    import httpx

    httpx.get(url, timeout=2)  # any HTTP answer, whatever its status, means it is up
    return True


def _start(
    name: str, workdir: Path, argv_for: Callable[[int], list[str]], ready_url: Callable[[int], str]
) -> tuple[ServerProcess, int]:
    """Start on a free port; try another port if the first was taken meanwhile."""
    for attempt in range(3):
        port = free_port()
        server = ServerProcess(name, argv_for(port), workdir / f"{name}-{port}.log", cwd=workdir)
        try:
            server.wait_ready(lambda port=port: _http_answers(ready_url(port)))
        except RuntimeError:
            server.stop()
            if attempt == 2 or not _port_taken(server.log_tail()):
                raise
            continue
        return server, port
    raise AssertionError("unreachable")


def _port_taken(log: str) -> bool:
    return "in use" in log.lower() or "EADDRINUSE" in log


def _script(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.support.storage_servers", *args]


# -- S3: moto ---------------------------------------------------------------------------------------


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret: str = field(repr=False)
    process: ServerProcess
    region: str = "us-east-1"

    def client(self, access_key: str | None = None, secret: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret or self.secret,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def get_bytes(self, bucket: str, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listed = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def set_auth(self, enforced: bool) -> None:
        import httpx

        answer = httpx.post(f"{self.endpoint_url}/moto-api/reset-auth", content=b"0" if enforced else b"inf")
        answer.raise_for_status()

    @contextlib.contextmanager
    def auth_off(self) -> Iterator[None]:
        """moto answers a presigned GET with a 500 while IAM authentication is enforced (it looks for
        an Authorization header); presigned URLs are tested with it off."""
        self.set_auth(False)
        try:
            yield
        finally:
            self.set_auth(True)

    def stop(self) -> None:
        self.process.stop()


def start_s3(workdir: Path) -> S3Server:
    """moto's server with one IAM user (all of s3:*) whose key the server then demands."""
    import boto3

    process, port = _start(
        "moto",
        workdir,
        lambda port: [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        lambda port: f"http://{HOST}:{port}/moto-api/",
    )
    endpoint = f"http://{HOST}:{port}"
    try:
        iam = boto3.session.Session().client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        iam.create_user(UserName="recordkit-test")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        iam.put_user_policy(UserName="recordkit-test", PolicyName="s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="recordkit-test")["AccessKey"]
        server = S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], process)
        server.set_auth(True)
    except BaseException:
        process.stop()
        raise
    return server


# -- Azure Blob Storage: Azurite ---------------------------------------------------------------------


def azurite_binary() -> str | None:
    """``$AZURITE_BLOB``, else tests/node's install (``npm ci --prefix tests/node``), else the PATH's."""
    candidates = [os.environ.get("AZURITE_BLOB"), str(REPO / "tests/node/node_modules/.bin/azurite-blob")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("azurite-blob")


@dataclass
class AzuriteServer:
    port: int
    process: ServerProcess
    account: str = AZURITE_ACCOUNT
    account_key: str = field(default=AZURITE_KEY, repr=False)

    @property
    def endpoint_template(self) -> str:
        """For RECORDKIT_AZURE_ENDPOINT_URL: ``{account}`` is the storage_config's access_key."""
        return f"http://{HOST}:{self.port}/{{account}}"

    @property
    def account_url(self) -> str:
        return f"http://{HOST}:{self.port}/{self.account}"

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            self.account_url, credential={"account_name": self.account, "account_key": self.account_key}
        )

    def create_container(self, name: str) -> str:
        self.service().create_container(name)
        return name

    def get_bytes(self, container: str, name: str) -> bytes:
        data: bytes = self.service().get_blob_client(container, name).download_blob().readall()
        return data

    def names(self, container: str, prefix: str = "") -> list[str]:
        listed = self.service().get_container_client(container).list_blobs(name_starts_with=prefix or None)
        return sorted(blob.name for blob in listed)

    def stop(self) -> None:
        self.process.stop()


def start_azurite(workdir: Path) -> AzuriteServer:
    binary = azurite_binary()
    if binary is None:
        raise FileNotFoundError("azurite-blob not found: run `npm ci --prefix tests/node` (as .ci/run does)")
    location = workdir / "azurite-data"
    location.mkdir(exist_ok=True)
    process, port = _start(
        "azurite",
        workdir,
        lambda port: [
            binary,
            "--blobHost",
            HOST,
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        lambda port: f"http://{HOST}:{port}/{AZURITE_ACCOUNT}?comp=list",
    )
    return AzuriteServer(port, process)


# -- Google Cloud Storage: gcp-storage-emulator + a token endpoint ------------------------------------


def _rsa_pem() -> tuple[str, str]:
    """A new RSA key: (private PKCS#8 PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class GcsServer:
    endpoint_url: str
    token_uri: str
    service_account: dict[str, Any] = field(repr=False)
    emulator: ServerProcess
    token_server: ServerProcess
    project: str = "recordkit-test"

    @property
    def secret(self) -> str:
        """The storage_config.secret: the service-account key file's JSON text."""
        return json.dumps(self.service_account)

    def key_with(self, **changes: Any) -> str:
        """Another service-account key JSON (a wrong private key, another email...)."""
        return json.dumps({**self.service_account, **changes})

    def client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud.storage import Client

        return Client(
            project=self.project, credentials=AnonymousCredentials(), client_options={"api_endpoint": self.endpoint_url}
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(name)
        return name

    def get_bytes(self, bucket: str, name: str) -> bytes:
        data: bytes = self.client().bucket(bucket).blob(name).download_as_bytes()
        return data

    def names(self, bucket: str, prefix: str = "") -> list[str]:
        return sorted(blob.name for blob in self.client().list_blobs(bucket, prefix=prefix or None))

    def tokens_issued(self) -> int:
        import httpx

        return int(httpx.get(self.token_uri.replace("/token", "/issued"), timeout=5).json()["issued"])

    def stop(self) -> None:
        self.emulator.stop()
        self.token_server.stop()


def start_gcs(workdir: Path) -> GcsServer:
    private, public = _rsa_pem()
    email = "recordkit-test@recordkit-test.iam.gserviceaccount.com"
    config_path = workdir / "gcs-token.json"
    config_path.write_text(json.dumps({"public_key": public, "client_email": email}))
    token_server, token_port = _start(
        "gcs-token",
        workdir,
        lambda port: _script("gcs-token", str(config_path), str(port)),
        lambda port: f"http://{HOST}:{port}/issued",
    )
    try:
        emulator_bin = Path(sys.executable).with_name("gcp-storage-emulator")
        emulator, port = _start(
            "gcs-emulator",
            workdir,
            lambda port: [str(emulator_bin), "start", "-H", HOST, "--port", str(port), "--in-memory"],
            lambda port: f"http://{HOST}:{port}/storage/v1/b",
        )
    except BaseException:
        token_server.stop()
        raise
    token_uri = f"http://{HOST}:{token_port}/token"
    info = {
        "type": "service_account",
        "project_id": "recordkit-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private,
        "client_email": email,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    return GcsServer(f"http://{HOST}:{port}", token_uri, info, emulator, token_server)


def other_rsa_key() -> str:
    return _rsa_pem()[0]


# -- SFTP: asyncssh ----------------------------------------------------------------------------------


@dataclass
class SshKey:
    private_openssh: str = field(repr=False)
    private_pem: str = field(repr=False)  # the same key as PEM (PKCS#8) text
    public: str  # "ssh-ed25519 AAAA..." (OpenSSH one-line format)


def new_ssh_key(kind: str = "ed25519") -> SshKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key: Any
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(kind)
    none = serialization.NoEncryption()
    pem_format = serialization.PrivateFormat.TraditionalOpenSSL if kind == "rsa" else serialization.PrivateFormat.PKCS8
    return SshKey(
        private_openssh=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, none
        ).decode(),
        private_pem=key.private_bytes(serialization.Encoding.PEM, pem_format, none).decode(),
        public=key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode(),
    )


@dataclass
class SftpServer:
    port: int
    root: Path  # the server's "/": what clients write is here
    process: ServerProcess
    password_user: str
    password: str = field(repr=False)
    key_user: str
    keys: dict[str, SshKey] = field(repr=False)  # kind -> a key the key user may log in with
    host_key: SshKey = field(repr=False)
    host: str = HOST

    def known_hosts_line(self, key: SshKey | None = None) -> str:
        return f"[{self.host}]:{self.port} {(key or self.host_key).public}\n"

    def read(self, remote_path: str) -> bytes:
        return (self.root / remote_path.lstrip("/")).read_bytes()

    def files(self) -> list[str]:
        """Every file under the root, as "/"-rooted paths."""
        return sorted("/" + p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def stop(self) -> None:
        self.process.stop()


def _banner(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=2) as sock:
        return sock.recv(4).startswith(b"SSH-")


def start_sftp(workdir: Path) -> SftpServer:
    root = workdir / "sftp-root"
    root.mkdir(exist_ok=True)
    host_key = new_ssh_key("ed25519")
    host_key_path = workdir / "sftp-host-key"
    host_key_path.write_text(host_key.private_openssh)
    host_key_path.chmod(0o600)
    keys = {kind: new_ssh_key(kind) for kind in ("ed25519", "rsa", "ecdsa")}
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    config = {
        "root": str(root),
        "host_key": str(host_key_path),
        "password_user": "rk-password",
        "password": password,
        "key_user": "rk-key",
        "public_keys": [key.public for key in keys.values()],
    }
    config_path = workdir / "sftp.json"
    config_path.write_text(json.dumps(config))
    config_path.chmod(0o600)
    for attempt in range(3):
        port = free_port()
        process = ServerProcess("sftp", _script("sftp", str(config_path), str(port)), workdir / f"sftp-{port}.log")
        try:
            process.wait_ready(lambda port=port: _banner(port))
        except RuntimeError:
            process.stop()
            if attempt == 2 or not _port_taken(process.log_tail()):
                raise
            continue
        return SftpServer(port, root, process, "rk-password", password, "rk-key", keys, host_key)
    raise AssertionError("unreachable")


# -- the servers that run from this file ------------------------------------------------------------


def _serve_sftp(config: dict[str, Any], port: int) -> None:
    import asyncio
    import hmac

    import asyncssh

    allowed = {" ".join(line.split()[:2]) for line in config["public_keys"]}

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == config["password_user"] and hmac.compare_digest(password, config["password"])

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: Any) -> bool:
            offered = " ".join(key.export_public_key().decode().split()[:2])
            return username == config["key_user"] and offered in allowed

    def sftp(chan: Any) -> Any:
        return asyncssh.SFTPServer(chan, chroot=config["root"].encode())

    async def main() -> None:
        server = await asyncssh.listen(
            HOST,
            port,
            server_factory=Server,
            server_host_keys=[config["host_key"]],
            sftp_factory=sftp,
            allow_scp=False,
        )
        print(f"sftp listening on {HOST}:{port}", flush=True)
        async with server:
            await asyncio.Future()

    asyncio.run(main())


def _serve_gcs_token(config: dict[str, Any], port: int) -> None:
    """An OAuth token endpoint for service-account JWTs (RFC 7523), like oauth2.googleapis.com/token.

    It checks the RS256 signature against the one known public key, the issuer, the audience and
    the expiry, then hands out an opaque access token; a bad JWT gets 400 invalid_grant."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    public_key: Any = serialization.load_pem_public_key(config["public_key"].encode())
    issued = [0]

    def b64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    def check(assertion: str, audience: str) -> str | None:
        try:
            header, payload, signature = assertion.split(".")
            public_key.verify(b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(b64(payload))
        except (ValueError, InvalidSignature):
            return "Invalid JWT Signature."
        if claims.get("iss") != config["client_email"]:
            return "Invalid issuer."
        if claims.get("aud") not in (audience, GOOGLE_TOKEN_URI):  # google-auth always says Google's
            return "Invalid audience."
        if not claims.get("iat", 0) - 300 <= time.time() <= claims.get("exp", 0) + 300:
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
        return None

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/issued":
                self._json(200, {"issued": issued[0]})
            else:
                self._json(404, {})

        def do_POST(self) -> None:
            if self.path != "/token":
                self._json(404, {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
                self._json(400, {"error": "unsupported_grant_type"})
                return
            problem = check(form.get("assertion", [""])[0], f"http://{HOST}:{port}/token")
            if problem:
                self._json(400, {"error": "invalid_grant", "error_description": problem})
                return
            issued[0] += 1
            self._json(200, {"access_token": f"test-token-{issued[0]}", "expires_in": 3600, "token_type": "Bearer"})

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"token: {format % args}\n")

    ThreadingHTTPServer((HOST, port), Handler).serve_forever()


if __name__ == "__main__":
    kind, config_file, port_text = sys.argv[1:4]
    loaded = json.loads(Path(config_file).read_text())
    {"sftp": _serve_sftp, "gcs-token": _serve_gcs_token}[kind](loaded, int(port_text))
