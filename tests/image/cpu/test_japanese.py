"""Japanese works out of the box: MeCab (CLI and Python, one UTF-8 dictionary) and CJK plots."""

import json

import pytest

SENTENCES = [
    "すもももももももものうち",
    "東京都で機械学習の勉強会を開きました。",
    "吾輩は猫である。名前はまだ無い。",
]


def test_mecab_cli_segments_a_japanese_sentence(host) -> None:
    result = host.run("echo %s | mecab -Owakati", SENTENCES[0])
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["すもも", "も", "もも", "も", "もも", "の", "うち"]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_mecab_cli_and_python_binding_agree_on_segments_and_readings(host, sentence) -> None:
    script = "import MeCab, sys; sys.stdout.write(MeCab.Tagger().parse(sys.argv[1]))"
    binding = host.run("python -c %s %s", script, sentence)
    cli = host.run("echo %s | mecab", sentence)
    assert binding.rc == 0, binding.stderr
    assert binding.stdout == cli.stdout
    readings = [line.split(",")[-2] for line in cli.stdout.splitlines() if "," in line]
    assert readings and all(r != "*" for r in readings[:3]), cli.stdout  # readings are present


def test_mecab_dictionary_is_utf8(host) -> None:
    dump = host.run("mecab -D").stdout  # prints the dictionary's header, then exits 1
    info = dict(line.split(":\t", 1) for line in dump.splitlines() if ":\t" in line)
    assert info["charset"].lower() in ("utf-8", "utf8")


def test_fontconfig_resolves_japanese_sans_serif_to_noto_sans_cjk_jp(host) -> None:
    assert '"Noto Sans CJK JP"' in host.check_output("fc-match 'sans-serif:lang=ja'")


def test_matplotlib_default_sans_serif_is_noto_sans_cjk_jp(host) -> None:
    script = (
        "import json, matplotlib; from matplotlib import font_manager as fm; "
        "path = fm.findfont(fm.FontProperties(family=matplotlib.rcParams['font.family'])); "
        "print(json.dumps([fm.FontProperties(fname=path).get_name(), path]))"
    )
    result = host.run("python -c %s", script)
    assert result.rc == 0, result.stderr
    name, path = json.loads(result.stdout)
    assert name == "Noto Sans CJK JP", path


# Draws title, labels, ticks and a minus sign in Japanese with warnings as errors (matplotlib
# warns "Glyph ... missing from font(s)"), then asks which face each character resolves to.
RENDER = r"""
import json, warnings
warnings.simplefilter("error")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager as fm
from matplotlib.ft2font import FT2Font
text = "気温と売上の関係 −10℃ 〜 カタカナ ひらがな"
fig, ax = plt.subplots()
ax.plot([-3, -1, 2], [1, -2, 3])
ax.set_title(text)
ax.set_xlabel("気温 [℃]")
ax.set_ylabel("売上")
ax.set_xticks([-2, 0, 2], ["マイナス二", "零", "二"])
fig.savefig("/tmp/japanese.png")
fonts = [fm.findfont(fm.FontProperties(family=f)) for f in matplotlib.rcParams["font.sans-serif"]]
faces = {}
for ch in set(text.replace(" ", "")):
    for path in fonts:
        if FT2Font(path).get_char_index(ord(ch)):
            faces[ch] = FT2Font(path).family_name
            break
    else:
        faces[ch] = None
print(json.dumps(faces, ensure_ascii=False))
"""


def test_japanese_plot_renders_every_glyph_with_noto_cjk(host) -> None:
    result = host.run("python -c %s", RENDER)
    assert result.rc == 0, result.stderr  # a missing-glyph warning is an error here
    faces = json.loads(result.stdout)
    assert set(faces.values()) == {"Noto Sans CJK JP"}, faces
    assert host.file("/tmp/japanese.png").size > 10_000
