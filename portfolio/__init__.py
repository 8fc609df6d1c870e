"""The cpdfolio domain: the LRS, people, standards, the signed record. Knows no web framework."""
