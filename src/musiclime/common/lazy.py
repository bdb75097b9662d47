"""Names of a package imported on first use (PEP 562), so importing the package stays cheap."""

from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_getattr(package: str, exports: Mapping[str, str], namespace: dict) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module relative to ``package``) on first access.

    The value is cached in ``namespace`` (the package's ``globals()``), so later lookups cost nothing.
    """

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    return __getattr__
