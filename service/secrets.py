"""The instance secret key: from CPDFOLIO_SECRET_KEY, or a loud development stand-in."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from service.config import Settings

log = logging.getLogger(__name__)


def development_key_path(settings: Settings) -> Path:
    """Beside the SQLite file when the store is SQLite, otherwise under ./var."""
    if settings.database_url.startswith("sqlite:///"):
        return Path(settings.database_url.removeprefix("sqlite:///")).parent / "secret_key"
    return Path("var") / "secret_key"


def resolve_secret_key(settings: Settings) -> bytes:
    """The key that signs cursors and tokens.

    Without CPDFOLIO_SECRET_KEY a random key is created once in a file readable only by
    its owner, so every worker process shares it; a warning says so at each start-up.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = development_key_path(settings)
    if not path.exists():
        _create_key_file(path)
    log.warning(
        "CPDFOLIO_SECRET_KEY is not set: using the development key in %s. "
        "Set CPDFOLIO_SECRET_KEY in production.",
        path,
    )
    return path.read_text().strip().encode()


def _create_key_file(path: Path) -> None:
    """Write a new key atomically: workers starting together all end up with one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # fails if another process got there first; theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
