"""Point an lm-eval task at a local hub mirror (--data-dir) instead of the hub.

lm-eval loads a task's data with `datasets.load_dataset(dataset_path, dataset_name)` and then picks splits by
name. A mirror holds `<data_dir>/<dataset_path>/<dataset_name or "default">/<split>.jsonl` with the records
`load_dataset` would return, so the same task reads identical rows when its config says
`dataset_path: json` with `data_files` naming those files. Without the mirror files the hub would be tried
(and on a machine without network, retried for about a minute): a missing file is an error at once.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import yaml

from harness.errors import DataError, TaskError

LOCAL_BUILDERS = {"json", "csv", "parquet", "text", "arrow"}
"""dataset_path values that already name local files; such tasks are left as they are."""


def mirror_file(data_dir: Path, dataset_path: str, dataset_name: str | None, split: str) -> Path:
    return Path(data_dir) / dataset_path / (dataset_name or "default") / f"{split}.jsonl"


def _fewshot_split(cfg: dict[str, Any]) -> str | None:
    """The split lm-eval draws few-shot examples from: fewshot_split, else training, else validation."""
    fewshot = cfg.get("fewshot_config") or {}
    return (fewshot.get("split") if isinstance(fewshot, dict) else None) or cfg.get("fewshot_split") \
        or cfg.get("training_split") or cfg.get("validation_split")


def check_mirror(cfg: dict[str, Any], data_dir: Path, task: str, num_fewshot: int | None) -> bool:
    """Whether `cfg` reads from the hub (so from the mirror under `data_dir`); raises DataError naming the
    file when the mirror lacks the split the task evaluates on, or the one it draws few-shot examples from."""
    path = cfg.get("dataset_path")
    if not path or path in LOCAL_BUILDERS or cfg.get("custom_dataset") is not None:
        return False
    name = cfg.get("dataset_name")
    eval_split = cfg.get("test_split") or cfg.get("validation_split")
    if eval_split is None:
        raise TaskError(f"task lm_eval:{task}: its config names no test_split or validation_split to evaluate on")
    shots = num_fewshot if num_fewshot is not None else int(cfg.get("num_fewshot") or 0)
    needed = {eval_split} | ({_fewshot_split(cfg)} if shots > 0 and _fewshot_split(cfg) else set())
    for split in sorted(needed):
        file = mirror_file(data_dir, path, name, split)
        if not file.is_file():
            purpose = "evaluates on" if split == eval_split else "draws few-shot examples from"
            raise DataError(f"task lm_eval:{task}: no mirror of {path} ({name or 'default'}), split '{split}' "
                            f"that it {purpose}: {file} does not exist (--data-dir {data_dir})")
    return True


def mirrored_config(cfg: dict[str, Any], data_dir: Path, task: str, num_fewshot: int | None) -> dict[str, Any]:
    """`cfg` (an lm-eval task config) reading its splits from the mirror under `data_dir` (see check_mirror).
    Splits the mirror lacks and the run does not need are dropped, so lm-eval never looks for them."""
    if not check_mirror(cfg, data_dir, task, num_fewshot):
        return cfg
    path, name = cfg["dataset_path"], cfg.get("dataset_name")
    out = dict(cfg)
    files: dict[str, str] = {}
    for key in ("training_split", "validation_split", "test_split", "fewshot_split"):
        split = cfg.get(key)
        if split is None:
            continue
        file = mirror_file(data_dir, path, name, split)
        if file.is_file():
            files[split] = str(file.resolve())
        else:
            out[key] = None
    kwargs = {k: v for k, v in (cfg.get("dataset_kwargs") or {}).items() if k not in ("trust_remote_code", "revision")}
    out.update(dataset_path="json", dataset_name=None, dataset_kwargs={**kwargs, "data_files": files})
    metadata = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    out["metadata"] = {**metadata, "mirrored_from": f"{path} {name or 'default'}"}
    return out


def task_config(manager: Any, task: str) -> dict[str, Any]:
    """The full config (includes resolved) of registered task `task`, as lm-eval would build it."""
    entry = manager.task_index.get(task)
    kind = getattr(getattr(entry, "kind", None), "name", "")
    if entry is None or kind not in ("TASK", "PY_TASK"):
        raise TaskError(f"task lm_eval:{task}: with --data-dir, name one of lm-eval's tasks (not a group or tag): "
                        "each task is pointed at its own mirror files")
    try:
        cfg = manager._factory._load_full_config(entry)  # noqa: SLF001 - lm-eval has no public way to read it
    except AttributeError:
        raise TaskError(f"task lm_eval:{task}: reading lm-eval tasks from --data-dir needs the task manager "
                        "of lm-eval 0.4.13 (the version evalh is tested with)") from None
    if "class" in cfg:
        raise TaskError(f"task lm_eval:{task}: a Python-class task of lm-eval cannot be pointed at --data-dir")
    for key in ("tag", "group", "task_list"):
        cfg.pop(key, None)
    return cfg


def task_file(task: str, include_paths: tuple[str, ...]) -> Path | None:
    """The YAML file that declares `task: <task>`, searched in the user's include paths first
    (they take precedence in lm-eval too), then in lm-eval's own tasks; None if no file declares it.

    lm-eval's TaskManager parses every one of its ~14,000 YAML files before it can load one task (tens of
    seconds here); a text search for the declaring line takes about a second, and a TaskManager over that
    one folder then loads the task as the full one would (includes are resolved relative to each file)."""
    spec = importlib.util.find_spec("lm_eval")  # its folder, without importing it (and datasets) yet
    builtin = [Path(p) / "tasks" for p in (spec.submodule_search_locations or [])] if spec else []
    line = re.compile(rf"^task:\s*['\"]?{re.escape(task)}['\"]?\s*$", re.MULTILINE)
    roots = [*(Path(p) for p in include_paths), *builtin]
    for root in roots:
        for path in sorted(root.rglob("*.yaml")) if root.is_dir() else []:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if task in text and line.search(text):
                return path
    return None


def _plain_config(path: Path, depth: int = 0) -> dict[str, Any]:
    """A task YAML's keys with its `include:` chain merged (the file's own keys win), read without running
    anything: `!function` values become None. Enough to find the dataset a task reads before lm-eval loads."""
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    try:
        cfg = yaml.load(path.read_text(encoding="utf-8"), Loader=Loader) or {}  # noqa: S506 - SafeLoader subclass
    except (OSError, yaml.YAMLError):
        return {}
    base = cfg.get("include") if isinstance(cfg, dict) else None
    if isinstance(base, str) and depth < 8:
        return {**_plain_config(path.parent / base, depth + 1), **cfg}
    return cfg if isinstance(cfg, dict) else {}


def precheck(task: str, include_paths: tuple[str, ...], data_dir: Path, num_fewshot: int | None) -> Path | None:
    """Before lm-eval and datasets are imported (seconds): the file declaring `task`, after checking that the
    mirror holds the splits it needs (DataError naming the missing file otherwise); None if no file declares it."""
    path = task_file(task, include_paths)
    if path is not None:
        check_mirror(_plain_config(path), data_dir, task, num_fewshot)
    return path
