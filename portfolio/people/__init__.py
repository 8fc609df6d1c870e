"""People and their identities: portfolio owners, sessions, proven identities, and the
witnessing of statements about them into their signed records."""
