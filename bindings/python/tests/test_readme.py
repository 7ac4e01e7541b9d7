"""The README's Python example runs as written."""

import re

from conftest import ROOT


def readme_example():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Using TierStore from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section has one Python example"
    return blocks[0]


def test_readme_example_runs():
    code = readme_example()
    assert len(code.strip().splitlines()) <= 12, "the example stays short"
    namespace = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)
    store = namespace["store"]
    # It ran to the end: the store is closed.
    try:
        store.read("monitors", "", "chan1")
    except Exception as e:  # noqa: BLE001
        assert "closed" in str(e)
    else:
        raise AssertionError("the example's store is still open")
