"""A county's `pacs_mapping.yaml`: which PACS codes and columns feed which TerraFusion fields, checked against the
PACS schema.

PACS installations differ in their codes (sale ratio codes, improvement attribute ids, quality classes) and in
which columns a county fills, so the loader reads them from this file rather than from constants. The file is
checked the way `counties/config.py` checks county.yaml (strict DRF serializers, unknown keys refused with a
"did you mean", YAML types strict, every problem collected) and, in addition, against `ingestion.pacs.schema`:
a column that PACS does not have, or whose type cannot hold the field, is an error here rather than an SQL
failure or a silently wrong number in the middle of a load. Each problem names the file, the line and the
dotted key: `pacs_mapping.yaml: line 23: fields.market_value: property_val.markt: no column markt in PACS table
property_val (did you mean 'market'?).` No database is touched here.
"""

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyproj
import yaml
from croniter import croniter
from rest_framework import serializers

from counties.config import (
    NON_FIELD,
    ConfigError,
    ConfigSerializer,
    Text,
    WholeNumber,
    _describe,
    _did_you_mean,
    _StrictSafeLoader,
    error_problems,
    greater_than_zero,
)
from ingestion.pacs.schema import TABLES, Column
from properties.choices import Condition, PropertyType, Quality

MAPPING_FILE = "pacs_mapping.yaml"
VERSION = 1


@dataclass(frozen=True)
class ColumnRef:
    """One PACS column a field is read from. `line` says where the file names it (for the loader's messages); it
    takes no part in equality, so a mapping read from a file equals the same mapping built in code."""

    table: str
    column: str
    line: int = field(default=0, compare=False, repr=False)  # 1-based line in the file (0 when not from a file)

    def sql(self, alias: str | None = None) -> str:
        """The column as SQL, e.g. `pv.market` (PACS names are plain identifiers: no quoting needed)."""
        return f"{alias or self.table}.{self.column}"

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class FieldSource:
    tables: tuple[str, ...]  # the PACS tables this TerraFusion field may come from
    kind: str  # "text" | "code" | "money" | "year" | "number"
    combine: str  # "first" (one column) | "sum" (NULL counts as 0) | "join" (texts joined by a space)


FIELD_SOURCES: dict[str, FieldSource] = {
    "parcel_number": FieldSource(("property",), "text", "first"),
    "class_code": FieldSource(("property_val", "property"), "code", "first"),
    "neighborhood": FieldSource(("property_val",), "code", "first"),
    "legal_description": FieldSource(("property_val",), "text", "join"),
    "land_value": FieldSource(("property_val",), "money", "sum"),
    "improvement_value": FieldSource(("property_val",), "money", "sum"),
    "market_value": FieldSource(("property_val",), "money", "sum"),
    "assessed_value": FieldSource(("property_val",), "money", "sum"),
    "year_built": FieldSource(("imprv",), "year", "first"),
    "effective_year": FieldSource(("imprv",), "year", "first"),
    "quality": FieldSource(("imprv_detail",), "code", "first"),
    "condition": FieldSource(("imprv_detail",), "code", "first"),
    "land_area_sqft": FieldSource(("land_detail",), "number", "sum"),
    "acreage": FieldSource(("land_detail", "property_val"), "number", "sum"),
}


