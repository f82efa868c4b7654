"""Every error the project defines derives from OrbitstreamError, so one ``except`` catches ours."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from foundation.exceptions import OrbitstreamError

PACKAGES = ["foundation", "schemas", "producers", "streams", "sinks", "analytics", "infra", "orbitstream"]


def _project_exceptions() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if info.name.endswith("__main__"):
                continue  # running it is its import
            module = importlib.import_module(info.name)
            found += [
                cls
                for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__
            ]
    return found


def test_every_project_exception_derives_from_the_base_error() -> None:
    exceptions = _project_exceptions()
    assert len(exceptions) > 20  # the walk found the packages' exceptions.py modules and more
    outside = sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in exceptions if not issubclass(cls, OrbitstreamError)
    )
    assert outside == []
