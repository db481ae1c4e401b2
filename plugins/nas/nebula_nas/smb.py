"""The NAS over SMB2/3 with smbprotocol's `smbclient`: blocking calls, run by the caller in
a worker thread (`asyncio.to_thread`).

One connection per NAS, kept in this client's own connection cache (not smbclient's global
one, so two plugins or a test never share a session). A connection the NAS dropped (it
rebooted) is forgotten and opened again once before a call fails. Every failure becomes a
`ShareError` whose `kind` tells a NAS that is off from a refused password, a missing share
or a full disk.

smbprotocol (with pyspnego and `cryptography`'s hazmat layer, ~6 MB resident) is imported
by the first call made while something accepts connections at the NAS's address: until
then each call is a plain TCP connect, so an agent whose NAS is off does not carry it.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 1 << 20

# NTSTATUS values (MS-ERREF 2.3.1) the plugin tells apart.
LOGON_FAILURE = 0xC000006D
ACCOUNT_PROBLEMS = {0xC000006E, 0xC000006F, 0xC0000070, 0xC0000071, 0xC0000072,
                    0xC0000193, 0xC0000224, 0xC0000234}
ACCESS_DENIED = 0xC0000022
BAD_NETWORK_NAME = 0xC00000CC
NOT_FOUND = 0xC0000225
DISK_FULL = 0xC000007F
QUOTA_EXCEEDED = 0xC0000044
DIRECTORY = 0x10    # FILE_ATTRIBUTE_DIRECTORY (MS-FSCC 2.6)


class Failure(str, enum.Enum):
    DOWN = "down"            # no connection: refused, timed out, dropped
    AUTH = "auth"            # the NAS refused the user or password
    SHARE = "share"          # no such share, or no access to it
    FULL = "full"            # the disk (or the user's quota) is full
    IO = "io"                # any other error the NAS answered


class ShareError(Exception):
    def __init__(self, kind: Failure, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Probe:
    total: int
    free: int
    write_ms: float | None
    read_ms: float | None
    latency_ms: float          # the volume query: one round trip after connecting

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free / self.total if self.total else 0.0


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: float


def _smbclient() -> ModuleType:
    import smbclient  # ~6 MB with what it loads: only once a NAS answers (module docstring)

    return smbclient


def _sdk_loaded() -> bool:
    return "smbclient" in sys.modules


def classify(exc: BaseException, where: str) -> ShareError:
    if isinstance(exc, ShareError):
        return exc
    if not _sdk_loaded():  # no SMB call was made, so no SMB error: the knock's OSError
        return _classify_os(exc, where)
    from smbprotocol.exceptions import SMBConnectionClosed, SMBException, SMBOSError

    # SMBOSError carries `ntstatus`; a raw SMBResponseException (DiskFull...) `status`.
    status = getattr(exc, "ntstatus", None) or getattr(exc, "status", None)
    if isinstance(exc, SMBOSError) and status is not None:
        if status == LOGON_FAILURE or status in ACCOUNT_PROBLEMS:
            return ShareError(Failure.AUTH, f"the NAS refused the user or password "
                                            f"(NTSTATUS 0x{status:08X}) on {where}")
        if status in (BAD_NETWORK_NAME, NOT_FOUND) and where.count("\\") <= 3:
            return ShareError(Failure.SHARE, f"no share {where} on the NAS")
        if status in (DISK_FULL, QUOTA_EXCEEDED):
            return ShareError(Failure.FULL, f"{where}: the NAS disk is full")
        if status == ACCESS_DENIED:
            return ShareError(Failure.SHARE, f"access denied to {where}")
        return ShareError(Failure.IO, f"{where}: {exc.strerror or exc}")
    if isinstance(exc, SMBException) and status in (DISK_FULL, QUOTA_EXCEEDED):
        return ShareError(Failure.FULL, f"{where}: the NAS disk is full")
    if isinstance(exc, SMBConnectionClosed):
        return ShareError(Failure.DOWN, f"the NAS dropped the connection ({exc}) on {where}")
    if isinstance(exc, ValueError) and "Failed to connect" in str(exc):
        # smbclient's word for refused, unreachable and timed out alike.
        return ShareError(Failure.DOWN, f"cannot reach the NAS: {exc}")
    return _classify_os(exc, where)


def _classify_os(exc: BaseException, where: str) -> ShareError:
    if isinstance(exc, (ConnectionError, socket.timeout, TimeoutError)):
        return ShareError(Failure.DOWN, f"the NAS dropped the connection ({exc}) on {where}")
    if isinstance(exc, OSError):
        return ShareError(Failure.IO, f"{where}: {exc}")
    return ShareError(Failure.IO, f"{where}: {type(exc).__name__}: {exc}")


class SmbClient:
    def __init__(self, server: str, port: int, username: str, password: str, *,
                 timeout: float, encrypt: bool = False) -> None:
        self.server = server
        self.port = port
        self._cache: dict[str, Any] = {}
        self.timeout = timeout
        self._kw: dict[str, Any] = dict(
            username=username, password=password, port=port, encrypt=encrypt or None,
            connection_timeout=timeout, connection_cache=self._cache)

    def knock(self) -> None:
        """Returns when the NAS accepts a TCP connection; raises a DOWN ShareError in
        smbclient's words ("Failed to connect to ...") when it does not. Only needed while
        smbclient is not loaded: after that its own connect says the same."""
        try:
            socket.create_connection((self.server, self.port), self.timeout).close()
        except OSError as exc:
            raise ShareError(Failure.DOWN, f"cannot reach the NAS: Failed to connect to "
                                           f"'{self.server}:{self.port}': {exc}") from exc

    def unc(self, share: str, *parts: str) -> str:
        return "\\".join([f"\\\\{self.server}\\{share}", *(p.strip("/\\").replace("/", "\\")
                                                           for p in parts if p)])

    def _call(self, where: str, fn: str | Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn` (a callable, or the name of an smbclient function) called with `args`,
        `kwargs` and the connection's keywords."""
        if not _sdk_loaded():
            self.knock()
        smbclient = _smbclient()
        from smbprotocol.exceptions import SMBConnectionClosed

        call: Callable[..., T] = getattr(smbclient, fn) if isinstance(fn, str) else fn
        for attempt in (1, 2):
            try:
                return call(*args, **kwargs, **self._kw)
            except SMBConnectionClosed:
                # The NAS restarted since the last call: connect again, once.
                self.close()
                if attempt == 2:
                    raise ShareError(Failure.DOWN, f"the NAS closed the connection on "
                                                   f"{where}") from None
            except Exception as exc:
                error = classify(exc, where)
                if error.kind is Failure.DOWN:
                    self.close()
                raise error from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        if _sdk_loaded():  # else no connection was ever opened
            _smbclient().reset_connection_cache(fail_on_error=False,
                                                connection_cache=self._cache)

    # --- what the checks read ----------------------------------------------------------------

    def probe(self, share: str, probe_file: str | None, size: int) -> Probe:
        root = self.unc(share)
        started = time.perf_counter()
        volume: Any = self._call(root, "stat_volume", root)
        latency = (time.perf_counter() - started) * 1000
        write_ms = read_ms = None
        if probe_file:
            path = self.unc(share, probe_file)
            payload = hashlib.sha256(str(time.time_ns()).encode()).digest() * (size // 32 + 1)
            payload = payload[:size]
            started = time.perf_counter()
            try:
                self._call(path, self._write, path, payload)
                write_ms = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                back = self._call(path, self._read, path)
                read_ms = (time.perf_counter() - started) * 1000
            finally:
                self._remove_quietly(path)
            if back != payload:
                raise ShareError(Failure.IO, f"{path}: the probe file read back differs "
                                             "from what was written")
        return Probe(volume.total_size, volume.caller_available_size,
                     _ms(write_ms), _ms(read_ms), round(latency, 2))

    def _write(self, path: str, data: bytes, **kw: Any) -> None:
        with _smbclient().open_file(path, mode="wb", **kw) as out:
            out.write(data)

    def _read(self, path: str, **kw: Any) -> bytes:
        with _smbclient().open_file(path, mode="rb", **kw) as src:
            data: bytes = src.read()
            return data

    def _remove_quietly(self, path: str) -> None:
        # What failed before (if anything) is the error to report.
        with contextlib.suppress(Exception):
            _smbclient().remove(path, **self._kw)

    # --- files, for the backup copies ---------------------------------------------------------

    def makedirs(self, share: str, folder: str) -> None:
        path = self.unc(share, folder)
        self._call(path, "makedirs", path, exist_ok=True)

    def _entries(self, share: str, folder: str) -> list[Any]:
        """The entries of a folder (with the information the listing brought); none when
        the folder does not exist."""
        path = self.unc(share, folder)

        def scan(path: str, **kw: Any) -> list[Any]:
            with _smbclient().scandir(path, **kw) as entries:
                return list(entries)
        try:
            return self._call(path, scan, path)
        except ShareError as exc:
            if "No such file" in str(exc.__cause__ or ""):
                return []
            raise

    def listdir(self, share: str, folder: str) -> list[RemoteFile]:
        # smb_info came with the listing; entry.stat() would ask again, without the
        # connection settings (port) this client uses.
        return [RemoteFile(e.name, e.smb_info.end_of_file,
                           e.smb_info.last_write_time.timestamp())
                for e in self._entries(share, folder)
                if not e.smb_info.file_attributes & DIRECTORY]

    def folders(self, share: str, folder: str) -> list[str]:
        return [e.name for e in self._entries(share, folder)
                if e.smb_info.file_attributes & DIRECTORY]

    def upload(self, share: str, path: str, chunks: Iterator[bytes]) -> int:
        target = self.unc(share, path)

        def write(target: str, **kw: Any) -> int:
            written = 0
            with _smbclient().open_file(target, mode="wb", **kw) as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
            return written
        return self._call(target, write, target)

    def digest(self, share: str, path: str) -> tuple[int, str]:
        """Size and sha256 of a file on the share, read back in full from the NAS."""
        target = self.unc(share, path)

        def read(target: str, **kw: Any) -> tuple[int, str]:
            sha, size = hashlib.sha256(), 0
            with _smbclient().open_file(target, mode="rb", buffering=0, **kw) as src:
                while chunk := src.read(CHUNK):
                    sha.update(chunk)
                    size += len(chunk)
            return size, sha.hexdigest()
        return self._call(target, read, target)

    def read_text(self, share: str, path: str) -> str | None:
        target = self.unc(share, path)
        try:
            return self._call(target, self._read, target).decode("utf-8", "replace")
        except ShareError:
            return None

    def write_text(self, share: str, path: str, text: str) -> None:
        target = self.unc(share, path)
        self._call(target, self._write, target, text.encode())

    def rename(self, share: str, source: str, target: str) -> None:
        src, dst = self.unc(share, source), self.unc(share, target)
        self._call(dst, "replace", src, dst)

    def remove(self, share: str, path: str, *, missing_ok: bool = False) -> None:
        target = self.unc(share, path)
        try:
            self._call(target, "remove", target)
        except ShareError as exc:
            if not (missing_ok and "No such file" in str(exc.__cause__ or "")):
                raise


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
