"""The outbox: files locally, SMTP when configured — tested against a real SMTP server
(aiosmtpd) on loopback."""

from __future__ import annotations

import email
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from portfolio.errors import StorageUnavailable
from portfolio.people.outbox import FileOutbox, Message, SmtpOutbox, open_outbox

MESSAGE = Message(to="ann@example.org", subject="Your cpdfolio code", body="The code is 12345678.")


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def test_with_an_smtp_url_messages_are_sent_by_smtp(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    outbox = open_outbox(
        smtp_url=f"smtp://127.0.0.1:{port}", directory="/nonexistent", sender="cpdfolio <a@b.c>"
    )
    assert isinstance(outbox, SmtpOutbox)
    outbox.send(MESSAGE)
    [(sender, recipients, content)] = inbox.received
    assert (sender, recipients) == ("a@b.c", ["ann@example.org"])
    parsed = email.message_from_bytes(content)
    assert parsed["Subject"] == "Your cpdfolio code"
    assert "12345678" in parsed.get_payload()


def test_an_unreachable_mail_server_is_storage_unavailable() -> None:
    outbox = SmtpOutbox(f"smtp://127.0.0.1:{free_port()}", sender="a@b.c", timeout=2)
    with pytest.raises(StorageUnavailable, match="mail server"):
        outbox.send(MESSAGE)


def test_a_bad_smtp_url_is_refused() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        SmtpOutbox("http://mail.example.org", sender="a@b.c")


def test_without_smtp_messages_are_owner_only_files_and_a_warning_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = open_outbox(smtp_url=None, directory=tmp_path / "outbox", sender="a@b.c")
    assert isinstance(outbox, FileOutbox)
    assert "CPDFOLIO_SMTP_URL is not set" in caplog.text
    outbox.send(MESSAGE)
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert email.message_from_bytes(path.read_bytes())["To"] == "ann@example.org"
