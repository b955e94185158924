"""The mapping file (chartaudit-mapping.yaml): strict validation, named culprits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import MappingError
from ..model import TABLES
from .columns import JOINED

MAPPING_FILE_NAME = "chartaudit-mapping.yaml"
_TABLE_KEYS = {"files", "sheet", "encoding", "date_format", "columns", "values"}


@dataclass
class TableMapping:
    files: list[str] = field(default_factory=list)
    sheet: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    # canonical -> its source columns: one, or several joined (JOINED: Mod 1, Mod 2 -> modifiers)
    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {source: value}


@dataclass
class Mapping:
    path: str | None = None
    tables: dict[str, TableMapping] = field(default_factory=dict)

    def for_table(self, table: str) -> TableMapping:
        return self.tables.get(table) or TableMapping()


def load_mapping(path: Path | None) -> Mapping:
    """Read and validate a mapping file; None gives the empty mapping."""
    if path is None:
        return Mapping()
    name = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MappingError(
            f"{name}: mapping file not found", fix="check the --mapping path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"{name}: cannot read the mapping file ({exc.__class__.__name__})",
            fix="save it as UTF-8 text",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise MappingError(
            f"{name}:{where}: not valid YAML", fix="check indentation and quoting there"
        ) from None
    if raw is None:
        return Mapping(path=name)
    if not isinstance(raw, dict):
        raise MappingError(f"{name}: expected a mapping with a 'tables:' key")
    unknown = set(raw) - {"tables"}
    if unknown:
        raise MappingError(
            f"{name}: unknown key {sorted(unknown)[0]!r}",
            fix="the only top-level key is 'tables'",
        )
    tables: dict[str, TableMapping] = {}
    for table, spec in (raw.get("tables") or {}).items():
        where = f"{name}: tables.{table}"
        if table not in TABLES:
            raise MappingError(
                f"{where}: unknown table {table!r}", fix=f"use one of {', '.join(TABLES)}"
            )
        spec = spec or {}
        if not isinstance(spec, dict):
            raise MappingError(f"{where}: expected a mapping of options")
        bad = set(spec) - _TABLE_KEYS
        if bad:
            raise MappingError(
                f"{where}: unknown option {sorted(bad)[0]!r}",
                fix=f"use {', '.join(sorted(_TABLE_KEYS))}",
            )
        files = spec.get("files") or []
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise MappingError(f"{where}.files: expected a list of file patterns")
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            raise MappingError(f"{where}.columns: expected canonical_name: source column")
        for canon, src in columns.items():
            if canon not in TABLES[table]:
                raise MappingError(
                    f"{where}.columns: unknown column {canon!r}",
                    fix=f"canonical {table} columns are {', '.join(TABLES[table])}",
                )
            _check_sources(f"{where}.columns.{canon}", table, canon, src)
        values = spec.get("values") or {}
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise MappingError(f"{where}.values: expected column: {{source value: canonical}}")
        for canon in values:
            if canon not in TABLES[table]:
                raise MappingError(f"{where}.values: unknown column {canon!r}")
        for opt in ("sheet", "encoding", "date_format"):
            if opt in spec and spec[opt] is not None and not isinstance(spec[opt], str):
                raise MappingError(f"{where}.{opt}: expected text")
        if spec.get("encoding"):
            import codecs

            try:
                codecs.lookup(spec["encoding"])
            except LookupError:
                raise MappingError(
                    f"{where}.encoding: unknown encoding {spec['encoding']!r}",
                    fix="use e.g. utf-8, cp1252 or latin-1",
                ) from None
        tables[table] = TableMapping(
            files=files,
            sheet=spec.get("sheet"),
            encoding=spec.get("encoding"),
            date_format=spec.get("date_format"),
            columns={
                k: [str(x) for x in v] if isinstance(v, list) else [str(v)]
                for k, v in columns.items()
            },
            values={c: {str(k): str(v) for k, v in m.items()} for c, m in values.items()},
        )
    return Mapping(path=name, tables=tables)


_JOIN_EXAMPLES = {"modifiers": '["Mod 1", "Mod 2"]', "diagnosis_codes": '["Dx 1", "Dx 2"]'}


def _check_sources(where: str, table: str, canon: str, src: object) -> None:
    """A column's source: one column name, or for a JOINED column a list of them."""
    joinable = JOINED.get(table, {})
    if isinstance(src, str | int) and not isinstance(src, bool):
        return
    if not isinstance(src, list):
        raise MappingError(f"{where}: expected the source column name")
    if canon not in joinable:
        allowed = ", ".join(joinable) or "no column"
        raise MappingError(
            f"{where}: expected one source column name, not a list",
            fix=f"in the {table} table a list of columns can fill {allowed} only; "
            "map one column here",
        )
    if not src or not all(isinstance(x, str | int) and not isinstance(x, bool) for x in src):
        raise MappingError(
            f"{where}: expected a list of source column names",
            fix=f"e.g. {canon}: {_JOIN_EXAMPLES.get(canon, '[Column 1, Column 2]')}",
        )
