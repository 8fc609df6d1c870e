"""A council's instance in-process, and a portfolio worth moving: for the bundle's tests
and benchmarks (portfolio.bundle). Real store, real keys, real ingest; no HTTP."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from portfolio.bundle.export import ExportResult, export_bundle
from portfolio.bundle.importer import Importer, ImportResult
from portfolio.evidence.links import reflect
from portfolio.evidence.rules import MappingRule, save_rule
from portfolio.goals import set_goal
from portfolio.lrs.attachments import AttachmentPart
from portfolio.lrs.ingest import StatementIngest, Submitter
from portfolio.people.accounts import Accounts, Owner
from portfolio.people.witness import witness_new_statements
from portfolio.record.chain import instance_key
from portfolio.record.keys import KdfCost
from portfolio.standards import install_shipped
from portfolio.storage import open_store
from portfolio.storage.base import PersonRecord, Store
from tests.support import Signer, attachment_object, make_statement

# Argon2id at its cheapest: the tests are about bundles, not password hashing.
CHEAP = KdfCost(memory_kib=64, iterations=1, lanes=1)
PASSWORD = "correct horse battery"
EMAIL = "ann@example.org"
STANDARD_ITEM = "https://cpdfolio.org/frameworks/vsc-cymru-standard/items/KS.1"
COURSE = "https://lms.example.org/course/safeguarding"


class Council:
    """One cpdfolio instance: a store, its instance key, and the domain services."""

    def __init__(self, root: Path, *, url: str, store: Store | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.url = url
        self.store = store or open_store(f"sqlite:///{root / 'cpdfolio.db'}")
        self.store.migrate()
        install_shipped(self.store.frameworks)
        self.key = instance_key(self.store.records, url.encode())
        self.accounts = Accounts(self.store, instance_key=self.key, instance_url=url, kdf=CHEAP)
        self.ingest = StatementIngest(
            self.store.statements,
            on_stored=lambda new: witness_new_statements(self.store, self.key, new),
        )
        self.submitter = Submitter(client_key="lms", authority={"mbox": "mailto:lms@example.org"})
        self.importer = Importer(self.store, instance_key=self.key, instance_url=url, kdf=CHEAP)

    def owner(self, email: str = EMAIL, password: str = PASSWORD) -> Owner:
        return self.accounts.authenticate(self.accounts.login(email, password).token)

    def export(self, path: Path, email: str = EMAIL, password: str = PASSWORD) -> ExportResult:
        owner = self.owner(email, password)
        with path.open("wb") as out:
            return export_bundle(
                self.store,
                owner.person,
                out,
                owner_key=owner.key,
                instance_key=self.key,
                instance_url=self.url,
            )

    def import_(self, path: Path, password: str = PASSWORD) -> ImportResult:
        return self.importer.import_bundle(str(path), password=password)

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the SQLite store: to show a refused import wrote
        nothing (compare before and after)."""
        connection = sqlite3.connect(self.root / "cpdfolio.db")
        try:
            names = [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            # sorted in Python: ORDER BY leaves the order of equal rows' keys open
            return {n: sorted(connection.execute(f'SELECT * FROM "{n}"'), key=repr) for n in names}
        finally:
            connection.close()

    def post(
        self, statements: list[dict[str, Any]], parts: list[AttachmentPart] | None = None
    ) -> None:
        self.ingest.post(statements, submitter=self.submitter, version="1.0.3", parts=parts)


def rich_portfolio(council: Council, *, statements: int = 5, actor: str = "ann") -> PersonRecord:
    """A person with a mapping rule's evidence, an attachment, a signed statement, a goal
    and a reflection: every file kind of a bundle has something in it."""
    person = council.accounts.create(
        email=f"{actor}@example.org", name="Ann Jones", password=PASSWORD
    )
    save_rule(
        council.store,
        MappingRule(
            id="safeguarding",
            framework="https://cpdfolio.org/frameworks/vsc-cymru-standard",
            match={"activity": COURSE},
            items=(STANDARD_ITEM,),
            hours=2.0,
        ),
    )
    for start in range(0, statements, 500):
        council.post([make_statement(actor=actor) for _ in range(min(500, statements - start))])
    certificate = b"%PDF-1.4 certificate of completion"
    with_attachment = make_statement(actor=actor, attachments=[attachment_object(certificate)])
    council.post(
        [with_attachment],
        parts=[
            AttachmentPart(
                number=1,
                sha2=hashlib.sha256(certificate).hexdigest(),
                content_type="text/plain",
                data=certificate,
            )
        ],
    )
    signed, jws = Signer().sign(make_statement(actor=actor))
    council.post(
        [signed],
        parts=[
            AttachmentPart(
                number=1,
                sha2=hashlib.sha256(jws).hexdigest(),
                content_type="application/octet-stream",
                data=jws,
            )
        ],
    )
    owner = council.owner(f"{actor}@example.org")
    goal = set_goal(
        council.store, owner, {"title": "Lead safeguarding reviews", "items": [STANDARD_ITEM]}
    )
    reflect(
        council.store,
        owner,
        {
            "about": {"goal": goal["id"]},
            "what_happened": "I chaired my first review.",
            "what_i_learnt": "Preparation matters.",
            "how_it_changes_my_practice": "I brief the panel a week ahead.",
        },
    )
    return person
