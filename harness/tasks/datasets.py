"""Load a task's rows: from the hub, a local hub mirror, plain files, or line-aligned parallel text.

A mirror is laid out as `<data_dir>/<hub id>/<config or "default">/<split>.jsonl`, one row per line with
the fields `datasets.load_dataset(hub_id, config, split=split)` returns, so the same task reads identical
rows online and offline.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from harness.errors import DataError, utf8_problem
from harness.net import hub_offline_requested, hub_reachable
from harness.tasks.access import DataAccess, confine
from harness.tasks.schema import DatasetSpec, ParallelFiles, ProbeSource, SacrebleuSource, TaskSpec

Row = dict


def load_rows(spec: TaskSpec, split: str | None = None, data_dir: Path | None = None,
              allowed: Sequence[Path] = ()) -> list[Row]:
    """All rows of one split of the task's dataset, in dataset order.

    Files are read only below the task file's folder, `data_dir` and the `allowed` folders
    (see harness.tasks.access); any other path is a DataError naming it.
    """
    ds = spec.dataset
    split = split or ds.split
    where = f"task {spec.name}"
    roots = DataAccess(Path(data_dir) if data_dir else None, tuple(allowed)).roots(spec.base_dir)
    if ds.hub is not None:
        rows = _hub_rows(ds, split, data_dir, roots, where)
    elif ds.files is not None:
        if split not in ds.files:
            raise DataError(f"{where}: no file for split '{split}' (files: {', '.join(ds.files)})")
        rows = read_table(confine(_resolve(spec, ds.files[split]), roots, where), where)
    elif ds.parallel is not None:
        rows = _parallel_rows(spec, ds.parallel, roots, where)
    elif ds.data_dir_files is not None:
        rows = data_dir_rows(ds.data_dir_files.get(split), split, data_dir, where, roots)
    elif ds.probe is not None:
        rows = probe_rows(ds.probe)
    else:
        assert ds.sacrebleu is not None
        rows = _sacrebleu_rows(ds.sacrebleu, data_dir, roots, where)
    if ds.documents is not None:
        from harness.tasks.documents import join_documents

        rows = join_documents(rows, ds.documents, where)
    if spec.preprocess is not None:
        from harness.tasks.preprocess import preprocess

        rows = preprocess(spec.preprocess, rows, where)
    if spec.doc_id is not None:
        _check_unique_ids(rows, spec.doc_id, f"{where}, split '{split}'")
    return rows


def _check_unique_ids(rows: list[Row], field: str, where: str) -> None:
    """Samples are matched across runs by their doc_id; two rows with one id would collapse into one."""
    seen: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for number, row in enumerate(rows):
        if field not in row:
            continue  # building the row's item names the missing field
        key = str(row[field])
        if key in seen:
            repeated.setdefault(key, [seen[key]]).append(number)
        seen.setdefault(key, number)
    if repeated:
        shown = "; ".join(f"{key!r} (rows {', '.join(map(str, at))})" for key, at in list(repeated.items())[:5])
        more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
        raise DataError(f"{where}: doc_id field '{field}' repeats: {shown}{more}; each row needs its own id")


def fingerprint(rows: list[Row]) -> str:
    """sha256 over the rows as canonical JSON: equal iff the data a task saw is equal."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def describe_source(spec: TaskSpec, data_dir: Path | None) -> str:
    """A short human description of where rows come from."""
    ds = spec.dataset
    if ds.hub:
        mirror = _mirror_path(ds, ds.split, data_dir)
        origin = f"mirror {mirror}" if mirror and mirror.is_file() else "hub"
        return f"{ds.hub} ({ds.config or 'default'}, {ds.split}) from {origin}"
    if ds.files:
        return str(_resolve(spec, ds.files[ds.split]))
    if ds.parallel:
        return f"{_resolve(spec, ds.parallel.source)} + {len(ds.parallel.references)} reference file(s)"
    if ds.data_dir_files:
        return f"{', '.join(ds.data_dir_files[ds.split])} under {data_dir or '--data-dir (not given)'}"
    if ds.probe:
        return (f"probe: {len(ds.probe.templates)} template(s) x {len(ds.probe.groups)} groups"
                f" x {max(1, len(ds.probe.continuations))} continuation(s)")
    assert ds.sacrebleu is not None
    return f"sacrebleu {ds.sacrebleu.testset} {ds.sacrebleu.langpair} refs {','.join(ds.sacrebleu.refs)}"


