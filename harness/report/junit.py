"""JUnit XML for CI test panels: one test case per compared task, a failure per regression."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.report.compare import IMPROVEMENT, REGRESSION, CompareResult
from harness.report.textfmt import fmt_p, fmt_value, one_line

_XML_BAD = {c: None for c in range(32) if c not in (9, 10, 13)}


def _clean(text: str) -> str:
    """XML 1.0 forbids most control characters even when escaped; drop them."""
    return str(text).translate(_XML_BAD)


def compare_junit(result: CompareResult, flips_limit: int = 20) -> str:
    """A <testsuites> document; ElementTree escapes every attribute and text."""
    suites = ET.Element("testsuites", name="evalh compare")
    suite = ET.SubElement(suites, "testsuite", name="evalh compare", tests=str(len(result.rows)),
                          failures=str(len(result.regressions)), errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for name, value in (("baseline", result.baseline), ("candidate", result.candidate),
                        ("alpha", f"{result.alpha:g}"), ("max_drop", f"{result.max_drop:g}")):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    for row in result.rows:
        case = ET.SubElement(suite, "testcase", classname=_clean(f"evalh.{row.model}"),
                             name=_clean(f"{row.task}.{row.metric}"), time="0")
        t = row.result
        summary = (f"{row.metric} {fmt_value(row.base_value)} -> {fmt_value(row.cand_value)} "
                   f"(delta {t.delta:+.4g}, CI [{fmt_value(t.ci_low)}, {fmt_value(t.ci_high)}], p {fmt_p(t.p_value)}, "
                   f"Holm p {fmt_p(row.p_holm)}, {t.test}, n {row.n})")
        flips = "\n".join(f"{f.sample_id}: {fmt_value(f.base_score)} -> {fmt_value(f.cand_score)} "
                          f"baseline {one_line(f.base_response)!r} candidate {one_line(f.cand_response)!r}"
                          for f in row.flips[:flips_limit])
        if row.verdict == REGRESSION:
            failure = ET.SubElement(case, "failure", message=_clean(f"regression: {summary}"), type="regression")
            failure.text = _clean(flips)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _clean(f"{'improvement' if row.verdict == IMPROVEMENT else row.verdict}: {summary}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