@dataclass(frozen=True)
class PacsMapping:
    """A checked pacs_mapping.yaml. Codes are trimmed (PACS CHAR columns are blank-padded: compare trimmed)."""

    path: Path | None
    property_types: tuple[str, ...]  # prop_type_cd values that load, e.g. ("R",)
    valid_sale_codes: tuple[str, ...]  # sale.sl_ratio_type_cd values of arm's-length sales, e.g. ("00",)
    bedrooms_attribute: int  # imprv_attr.imprv_attr_id holding bedrooms (Benton 15)
    full_baths_attribute: int  # ... full bathrooms (Benton 45)
    half_baths_attribute: int  # ... half bathrooms (Benton 46)
    main_area_types: tuple[str, ...]  # imprv_detail.imprv_det_type_cd counted as living area, ("MA",)
    coordinate_crs: str  # CRS of property_val.gis_real_coord_x/y, e.g. "EPSG:2927"
    quality_codes: dict[str, str]  # imprv_detail.imprv_det_class_cd -> properties.choices.Quality value
    condition_codes: dict[str, str]  # imprv_detail.condition_cd -> properties.choices.Condition value
    fields: dict[str, tuple[ColumnRef, ...]]  # every key of FIELD_SOURCES -> its PACS columns
    sync_schedule: str | None  # cron expression (5 fields) for the periodic pacs_sync, or None

    def columns(self, table: str) -> list[ColumnRef]:
        """Every mapped column of `table`, each once, in the order the file names them (what a SELECT needs)."""
        refs = sorted((ref for refs in self.fields.values() for ref in refs if ref.table == table), key=_line_of)
        unique: list[ColumnRef] = []
        for ref in refs:
            if ref not in unique:
                unique.append(ref)
        return unique


def _line_of(ref: ColumnRef) -> int:
    return ref.line


# --- reading YAML with line numbers ------------------------------------------------------------------------


class _YamlInt(int):
    """An integer as YAML read it, keeping the text it was written as: `00` unquoted is the number 0, and the
    message asking for quotes should show "00", not "0"."""

    text: str

    def __new__(cls, value: int, text: str):
        number = super().__new__(cls, value)
        number.text = text
        return number


class _MappingLoader(_StrictSafeLoader):
    """The strict loader of county.yaml (duplicate keys refused), keeping the source text of integers."""


def _construct_int(loader: _MappingLoader, node: yaml.ScalarNode) -> int:
    return _YamlInt(loader.construct_yaml_int(node), node.value)


_MappingLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _as_written(value: Any) -> str:
    return value.text if isinstance(value, _YamlInt) else str(value)


