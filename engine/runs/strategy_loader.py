"""Where a strategy comes from: the one resolver of a config's `strategy:` value.

A spec is one of
- a registered name: an entry point in the `playbook.strategies` group
  (`name = "pkg.module:ClassName"`). The built-ins are the ones playbook's own pyproject.toml
  declares (the engine never imports `strategies/`: they register like anyone's package);
- `package.module:ClassName`: an importable module (the current folder is on the path);
- `path/to/file.py:ClassName` or `path/to/file.py` (the file's only Strategy class); a
  relative path resolves from the config file's folder (`absolute_spec`).

Loading a module or file runs its code: it is the user's own code, trusted like a script.
Every resolution returns a `StrategySource` (kind, origin and, for a file, the SHA-256 of its
content) that the run folder records, so a run says exactly which code produced it. Built-in
names cannot be shadowed: an entry point or class that calls itself like a built-in is an error.
The same spec resolves the same way on a dask worker (it imports the file by its absolute path).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Literal

from engine.core.strategy import Strategy, StrategyParams
from engine.errors import ConfigError
from engine.io.yaml_models import did_you_mean

ENTRY_POINT_GROUP = "playbook.strategies"
DISTRIBUTION = "playbook"  # whose entry points are the built-ins
Kind = Literal["built-in", "entry point", "module", "file"]


@dataclass(frozen=True)
class StrategySource:
    """Which code a strategy class came from (recorded in the run folder)."""

    spec: str  # as resolved (file paths absolute)
    kind: Kind
    origin: str  # "strategies" for built-ins, the distribution, module or file path
    sha256: str | None = None  # of the file's content (kind "file")

    def describe(self) -> str:
        suffix = f" sha256 {self.sha256[:12]}" if self.sha256 else ""
        return f"{self.kind}: {self.origin}{suffix}"


def is_file_spec(spec: str) -> bool:
    """True for `x.py` and `x.py:ClassName`."""
    return spec.split(":", 1)[0].endswith(".py") if ":" in spec else spec.endswith(".py")


def is_path_spec(spec: str) -> bool:
    """True for a spec that is not a registered name: a file or `module:ClassName`."""
    return is_file_spec(spec) or ":" in spec


def absolute_spec(spec: str, base: Path) -> str:
    """The spec with a relative file path made absolute from `base` (the config's folder)."""
    if not is_file_spec(spec):
        return spec
    file, _, cls = spec.partition(":")
    path = Path(file).expanduser()
    if not path.is_absolute():
        path = (base / path).resolve()
    return f"{path}:{cls}" if cls else str(path)


def resolve(spec: str) -> tuple[type[Strategy], StrategySource]:
    """The strategy class a spec names and where it came from, or a ConfigError with a fix."""
    spec = spec.strip()
    if is_file_spec(spec):
        return _from_file(spec)
    if ":" in spec:
        return _from_module(spec)
    return _from_name(spec)


def get_strategy(spec: str) -> type[Strategy]:
    return resolve(spec)[0]


def available() -> dict[str, tuple[type[Strategy], StrategySource]]:
    """Every registered strategy by name: the built-ins, then installed entry points."""
    found = {name: _builtin(name, point) for name, point in _builtin_points().items()}
    for point in _entry_points():
        found[point.name] = _load_entry_point(point)
    return found


def builtin_names() -> list[str]:
    """The names of the built-in strategies (playbook's own entry points)."""
    return sorted(_builtin_points())


def _builtin_points() -> dict[str, EntryPoint]:
    """playbook's own entry points: the built-ins, declared in its pyproject.toml."""
    points = {
        point.name: point
        for point in entry_points(group=ENTRY_POINT_GROUP)
        if _distribution(point) == DISTRIBUTION
    }
    if not points:
        raise ConfigError(
            "no built-in strategies are registered (playbook's package metadata is missing "
            "or stale)",
            'reinstall from the project folder: pip install -e ".[dev]"',
        )
    return points


def _distribution(point: EntryPoint) -> str | None:
    dist = getattr(point, "dist", None)
    return None if dist is None else getattr(dist, "name", None)


def _builtin(name: str, point: EntryPoint) -> tuple[type[Strategy], StrategySource]:
    cls = point.load()
    return cls, StrategySource(name, "built-in", f"{cls.__module__}.{cls.__qualname__}")


def _from_name(name: str) -> tuple[type[Strategy], StrategySource]:
    builtins = _builtin_points()
    points = {point.name: point for point in _entry_points()}  # checked for shadowing first
    if name in builtins:
        return _builtin(name, builtins[name])
    if name in points:
        return _load_entry_point(points[name])
    hint = did_you_mean(
        name,
        [*builtins, *points],
        cutoff=0.4,
        otherwise="`playbook strategies` lists the names; your own: path/to/file.py[:Class]",
    )
    raise ConfigError(f"unknown strategy {name!r}", hint)


def _entry_points() -> list[EntryPoint]:
    """Other packages' entry points; one that takes a built-in's name is an error, not a
    shadow."""
    builtins = _builtin_points()
    points = [p for p in entry_points(group=ENTRY_POINT_GROUP) if _distribution(p) != DISTRIBUTION]
    for point in points:
        if point.name in builtins:
            dist = getattr(point.dist, "name", "a package")
            raise ConfigError(
                f"entry point {point.name!r} of {dist} ({point.value}) has the name of a "
                "built-in strategy",
                f'rename it in {dist}\'s [project.entry-points."{ENTRY_POINT_GROUP}"] table',
            )
    return points


def _load_entry_point(point) -> tuple[type[Strategy], StrategySource]:  # type: ignore[no-untyped-def]
    try:
        cls = point.load()
    except Exception as exc:  # the package's own code failed to import
        raise ConfigError(
            f"entry point {point.name!r} ({point.value}) failed to load: "
            f"{type(exc).__name__}: {exc}",
            "fix or reinstall the package that declares it",
        ) from exc
    _check_class(cls, point.value)
    dist = getattr(point.dist, "name", "?")
    _check_not_builtin(cls, point.value)
    return cls, StrategySource(point.name, "entry point", f"{dist}: {point.value}")


def _from_module(spec: str) -> tuple[type[Strategy], StrategySource]:
    module_name, _, class_name = spec.rpartition(":")
    try:
        module = _import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"strategy {spec!r}: module {module_name!r} not found ({exc.name} is missing)",
            "install the package, run from the folder that holds it, or give a file.py path",
        ) from None
    cls = _class_in(module, class_name, spec)
    return cls, StrategySource(spec, "module", module_name)


