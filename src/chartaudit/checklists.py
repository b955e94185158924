"""Find, load, merge (extends / overrides / disable) and strictly validate checklist YAML."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .checks import REGISTRY, Param
from .errors import ChecklistError
from .model import DISCIPLINES, NOTE_TYPES, PAYER_TYPES, ROLES, SETTINGS, SEVERITY_ORDER, TABLES

CHECKLIST_KEYS = {
    "checklist",
    "title",
    "version",
    "description",
    "applies_to",
    "extends",
    "overrides",
    "disable",
    "items",
    "example_defaults",
}
REQUIRED_CHECKLIST_KEYS = ("checklist", "title", "version")
ITEM_KEYS = {
    "id",
    "title",
    "severity",
    "applies_to",
    "check",
    "params",
    "why",
    "fix",
    "reference",
    "examples",
    "description",
}
REQUIRED_ITEM_KEYS = ("id", "title", "severity", "check", "why", "fix", "reference", "examples")
OVERRIDE_KEYS = {"severity", "params", "applies_to"}
# applies_to key -> (notes column, allowed values)
APPLIES_TO: dict[str, tuple[str, list[str] | None]] = {
    "note_type": ("note_type", NOTE_TYPES),
    "discipline": ("discipline", DISCIPLINES),
    "payer_type": ("payer_type", PAYER_TYPES),
    "setting": ("setting", SETTINGS),
    "author_role": ("role", ROLES),
}


@dataclass
class Item:
    """One checklist item after merging: what to check, on which notes, and how to explain it."""

    id: str
    title: str
    severity: str
    check: str
    params: dict[str, Any]
    why: str
    fix: str
    reference: str
    examples: dict[str, list[dict[str, list[dict[str, Any]]]]]
    applies_to: dict[str, list[str]] = field(default_factory=dict)
    checklist: str = ""
    checklist_applies_to: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    example_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""
    # The title as written, with {param} placeholders: `title` is it with this item's values.
    title_template: str = ""

    @property
    def filters(self) -> dict[str, list[str]]:
        """Checklist and item filters combined (both must match)."""
        merged = {k: list(v) for k, v in self.checklist_applies_to.items()}
        for k, v in self.applies_to.items():
            merged[k] = [x for x in merged[k] if x in v] if k in merged else list(v)
        return merged


@dataclass
class Checklist:
    name: str
    title: str
    version: str
    items: list[Item]
    applies_to: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    builtin: bool = False


def builtin_dir() -> Path:
    """Folder of the built-in checklists: inside the installed package (the wheel maps the
    repository's checklists/ to chartaudit/builtin_checklists), else the source tree's."""
    installed = Path(__file__).resolve().parent / "builtin_checklists"
    if installed.is_dir() and any(installed.glob("*.yaml")):
        return installed
    return Path(__file__).resolve().parents[2] / "checklists"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A built-in checklist name or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ChecklistError(
                f"{name_or_path}: checklist file not found",
                fix=f"give a YAML path or a built-in name ({', '.join(builtin_names())})",
            )
        return path
    candidate = builtin_dir() / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    raise ChecklistError(
        f"{name_or_path}: no such checklist",
        fix=f"built-in checklists are {', '.join(builtin_names())}; or give a path to a .yaml file",
    )


def load_checklist(name_or_path: str, _seen: tuple[str, ...] = ()) -> Checklist:
    """Load, validate and merge one checklist (and what it extends)."""
    path = resolve(name_or_path)
    where = path.name if path.parent == builtin_dir() else str(path)
    raw = read_yaml(path, where, "checklist, title, version and items")
    name = raw.get("checklist")
    if str(path.resolve()) in _seen:
        raise ChecklistError(f"{where}: extends itself in a cycle", fix="remove the cycle")
    validate_top(raw, where, CHECKLIST_KEYS, REQUIRED_CHECKLIST_KEYS)
    base_items: list[Item] = []
    for parent in raw.get("extends") or []:
        try:
            parent_list = load_checklist(str(parent), _seen + (str(path.resolve()),))
        except ChecklistError as exc:
            if f"{parent}: no such checklist" != exc.message:
                raise
            raise ChecklistError(f"{where}: extends: {exc.message}", fix=exc.fix) from None
        base_items.extend(parent_list.items)
    items_by_id: dict[str, Item] = {}
    for item in base_items:
        if item.id in items_by_id:
            raise ChecklistError(
                f"{where}: item {item.id} comes from two extended checklists",
                fix="extend only one of them or disable the duplicate",
            )
        items_by_id[item.id] = item
    for key, change in (raw.get("overrides") or {}).items():
        if key not in items_by_id:
            raise ChecklistError(
                f"{where}: overrides.{key}: no such item in the extended checklists",
                fix="check the id with `chartaudit checklists show NAME`",
            )
        if not isinstance(change, dict):
            raise ChecklistError(f"{where}: overrides.{key}: expected severity/params/applies_to")
        bad = set(change) - OVERRIDE_KEYS
        if bad:
            raise ChecklistError(
                f"{where}: overrides.{key}: unknown field {sorted(bad)[0]!r}",
                fix=f"an override may change {', '.join(sorted(OVERRIDE_KEYS))}",
            )
        item = copy.deepcopy(items_by_id[key])
        if "severity" in change:
            item.severity = validate_severity(change["severity"], f"{where}: overrides.{key}")
        if "params" in change:
            item.params = {**item.params, **(change["params"] or {})}
            item.params = _params(item.check, item.params, f"{where}: overrides.{key}")
            item.title = titled(item.title_template, item.params)
        if "applies_to" in change:
            item.applies_to = _applies_to(change["applies_to"], f"{where}: overrides.{key}")
        items_by_id[key] = item
    for key in raw.get("disable") or []:
        if key not in items_by_id:
            raise ChecklistError(
                f"{where}: disable: no item {key} in the extended checklists",
                fix="check the id with `chartaudit checklists show NAME`",
            )
        del items_by_id[key]
    applies = _applies_to(raw.get("applies_to") or {}, f"{where}: applies_to")
    defaults = raw.get("example_defaults") or {}
    own: list[Item] = []
    for i, spec in enumerate(raw.get("items") or []):
        item = _item(spec, i, where, defaults)
        if item.id in items_by_id or any(o.id == item.id for o in own):
            raise ChecklistError(
                f"{where}: item {item.id}: duplicate id",
                fix="item ids must be unique; use overrides: to change an extended item",
            )
        item.checklist = name
        item.checklist_applies_to = applies
        item.source = where
        own.append(item)
    if not base_items and not own:
        raise ChecklistError(f"{where}: has no items", fix="add items: or extends:")
    return Checklist(
        name=name,
        title=raw["title"],
        version=str(raw["version"]),
        items=list(items_by_id.values()) + own,
        applies_to=applies,
        description=str(raw.get("description") or "").strip(),
        source=where,
        builtin=path.parent == builtin_dir(),
    )


def load_checklists(names: list[str] | None) -> list[Checklist]:
    """The given checklists (default: every built-in one); an item id may appear only once."""
    lists = [load_checklist(n) for n in (names or builtin_names())]
    seen: dict[str, str] = {}
    for cl in lists:
        for item in cl.items:
            if item.id in seen:
                raise ChecklistError(
                    f"{cl.source}: item {item.id} is also in {seen[item.id]}",
                    fix="run one of the two checklists, or disable the item in one of them",
                )
            seen[item.id] = cl.source
    return lists


def read_yaml(path: Path, where: str, expected: str) -> dict:
    """yaml.safe_load a checklist or criteria file; errors name the file and line."""
    try:
        # libyaml's safe loader when available: same data, several times faster.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        raw = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=loader)  # noqa: S506
    except (OSError, UnicodeDecodeError):
        raise ChecklistError(f"{where}: cannot be read", fix="save it as UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ChecklistError(
            f"{where}:{line} not valid YAML ({problem})",
            fix="check indentation and quoting on that line",
        ) from None
    if not isinstance(raw, dict):
        raise ChecklistError(
            f"{where}: expected a mapping with {expected}",
            fix="start from a built-in one: `chartaudit checklists show NAME` prints it",
        )
    return raw


def validate_top(
    raw: dict, where: str, keys: set[str], required: tuple[str, ...], noun: str = "checklist"
) -> None:
    """Top-level keys of a checklist (or UM criteria) file; errors name the file and key."""
    unknown = set(raw) - keys
    if unknown:
        raise ChecklistError(
            f'{where}: unknown key "{sorted(unknown)[0]}"',
            fix=f"{noun} keys are {', '.join(sorted(keys))}",
        )
    for k in required:
        if not raw.get(k):
            raise ChecklistError(f'{where}: missing "{k}"', fix=f"add {k}: at the top")
    for k in ("extends", "disable"):
        if k in raw and not isinstance(raw[k] or [], list):
            raise ChecklistError(
                f"{where}: {k}: expected a list", fix=f"write {k}: as a list, one name per line"
            )
    if "items" in raw and not isinstance(raw["items"] or [], list):
        raise ChecklistError(
            f"{where}: items: expected a list of items", fix="begin each item with '- id: ...'"
        )
    if "overrides" in raw and not isinstance(raw["overrides"] or {}, dict):
        raise ChecklistError(
            f"{where}: overrides: expected item id: {{severity/params}}",
            fix="write overrides: as ITEM-ID: {params: {...}}",
        )
    defaults = raw.get("example_defaults") or {}
    if not isinstance(defaults, dict) or any(
        t not in TABLES or not isinstance(v, dict) for t, v in defaults.items()
    ):
        raise ChecklistError(
            f"{where}: example_defaults: expected table: {{column: value}}",
            fix=f"tables are {', '.join(TABLES)}",
        )


def validate_severity(value: Any, where: str, allowed: list[str] = SEVERITY_ORDER) -> str:
    if value not in allowed:
        raise ChecklistError(
            f'{where}: field "severity": {value!r} is not a severity',
            fix=f"use one of {', '.join(allowed)}",
        )
    return value


def _applies_to(spec: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(spec, dict):
        raise ChecklistError(f"{where}: expected a mapping such as {{note_type: [daily]}}")
    out = {}
    for k, v in spec.items():
        if k not in APPLIES_TO:
            raise ChecklistError(
                f'{where}: unknown filter "{k}"', fix=f"filters are {', '.join(APPLIES_TO)}"
            )
        values = [v] if isinstance(v, str) else v
        if not isinstance(values, list):
            raise ChecklistError(f"{where}.{k}: expected a list of values")
        allowed = APPLIES_TO[k][1]
        for x in values:
            if allowed is not None and x not in allowed:
                raise ChecklistError(
                    f"{where}.{k}: unknown value {x!r}", fix=f"use one of {', '.join(allowed)}"
                )
        out[k] = list(values)
    return out


def validate_params(
    kind_params: dict[str, Param], check: str, params: Any, where: str
) -> dict[str, Any]:
    """A check's params with defaults filled in; errors name the file, item and param.
    Shared by checklists and the UM criteria."""
    if not isinstance(params, dict):
        raise ChecklistError(f'{where}: field "params": expected a mapping')
    for k in params:
        if k not in kind_params:
            known = ", ".join(kind_params) or "none"
            raise ChecklistError(
                f'{where}: unknown param "{k}" for check "{check}"',
                fix=f"params of {check}: {known}",
            )
    out = {}
    for k, p in kind_params.items():
        if k not in params:
            if p.required:
                raise ChecklistError(
                    f'{where}: check "{check}" needs param "{k}"', fix=p.help or f"add params.{k}"
                )
            out[k] = copy.deepcopy(p.default)
            continue
        value = params[k]
        if value is None and p.default is None:
            # The kind's "not set" default (all sections, the shared phrase list): an item
            # keeps it when an override changes another of its params.
            out[k] = None
            continue
        types = p.type if isinstance(p.type, tuple) else (p.type,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        fix = f"{k}: {p.help} (default {p.default!r})" if p.help else f"default {p.default!r}"
        if not ok:
            raise ChecklistError(
                f'{where}: param "{k}" of check "{check}" must be {p.type_name()}, '
                f"not {type(value).__name__}",
                fix=fix,
            )
        if p.choices is not None:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in p.choices]
            if bad:
                raise ChecklistError(
                    f'{where}: param "{k}" of check "{check}": {bad[0]!r} is not one of '
                    f"{', '.join(map(str, p.choices))}",
                    fix=f"use one of {', '.join(map(str, p.choices))}",
                )
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = p.minimum, p.maximum
            if value < low or (high is not None and value > high):
                span = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
                raise ChecklistError(
                    f'{where}: param "{k}" of check "{check}" must be {span}, not {value!r}',
                    fix=fix,
                )
        out[k] = value
    return out


def _params(check: str, params: Any, where: str) -> dict[str, Any]:
    return validate_params(REGISTRY[check].params, check, params, where)


def validate_examples(
    examples: Any, label: str, met: str = "passing", unmet: str = "failing"
) -> None:
    """Examples are {bad: [...], good: [...]} mini exports with known tables and columns."""
    if not isinstance(examples, dict) or set(examples) - {"bad", "good"}:
        raise ChecklistError(f'{label}: field "examples" must have bad: and good: lists')
    for kind in ("bad", "good"):
        cases = examples.get(kind)
        if not cases:
            raise ChecklistError(
                f'{label}: field "examples": needs at least one {kind} example',
                fix="add a mini export (notes: [...]) that shows the item "
                + (unmet if kind == "bad" else met),
            )
        if not isinstance(cases, list):
            raise ChecklistError(f'{label}: field "examples.{kind}" must be a list')
        for j, case in enumerate(cases):
            if not isinstance(case, dict) or "notes" not in case:
                raise ChecklistError(
                    f'{label}: field "examples.{kind}[{j}]" must be a mini export with notes:'
                )
            for table, rows in case.items():
                if table not in TABLES:
                    raise ChecklistError(
                        f'{label}: field "examples.{kind}[{j}]": unknown table "{table}"'
                    )
                if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                    raise ChecklistError(
                        f'{label}: field "examples.{kind}[{j}].{table}" must be a list of rows'
                    )
                for r in rows:
                    for col in r:
                        if col not in TABLES[table]:
                            raise ChecklistError(
                                f'{label}: field "examples.{kind}[{j}].{table}": unknown column '
                                f'"{col}"'
                            )


def validate_item_fields(
    spec: Any,
    position: int,
    where: str,
    keys: set[str],
    required: tuple[str, ...],
    noun: str = "item",
) -> tuple[str, str]:
    """The fields every checklist item or UM criterion has; returns (id, label for messages)."""
    if not isinstance(spec, dict):
        raise ChecklistError(f"{where}: items[{position}]: expected a mapping")
    item_id = spec.get("id")
    label = f"{where}: {noun} {item_id}" if item_id else f"{where}: items[{position}]"
    unknown = set(spec) - keys
    if unknown:
        raise ChecklistError(
            f'{label}: unknown field "{sorted(unknown)[0]}"',
            fix=f"{noun} fields are {', '.join(sorted(keys))}",
        )
    for k in required:
        value = spec.get(k)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ChecklistError(f'{label}: missing field "{k}"', fix=f"every {noun} needs {k}")
    for k in ("id", "title", "why", "fix", "reference", "check"):
        if not isinstance(spec[k], str):
            raise ChecklistError(f'{label}: field "{k}" must be text')
    return item_id, label


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def titled(template: str, params: dict[str, Any]) -> str:
    """An item's title with its {param} placeholders filled in ("1 day", not "1 days"), so a
    checklist that overrides a param never shows the rule it replaced."""

    def value(m: re.Match) -> str:
        v = params[m.group(1)]
        return f"{v:g}" if isinstance(v, float) else str(v)

    return re.sub(r"\b1 ((?:\w+ )?day)s\b", r"1 \1", _PLACEHOLDER.sub(value, template))


def _item(spec: Any, position: int, where: str, defaults: dict) -> Item:
    item_id, label = validate_item_fields(spec, position, where, ITEM_KEYS, REQUIRED_ITEM_KEYS)
    check = spec["check"]
    if check not in REGISTRY:
        raise ChecklistError(
            f'{label}: unknown check kind "{check}"',
            fix="run `chartaudit checklists list --kinds` to see the check kinds",
        )
    examples = spec["examples"]
    validate_examples(examples, label)
    params = _params(check, spec.get("params") or {}, label)
    template = spec["title"].strip()
    unknown = [p for p in _PLACEHOLDER.findall(template) if p not in params]
    if unknown:
        raise ChecklistError(
            f'{label}: field "title": {{{unknown[0]}}} is not a param of check "{check}"',
            fix=f"a title may show the params {', '.join(params) or '(none)'} as {{name}}",
        )
    return Item(
        id=item_id,
        title=titled(template, params),
        title_template=template,
        severity=validate_severity(spec["severity"], label),
        check=check,
        params=params,
        why=spec["why"].strip(),
        fix=spec["fix"].strip(),
        reference=spec["reference"].strip(),
        examples=examples,
        applies_to=_applies_to(spec.get("applies_to") or {}, f"{label}: applies_to"),
        description=str(spec.get("description") or "").strip(),
        example_defaults=defaults,
    )


def example_frames(item: Item, case: dict) -> dict[str, list[dict]]:
    """An example mini export with the checklist's example_defaults filled in."""
    out: dict[str, list[dict]] = {}
    for table, rows in case.items():
        base = item.example_defaults.get(table, {})
        out[table] = [{**base, **row} for row in rows]
    return out
