"""Validation of xAPI statements (xAPI-Data.md section 2, versions 1.0.3 and 2.0.0).

Call :func:`validate_statement`, :func:`validate_statements` or :func:`validate_agent`;
each raises :class:`schemas.errors.SchemaViolation` for the first rule the input breaks.
The marshmallow schema classes are exported for documentation (apispec); their ``load``
applies the same rules and raises ``marshmallow.ValidationError``.
"""

from schemas.xapi.activity import (
    ActivityDefinitionSchema,
    ActivitySchema,
    InteractionComponentSchema,
    VerbSchema,
)
from schemas.xapi.agent import AccountSchema, AgentSchema, GroupSchema
from schemas.xapi.attachment import AttachmentSchema
from schemas.xapi.context import (
    ContextActivitiesSchema,
    ContextAgentSchema,
    ContextGroupSchema,
    ContextSchema,
    ContextSchemaV2,
)
from schemas.xapi.grammar import (
    grammar_of,
    validate_agent,
    validate_statement,
    validate_statements,
)
from schemas.xapi.result import ResultSchema, ScoreSchema
from schemas.xapi.statement import (
    StatementRefSchema,
    StatementSchema,
    StatementSchemaV2,
    SubStatementSchema,
    SubStatementSchemaV2,
)

__all__ = [
    "AccountSchema",
    "ActivityDefinitionSchema",
    "ActivitySchema",
    "AgentSchema",
    "AttachmentSchema",
    "ContextActivitiesSchema",
    "ContextAgentSchema",
    "ContextGroupSchema",
    "ContextSchema",
    "ContextSchemaV2",
    "GroupSchema",
    "InteractionComponentSchema",
    "ResultSchema",
    "ScoreSchema",
    "StatementRefSchema",
    "StatementSchema",
    "StatementSchemaV2",
    "SubStatementSchema",
    "SubStatementSchemaV2",
    "VerbSchema",
    "grammar_of",
    "validate_agent",
    "validate_statement",
    "validate_statements",
]