def _import_module(name: str) -> ModuleType:
    """Import `name`; a module in the current folder counts (as it does for `python -m`)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        here = str(Path.cwd())
        if here in sys.path or exc.name != name.split(".")[0]:
            raise
        sys.path.append(here)
        return importlib.import_module(name)


def _from_file(spec: str) -> tuple[type[Strategy], StrategySource]:
    file, _, class_name = spec.partition(":")
    path = Path(file).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(
            f"strategy file {path} not found",
            "check the path (relative paths start at the config file's folder)",
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    module = _load_file(path, digest)
    cls = _class_in(module, class_name, spec) if class_name else _only_strategy(module, path)
    resolved = f"{path}:{cls.__name__}"
    return cls, StrategySource(resolved, "file", str(path), digest)


def _load_file(path: Path, digest: str) -> ModuleType:
    """Execute a strategy file as its own module (once per content: an edit reloads it)."""
    name = f"playbook_user_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__playbook_sha256__", None) == digest:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py file always has a loader
    module = importlib.util.module_from_spec(spec)
    module.__playbook_sha256__ = digest  # type: ignore[attr-defined]
    sys.modules[name] = module  # dataclasses and pickle look a class's module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        line = _user_line(exc, path)
        raise ConfigError(
            f"strategy file {path}{line} failed to load: {type(exc).__name__}: {exc}",
            "fix the file (run `python " + str(path) + "` to see the traceback)",
        ) from exc
    return module


def _user_line(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f":{exc.lineno}"
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f":{line}" if line else ""


def strategies_in(module: ModuleType) -> list[type[Strategy]]:
    """The concrete Strategy classes a module defines (not the ones it imports)."""
    return [
        cls
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and issubclass(cls, Strategy)
        and cls.__module__ == module.__name__
        and not inspect.isabstract(cls)
    ]


def _only_strategy(module: ModuleType, path: Path) -> type[Strategy]:
    found = strategies_in(module)
    if len(found) != 1:
        names = ", ".join(cls.__name__ for cls in found) or "none"
        raise ConfigError(
            f"strategy file {path} defines {len(found)} Strategy classes ({names})",
            f"name one: {path}:ClassName",
        )
    cls = found[0]
    _check_class(cls, str(path))
    _check_not_builtin(cls, str(path))
    return cls


def _class_in(module: ModuleType, class_name: str, spec: str) -> type[Strategy]:
    cls = getattr(module, class_name, None)
    if cls is None:
        names = [c.__name__ for c in strategies_in(module)]
        defined = ", ".join(names) or "none"
        hint = did_you_mean(class_name, names, cutoff=0.4, otherwise=f"it defines {defined}")
        raise ConfigError(f"strategy {spec!r}: no class {class_name!r}", hint)
    _check_class(cls, spec)
    _check_not_builtin(cls, spec)
    return cls


def _check_class(cls: object, where: str) -> None:
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError(
            f"{where} is not a Strategy subclass", "subclass engine.core.strategy.Strategy"
        )
    if inspect.isabstract(cls):
        missing = sorted(cls.__abstractmethods__)
        raise ConfigError(
            f"{where}: {cls.__name__} does not implement {', '.join(missing)}",
            f"add {'it' if len(missing) == 1 else 'them'} (engine/core/strategy.py: the contract)",
        )
    for attribute in ("name", "thesis"):
        if not isinstance(getattr(cls, attribute, None), str):
            raise ConfigError(
                f"{where}: {cls.__name__} has no `{attribute}` string",
                f'set the class attribute, e.g. {attribute} = "..."',
            )
    params = getattr(cls, "Params", None)
    if not (inspect.isclass(params) and issubclass(params, StrategyParams)):
        raise ConfigError(
            f"{where}: {cls.__name__}.Params is {params!r}, not a StrategyParams subclass",
            "define class MyParams(StrategyParams) with its fields, then Params = MyParams",
        )


def _check_not_builtin(cls: type[Strategy], where: str) -> None:
    point = _builtin_points().get(cls.name)
    if point is not None and f"{cls.__module__}:{cls.__qualname__}" != point.value:
        raise ConfigError(
            f"{where}: {cls.__name__}.name {cls.name!r} is the name of a built-in strategy",
            "give your strategy its own `name` (built-ins cannot be shadowed)",
        )
