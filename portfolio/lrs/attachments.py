"""Attachments: raw parts matched to the Attachment objects of statements by hash.

Communication 1.5.2: a request with attachment data is multipart/mixed, the statements
first, then one part per attachment with X-Experience-API-Hash; the LRS matches parts to
Attachment objects by SHA-2 "and MUST not do so any other way". Every Attachment without
a fileUrl needs a part; every part must be the data of some Attachment (an extra part is
a mistake worth reporting, not data to keep); a part's bytes must hash to its header; and
where a part says its Content-Type it must agree with the Attachment's contentType. A
JSON (not multipart) request may only carry Attachments that have a fileUrl.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portfolio.errors import InvalidStatement, PayloadTooLarge
from portfolio.storage.base import AttachmentData

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
HASHES = {64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class AttachmentPart:
    """One part after the first of a multipart/mixed request, as received."""

    number: int  # 1-based position among the attachment parts, for messages
    sha2: str | None  # its X-Experience-API-Hash header
    content_type: str | None
    data: bytes


def attachment_objects(
    statement: Mapping[str, Any], prefix: str
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(path, Attachment object) of a statement and of its SubStatement."""
    for i, attachment in enumerate(statement.get("attachments") or ()):
        yield f"{prefix}attachments[{i}]", attachment
    obj = statement.get("object") or {}
    if obj.get("objectType") == "SubStatement":
        for i, attachment in enumerate(obj.get("attachments") or ()):
            yield f"{prefix}object.attachments[{i}]", attachment


def match_parts(
    statements: Sequence[Mapping[str, Any]],
    parts: Sequence[AttachmentPart] | None,
    *,
    as_batch: bool,
    max_attachment_bytes: int,
) -> dict[str, AttachmentData]:
    """The attachment data to store, keyed by lower-case sha2; raises InvalidStatement.

    `parts` is None for an application/json request (no attachment data can come with
    it) and a sequence for a multipart/mixed one.
    """
    by_hash: dict[str, AttachmentPart] = {}
    for part in parts or ():
        if part.sha2 is None:
            raise _part_error(part, "X-Experience-API-Hash", "is required on every attachment part")
        if len(part.data) > max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment part {part.number} is larger than {max_attachment_bytes} bytes",
                path=f"part {part.number}",
                rule=f"must be at most {max_attachment_bytes} bytes (max_attachment_bytes)",
            )
        declared = part.sha2.strip().lower()
        algorithm = HASHES.get(len(declared))
        if algorithm is None or algorithm(part.data).hexdigest() != declared:
            raise _part_error(
                part,
                "X-Experience-API-Hash",
                "must be the SHA-2 (256, 384 or 512) of the part's bytes",
            )
        by_hash[declared] = part

    wanted: dict[str, AttachmentData] = {}
    for index, statement in enumerate(statements):
        prefix = f"[{index}]." if as_batch else ""
        for path, attachment in attachment_objects(statement, prefix):
            sha2 = str(attachment["sha2"]).lower()
            matched = by_hash.get(sha2)
            if matched is None:
                if "fileUrl" in attachment:
                    continue  # the data lives at fileUrl (Communication 1.5.1.s1.b2)
                where = "a multipart part" if parts is not None else "a multipart/mixed request"
                raise InvalidStatement(
                    f"{path} has no fileUrl and its data was not sent in {where}",
                    path=f"{path}.sha2",
                    rule="must match the X-Experience-API-Hash of an attachment part",
                )
            if matched.content_type and _media_type(matched.content_type) != _media_type(
                attachment["contentType"]
            ):
                declared = attachment["contentType"]
                raise InvalidStatement(
                    f"part {matched.number} is {matched.content_type}, {path} says {declared}",
                    path=f"{path}.contentType",
                    rule="must match the Content-Type of its attachment part",
                )
            if attachment["length"] != len(matched.data):
                raise InvalidStatement(
                    f"{path}.length is {attachment['length']},"
                    f" part {matched.number} has {len(matched.data)} bytes",
                    path=f"{path}.length",
                    rule="must be the length of its attachment part in octets",
                )
            wanted[sha2] = AttachmentData(
                sha2=sha2, content_type=str(attachment["contentType"]), content=matched.data
            )
    for sha2, part in by_hash.items():
        if sha2 not in wanted:
            raise _part_error(part, "X-Experience-API-Hash", "matches no Attachment object's sha2")
    return wanted


def _media_type(value: str) -> str:
    return value.split(";")[0].strip().lower()


def _part_error(part: AttachmentPart, header: str, rule: str) -> InvalidStatement:
    return InvalidStatement(
        f"attachment part {part.number}: {header} {rule}",
        path=f"part {part.number}.{header}",
        rule=rule,
    )
