"""What the CLI prints about its settings: never a password (it ends up in container logs)."""

from __future__ import annotations

import pytest

from service.cli import _without_password


@pytest.mark.parametrize(
    ("url", "printed"),
    [
        ("sqlite:///var/cpdfolio.db", "sqlite:///var/cpdfolio.db"),
        (
            "mongodb://cpd:s3cret%40x@db1:27017,db2:27017/cpdfolio?replicaSet=rs0",
            "mongodb://cpd:***@db1:27017,db2:27017/cpdfolio?replicaSet=rs0",
        ),
        ("mongodb://db:27017/cpdfolio", "mongodb://db:27017/cpdfolio"),
        ("mongodb://only-user@db/cpdfolio", "mongodb://only-user@db/cpdfolio"),
    ],
)
def test_a_database_url_is_printed_without_its_password(url: str, printed: str) -> None:
    assert _without_password(url) == printed
