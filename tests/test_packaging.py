"""What a user gets from the repository: complete package metadata and a README that renders."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_licence_is_an_spdx_expression_with_its_file() -> None:
    # A `license = { text = ... }` table is deprecated: setuptools stops building it on 2027-02-18.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["authors"]
    assert project["classifiers"]
    assert project["keywords"]


def test_every_code_block_of_the_readme_is_closed() -> None:
    fences = [line for line in README.splitlines() if line.startswith("```")]
    closing = fences[1::2]
    assert len(fences) % 2 == 0, "a ``` block is never closed"
    # A block left open swallows the next block's opening line (```sh) as its end.
    assert all(line.strip() == "```" for line in closing), closing


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_link_inside_the_readme_points_at_a_heading() -> None:
    outside_code = re.sub(r"```.*?```", "", README, flags=re.S)
    headings = {_anchor(line.lstrip("#")) for line in outside_code.splitlines() if line.startswith("#")}
    links = re.findall(r"\]\(#([^)]+)\)", outside_code)
    assert links, "the README links to its own sections"
    assert [link for link in links if link not in headings] == []


def test_the_readme_says_what_the_first_command_needs() -> None:
    before_first_command = README[: README.index("pip install . && community-dashboard --demo")]
    assert "Python 3.11" in before_first_command
    assert "virtual" in before_first_command


def test_the_readme_says_where_the_log_is_and_how_it_rotates() -> None:
    assert "~/.local/state/community-dashboard/community-dashboard.log" in README
    assert "$COMMUNITY_DASHBOARD_LOG" in README
    assert "`--log-level LEVEL`" in README
    assert "rotates at 1 MB and keeps 5 old files" in README


def test_the_readme_documents_url_env() -> None:
    assert "| `url_env` |" in README
