"""Attachment headers in a statement (xAPI-Data.md 2.4.11).

``usageType``, ``display``, ``contentType``, ``length`` and ``sha2`` are required
("This property is always required, even if fileURL is also specified"); ``description``
and ``fileUrl`` are optional. ``length`` is a JSON integer of zero or more octets.
"""

from __future__ import annotations

from schemas.xapi.base import XapiSchema
from schemas.xapi.fields import IRI, IRL, LanguageMap, MediaType, NonNegativeInteger, Sha2

__all__ = ["AttachmentSchema"]


class AttachmentSchema(XapiSchema):
    """One Attachment Object (2.4.11.s2)."""

    usage_type = IRI(data_key="usageType", required=True)
    display = LanguageMap(required=True)
    description = LanguageMap()
    content_type = MediaType(data_key="contentType", required=True)
    length = NonNegativeInteger(required=True)
    sha2 = Sha2(required=True)
    file_url = IRL(data_key="fileUrl")
