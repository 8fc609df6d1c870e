"""The signed record: each person's append-only hash chain of entries (DESIGN.md).

`entry` says what an entry is and how it is signed, `keys` how keys are made and sealed,
`verify` how a whole record is checked, `chain` how entries are appended to a store.
"""
