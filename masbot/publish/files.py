"""Writing the site's files so that a reader or a mirror never sees half a page."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
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
