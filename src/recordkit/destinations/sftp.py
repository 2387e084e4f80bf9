"""SFTP destination (paramiko; the ``sftp`` extra).

Each operation opens its own SSH connection (a recording's upload is rare; nothing to keep alive)
with ``username`` and either ``password`` (``auth_method`` PASSWORD) or ``private_key`` (KEY:
RSA, ECDSA or Ed25519, PEM or OpenSSH format, without a passphrase). Neither an SSH agent nor
the server's own keys are ever tried.

``path`` is the remote folder: absolute when it begins with ``/``, else under the login
directory; missing folders are created. A file is written as ``.{name}.partial`` next to its
target and renamed over it when complete (``posix-rename`` where the server has it).

Host keys: with ``RECORDKIT_SFTP_KNOWN_HOSTS`` (an OpenSSH known_hosts file) only hosts listed
there with a matching key are accepted; without it RecordKit accepts any host key (it does not
pin host keys by itself). With ``allow_private`` False (the server's default; it is
``RECORDKIT_ALLOW_PRIVATE_NETWORK``) an address the host resolves to that the address policy does
not call public (``recordkit.security.netpolicy.is_public``: loopback, private, link-local, ...) is
never connected to: checked here, at connect time, on every address tried.
"""

from __future__ import annotations

import contextlib
import errno
import io
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from recordkit.destinations.base import PROBE_BODY, DestinationError, check_local_file, fail, probe_name
from recordkit.domain.naming import ObjectName, build_name, key_under
from recordkit.domain.storage_config import StorageSpec
from recordkit.errors import InvalidRequest
from recordkit.security.netpolicy import is_public

TIMEOUT: Final = 15.0  # seconds: TCP connect, SSH banner, authentication, each SFTP request
_PERMANENT_ERRNOS: Final = frozenset({errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR})


class _Refused(Exception):
    """A check of RecordKit's own failed (unknown host key, a private address): not worth a retry."""


