"""Attachment bytes in MongoDB GridFS, once per hash.

GridFS cannot take part in a multi-document transaction (pymongo refuses: "GridFS does not
support multi-document transactions"), so the bytes are written before the statements'
transaction. They are content-addressed, so writing them first is safe: if the transaction
then fails, the only trace is data no statement refers to; a statement is never stored
without its attachment data (removing such orphans belongs with erasure and retention).
A small `attachments` collection, keyed by sha2, names the one GridFS file per hash; when
two writers upload the same hash at once, its unique `_id` decides which file stays and
the other is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridfs import GridFSBucket
from pymongo.errors import DuplicateKeyError

from portfolio.storage.base import AttachmentData
from portfolio.storage.mongo_connection import Document, chunks
from portfolio.storage.mongo_schema import ATTACHMENT_BUCKET, ATTACHMENTS

if TYPE_CHECKING:
    from portfolio.storage.mongo import MongoStore


class MongoAttachments:
    def __init__(self, store: MongoStore) -> None:
        self._store = store

    def _bucket(self) -> GridFSBucket:
        return GridFSBucket(self._store.db(), bucket_name=ATTACHMENT_BUCKET)

    def save(self, attachments: Sequence[AttachmentData]) -> None:
        """Make sure the bytes of each attachment are stored (outside any transaction)."""
        if not attachments:
            return
        index = self._store.collection(ATTACHMENTS)
        known = {
            str(doc["_id"])
            for chunk in chunks([a.sha2 for a in attachments])
            for doc in index.find({"_id": {"$in": chunk}}, {"_id": True})
        }
        bucket = self._bucket()
        for attachment in attachments:
            if attachment.sha2 in known:
                continue
            file_id = bucket.upload_from_stream(
                attachment.sha2,
                attachment.content,
                metadata={"contentType": attachment.content_type},
            )
            try:
                index.insert_one(
                    {
                        "_id": attachment.sha2,
                        "file_id": file_id,
                        "content_type": attachment.content_type,
                        "length": len(attachment.content),
                    }
                )
            except DuplicateKeyError:
                bucket.delete(file_id)  # another writer stored this hash first
            known.add(attachment.sha2)

    def get(self, sha2s: Sequence[str]) -> dict[str, AttachmentData]:
        index = self._store.collection(ATTACHMENTS)
        bucket = self._bucket()
        found: dict[str, AttachmentData] = {}
        for chunk in chunks(list(dict.fromkeys(sha2s))):
            for doc in index.find({"_id": {"$in": chunk}}):
                found[str(doc["_id"])] = self._read(bucket, doc)
        return found

    @staticmethod
    def _read(bucket: GridFSBucket, doc: Document) -> AttachmentData:
        with bucket.open_download_stream(doc["file_id"]) as stream:
            content = stream.read()
        return AttachmentData(
            sha2=str(doc["_id"]), content_type=str(doc["content_type"]), content=content
        )
