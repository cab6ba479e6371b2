#!/usr/bin/env python3
"""Writes engine/data/la_fontaine.txt: every quotation of La Fontaine in Littré's dictionary
(1863-1877), one per line, in the dictionary's order, each once.

The dictionary comes from Debian's package stardict-xmlittre 1:1.0-2 (sha256 05e9b0e4...3de5 for
stardict-xmlittre_1%3a1.0-2_all.deb); Littré's text is in the public domain. Reproduce with:

    apt-get download stardict-xmlittre=1:1.0-2
    dpkg-deb -x stardict-xmlittre_1%3a1.0-2_all.deb littre
    python3 engine/data/la_fontaine.py littre/usr/share/stardict/dic/XMLittre.dict.dz > engine/data/la_fontaine.txt

Only the quoted words are kept: the dictionary's markup, its notes in brackets and its leading
ellipses go; an ellipsis of four dots becomes one character; the ASCII "oeu" becomes "œu".
"""
import gzip
import html
import re
import sys

# A quotation, then its author in the dictionary's colours (dictzip files read as gzip).
QUOTE = re.compile(r'<span foreground="#0000CD">(.*?)</span>, <span foreground="#B22222">(.*?)</span>', re.S)


def clean(raw: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", raw))
    text = re.sub(r"\s*\[[^\]]*\]\s*", " ", text)
    text = re.sub(r"^\.{3,}\s*", "", text)
    text = re.sub(r"\.{4}", "…", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text.replace("oeu", "œu").replace("Oeu", "Œu")


def main() -> None:
    dictionary = gzip.open(sys.argv[1]).read().decode("utf-8", "replace")
    seen = {}
    for match in QUOTE.finditer(dictionary):
        if match.group(2).strip() != "LA FONT.":
            continue
        quote = clean(match.group(1))
        if len(quote) >= 20:
            seen.setdefault(quote, None)
    sys.stdout.write("\n".join(seen) + "\n")


if __name__ == "__main__":
    main()
