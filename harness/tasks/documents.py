"""Join line rows into documents: wikitext's articles from its line-per-row hub dataset.

`Salesforce/wikitext` holds one line of the raw file per row (`{"text": " = Robert Boulter = \\n"}`,
blank lines as `""`); lm-eval scores whole articles (`EleutherAI/wikitext_document_level`, whose
`page` is the article's lines joined with newlines, an article starting at a top-level ` = Title = `
heading). `join_documents` rebuilds those documents from the line rows, so one task definition reads
the same documents from the hub and from a local mirror.
"""
from __future__ import annotations

import re

from harness.errors import DataError
from harness.tasks.schema import DocumentsSpec


def join_documents(rows: list[dict], spec: DocumentsSpec, where: str) -> list[dict]:
    """Documents, in order: a row whose `spec.field` matches `spec.start` begins a new one.

    Whitespace-only documents (blank lines before the first heading) are dropped, as the document-level
    wikitext builder drops them.
    """
    try:
        start = re.compile(spec.start)
    except re.error as exc:
        raise DataError(f"{where}: dataset.documents.start is not a valid regular expression: {exc}") from None
    documents: list[list[str]] = [[]]
    for number, row in enumerate(rows):
        value = row.get(spec.field)
        if not isinstance(value, str):
            raise DataError(f"{where}, row {number}, field '{spec.field}': expected text, got {value!r}")
        if start.match(value) and documents[-1]:
            documents.append([])
        documents[-1].append(value.rstrip("\n"))
    texts = (spec.joiner.join(lines) for lines in documents)
    return [{spec.into: text} for text in texts if text.strip()]
