"""Starts Ralph's LRS API with uvicorn: `python -I ralph_server.py HOST PORT`.

Run with the Ralph venv's python (`make peers`), never the project's: it imports only Ralph.
-I keeps this directory off sys.path: here `ralph` is tests/peers/ralph.py, not the package.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

# Ralph 5.1.0's fs LRS backend writes with the data backend's default, CREATE, which refuses
# an existing file: every POST after the first answers 500. Appending is what an LRS needs.
FSLRSBackend.default_operation_type = BaseOperationType.APPEND

uvicorn.run("ralph.api:app", host=sys.argv[1], port=int(sys.argv[2]), log_level="warning")
