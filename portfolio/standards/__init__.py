"""Frameworks as data: the Standard and other competency frameworks, as CASE packages.

A framework is a versioned document with stable URIs, shaped like 1EdTech CASE (a
CFDocument, its CFItems in a hierarchy, the CFAssociations between them). `framework`
reads a package into a :class:`Framework` and writes its canonical bytes; `catalogue`
imports and exports packages through the storage port, never changing a stored version,
and installs the frameworks the product ships (`data/`).
"""

from portfolio.standards.catalogue import (
    SHIPPED,
    ImportOutcome,
    ImportResult,
    ItemInFramework,
    find_item,
    get_framework,
    import_package,
    install_shipped,
    shipped_packages,
)
from portfolio.standards.framework import (
    Framework,
    FrameworkItem,
    canonical_json,
    export_package,
    parse_package,
)

__all__ = [
    "SHIPPED",
    "Framework",
    "FrameworkItem",
    "ImportOutcome",
    "ImportResult",
    "ItemInFramework",
    "canonical_json",
    "export_package",
    "find_item",
    "get_framework",
    "import_package",
    "install_shipped",
    "parse_package",
    "shipped_packages",
]
