"""One writer per run folder: a training run holds ``run.lock`` in its folder from ``Run.start()`` to its
last checkpoint, so that a second run into the same folder stops at once instead of overwriting the first."""
from __future__ import annotations

import json
import os
import secrets
import socket
import time
import warnings
from pathlib import Path

LOCK_NAME = "run.lock"


class RunFolderInUseError(RuntimeError):
    """Another training run holds the run folder's ``run.lock``."""


def _alive(pid: int) -> bool:
    if os.name == "nt":  # there os.kill(pid, 0) would end the process: never probe, count it as running
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        pass
    return True


class RunLock:
    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / LOCK_NAME
        # the token tells this lock from a later one of the same process (a notebook's re-run cell), so
        # that an earlier Run, collected late, never removes the lock of the run that came after it
        self.mine = {"pid": os.getpid(), "host": socket.gethostname(),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S"), "token": secrets.token_hex(8)}

    def acquire(self) -> RunLock:
        try:  # O_EXCL: of two runs started together exactly one creates the file
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return self._held()
        with os.fdopen(fd, "w") as f:
            json.dump(self.mine, f)
        return self

    def release(self) -> None:
        if self._read() == self.mine:  # not if another process took it over, judging ours stale
            self.path.unlink(missing_ok=True)

    def _held(self) -> RunLock:
        holder = self._read()
        if holder == {}:  # its run released it meanwhile: try again
            return self.acquire()
        if holder is None:
            raise RunFolderInUseError(
                f"{self.path.parent} is locked by {self.path}, which cannot be read. If no training run is "
                f"using this folder, delete {self.path}; otherwise wait for that run to finish or pick another "
                f"run_dir.") from None  # from None: shown alone, not "during handling of FileExistsError"
        same_host = holder["host"] == self.mine["host"]
        if same_host and holder["pid"] == self.mine["pid"]:
            pass  # this process's own lock: a notebook re-running its training cell after an error or interrupt
        elif same_host and not _alive(holder["pid"]):
            warnings.warn(f"{self.path}: left by process {holder['pid']}, which is no longer running; taking the "
                          f"run folder over", stacklevel=4)
        else:
            raise RunFolderInUseError(
                f"{self.path.parent} is in use by another training run (process {holder['pid']} on "
                f"{holder['host']}, since {holder.get('started', '?')}). Wait for it to finish, or pick another "
                f"run_dir (or change a setting: other settings have a default folder of their own); if that "
                f"process is gone (for example it ran on another machine sharing this drive), delete "
                f"{self.path}.") from None
        tmp = self.path.with_name(f".{LOCK_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.mine))
        # atomic: a reader sees the old holder or us, never half a file. (Two processes taking over the same
        # stale lock at the same instant could both succeed; the O_EXCL path above has no such window.)
        os.replace(tmp, self.path)
        return self

    def _read(self) -> dict | None:
        """The holder, {} if there is no lock file, None if it cannot be read."""
        for wait in (0.2, 0):  # an empty file may be a lock created this instant: look once more
            try:
                holder = json.loads(self.path.read_text() or "null")
            except FileNotFoundError:
                return {}
            except (OSError, ValueError):
                holder = None
            if isinstance(holder, dict) and isinstance(holder.get("pid"), int) and "host" in holder:
                return holder
            time.sleep(wait)
        return None