def _node_line(root: yaml.Node | None, path: tuple) -> int:
    """The 1-based line of the deepest node of `path` (keys and list positions) that exists: the key's line for a
    mapping entry, the item's for a list item; so a missing key is reported at its parent's line."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    node, line = value_node, key_node.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _line_problems(detail: Any, root: yaml.Node | None, where: str, path: tuple = ()) -> list[tuple[int, str]]:
    """DRF's error detail as (line, `where: line N: dotted.path: reason.`); list positions find the line but are
    left out of the dotted path (the message names the item)."""
    if isinstance(detail, Mapping):
        problems = []
        for key, sub in detail.items():
            problems.extend(_line_problems(sub, root, where, path if key == NON_FIELD else (*path, key)))
        return problems
    line = _node_line(root, path)
    dotted = tuple(str(part) for part in path if not isinstance(part, int))
    return [(line, problem) for problem in error_problems(detail, f"{where}: line {line}", dotted)]


# --- values ------------------------------------------------------------------------------------------------


class Code(Text):
    """A PACS code: text (a number is refused, showing the quotes it needs), trimmed, at most as long as the PACS
    CHAR/VARCHAR column it is compared with."""

    def __init__(self, column: str, **kwargs):
        self.pacs_column = column
        table, name = column.split(".")
        self.max_chars = TABLES[table].columns[name].args[0]
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, int | float) and not isinstance(data, bool):
            written = _as_written(data)
            raise serializers.ValidationError(
                f'must be text, not the number {data}; put it in quotes to keep it as written: "{written}"'
            )
        code = super().to_internal_value(data)
        if len(code) > self.max_chars:
            raise serializers.ValidationError(
                f"{code!r} is longer than {self.pacs_column}'s {self.max_chars} characters"
            )
        return code


class CodeList(serializers.Field):
    """A non-empty list of codes, each once; `choices` limits them. Problems are per item (each has its line)."""

    def __init__(self, column: str, choices: list[str] | None = None, what: str = "code", **kwargs):
        self.code = Code(column)
        self.choices, self.what = choices, what
        kwargs.setdefault("error_messages", {"required": "missing", "null": "must be a list of codes, not empty"})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str | int) and not isinstance(data, bool):
            raise serializers.ValidationError(f'must be a list of codes, e.g. ["{_as_written(data)}"]')
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError(f"must be a non-empty list of quoted codes, not {_describe(data)}")
        codes: list[str] = []
        problems: dict[int, list[str]] = {}
        for position, item in enumerate(data):
            try:
                code = self.code.run_validation(item)
            except serializers.ValidationError as exc:
                problems[position] = [f"item {position + 1}: {message}" for message in exc.detail]
                continue
            if self.choices is not None and code not in self.choices:
                problems[position] = [
                    f"{code!r} is not a {self.what}{_did_you_mean(code, self.choices)}; "
                    f"the {self.what}s are {', '.join(self.choices)}"
                ]
            elif code in codes:
                problems[position] = [f"{code!r} is listed twice"]
            else:
                codes.append(code)
        if problems:
            raise serializers.ValidationError(problems)
        return tuple(codes)

    def to_representation(self, value):
        return value


class CodeMap(serializers.Field):
    """A non-empty mapping of PACS codes (quoted, trimmed) to TerraFusion choice values."""

    def __init__(self, column: str, choices: type, what: str, **kwargs):
        self.code = Code(column)
        self.choices = [str(value) for value in choices.values]
        self.what = what
        kwargs.setdefault("error_messages", {"required": "missing", "null": "must be a mapping, not empty"})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, Mapping) or not data:
            raise serializers.ValidationError(
                f'must be a non-empty mapping of quoted PACS codes to {self.what} values, e.g. {{"A": '
                f"{self.choices[len(self.choices) // 2]}}}, not {_describe(data)}"
            )
        codes: dict[str, str] = {}
        problems: dict[str, list[str]] = {}
        for key, value in data.items():
            written, messages = _as_written(key), []
            try:
                code = self.code.run_validation(key)
            except serializers.ValidationError as exc:
                messages.extend(f"code {message}" for message in exc.detail)
                code = None
            if code is not None and code in codes:
                messages.append(f"code {code!r} is listed twice (PACS codes are compared trimmed)")
            if not isinstance(value, str) or value not in self.choices:
                shown = repr(value) if isinstance(value, str) else _describe(value)
                hint = _did_you_mean(value, self.choices) if isinstance(value, str) else ""
                messages.append(
                    f"{shown} is not a {self.what}{hint}; the {self.what} values are {', '.join(self.choices)}"
                )
            if messages:
                problems[written] = messages
            elif code is not None:
                codes[code] = value
        if problems:
            raise serializers.ValidationError(problems)
        return codes

    def to_representation(self, value):
        return value


def _type_text(column: Column) -> str:
    return column.declaration().removeprefix(f"{column.name} ")


# What each kind of field can be read from: (test, the types named in a message).
_KIND_TYPES = {
    "text": (lambda table, c: c.is_text, "CHAR or VARCHAR"),
    "code": (lambda table, c: c.is_text, "CHAR or VARCHAR"),
    "money": (
        lambda table, c: c.sql_type in ("INT", "SMALLINT")
        or (c.sql_type == "NUMERIC" and c.scale == 0)
        or (c.sql_type == "COMPUTED" and (table, c.name) == ("property_val", "imprv_val")),
        "whole dollars: NUMERIC with scale 0, INT, or the computed property_val.imprv_val",
    ),
    "year": (
        lambda table, c: c.sql_type in ("INT", "SMALLINT")
        or (c.sql_type == "NUMERIC" and c.scale == 0 and c.args[:1] <= (4,)),
        "NUMERIC (4), INT or SMALLINT",
    ),
    "number": (lambda table, c: c.sql_type in ("NUMERIC", "INT", "SMALLINT"), "NUMERIC, INT or SMALLINT"),
}


class ColumnSource(serializers.Field):
    """Where one TerraFusion field comes from: `table.column`, or a list of them for a field that sums or joins.
    Checked against the PACS schema: the table must be one the field can come from, the column must exist and its
    type must hold the field's kind. Returns ((table, column, position or None), ...)."""

    def __init__(self, name: str, source: FieldSource, **kwargs):
        self.tf_field, self.field_source = name, source
        kwargs.setdefault("error_messages", {"required": "missing", "null": "must name a PACS column, not empty"})
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        example = f"{self.field_source.tables[0]}.{next(iter(TABLES[self.field_source.tables[0]].columns))}"
        if isinstance(data, list):
            if not data:
                raise serializers.ValidationError("must name at least one PACS column")
            if self.field_source.combine == "first" and len(data) > 1:
                raise serializers.ValidationError(
                    f"takes exactly one column (the value is read as it is), not {len(data)}"
                )
            items = list(enumerate(data))
        else:
            items = [(None, data)]
        refs: list[tuple[str, str, int | None]] = []
        problems: dict[int, list[str]] = {}
        for position, item in items:
            try:
                ref = self._column_check(item, example)
                if ref[:2] in [r[:2] for r in refs]:
                    raise serializers.ValidationError(f"{ref[0]}.{ref[1]} is listed twice")
                if refs and ref[0] != refs[0][0]:
                    raise serializers.ValidationError(
                        f"{ref[0]}.{ref[1]}: the columns of one field come from one table, not "
                        f"{refs[0][0]} and {ref[0]}"
                    )
            except serializers.ValidationError as exc:
                if position is None:
                    raise
                problems[position] = list(exc.detail)
                continue
            refs.append((*ref, position))
        if problems:
            raise serializers.ValidationError(problems)
        return tuple(refs)

    def _column_check(self, item: Any, example: str) -> tuple[str, str]:
        if not isinstance(item, str):
            raise serializers.ValidationError(
                f"must be a PACS column written table.column, e.g. {example}, not {_describe(item)}"
            )
        match = re.fullmatch(r"\s*(\w+)\.(\w+)\s*", item)
        if match is None:
            raise serializers.ValidationError(f"{item!r} is not a PACS column written table.column, e.g. {example}")
        table, column = match.groups()
        written = f"{table}.{column}"
        allowed = " or ".join(self.field_source.tables)
        if table not in TABLES:
            hint = _did_you_mean(table, self.field_source.tables) or _did_you_mean(table, TABLES)
            raise serializers.ValidationError(
                f"{written}: no PACS table {table}{hint}; {self.tf_field} comes from {allowed}"
            )
        if table not in self.field_source.tables:
            raise serializers.ValidationError(f"{written}: {self.tf_field} comes from {allowed}, not {table}")
        columns = TABLES[table].columns
        if column not in columns:
            raise serializers.ValidationError(
                f"{written}: no column {column} in PACS table {table}{_did_you_mean(column, columns)}"
            )
        accepts, wanted = _KIND_TYPES[self.field_source.kind]
        if not accepts(table, columns[column]):
            raise serializers.ValidationError(
                f"{written} is {_type_text(columns[column])}, but {self.tf_field} is a {self.field_source.kind} field "
                f"and needs {wanted}"
            )
        return table, column

    def to_representation(self, value):
        return value