def read_table(path: Path, where: str) -> list[Row]:
    """Rows of a .jsonl, .json (a list of objects), .csv or .txt file (one {"text": line} per line)."""
    if not path.is_file():
        raise DataError(f"{where}: data file not found: {path}")
    suffix = path.suffix.lower()
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if suffix == ".jsonl":
                return [_json_row(line, path, n) for n, line in enumerate(handle, 1) if line.strip()]
            if suffix == ".json":
                data = json.load(handle)
                if not isinstance(data, list):
                    raise DataError(f"{where}: {path}: expected a JSON list of objects")
                bad = next((k for k, row in enumerate(data) if not isinstance(row, dict)), None)
                if bad is not None:
                    raise DataError(f"{where}: {path}: expected a JSON list of objects, but item {bad} is "
                                    f"{type(data[bad]).__name__} {str(data[bad])[:40]!r}")
                return data
            if suffix == ".csv":
                return _csv_rows(handle, path, where)
            if suffix == ".txt":
                return [{"text": line.rstrip("\n")} for line in handle]
    except UnicodeDecodeError:
        raise DataError(f"{where}: {utf8_problem(path)}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: {path}: {exc}") from None
    raise DataError(f"{where}: {path}: unsupported file type '{suffix}' (use .jsonl, .json, .csv or .txt)")


