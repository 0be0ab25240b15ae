"""The test tree itself: pytest imports test files by their base name (rootdir-relative
packages are not used), so two test files of one name in different folders stop the whole
run at collection."""

from collections import Counter

from support import ROOT


def test_no_two_test_files_share_a_base_name() -> None:
    names = Counter(
        path.name for folder in ("tests", "packages") for path in (ROOT / folder).rglob("test_*.py")
    )
    assert [name for name, count in names.items() if count > 1] == []
