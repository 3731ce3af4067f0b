"""SECURITY.md is the project's own requirement list, and every requirement in it is a test.

Citations take the forms the code uses: "SECURITY.md 14", "SECURITY.md item 4",
"SECURITY.md items 14-15", "SECURITY.md 14, 15", "SECURITY.md 24 and 26".
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "SECURITY.md"
CITATION = re.compile(r"SECURITY\.md,?\s+(?:items?\s+)?(\d+(?:\s*(?:-|,|and)\s*\d+)*)")
ITEM = re.compile(r"^(\d+)\. ", re.MULTILINE)
IN_PROGRESS = re.compile(r"^(\d+)\. \*\(in progress\)\*", re.MULTILINE)


def requirements() -> set[int]:
    return {int(n) for n in ITEM.findall(DOC.read_text(encoding="utf-8"))}


def in_progress() -> set[int]:
    return {int(n) for n in IN_PROGRESS.findall(DOC.read_text(encoding="utf-8"))}


def cited(text: str) -> set[int]:
    numbers: set[int] = set()
    for match in CITATION.finditer(text):
        for part in re.split(r"\s*(?:,|and)\s*", match.group(1)):
            low, _, high = part.partition("-")
            numbers.update(range(int(low), int(high or low) + 1))
    return numbers


def citations(folder: str) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for number in cited(path.read_text(encoding="utf-8")):
            found.setdefault(number, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_citation_reader_reads_every_form() -> None:
    text = "SECURITY.md 14; SECURITY.md item 4, SECURITY.md items 20-22 and SECURITY.md 24 and 26"
    assert cited(text) == {4, 14, 20, 21, 22, 24, 26}


def test_the_requirements_are_numbered_without_gaps() -> None:
    numbers = requirements()
    assert numbers == set(range(1, max(numbers) + 1))


def test_every_requirement_is_cited_by_a_test() -> None:
    untested = requirements() - in_progress() - set(citations("tests"))
    assert not untested, f"SECURITY.md items with no test citing them: {sorted(untested)}"


def test_an_item_in_progress_has_no_test_yet() -> None:
    """The marker goes as soon as a test cites the item: no requirement stays "in progress"."""
    done = in_progress() & set(citations("tests"))
    assert not done, f"SECURITY.md items marked in progress but tested: {sorted(done)}"


def test_every_citation_names_a_requirement_that_exists() -> None:
    known = requirements()
    for folder in ("chalicelib", "tests", "infra", "bench", "examples"):
        stray = {n: files for n, files in citations(folder).items() if n not in known}
        assert not stray, f"citations of SECURITY.md items that do not exist: {stray}"


def test_the_readme_points_at_the_project_document() -> None:
    assert DOC.is_file()
    assert "SECURITY.md" in (ROOT / "README.md").read_text(encoding="utf-8")
