"""Japanese works out of the box: MeCab (CLI and Python, one dictionary) and CJK plots."""

import json

SENTENCE = "すもももももももものうち"


def test_mecab_cli_segments_a_japanese_sentence(host) -> None:
    result = host.run("echo %s | mecab -Owakati", SENTENCE)
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == ["すもも", "も", "もも", "も", "もも", "の", "うち"]


def test_mecab_python_binding_uses_the_same_dictionary_as_the_cli(host) -> None:
    script = f"import MeCab, sys; sys.stdout.write(MeCab.Tagger().parse('{SENTENCE}'))"
    binding = host.run("python -c %s", script)
    cli = host.run("echo %s | mecab", SENTENCE)
    assert binding.rc == 0, binding.stderr
    assert binding.stdout == cli.stdout


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
