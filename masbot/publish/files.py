"""Writing the site's files so that a reader or a mirror never sees half a page."""

from __future__ import annotations

import os
import threading
from pathlib import Path


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = True,
                 durable: bool = True) -> bool:
    """Put ``data`` at ``path`` whole or not at all: a temporary file in the same directory,
    fsync, rename over the old file, fsync the directory (``sync_dir`` False: the caller
    does it with :func:`sync_directory`, once for all the files it wrote there). A file that
    already holds exactly ``data`` is left alone (its modification time too, so mirrors copy
    nothing). Returns True when the file was written.

    ``durable`` False: no fsync at all. A reader still sees the old file or the new one,
    never part of one; only a power cut can leave the file empty or old, for files that are
    rewritten from their source anyway (the site, at every start)."""
    target = os.fspath(path)
    try:
        with open(target, "rb") as old:
            if old.read(len(data) + 1) == data:
                return False
    except FileNotFoundError:
        pass
    # One temporary name per process and thread: no two writers share one, and a name left
    # by a crash is simply written over (no random names to try, as mkstemp does).
    head, name = os.path.split(target)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, _FLAGS, 0o644)
    except FileNotFoundError:
        os.makedirs(head, exist_ok=True)
        fd = os.open(tmp, _FLAGS, 0o644)
    try:
        os.fchmod(fd, 0o644)  # readable by the web server whatever the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_dir and durable:
        sync_directory(path.parent)
    return True


def sync_directory(directory: Path) -> None:
    """fsync ``directory``, so the renames made in it are on disk."""
    dirfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
