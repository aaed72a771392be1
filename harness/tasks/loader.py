"""Find task YAML files, validate them into TaskSpecs, and resolve names and groups.

Sources, later ones overriding earlier ones by task name: the built-in tasks/ folder, folders named by
installed packages through the `evalh.tasks` entry point group, then each --include-path folder.
A file that cannot be read becomes a `BrokenTaskFile` instead of stopping everything else.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from pydantic import ValidationError

from harness.errors import TaskError, did_you_mean, utf8_problem
from harness.paths import builtin_tasks_dir
from harness.tasks.schema import TaskSpec


@dataclass(frozen=True)
class BrokenTaskFile:
    """A task file that could not be loaded, and why (with file and line)."""

    path: Path
    message: str


@dataclass
class TaskIndex:
    """Every task found, by name, plus the groups they declare and the files that failed to load."""

    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    broken: list[BrokenTaskFile] = field(default_factory=list)

    @property
    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for spec in self.tasks.values():
            for group in spec.groups:
                out.setdefault(group, []).append(spec.name)
        return {g: sorted(names) for g, names in sorted(out.items())}

    def resolve(self, names: Sequence[str]) -> tuple[list[TaskSpec], dict[str, TaskError]]:
        """Expand task and group names, in order, without repeats; unknown names map to their errors."""
        chosen: dict[str, TaskSpec] = {}
        errors: dict[str, TaskError] = {}
        groups = self.groups
        for name in names:
            if name in self.tasks:
                chosen.setdefault(name, self.tasks[name])
            elif name in groups:
                for member in groups[name]:
                    chosen.setdefault(member, self.tasks[member])
            else:
                errors[name] = TaskError(self._unknown(name))
        return list(chosen.values()), errors

    def _unknown(self, name: str) -> str:
        for broken in self.broken:
            if name in (broken.path.stem, _declared_name(broken.path)):
                return broken.message
        message = f"unknown task or group '{name}'" + did_you_mean(name, [*self.tasks, *self.groups])
        if self.broken:
            listed = "; ".join(f"{b.message}" for b in self.broken[:3])
            message += f". {len(self.broken)} task file(s) could not be read: {listed}"
        else:
            message += ". 'evalh list tasks' shows them all"
        return message


def _declared_name(path: Path) -> str | None:
    """The `name:` a task file that failed to load gives itself, when a plain line says it."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r"""^name:\s*["']?([A-Za-z0-9_.\-]+)["']?\s*$""", text, re.MULTILINE)
    return found.group(1) if found else None


def load_task_file(path: Path) -> TaskSpec:
    """Read and validate a task file that defines one task; errors name the file, the line and the field."""
    specs = load_task_files(path)
    if len(specs) != 1:
        raise TaskError(f"{path}: defines {len(specs)} tasks (a `matrix:`); expected one")
    return specs[0]


def load_task_files(path: Path) -> list[TaskSpec]:
    """The tasks a file defines: one, or one per entry of its `matrix:`.

    `include: FILE` (a path relative to the file, inside its folder) starts from that file's fields; the
    file's own fields win, and nested mappings (`dataset:`, `generation:`) merge key by key. `matrix:` is
    a list of mappings of variables; each entry gives one task, with `${name}` in every string of the file
    replaced by the entry's value. Files whose names start with `_` are such bases, not tasks.
    """
    raw = _read_mapping(path)
    text = path.read_text(encoding="utf-8")
    matrix = raw.pop("matrix", None)
    if matrix is None:
        return [_validate(path, text, raw)]
    if not isinstance(matrix, list) or not matrix or not all(isinstance(row, dict) for row in matrix):
        raise TaskError(f"{path}: field 'matrix': expected a non-empty list of mappings of variables")
    return [_validate(path, text, _substitute(raw, row, f"{path}: matrix entry {k + 1}"), f" (matrix entry {k + 1})")
            for k, row in enumerate(matrix)]


def _validate(path: Path, text: str, raw: dict, where: str = "") -> TaskSpec:
    try:
        return TaskSpec(**raw, source_file=path)
    except ValidationError as exc:
        raise TaskError(_explain_validation(path, text, exc) + where) from None


def _read_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A task file's fields, with its `include:` chain merged underneath."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TaskError(utf8_problem(path)) from None
    except OSError as exc:
        raise TaskError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaskError(f"{where}: malformed YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise TaskError(f"{path}: a task file must be a mapping of fields, got {type(raw).__name__}")
    include = raw.pop("include", None)
    if include is None:
        return raw
    base = path.parent / str(include)
    if Path(str(include)).is_absolute() or ".." in Path(str(include)).parts or base.suffix != ".yaml":
        raise TaskError(f"{path}: field 'include': {include!r} must name a .yaml file inside the task's folder")
    if base.resolve() in seen or base.resolve() == path.resolve():
        raise TaskError(f"{path}: field 'include': {include} includes itself")
    return _merged(_read_mapping(base, (*seen, path.resolve())), raw)


def _merged(base: dict, own: dict) -> dict:
    out = dict(base)
    for key, value in own.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


_VARIABLE = re.compile(r"\$\{(\w+)\}")


def _substitute(node: object, row: dict, where: str) -> object:
    """`node` with every `${name}` in its strings replaced by `row[name]`; an unknown name is an error."""
    if isinstance(node, str):
        def value(match: re.Match) -> str:
            if match.group(1) not in row:
                raise TaskError(f"{where}: no variable '{match.group(1)}' (it has {', '.join(sorted(row))})")
            return str(row[match.group(1)])

        return _VARIABLE.sub(value, node)
    if isinstance(node, list):
        return [_substitute(v, row, where) for v in node]
    if isinstance(node, dict):
        return {k: _substitute(v, row, where) for k, v in node.items()}
    return node


def _explain_validation(path: Path, text: str, exc: ValidationError) -> str:
    lines = {key: number for number, key in _top_level_keys(text)}
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        field_name = ".".join(loc) or "(file)"
        line = lines.get(loc[0]) if loc else None
        where = f"{path}:{line}" if line else str(path)
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: field '{field_name}': {message}")
    return "; ".join(parts)


def _top_level_keys(text: str) -> Iterable[tuple[int, str]]:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(key.start_mark.line + 1, str(key.value)) for key, _ in node.value]


def task_dirs(include_paths: Sequence[str | Path] = ()) -> list[Path]:
    """Built-in folder, entry-point folders, then the user's folders (must exist)."""
    dirs = [builtin_tasks_dir()]
    for ep in entry_points(group="evalh.tasks"):
        try:
            target = ep.load()
            dirs.append(Path(target() if callable(target) else target))
        except Exception as exc:  # a broken plugin must not take the built-ins down
            raise TaskError(f"task plugin '{ep.name}' ({ep.value}) failed to load: {exc}") from None
    for raw in include_paths:
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise TaskError(f"--include-path {raw}: no such folder")
        dirs.append(path)
    return dirs


def build_index(include_paths: Sequence[str | Path] = ()) -> TaskIndex:
    """Load every task file under the task folders into one index."""
    index = TaskIndex()
    for folder in task_dirs(include_paths):
        for path in sorted(folder.rglob("*.yaml")):
            if path.name.startswith("_") or _is_lm_eval_file(path):
                continue  # a base for `include:`, or an lm-eval task (--tasks lm_eval:NAME reads it through lm-eval)
            try:
                specs = load_task_files(path)
            except TaskError as exc:
                index.broken.append(BrokenTaskFile(path, str(exc)))
                continue
            for spec in specs:
                index.tasks[spec.name] = spec
    return index


def _is_lm_eval_file(path: Path) -> bool:
    """lm-eval task files name themselves with `task:` (or `group:`) where evalh's use `name:`."""
    try:
        head = path.read_text(encoding="utf-8")[:4000]
    except (OSError, UnicodeDecodeError):
        return False
    keys = {line.split(":", 1)[0] for line in head.splitlines() if line and not line[0].isspace() and ":" in line}
    return "name" not in keys and bool(keys & {"task", "group", "dataset_path"})
