"""Validation of incoming data; knows nothing of storage or the web.

``schemas.xapi`` validates xAPI statements and agents; every violation is reported as one
:class:`schemas.errors.SchemaViolation`.
"""

from schemas.errors import SchemaViolation

__all__ = ["SchemaViolation"]
