"""Japanese survives styling: after every matplotlib built-in style (plt.style.available, and
"default", matplotlib's own defaults), seaborn's set_theme/set/set_style/set_context with their
defaults and each of their choices, and in pandas' .plot, a plot with Japanese text draws every
glyph (no "Glyph ... missing from font(s)" warning) and its Japanese characters come from a Noto
CJK face. The image keeps a CJK face at the end of every font.family (analysis_template_site)."""

from __future__ import annotations

import json

import pytest

# The same on every platform (the font hook is pure Python; the arm64 image's own CJK
# rendering is test_japanese.py's plot): another platform's image, run
# under QEMU, skips these.
pytestmark = pytest.mark.same_on_every_platform

# One Python run draws a figure after each styling call, recording the warnings and which
# face each Japanese character of the title, a label and a tick label is drawn with: the first
# font having its glyph in the list matplotlib's renderer builds from the text's properties.
RENDER_EACH_STYLE = r"""
import json, warnings
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import font_manager as fm

TITLE, LABEL, TICK = "気温と売上の関係", "売上（円）", "ひらがなカタカナ"

def faces(text_artist):
    paths = fm.fontManager._find_fonts_by_props(text_artist.get_fontproperties())
    fonts = [fm.get_font(path) for path in paths]
    found = {}
    for ch in text_artist.get_text():
        if not ch.isascii() and not ch.isspace():
            having = [font.family_name for font in fonts if font.get_char_index(ord(ch))]
            found[ch] = having[0] if having else None
    return found

def draw(name, plot=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if plot is None:
            fig, ax = plt.subplots()
            ax.plot([1, 2, 3], [3, 1, 2])
            ax.set_xticks([1, 2, 3], [TICK, "二", "三"])
        else:
            ax = plot()
            fig = ax.figure
        title = ax.set_title(TITLE)
        ax.set_ylabel(LABEL)
        fig.savefig("/tmp/style.png")
        used = {}
        for artist in [title, ax.yaxis.label, *ax.get_xticklabels()]:
            used.update(faces(artist))
        plt.close(fig)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    results[name] = {"missing": missing, "faces": sorted(set(used.values())),
                     "family": list(matplotlib.rcParams["font.family"])}

results = {}
for style in ["default", *plt.style.available]:
    plt.style.use("default")
    plt.style.use(style)
    draw(f"plt.style.use({style!r})")
for name, call in [
    ("sns.set_theme()", lambda: sns.set_theme()),
    ("sns.set()", lambda: sns.set()),
    *[(f"sns.set_style({s!r})", lambda s=s: sns.set_style(s))
      for s in ["darkgrid", "whitegrid", "dark", "white", "ticks"]],
    *[(f"sns.set_context({c!r})", lambda c=c: sns.set_context(c))
      for c in ["paper", "notebook", "talk", "poster"]],
    ("sns.set_theme(style='ticks', context='talk', font_scale=1.2)",
     lambda: sns.set_theme(style="ticks", context="talk", font_scale=1.2)),
]:
    plt.style.use("default")
    call()
    draw(name)
frame = pd.DataFrame({"売上": [3, 1, 2], "気温": [1, 2, 3]}, index=["一月", "二月", "三月"])
sns.set_theme()
draw("DataFrame.plot() after sns.set_theme()", lambda: frame.plot())
plt.style.use("ggplot")
draw("DataFrame.plot.bar() after plt.style.use('ggplot')", lambda: frame.plot.bar())
print(json.dumps(results, ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def styled(host) -> dict[str, dict]:
    result = host.run("python -c %s", RENDER_EACH_STYLE)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def failures(styled: dict[str, dict], prefix: str) -> dict[str, dict]:
    chosen = {name: r for name, r in styled.items() if name.startswith(prefix)}
    assert chosen, f"nothing styled with {prefix}"
    return {
        name: r
        for name, r in chosen.items()
        if r["missing"] or not r["faces"] or any("CJK" not in face for face in r["faces"])
    }


def test_every_matplotlib_style_draws_japanese_with_a_cjk_face(styled) -> None:
    assert failures(styled, "plt.style.use") == {}


def test_seaborn_themes_styles_and_contexts_draw_japanese_with_a_cjk_face(styled) -> None:
    assert failures(styled, "sns.") == {}


def test_pandas_plot_draws_japanese_with_a_cjk_face(styled) -> None:
    assert failures(styled, "DataFrame.plot") == {}


def test_styles_keep_their_own_latin_font_and_add_the_cjk_one_last(styled) -> None:
    """seaborn asks for sans-serif, and keeps it; Noto Sans CJK JP comes after, for Japanese."""
    assert styled["sns.set_theme()"]["family"] == ["sans-serif", "Noto Sans CJK JP"]