def coordinate_crs_check(value: str) -> None:
    """An "EPSG:<code>" the PROJ database knows (the loader reprojects the coordinates with pyproj)."""
    if not re.fullmatch(r"EPSG:\d+", value):
        raise serializers.ValidationError(f'{value!r} is not written "EPSG:<code>", e.g. "EPSG:2927"')
    try:
        pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError:
        raise serializers.ValidationError(
            f"{value} is not a CRS in the EPSG registry (PROJ does not know it)"
        ) from None


def cron_check(value: str) -> None:
    """Five cron fields (minute hour day-of-month month day-of-week) that croniter reads; croniter would also
    take a sixth (seconds) field, which rq-scheduler's cron does not."""
    if len(value.split()) != 5 or not croniter.is_valid(value):
        raise serializers.ValidationError(
            f'{value!r} is not a cron expression of five fields (minute hour day month weekday), e.g. "30 2 * * *"'
        )


# --- the file ------------------------------------------------------------------------------------------------


class _MappingSerializer(ConfigSerializer):
    """ConfigSerializer, with each unknown key reported at its own key (so at its own line)."""

    def key_problems(self, data: Mapping) -> dict[str, list[str]]:
        known = list(self.fields)
        return {
            _as_written(key): [f"unknown key{_did_you_mean(key, known)}; the keys here are {', '.join(known)}"]
            for key in data
            if key not in self.fields
        }


