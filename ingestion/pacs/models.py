"""Unmanaged models of the PACS tables TerraFusion reads, made from their declaration in ingestion/pacs/schema.py.

One model per table, named in CamelCase after it (`property_val` -> `PropertyVal`), with the declared columns
as fields: the column lists are written once (schema.py) and the models, the fake PACS and the mapping check
cannot drift apart. Tables keyed on several columns get Django 5.2's CompositePrimaryKey. The router sends
their reads to the `pacs` alias and refuses writes; the app has no migrations.

The bulk load reads PACS with set-based SQL (ingestion/pacs/reader.py), not through these models; they serve
inspection (the shell, the admin's PACS pages, tests) and name the tables and columns in one place.
"""

from django.db import models

from ingestion.pacs.schema import TABLES, Column, Table

# ROWVERSION is SQL Server's 8-byte counter; read as bytes there, as a number from the fake PACS.
_ROWVERSION = models.BinaryField


def _field(column: Column, *, primary_key: bool) -> models.Field:
    options = {"db_column": column.name, "null": column.nullable, "blank": column.nullable}
    if primary_key:
        options["primary_key"] = True
    kind = column.sql_type
    if kind == "COMPUTED":  # the two computed columns PACS declares: a sum of money, a text
        if column.name == "imprv_val":
            return models.DecimalField(max_digits=15, decimal_places=0, editable=False, **options)
        return models.CharField(max_length=200, editable=False, **options)
    if kind in ("INT", "SMALLINT"):
        return (models.IntegerField if kind == "INT" else models.SmallIntegerField)(**options)
    if kind == "NUMERIC":
        precision, scale = (*column.args, 0)[:2]
        return models.DecimalField(max_digits=precision, decimal_places=scale, **options)
    if kind in ("CHAR", "VARCHAR"):
        return models.CharField(max_length=column.args[0], **options)
    if kind == "DATETIME":
        return models.DateTimeField(**options)
    if kind == "BIT":
        return models.BooleanField(**options)
    if kind == "ROWVERSION":
        return _ROWVERSION(editable=False, **options)
    raise TypeError(f"PACS column {column.declaration()}: no model field for {kind}")


def _model(table: Table) -> type[models.Model]:
    single_key = len(table.primary_key) == 1
    attrs = {
        "__module__": __name__,
        "__doc__": f"PACS table `{table.name}` (read only).",
        "Meta": type("Meta", (), {"managed": False, "db_table": table.name, "app_label": "pacs"}),
    }
    for name, column in table.columns.items():
        attrs[name] = _field(column, primary_key=single_key and name == table.primary_key[0])
    if not single_key:
        attrs["pk"] = models.CompositePrimaryKey(*table.primary_key)
    return type(model_name(table.name), (models.Model,), attrs)


def model_name(table_name: str) -> str:
    return "".join(part.capitalize() for part in table_name.split("_"))


PACS_MODELS: dict[str, type[models.Model]] = {name: _model(table) for name, table in TABLES.items()}
globals().update({model.__name__: model for model in PACS_MODELS.values()})