def load_private_key(text: str) -> Any:
    """A paramiko key from PEM (PKCS#1, PKCS#8, SEC1) or OpenSSH text; InvalidRequest if unusable."""
    import paramiko
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    field = "storage_config.private_key"
    data = "\n".join(line.strip() for line in text.strip().splitlines()).encode() + b"\n"
    try:
        if b"BEGIN OPENSSH PRIVATE KEY" in data:
            key: Any = serialization.load_ssh_private_key(data, password=None)
        else:
            key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidRequest(f"{field}: keys protected by a passphrase are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidRequest(f"{field}: not a readable private key (PEM or OpenSSH format)") from None
    if isinstance(key, rsa.RSAPrivateKey):
        cls: Any = paramiko.RSAKey
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        cls = paramiko.ECDSAKey
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        cls = paramiko.Ed25519Key
    else:
        raise InvalidRequest(f"{field}: only RSA, ECDSA and Ed25519 keys are supported")
    openssh = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    try:
        return cls.from_private_key(io.StringIO(openssh))
    except Exception:
        raise InvalidRequest(f"{field}: not a usable SSH key") from None


class SftpDestination:
    def __init__(
        self,
        spec: StorageSpec,
        *,
        known_hosts: str | None = None,
        allow_private: bool = True,
        file_name_prefix: str | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        assert spec.host and spec.username
        self._spec = spec
        self._prefix = file_name_prefix
        self._known_hosts = known_hosts
        self._allow_private = allow_private
        self._timeout = timeout
        self._pkey = load_private_key(spec.private_key) if spec.auth_method == "KEY" and spec.private_key else None
        folders = "/".join(spec.path.folders)
        self._folder = ("/" if spec.path.absolute else "") + folders

    def describe(self) -> str:
        return f"SFTP {self._spec.username}@{self._spec.host}:{self._spec.port} folder {self._folder or '~'!r}"

    def _name(self, name: str) -> ObjectName:
        return build_name(self._folder, self._prefix, name)

    def put(self, local_path: Path, name: str) -> str:
        target = self._name(name)
        check_local_file(local_path)
        with self._failures("upload"), self._session() as sftp:
            self._make_folders(sftp, target)
            self._write(sftp, target, lambda tmp: sftp.put(str(local_path), tmp, confirm=True))
        return target.remote_path

    def delete(self, key: str) -> None:
        if not key_under(self._spec.path, key, keep_root=True):
            raise InvalidRequest("key: not under storage_config.path")
        with self._failures("delete"), self._session() as sftp:
            try:
                sftp.remove(key)
            except FileNotFoundError:
                return

    def probe(self) -> None:
        target = self._name(probe_name())
        with self._failures("probe"), self._session() as sftp:
            self._make_folders(sftp, target)
            self._write(sftp, target, lambda tmp: sftp.putfo(io.BytesIO(PROBE_BODY), tmp, confirm=True))
            sftp.remove(target.remote_path)

    # -- the connection ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        import paramiko

        spec = self._spec
        assert spec.host
        sock = self._connect_socket()
        client = paramiko.SSHClient()
        try:
            if self._known_hosts:
                client.load_host_keys(self._known_hosts)
                client.set_missing_host_key_policy(_reject_unknown())
            else:
                client.set_missing_host_key_policy(_accept_any())
            client.connect(
                hostname=spec.host,
                port=spec.port,
                username=spec.username,
                password=spec.password if self._pkey is None else None,
                pkey=self._pkey,
                sock=sock,
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                channel_timeout=self._timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            try:
                sftp.get_channel().settimeout(self._timeout)
                yield sftp
            finally:
                sftp.close()
        finally:
            client.close()
            sock.close()

    def _connect_socket(self) -> socket.socket:
        spec = self._spec
        assert spec.host
        infos = socket.getaddrinfo(spec.host, spec.port, type=socket.SOCK_STREAM)
        last: OSError | None = None
        refused = False
        for family, kind, proto, _, address in infos:
            if not self._allow_private and not is_public(str(address[0]).split("%")[0]):
                refused = True
                continue
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self._timeout)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            return sock
        if last is not None:
            raise last
        if refused:
            raise _Refused("the host resolves to a private or local address (not allowed here)")
        raise OSError(errno.EHOSTUNREACH, "no address")

    def _make_folders(self, sftp: Any, target: ObjectName) -> None:
        root = "/" if target.absolute else ""
        for depth in range(1, len(target.folders) + 1):
            folder = root + "/".join(target.folders[:depth])
            try:
                mode = sftp.stat(folder).st_mode
            except FileNotFoundError:
                try:
                    sftp.mkdir(folder)
                except OSError:
                    mode = sftp.stat(folder).st_mode  # made meanwhile by someone else? else this raises
                else:
                    continue
            if mode is not None and not stat.S_ISDIR(mode):
                raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of the folder")

    @staticmethod
    def _write(sftp: Any, target: ObjectName, send: Any) -> None:
        final = target.remote_path
        temp = final[: len(final) - len(target.leaf)] + f".{target.leaf}.partial"
        send(temp)
        try:
            sftp.posix_rename(temp, final)
        except OSError:  # no posix-rename extension: plain rename does not replace
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(final)
            sftp.rename(temp, final)

    @contextlib.contextmanager
    def _failures(self, operation: str) -> Iterator[None]:
        try:
            yield
        except InvalidRequest:
            raise
        except Exception as exc:
            raise self._error(operation, exc) from None

    def _error(self, operation: str, exc: BaseException) -> DestinationError:
        detail, transient = _classify(exc)
        return fail(self.describe(), operation, detail, transient=transient, secrets=self._spec.secrets)


def _classify(exc: BaseException) -> tuple[str, bool]:
    import paramiko

    if isinstance(exc, _Refused):
        return str(exc), False
    if isinstance(exc, paramiko.AuthenticationException):
        return "authentication failed", False
    if isinstance(exc, paramiko.BadHostKeyException):
        return "the host key does not match the known_hosts file", False
    if isinstance(exc, socket.gaierror):
        return "host name lookup failed", exc.errno in (socket.EAI_AGAIN,)
    if isinstance(exc, paramiko.SSHException | EOFError | TimeoutError | ConnectionError):
        return type(exc).__name__, True
    if isinstance(exc, OSError):
        code = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
        name = f"{type(exc).__name__} ({code})" if code else type(exc).__name__
        return name, exc.errno not in _PERMANENT_ERRNOS
    return type(exc).__name__, False


def _accept_any() -> Any:
    import paramiko

    class AcceptAny(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            return None

    return AcceptAny()


def _reject_unknown() -> Any:
    import paramiko

    class RejectUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise _Refused("the host is not in the known_hosts file")

    return RejectUnknown()
