"""Meta-test: every API route has an EndpointContract proving its county RBAC (NetBox's habit)."""

import importlib
import pkgutil
from pathlib import Path

from django.conf import settings
from django.urls import get_resolver

from terrafusion.api.routes import project_app_configs
from terrafusion.testing.api import EndpointContract

# Routes proven by their own dedicated tests (terrafusion/tests/test_auth.py) instead of a contract.
EXEMPT = {"api:auth-login", "api:auth-refresh", "api:auth-logout", "api:auth-me"}


def _api_route_names() -> set[str]:
    names = set()
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) == "api":
            names |= {f"api:{name}" for name in pattern.reverse_dict if isinstance(name, str)}
    return names


def _contracts() -> set[str]:
    """The routes proven by an EndpointContract in some `test_api*` module of a project app (or tests/)."""
    packages = [f"{config.name}.tests" for config in project_app_configs()] + ["tests"]
    for package in packages:
        tests_dir = Path(settings.BASE_DIR, *package.split("."))
        for module in pkgutil.iter_modules([str(tests_dir)]):
            if module.name.startswith("test_api"):
                importlib.import_module(f"{package}.{module.name}")
    found, stack = set(), [EndpointContract]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "route", None):
            found.add(cls.route)
    return found


def test_every_api_route_has_a_county_rbac_contract():
    routes = _api_route_names()
    assert len(routes) > 10
    missing = routes - EXEMPT - _contracts()
    assert not missing, f"API routes without an EndpointContract test: {sorted(missing)}"
