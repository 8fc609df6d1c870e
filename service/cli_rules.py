"""`cpdfolio rules ...`: the mapping rules that make statements evidence for framework items."""

from __future__ import annotations

import json
from pathlib import Path

import click

from portfolio.errors import InvalidInput
from portfolio.evidence.rules import delete_rule, list_rules, parse_rule, save_rule
from service.cli import _domain_errors, _store


@click.group()
def rules() -> None:
    """Mapping rules: statements → framework items."""


@rules.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_domain_errors
def rules_add(file: Path) -> None:
    """Add or replace the rules in FILE (a JSON rule or an array of rules). Every rule is
    checked before any is stored."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{file}: not JSON ({exc})") from exc
    items = data if isinstance(data, list) else [data]
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse_rule(item))
        except InvalidInput as exc:
            where = f"[{index}]." if isinstance(data, list) else ""
            raise click.ClickException(f"{file}: {where}{exc.path}: {exc.rule}") from exc
    store = _store()
    for rule in parsed:
        save_rule(store, rule)
        click.echo(f"saved rule {rule.id}: {len(rule.items)} item(s) of {rule.framework}")


@rules.command("list")
@click.option("--json", "as_json", is_flag=True)
@_domain_errors
def rules_list(as_json: bool) -> None:
    """Every mapping rule."""
    found = list_rules(_store())
    if as_json:
        click.echo(json.dumps([rule.to_json() for rule in found], indent=2))
        return
    for rule in found:
        conditions = " ".join(f"{k}={v}" for k, v in sorted(rule.match.items()))
        click.echo(f"{rule.id}  {conditions}  → {len(rule.items)} item(s)")


@rules.command("remove")
@click.argument("rule_id")
@_domain_errors
def rules_remove(rule_id: str) -> None:
    """Remove a rule (evidence already mapped by it stays)."""
    delete_rule(_store(), rule_id)
    click.echo(f"removed rule {rule_id}")