class AttributesSerializer(_MappingSerializer):
    """imprv_attr.imprv_attr_id values (PACS's `attribute` table) of the counts TerraFusion reads."""

    bedrooms = WholeNumber(validators=[greater_than_zero])
    full_baths = WholeNumber(validators=[greater_than_zero])
    half_baths = WholeNumber(validators=[greater_than_zero])

    def validate(self, attrs):
        seen: dict[int, str] = {}
        for name, value in attrs.items():
            if value in seen:
                raise serializers.ValidationError({name: [f"{value} is also {seen[value]}'s attribute id"]})
            seen[value] = name
        return attrs


class FieldsSerializer(_MappingSerializer):
    """Every TerraFusion field of FIELD_SOURCES and the PACS columns it is read from."""

    def get_fields(self):
        return {name: ColumnSource(name, source) for name, source in FIELD_SOURCES.items()}


class SyncSerializer(_MappingSerializer):
    schedule = Text(allow_null=True, validators=[cron_check])


class PacsMappingSerializer(_MappingSerializer):
    version = WholeNumber()
    property_types = CodeList(
        "property.prop_type_cd", choices=[str(value) for value in PropertyType.values], what="property type"
    )
    valid_sale_codes = CodeList("sale.sl_ratio_type_cd")
    attributes = AttributesSerializer()
    main_area_types = CodeList("imprv_detail.imprv_det_type_cd")
    coordinate_crs = Text(validators=[coordinate_crs_check])
    quality_codes = CodeMap("imprv_detail.imprv_det_class_cd", Quality, "quality")
    condition_codes = CodeMap("imprv_detail.condition_cd", Condition, "condition")
    fields = FieldsSerializer()
    sync = SyncSerializer()

    def validate_version(self, value: int) -> int:
        if value != VERSION:
            raise serializers.ValidationError(f"must be {VERSION} (the only version of this file), not {value}")
        return int(value)


def _mapping_build(data: Any, root: yaml.Node | None, where: str, path: Path | None) -> PacsMapping:
    serializer = PacsMappingSerializer(data=data)
    if not serializer.is_valid():
        problems = _line_problems(serializer.errors, root, where)
        raise ConfigError([problem for _, problem in sorted(problems, key=lambda pair: pair[0])])
    valid = serializer.validated_data
    fields = {
        name: tuple(
            ColumnRef(table, column, _node_line(root, ("fields", name, *(() if at is None else (at,)))) if root else 0)
            for table, column, at in valid["fields"][name]
        )
        for name in FIELD_SOURCES
    }
    attributes = valid["attributes"]
    return PacsMapping(
        path=path,
        property_types=valid["property_types"],
        valid_sale_codes=valid["valid_sale_codes"],
        bedrooms_attribute=int(attributes["bedrooms"]),
        full_baths_attribute=int(attributes["full_baths"]),
        half_baths_attribute=int(attributes["half_baths"]),
        main_area_types=valid["main_area_types"],
        coordinate_crs=valid["coordinate_crs"],
        quality_codes=dict(valid["quality_codes"]),
        condition_codes=dict(valid["condition_codes"]),
        fields=fields,
        sync_schedule=valid["sync"]["schedule"],
    )


