"""Words of a product, English and Bangla, and their TF-IDF weights.

Bangla words carry vowel signs and the virama (hasanta), which Unicode files as combining
marks, not letters: splitting on "not a word character" alone would cut "পাঞ্জাবি" into
pieces. A token here is a run of letters, digits and combining marks of any script.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

# Letters, digits and the underscore; Bengali letters, vowel signs, virama, nukta and digits
# (U+0980-U+09F1, not the currency signs after them); combining accents (e + U+0301).
TOKEN = re.compile(r"[\w\u0980-\u09f1\u0300-\u036f]+")
TAG = re.compile(r"<[^>]*>")
# Zero-width (non-)joiners shape Bangla conjuncts; they are typed inconsistently.
JOINERS = dict.fromkeys(map(ord, "\u200c\u200d"))
ENGLISH_STOPWORDS = (
    "a an and are as at be by for from in into is it its of on or our the this to with you your"
)
BANGLA_STOPWORDS = "ও এবং এর এই একটি এক জন্য সঙ্গে সাথে থেকে করে হয় না যে যা বা আর"
NAME_WEIGHT = 2  # a word of the name counts as much as two of the description


def text_normalize(text: str) -> str:
    """NFC (one spelling of composed letters such as য় and ড়), joiners dropped, casefolded."""
    return unicodedata.normalize("NFC", text).translate(JOINERS).casefold()


STOPWORDS = frozenset(text_normalize(f"{ENGLISH_STOPWORDS} {BANGLA_STOPWORDS}").split())


def tokenize(text: str) -> list[str]:
    """Words of a plain or HTML text, in order, without stop words, digits-only runs and
    single characters."""
    plain = html.unescape(TAG.sub(" ", text))
    return [
        token
        for token in TOKEN.findall(text_normalize(plain).replace("_", " "))
        if len(token) > 1 and token not in STOPWORDS and not token.isdigit()
    ]


def product_terms(*, names: Iterable[str], descriptions: Iterable[str]) -> Counter[str]:
    """Term counts of one product: its names (both languages) weigh more than descriptions."""
    terms: Counter[str] = Counter()
    for name in names:
        for token in tokenize(name):
            terms[token] += NAME_WEIGHT
    for description in descriptions:
        terms.update(tokenize(description))
    return terms


SparseVector = dict[str, float]


def tfidf_vectors(
    documents: Mapping[str, Counter[str]], *, max_df: int, max_terms: int
) -> dict[str, SparseVector]:
    """TF-IDF vectors (sublinear tf, smoothed idf) of each document, normalised to unit length,
    then cut to the `max_terms` heaviest terms other documents also have, heaviest first.

    Terms of more than `max_df` documents are left out: they say little and would make
    everything a neighbour. A term no other document has still lengthens its document's
    vector before the cut (it is content the others do not share), so the dot product of two
    cut vectors is the cosine of the whole ones over the terms they keep.
    """
    df: Counter[str] = Counter()
    for terms in documents.values():
        df.update(terms.keys())
    n = len(documents)
    idf = {
        term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items() if count <= max_df
    }
    vectors: dict[str, SparseVector] = {}
    for key, terms in documents.items():
        weights = [
            (term, (1.0 + math.log(count)) * idf[term])
            for term, count in terms.items()
            if term in idf
        ]
        norm = math.sqrt(sum(weight * weight for _, weight in weights))
        shared = sorted(
            ((term, weight) for term, weight in weights if df[term] > 1),
            key=lambda pair: (-pair[1], pair[0]),
        )[:max_terms]
        vectors[key] = {term: weight / norm for term, weight in shared}
    return vectors


def cosine(a: SparseVector, b: SparseVector) -> float:
    """Dot product of two unit vectors (over the words they share)."""
    return sum(a[term] * b[term] for term in a.keys() & b.keys())
