"""Parquet and Feather work out of the box: pandas round-trips a frame through both (Japanese
column names, tz-aware timestamps), the contents listing names pyarrow's version, and the Arrow C++
libraries come only with pyarrow (no second copy for another package to load by mistake)."""

import json

import pytest

from imagectl import contents, lock

ROUND_TRIP = r"""
import json, sys
import pandas as pd
frame = pd.DataFrame({
    "売上": [1200, 980, 15000],
    "店舗": ["東京", "大阪", "名古屋"],
    "計測時刻": pd.date_range("2026-03-31 23:30", periods=3, freq="45min", tz="Asia/Tokyo"),
    "rate": [0.5, float("nan"), 2.25],
})
path = f"/tmp/round-trip.{sys.argv[1]}"
getattr(frame, f"to_{sys.argv[1]}")(path)
back = getattr(pd, f"read_{sys.argv[1]}")(path)
pd.testing.assert_frame_equal(back, frame)
print(json.dumps({"columns": list(back.columns), "tz": str(back["計測時刻"].dt.tz),
                  "first": back["計測時刻"].iloc[0].isoformat()}))
"""


@pytest.mark.parametrize("file_format", ["parquet", "feather"])
def test_pandas_round_trips_japanese_columns_and_tz_aware_times(host, file_format) -> None:
    result = host.run("python -c %s %s", ROUND_TRIP, file_format)
    assert result.rc == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["columns"] == ["売上", "店舗", "計測時刻", "rate"]
    assert out["tz"] == "Asia/Tokyo"
    assert out["first"] == "2026-03-31T23:30:00+09:00"


def test_contents_name_the_locked_pyarrow(host, locked_versions) -> None:
    listed = json.loads(host.file(contents.EMBEDDED_PATH).content_string)
    assert listed["python_packages"]["pyarrow"] == locked_versions["pyarrow"]


# Which distributions ship a file named libarrow*.so* (their RECORDs list it), and every such
# file on the disk: a second Arrow (another wheel vendoring it, or Debian's libarrow) would show
# up in one or the other. grep and find, not Python: under QEMU a Python scan of every RECORD
# took over a minute.
SITE_PACKAGES = "/opt/venv/lib/python3.13/site-packages"
FIND_ARROW = (
    f"grep -lE '(^|/)libarrow[^/,]*\\.so' {SITE_PACKAGES}/*.dist-info/RECORD; echo --; "
    "find / -xdev -name 'libarrow*.so*'"
)


def test_arrow_cpp_libraries_come_only_with_pyarrow(root_host) -> None:
    records, _, files = root_host.check_output(FIND_ARROW).partition("--")
    shipped_by = [record.split("/")[-2].split("-")[0] for record in records.split()]
    assert [lock.normalize(name) for name in shipped_by] == ["pyarrow"]
    assert files.split(), "found no libarrow at all"
    assert [f for f in files.split() if not f.startswith(f"{SITE_PACKAGES}/pyarrow/")] == []
