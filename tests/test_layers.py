"""Every project app sits in a layer of the import contract (pyproject.toml), so `make lint` checks it."""

import tomllib
from pathlib import Path

from django.conf import settings

from terrafusion.api.routes import project_app_configs


def _contract() -> dict:
    config = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())["tool"]["importlinter"]
    return config


def test_every_project_app_is_placed_in_a_layer():
    config = _contract()
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    apps = {app.name for app in project_app_configs()}
    assert apps <= placed, f"Apps missing from the import layers in pyproject.toml: {sorted(apps - placed)}"
    assert apps <= set(config["root_packages"])
    assert len(apps) >= 8