def _yaml_problem(exc: yaml.YAMLError, where: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"{where}: not valid YAML: {problem}."
    return f"{where}: line {mark.line + 1}: not valid YAML (column {mark.column + 1}): {problem}."


def pacs_mapping_parse(text: str, *, where: str = MAPPING_FILE) -> PacsMapping:
    """The mapping `text` holds; raise ConfigError listing every problem (by line, each naming `where`)."""
    loader = _MappingLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, where)]) from None
    finally:
        loader.dispose()
    return _mapping_build(data, root, where, None)


def pacs_mapping_load(path: str | Path) -> PacsMapping:
    """The mapping in file `path` (a county directory's pacs_mapping.yaml); raise ConfigError listing every
    problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path.name}: file not found in {path.parent}."])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path.name}: cannot be read ({exc})."]) from None
    return dataclasses.replace(pacs_mapping_parse(text, where=path.name), path=path)


# --- Benton's values, the template's defaults ---------------------------------------------------------------

_DEFAULTS: dict[str, Any] = {
    "version": VERSION,
    "property_types": ["R"],
    "valid_sale_codes": ["00"],
    "attributes": {"bedrooms": 15, "full_baths": 45, "half_baths": 46},
    "main_area_types": ["MA"],
    "coordinate_crs": "EPSG:2927",
    "quality_codes": {"L": "low", "F": "fair", "A": "average", "G": "good", "VG": "very_good", "E": "excellent"},
    "condition_codes": {"P": "poor", "F": "fair", "A": "average", "G": "good", "E": "excellent"},
    "fields": {
        "parcel_number": "property.geo_id",
        "class_code": "property_val.property_use_cd",
        "neighborhood": "property_val.hood_cd",
        "legal_description": ["property_val.legal_desc", "property_val.legal_desc_2"],
        "land_value": [
            "property_val.land_hstd_val",
            "property_val.land_non_hstd_val",
            "property_val.ag_market",
            "property_val.timber_market",
        ],
        "improvement_value": ["property_val.imprv_hstd_val", "property_val.imprv_non_hstd_val"],
        "market_value": "property_val.market",
        "assessed_value": "property_val.assessed_val",
        "year_built": "imprv.actual_year_built",
        "effective_year": "imprv.effective_yr_blt",
        "quality": "imprv_detail.imprv_det_class_cd",
        "condition": "imprv_detail.condition_cd",
        "land_area_sqft": "land_detail.size_square_feet",
        "acreage": "land_detail.size_acres",
    },
    "sync": {"schedule": "30 2 * * *"},
}


def pacs_mapping_default() -> PacsMapping:
    """Benton County's mapping (the template's values), built without a file: `path` None, lines 0."""
    return _mapping_build(json.loads(json.dumps(_DEFAULTS)), None, "pacs_mapping_default()", None)


def _flow(value: Any) -> str:
    """`value` as one line of YAML (JSON is YAML's flow style: strings quoted, so codes stay text)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json.dumps(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _column_flow(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "[" + ", ".join(value) + "]"


def pacs_mapping_template(**overrides: Any) -> str:
    """The commented pacs_mapping.yaml that `new_county_config` writes: Benton's values unless `overrides` (top-level
    keys of the file; `attributes`, `fields` and `sync` are merged one level deep) say otherwise."""
    unknown = set(overrides) - (set(_DEFAULTS) - {"version"})
    if unknown:
        raise TypeError(f"pacs_mapping_template: unknown keys {', '.join(sorted(unknown))}")
    values = json.loads(json.dumps(_DEFAULTS))
    for key, value in overrides.items():
        values[key] = {**values[key], **value} if key in ("attributes", "fields", "sync") else value
    f, a = values["fields"], values["attributes"]
    return f"""\
# Which PACS codes and columns feed which TerraFusion fields (keys: counties/configs/README.md, "pacs_mapping.yaml").
# Checked against the PACS schema (ingestion/pacs/schema.py) by `setup_county` and the PACS loader: an unknown
# column or one whose type cannot hold the field is an error naming its line. These are Benton County's values:
# check each against this county's PACS with the SQL given (read-only queries; PACS CHAR codes are blank-padded,
# write them here trimmed and in quotes so YAML keeps them as text: "00", not 00).

version: 1

# Property types (property.prop_type_cd) that load: R real, MH mobile home, P personal, A auto, MN mineral.
#   SELECT prop_type_cd, COUNT(*) FROM property GROUP BY prop_type_cd
property_types: {_flow(values["property_types"])}

# Sale ratio codes (sale.sl_ratio_type_cd) of arm's-length sales, the ones used in ratio studies and models.
#   SELECT sl_ratio_type_cd, sl_ratio_desc FROM sale_ratio_type WHERE invalid_sale = 0
valid_sale_codes: {_flow(values["valid_sale_codes"])}

# Improvement attribute ids (imprv_attr.imprv_attr_id) of the bedroom and bathroom counts; they differ between
# PACS installations.
#   SELECT imprv_attr_id, imprv_attr_desc FROM attribute
#   WHERE imprv_attr_desc LIKE '%bed%' OR imprv_attr_desc LIKE '%bath%'
attributes:
  bedrooms: {_flow(a["bedrooms"])}
  full_baths: {_flow(a["full_baths"])}
  half_baths: {_flow(a["half_baths"])}

# Improvement detail types (imprv_detail.imprv_det_type_cd) whose area is living area (the main area).
#   SELECT imprv_det_type_cd, COUNT(*) FROM imprv_detail WHERE sale_id = 0 GROUP BY imprv_det_type_cd
main_area_types: {_flow(values["main_area_types"])}

# CRS of property_val.gis_real_coord_x/y: the county's State Plane zone, "EPSG:<code>". Washington South (ftUS)
# is EPSG:2927, Washington North (ftUS) EPSG:2926.
coordinate_crs: {_flow(values["coordinate_crs"])}

# Quality classes (imprv_detail.imprv_det_class_cd) -> TerraFusion quality: low, fair, average, good, very_good,
# excellent. Classes not listed load with no quality.
#   SELECT imprv_det_class_cd, COUNT(*) FROM imprv_detail WHERE sale_id = 0 GROUP BY imprv_det_class_cd
quality_codes: {_flow(values["quality_codes"])}

# Condition codes (imprv_detail.condition_cd) -> TerraFusion condition: poor, fair, average, good, excellent.
#   SELECT condition_cd, COUNT(*) FROM imprv_detail WHERE sale_id = 0 GROUP BY condition_cd
condition_codes: {_flow(values["condition_codes"])}

# The PACS column(s) of each TerraFusion field, as table.column. Values are read from the current supplement
# (prop_supp_assoc) and live records (sale_id = 0). A list sums money and areas (NULL counts as 0) and joins text
# with a space; the other fields take exactly one column.
fields:
  parcel_number: {_column_flow(f["parcel_number"])}  # the parcel number people use (prop_id is internal)
  class_code: {_column_flow(f["class_code"])}  # or property.state_cd for the state class
  neighborhood: {_column_flow(f["neighborhood"])}
  legal_description: {_column_flow(f["legal_description"])}
  land_value: {_column_flow(f["land_value"])}
  improvement_value: {_column_flow(f["improvement_value"])}
  market_value: {_column_flow(f["market_value"])}
  assessed_value: {_column_flow(f["assessed_value"])}
  year_built: {_column_flow(f["year_built"])}  # of the main improvement (highest imprv_val)
  effective_year: {_column_flow(f["effective_year"])}
  quality: {_column_flow(f["quality"])}  # codes translated by quality_codes
  condition: {_column_flow(f["condition"])}  # codes translated by condition_codes
  land_area_sqft: {_column_flow(f["land_area_sqft"])}  # summed over land segments
  acreage: {_column_flow(f["acreage"])}  # or property_val.legal_acreage

# When the periodic PACS sync runs: a cron expression of five fields (minute hour day month weekday) in the
# server's time zone, or null to sync only on demand.
sync:
  schedule: {_flow(values["sync"]["schedule"])}
"""  # noqa: S608 (SQL in comments, not a query)
