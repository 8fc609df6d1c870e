"""The Learning Record Store: statements in, queries out; no HTTP here."""
