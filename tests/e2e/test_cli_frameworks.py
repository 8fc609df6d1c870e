"""`cpdfolio frameworks` as an administrator uses it: the shipped frameworks, export and import.

A stored framework version is never changed in place: the same version with other content
is refused, and a new version is stored beside the old one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Instance

SITE = "https://cpdfolio.org/frameworks/"
STANDARD = SITE + "vsc-cymru-standard"
LRIP = SITE + "lrip-management-competency-framework"
MEMBERS = SITE + "member-officer-development"


@pytest.fixture
def initialised(instance: Instance) -> Instance:
    result = instance.cli("db", "init")
    assert result.returncode == 0, result.stderr
    return instance


def listed(instance: Instance) -> list[dict[str, object]]:
    result = instance.cli("frameworks", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def export(instance: Instance, uri: str, out: Path, *version: str) -> bytes:
    args = ("--version", version[0]) if version else ()
    result = instance.cli("frameworks", "export", uri, *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


def test_db_init_installs_the_three_shipped_frameworks_once(instance: Instance) -> None:
    first = instance.cli("db", "init")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("installed framework") == 3
    second = instance.cli("db", "init")
    assert second.returncode == 0, second.stderr
    assert "installed framework" not in second.stdout
    rows = listed(instance)
    assert [(r["uri"], r["version"], r["items"]) for r in rows] == [
        (LRIP, "1.0", 16),  # 3 focuses, 13 competencies
        (MEMBERS, "1.0", 19),
        (STANDARD, "1.0", 33),  # 3 elements, 3 + 20 + 7 items
    ]


def test_list_prints_uri_version_and_title_aligned(initialised: Instance) -> None:
    result = initialised.cli("frameworks", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{LRIP}  1.0  LRIP Management Competency Framework")
    assert lines[2].startswith(f"{STANDARD}  ")
    assert "The Standard for education and children's services managers" in lines[2]
    assert len({line.index("1.0") for line in lines}) == 1  # the versions line up


def test_the_standard_has_three_elements(initialised: Instance, tmp_path: Path) -> None:
    package = json.loads(export(initialised, STANDARD, tmp_path / "standard.json"))
    top = [a for a in package["CFAssociations"] if a["destinationNodeURI"]["uri"] == STANDARD]
    assert [a["originNodeURI"]["title"] for a in top] == [
        "Knowledge & Skills",
        "Personal Qualities and Values",
        "Professional Characteristics",
    ]


def test_export_then_import_is_a_no_op_and_the_bytes_are_identical(
    initialised: Instance, tmp_path: Path
) -> None:
    before = listed(initialised)
    exported = export(initialised, LRIP, tmp_path / "lrip.json")
    imported = initialised.cli("frameworks", "import", str(tmp_path / "lrip.json"))
    assert imported.returncode == 0, imported.stderr
    assert "already present" in imported.stdout
    assert listed(initialised) == before
    assert export(initialised, LRIP, tmp_path / "again.json") == exported


def test_an_edited_package_with_the_same_version_is_refused(
    initialised: Instance, tmp_path: Path
) -> None:
    exported = export(initialised, STANDARD, tmp_path / "standard.json")
    before = listed(initialised)
    edited = tmp_path / "edited.json"
    edited.write_bytes(exported.replace(b'"Resilience"', b'"Resilience and hope"'))
    result = initialised.cli("frameworks", "import", str(edited))
    assert result.returncode == 1
    assert f"framework {STANDARD} version 1.0" in result.stderr
    assert "new version" in result.stderr
    assert listed(initialised) == before
    assert export(initialised, STANDARD, tmp_path / "after.json") == exported


def test_the_same_edit_with_a_new_version_is_stored_beside_the_old(
    initialised: Instance, tmp_path: Path
) -> None:
    exported = export(initialised, STANDARD, tmp_path / "standard.json")
    package = json.loads(exported)
    package["CFDocument"]["version"] = "1.1"
    package["CFItems"][-1]["fullStatement"] = "value teams and work collaboratively, always"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(package))
    result = initialised.cli("frameworks", "import", str(edited))
    assert result.returncode == 0, result.stderr
    assert f"imported {STANDARD} version 1.1" in result.stdout
    versions = [r["version"] for r in listed(initialised) if r["uri"] == STANDARD]
    assert versions == ["1.0", "1.1"]
    assert export(initialised, STANDARD, tmp_path / "old.json", "1.0") == exported
    latest = json.loads(export(initialised, STANDARD, tmp_path / "latest.json"))
    assert latest["CFDocument"]["version"] == "1.1"


def test_a_malformed_package_names_the_path_and_writes_nothing(
    initialised: Instance, tmp_path: Path
) -> None:
    package = json.loads(export(initialised, MEMBERS, tmp_path / "members.json"))
    package["CFDocument"]["version"] = "2.0"
    package["CFItems"][3]["uri"] = "not a uri"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(package))
    before = listed(initialised)
    result = initialised.cli("frameworks", "import", str(bad))
    assert result.returncode == 1
    assert "CFItems[3].uri must be an absolute IRI" in result.stderr
    assert str(bad) in result.stderr
    assert listed(initialised) == before
    bad.write_text("{not json")
    result = initialised.cli("frameworks", "import", str(bad))
    assert result.returncode == 1
    assert "not JSON" in result.stderr


def test_exporting_an_unknown_framework_is_a_clear_error(
    initialised: Instance, tmp_path: Path
) -> None:
    out = tmp_path / "x.json"
    result = initialised.cli("frameworks", "export", SITE + "nope", "--out", str(out))
    assert result.returncode == 1
    assert f"no framework with uri {SITE}nope" in result.stderr
    result = initialised.cli("frameworks", "export", LRIP, "--version", "9", "--out", str(out))
    assert result.returncode == 1
    assert "has no version '9' (stored: 1.0)" in result.stderr
    assert not out.exists()


def test_export_to_standard_output(initialised: Instance, tmp_path: Path) -> None:
    result = initialised.cli("frameworks", "export", LRIP, "--out", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == export(initialised, LRIP, tmp_path / "lrip.json")


def test_frameworks_on_an_uninitialised_store_say_to_run_db_init(instance: Instance) -> None:
    result = instance.cli("frameworks", "list")
    assert result.returncode == 1
    assert "cpdfolio db init" in result.stderr
