"""The service's outbox: how one-time codes reach a mailbox.

Locally (the default) each message is written as a file in the outbox directory, and a
warning at start-up says so (STYLE 10: stand-ins are loud). With an SMTP URL configured
(`smtp://host:port`, or `smtps://`), messages are sent by SMTP.
"""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from portfolio.clock import utc_now_iso
from portfolio.errors import StorageUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    to: str  # an e-mail address
    subject: str
    body: str


class Outbox(Protocol):
    def send(self, message: Message) -> None:
        """Deliver the message; raises StorageUnavailable when it cannot."""
        ...


class FileOutbox:
    """Writes each message as an .eml file: for local use and tests, never production."""

    def __init__(self, directory: str | Path, *, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        email = _email(message, self.sender)
        name = f"{utc_now_iso().replace(':', '')}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.directory / f".{name}"
        # Owner-only: the file holds a one-time code.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(email))
        tmp.rename(self.directory / name)
        log.info("outbox: wrote a message to %s in %s", message.to, self.directory)


class SmtpOutbox:
    def __init__(self, url: str, *, sender: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"the SMTP URL must be smtp://host[:port] or smtps://..., not {url!r}")
        self.parts = parts
        self.sender = sender
        self.timeout = timeout

    def send(self, message: Message) -> None:
        parts = self.parts
        smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        try:
            with smtp_class(parts.hostname or "", parts.port or 0, timeout=self.timeout) as smtp:
                if parts.username:
                    smtp.login(parts.username, parts.password or "")
                smtp.send_message(_email(message, self.sender))
        except (OSError, smtplib.SMTPException) as exc:
            raise StorageUnavailable(f"the mail server did not take the message: {exc}") from exc


def _email(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def open_outbox(*, smtp_url: str | None, directory: str | Path, sender: str) -> Outbox:
    if smtp_url:
        return SmtpOutbox(smtp_url, sender=sender)
    log.warning(
        "CPDFOLIO_SMTP_URL is not set: one-time codes are written to files in %s, not mailed",
        directory,
    )
    return FileOutbox(directory, sender=sender)
