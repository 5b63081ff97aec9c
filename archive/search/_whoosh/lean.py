"""Import Whoosh without the heavy modules it pulls in for features the archive never uses.

Stubbing ``sys.modules`` while Whoosh imports is a bet on which Whoosh modules import what:
it lives inside the fence for that reason (see ``PRIVATE_NAMES``).
"""

from __future__ import annotations

import functools
import sys
import types


def _lazy(module: str, name: str):
    """A function that imports ``module`` on first call and forwards to its ``name``."""

    def call(*args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


def import_whoosh_lean() -> None:
    """Import Whoosh without three heavy imports it does not need here (~90 ms per search).

    whoosh.compat imports urllib.request (http, ssl, email…) for a download helper,
    whoosh.reading imports the ``cached_property`` package, which imports asyncio, and
    whoosh.query.terms loads a large English morphology table for a query type we never build.
    While Whoosh itself is imported, stand-ins answer those imports (functools.cached_property
    behaves the same; the functions import the real module when called). They are removed
    right after, so any later importer gets the real modules.
    """
    if "whoosh.reading" in sys.modules:
        return
    stubs = {}
    for module, name, value in (
        ("cached_property", "cached_property", functools.cached_property),
        ("urllib.request", "urlretrieve", None),
        ("whoosh.lang.morph_en", "variations", None),
    ):
        if module not in sys.modules:
            stub = types.ModuleType(module)
            setattr(stub, name, value if value is not None else _lazy(module, name))
            stubs[module] = stub
    sys.modules.update(stubs)
    try:
        import whoosh.compat  # noqa: F401
        import whoosh.query  # noqa: F401
        import whoosh.reading  # noqa: F401
    finally:
        for module, stub in stubs.items():
            if sys.modules.get(module) is stub:
                del sys.modules[module]
