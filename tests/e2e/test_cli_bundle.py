"""`cpdfolio export`, `verify` and `import` refuse bad input with a message and exit 1,
and leave nothing half-written behind."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Instance

PASSWORD = "correct horse battery\n"


def _ann(instance: Instance) -> None:
    instance.cli("db", "init")
    created = instance.cli(
        "people",
        "create",
        "--email",
        "ann@example.org",
        "--name",
        "Ann",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert created.returncode == 0, created.stderr


def test_export_refuses_a_wrong_password_an_unknown_person_and_a_missing_directory(
    instance: Instance, tmp_path: Path
) -> None:
    _ann(instance)
    out = tmp_path / "ann.zip"
    cases = [
        (["--person", "ann@example.org", "--out", str(out)], "wrong password\n", "wrong password"),
        (["--person", "bob@example.org", "--out", str(out)], PASSWORD, "no portfolio"),
        (
            ["--person", "ann@example.org", "--out", str(tmp_path / "no" / "a.zip")],
            PASSWORD,
            "does not exist",
        ),
    ]
    for args, stdin, message in cases:
        result = instance.cli("export", *args, "--password-stdin", stdin=stdin)
        assert result.returncode == 1, result.stdout
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("*.zip*")) == []
    ok = instance.cli(
        "export",
        "--person",
        "ann@example.org",
        "--out",
        str(out),
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert ok.returncode == 0, ok.stderr
    assert instance.cli("verify", str(out)).returncode == 0


def test_verify_and_import_refuse_what_is_not_a_bundle(instance: Instance, tmp_path: Path) -> None:
    _ann(instance)
    not_zip = tmp_path / "notes.txt"
    not_zip.write_text("hello")
    verified = instance.cli("verify", str(not_zip))
    assert verified.returncode == 1
    assert "does not verify: the bundle: not a readable zip file" in verified.stderr
    imported = instance.cli("import", str(not_zip), "--password-stdin", stdin=PASSWORD)
    assert imported.returncode == 1 and "not a readable zip file" in imported.stderr
    bad_trust = tmp_path / "keys.json"
    bad_trust.write_text("{}")
    pinned = instance.cli("verify", str(not_zip), "--trust", str(bad_trust))
    assert pinned.returncode == 1 and "not a published key document" in pinned.stderr


def test_import_without_trust_says_the_identities_rest_on_the_administrators_check(
    instance: Instance, tmp_path: Path
) -> None:
    _ann(instance)
    bundle = tmp_path / "ann.zip"
    exported = instance.cli(
        "export",
        "--person",
        "ann@example.org",
        "--out",
        str(bundle),
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert exported.returncode == 0, exported.stderr
    keys = tmp_path / "a-keys.json"
    keys.write_text(instance.cli("instance-keys").stdout)
    for name, trust in (("b", []), ("c", ["--trust", str(keys)])):
        other = Instance(tmp_path / name)
        other.root.mkdir()
        assert other.cli("db", "init").returncode == 0
        imported = other.cli("import", str(bundle), "--password-stdin", *trust, stdin=PASSWORD)
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout.startswith("imported: ann@example.org")
        noted = "not pinned with --trust" in imported.stderr
        assert noted == (not trust), imported.stderr


def test_import_without_trust_leaves_new_framework_versions_out_and_says_so(
    instance: Instance, tmp_path: Path
) -> None:
    """Frameworks are the whole instance's: a bundle whose keys nobody pinned brings its
    portfolio, not a new version of the Standard for everyone here."""
    import json

    from portfolio.standards import import_package
    from tests.bundle_support import Council, rich_portfolio
    from tests.unit.bundle.crafted import STANDARD, standard_version

    anyone = Council(tmp_path / "anyone", url="https://anyone.example")
    import_package(anyone.store.frameworks, standard_version("99.0", "The Standard (withdrawn)"))
    rich_portfolio(anyone, statements=1)
    anyone.export(tmp_path / "ann.zip")
    anyone.store.close()
    instance.cli("db", "init")
    imported = instance.cli("import", str(tmp_path / "ann.zip"), "--password-stdin", stdin=PASSWORD)
    assert imported.returncode == 0, imported.stderr
    assert (
        f"  framework {STANDARD} 99.0: not installed, as the bundle's instance keys were not"
        " pinned with --trust; install it with `cpdfolio frameworks import` after checking it"
    ) in imported.stdout
    listed = json.loads(instance.cli("frameworks", "list", "--json").stdout)
    assert [f["version"] for f in listed if f["uri"] == STANDARD] == ["1.0"]