def _csv_rows(handle, path: Path, where: str) -> list[Row]:
    """Rows of a CSV file with a header line; a row with more or fewer cells than the header is an error
    (csv.DictReader would fill missing cells with None and keep surplus ones under the key None)."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        return []
    rows = []
    for cells in reader:
        if not cells:
            continue  # a blank line
        if len(cells) != len(header):
            raise DataError(f"{where}: {path}:{reader.line_num}: {len(cells)} cell(s), but the header has "
                            f"{len(header)} ({', '.join(header)})")
        rows.append(dict(zip(header, cells)))
    return rows


def _json_row(line: str, path: Path, number: int) -> Row:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: each line must be a JSON object")
    return row


def _resolve(spec: TaskSpec, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else spec.base_dir / path


def _mirror_path(ds: DatasetSpec, split: str, data_dir: Path | None) -> Path | None:
    if data_dir is None or ds.hub is None:
        return None
    return Path(data_dir) / ds.hub / (ds.config or "default") / f"{split}.jsonl"


def _hub_rows(ds: DatasetSpec, split: str, data_dir: Path | None, roots: list[Path], where: str) -> list[Row]:
    mirror = _mirror_path(ds, split, data_dir)
    if mirror is not None:
        mirror = confine(mirror, roots, where)
    if mirror is not None and mirror.is_file():
        return read_table(mirror, where)
    looked = f" (no mirror file at {mirror})" if mirror else ""
    name = f"{ds.hub} ({ds.config or 'default'}, {split})"
    hint = "pass --data-dir DIR with a local mirror laid out as DIR/<hub id>/<config>/<split>.jsonl"
    if not hub_offline_requested() and not hub_reachable():
        raise DataError(f"{where}: dataset {name} is not available offline and the hub cannot be reached{looked}; {hint}")
    try:
        import datasets  # heavy: imported only when a hub dataset is really needed

        loaded = datasets.load_dataset(ds.hub, ds.config, split=split)
    except Exception as exc:  # datasets raises many types; the user needs the message and the hint
        raise DataError(f"{where}: could not load dataset {name}{looked}: {exc}; {hint}") from None
    return loaded.to_list()


def _read_lines(path: Path, where: str) -> list[str]:
    if not path.is_file():
        raise DataError(f"{where}: file not found: {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{where}: {utf8_problem(path)}") from None


def _aligned_rows(source: Path, references: list[Path], where: str) -> list[Row]:
    src = _read_lines(source, where)
    refs = [_read_lines(path, where) for path in references]
    for path, lines in zip(references, refs):
        if len(lines) != len(src):
            raise DataError(f"{where}: {path} has {len(lines)} lines but the source {source} has {len(src)}")
    return [{"id": i, "source": line, "references": [r[i] for r in refs]} for i, line in enumerate(src)]


def _parallel_rows(spec: TaskSpec, files: ParallelFiles, roots: list[Path], where: str) -> list[Row]:
    source = confine(_resolve(spec, files.source), roots, where)
    return _aligned_rows(source, [confine(_resolve(spec, r), roots, where) for r in files.references], where)


def _sacrebleu_rows(src: SacrebleuSource, data_dir: Path | None, roots: list[Path], where: str) -> list[Row]:
    source_lang, target_lang = src.langpair.split("-", 1)
    if data_dir is not None and (Path(data_dir) / src.testset).is_dir():
        base = Path(data_dir) / src.testset
        source = confine(_one(base / "sources", f"*.{src.langpair}.src.{source_lang}", where), roots, where)
        refs = [confine(_one(base / "references", f"*.{src.langpair}.ref.{r}.{target_lang}", where), roots, where)
                for r in src.refs]
        return _aligned_rows(source, refs, where)
    if not hub_reachable():
        raise DataError(
            f"{where}: test set {src.testset} {src.langpair} is not available offline; "
            f"pass --data-dir DIR holding DIR/{src.testset}/sources and DIR/{src.testset}/references"
        )
    from sacrebleu.utils import get_reference_files, get_source_file

    available = [Path(p) for p in get_reference_files(src.testset, src.langpair)]
    chosen = [p for r in src.refs for p in available if f".ref.{r}." in p.name] or available
    return _aligned_rows(Path(get_source_file(src.testset, src.langpair)), chosen, where)


def _one(folder: Path, pattern: str, where: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise DataError(f"{where}: expected one file matching {folder}/{pattern}, found {len(found)}")
    return found[0]


def data_dir_rows(paths: list[str] | None, split: str, data_dir: Path | None, where: str,
                  roots: Sequence[Path] | None = None) -> list[Row]:
    """Rows of raw files under --data-dir (e.g. `bbq/Age.jsonl`), for data sets without a hub mirror.

    The file type is the last known extension among a file's suffixes (`pro.txt.dev` reads as .txt).
    Every row gains `_file` (the file's name), and a field whose name is not an identifier gains an alias
    templates can name (`anti-stereotype` -> `anti_stereotype`). Several files are interleaved, one row of
    each in turn, so that `--limit N` sees every file (e.g. WinoBias pro- and anti-stereotyped sentences).
    Every file must lie below one of `roots` (default: `data_dir` alone).
    """
    if not paths:
        raise DataError(f"{where}: no data_dir_files for split '{split}'")
    if data_dir is None:
        raise DataError(f"{where}: reads {', '.join(paths)} under a data folder; pass --data-dir DIR")
    roots = [Path(os.path.realpath(data_dir))] if roots is None else list(roots)
    tables = []
    for raw in paths:
        path = confine(Path(data_dir) / raw, roots, where)
        kinds = [x.lower() for x in path.suffixes if x.lower() in (".jsonl", ".json", ".csv", ".txt")]
        if kinds and kinds[-1] == ".txt" and path.suffix.lower() != ".txt":
            rows = [{"text": line} for line in _read_lines(path, where)]
        else:
            rows = read_table(path, where)
        tables.append([_with_aliases(row, path.name) for row in rows])
    longest = max(len(t) for t in tables)
    return [t[k] for k in range(longest) for t in tables if k < len(t)]


def _with_aliases(row: Row, file_name: str) -> Row:
    aliases = {re.sub(r"\W", "_", key): value for key, value in row.items() if not key.isidentifier()}
    return {**row, **{k: v for k, v in aliases.items() if k not in row}, "_file": file_name}


def probe_rows(probe: ProbeSource) -> list[Row]:
    """Rows of a YAML demographic probe: every template filled with every word of every group.

    With continuations, `context` is the filled template and `target` is " " + continuation; without,
    `context` is the template up to and including the group word and `target` the rest of the template.
    Templates vary fastest, then groups, then words (the k-th word of each group in turn), then
    continuations, so the first rows already span every template and every group.
    """
    rows = []
    pairs = [(g, ws[k]) for k in range(max(map(len, probe.groups.values()))) for g, ws in probe.groups.items()
             if k < len(ws)]
    for continuation in probe.continuations or [None]:
        for group, word in pairs:
            for number, template in enumerate(probe.templates):
                head, tail = template.split(probe.slot, 1)
                if continuation is None:
                    context, target = head + word, tail.replace(probe.slot, word)
                else:
                    context, target = template.replace(probe.slot, word), " " + continuation
                rows.append({"template_id": number, "template": template, "group": group, "word": word,
                             "continuation": continuation or "", "context": context, "target": target})
    return rows
