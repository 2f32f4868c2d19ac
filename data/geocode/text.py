"""Normalisation of free-text locations and gazetteer names, so both meet in one form.

Every rule applies to descriptions and to names alike (case, punctuation, abbreviations,
position words), so "o/s Rose & Crown, Station Rd" and "The Rose and Crown" share the key
"rose crown". Misspellings are corrected word by word against the gazetteer's vocabulary
(`Speller`, rapidfuzz), never against a fixed dictionary.
"""
from __future__ import annotations

import re

from rapidfuzz import process
from rapidfuzz.distance import OSA

ABBREVIATIONS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue", "ln": "lane",
    "pl": "place", "sq": "square", "gdns": "gardens", "gdn": "gardens", "terr": "terrace", "tce": "terrace",
    "cres": "crescent", "cresc": "crescent", "gr": "grove", "gro": "grove", "dr": "drive", "ct": "court",
    "pde": "parade", "rw": "row", "wy": "way", "hl": "hill", "mws": "mews", "grn": "green",
    "stn": "station", "sta": "station", "saint": "street",  # "St John's Road" and "Saint John's Road" alike
    "os": "outside", "o/s": "outside", "outsde": "outside", "nr": "near", "opp": "opposite",
    "opposite": "opposite", "jct": "junction", "jnct": "junction", "cnr": "corner", "&": "and", "+": "and",
}
# where relative to a place, not part of its name; dropped from names and descriptions alike
STOPWORDS = frozenset({
    "the", "of", "and", "a", "an", "in", "on", "at", "by", "to", "off", "from", "outside", "near",
    "opposite", "inside", "corner", "junction", "front", "behind", "next", "nearby", "just", "side",
    "round", "around", "between", "towards", "along", "up", "down", "road's",
})
# what kind of venue: a name is also known without them ("Sky Bar" as "sky"), and a
# description may add the wrong one ("red lion club")
VENUE_TYPES = frozenset({"pub", "bar", "club", "nightclub", "tavern", "inn", "restaurant", "takeaway",
                         "cafe", "shop", "lounge", "wine", "bars", "pubs", "clubs"})
STATION_WORDS = ("station", "tube", "underground", "overground", "rail", "dlr")
# common brand spellings people type for chains: alias key -> the chain's own key
CHAIN_ALIASES = {
    "spoons": "wetherspoons", "wetherspoon": "wetherspoons", "weatherspoons": "wetherspoons",
    "jd wetherspoon": "wetherspoons", "jd wetherspoons": "wetherspoons", "witherspoons": "wetherspoons",
    "wethers": "wetherspoons", "kentucky": "kfc", "bk": "burger king",
    "maccies": "mcdonalds", "maccys": "mcdonalds", "mcds": "mcdonalds", "mcdonald": "mcdonalds",
    "maccy d": "mcdonalds", "maccy ds": "mcdonalds", "mc donalds": "mcdonalds", "mickey ds": "mcdonalds",
    "kentucky fried chicken": "kfc", "nandos chicken": "nandos", "o neills": "oneills", "oneill": "oneills",
    "tesco": "tesco express", "tescos": "tesco express", "tesco metro": "tesco express",
    "sainsburys": "sainsburys local", "sainsbury": "sainsburys local", "coop": "co op",
    "cooperative": "co op", "waitrose": "little waitrose", "m s": "m s simply food",
    "marks spencer": "m s simply food", "marks spencers": "m s simply food", "m s food": "m s simply food",
    "slug": "slug lettuce", "revs": "revolution", "all bar 1": "all bar one", "be 1": "be one",
}
# a description made only of these words says where nothing is
UNKNOWN_WORDS = frozenset({
    "unknown", "declined", "decline", "declines", "refused", "refuses", "not", "stated", "known", "nk", "n", "k",
    "pt", "patient", "unable", "to", "say", "cant", "cannot", "can't", "remember", "unsure", "given",
    "no", "none", "na", "n/a", "dont", "know", "unclear", "recall", "wont", "would", "did", "want",
    "nfa", "info", "information", "details", "detail", "sure", "?", "n/k", "n/a",
})
# private or unmappable places: kept as a location type, never put on the map
PRIVATE_WORDS = frozenset({
    "home", "house", "flat", "flats", "address", "hostel", "bedroom", "residence", "party", "houseparty",
    "work", "workplace", "apartment", "bedsit", "dwelling", "accommodation", "prison",
})
TRANSIT_WORDS = frozenset({"bus", "train", "tube", "overground", "underground", "tram", "taxi", "cab", "uber",
                           "carriage", "dlr", "coach"})
# words a receptionist writes that are not gazetteer names: never "corrected" into one
COMMON_WORDS = frozenset({
    "stop", "outside", "inside", "near", "opposite", "corner", "junction", "area", "pub", "bar", "club",
    "street", "road", "station", "park", "market", "shop", "shops", "car", "toilets", "toilet", "alley",
    "alleyway", "footpath", "queue", "entrance", "exit", "doorway", "door", "fight", "night", "friends",
    "friend", "friend's", "partners", "partner", "mums", "mum", "dads", "own", "pavement", "garage",
    "petrol", "carpark", "school", "college", "playground", "stairs", "stairwell", "lift", "platform",
    "town", "centre", "center", "city", "high", "local", "unknown", "assaulted", "attacked", "walking",
    "home", "house", "party", "work", "taxi", "rank", "bus", "stop", "train", "tube", "overground",
})

MAX_NGRAM = 6  # words in the longest name looked up

_TOKEN = re.compile(r"o/s|n/k|n/a|[a-z0-9]+|&|\+|\?")
_APOSTROPHES = re.compile(r"['’`]")


def tokens(text) -> list[str]:
    """Lower-case words of a text with abbreviations expanded; numbers and punctuation dropped."""
    if text is None or not isinstance(text, str):
        return []
    low = _APOSTROPHES.sub("", text.lower())
    out = []
    for t in _TOKEN.findall(low):
        t = ABBREVIATIONS.get(t, t)
        if not t.isdigit():
            out.append(t)
    return out


def content(words: list[str]) -> list[str]:
    """Words without position words and articles: the part that can name a place."""
    return [w for w in words if w not in STOPWORDS and w not in ("?", "n/k", "n/a")]


def name_key(name) -> str:
    """The lookup key of a gazetteer name ('The Rose & Crown' → 'rose crown')."""
    return " ".join(content(tokens(name)))


def venue_keys(name) -> list[str]:
    """Keys a venue is known by: its full key, and without trailing venue-type words."""
    key = name_key(name)
    if not key:
        return []
    keys = [key]
    words = key.split()
    while len(words) > 1 and words[-1] in VENUE_TYPES:
        words = words[:-1]
        keys.append(" ".join(words))
    if len(words) > 1 and words[0] in ("club", "bar", "cafe"):  # "Club Aquarium" is "aquarium"
        keys.append(" ".join(words[1:]))
    return keys


def area_keys(name) -> list[str]:
    """An area's key, and the keys of its parts ('Bank / City' is also 'bank' and 'city')."""
    keys = [name_key(name)]
    for part in re.split(r"[/()]", str(name)):
        if name_key(part):
            keys.append(name_key(part))
    return keys


def station_keys(name) -> tuple[list[str], str | None]:
    """Keys of a station landmark ('X station', 'X tube', ...) and its area key ('x')."""
    key = name_key(name)
    words = key.split()
    if len(words) < 2 or words[-1] != "station":
        return [key] if key else [], None
    stem = " ".join(words[:-1])
    return [f"{stem} {w}" for w in STATION_WORDS], stem


def absent_kind(words: list[str]) -> str | None:
    """'unknown' when a description gives no place, 'private' for homes and workplaces, else None."""
    if not words or all(w in UNKNOWN_WORDS for w in words):
        return "unknown"
    if any(w in PRIVATE_WORDS for w in words):
        return "private"
    return None


class Speller:
    """Corrects misspelt words to the nearest word of the gazetteer's vocabulary.

    One edit (insertion, deletion, substitution or swap of neighbours) for words of 4-7
    letters, two for longer words; targets shorter than 5 letters are left alone, because
    short names ("star", "bell") are too easily reached by chance; `correct_short` offers them
    for the caller to accept only where they complete a longer name ("laurel arns").
    """

    def __init__(self, vocabulary):
        self.known = frozenset(vocabulary) | COMMON_WORDS | STOPWORDS | UNKNOWN_WORDS | PRIVATE_WORDS
        self.targets = sorted(w for w in vocabulary if len(w) >= 5 and w.isalpha())
        self.short_targets = sorted(w for w in vocabulary if len(w) == 4 and w.isalpha())
        self._cache: dict[str, str | None] = {}
        self._short_cache: dict[str, tuple[str, ...]] = {}

    def correct(self, word: str) -> tuple[str, ...]:
        """Vocabulary words equally near `word` (empty when it is known or too far from all).

        Several words come back on a tie; the caller picks by context.
        """
        if word in self.known or len(word) < 4 or not word.isalpha():
            return ()
        if word in self._cache:
            return self._cache[word]
        limit = 1 if len(word) < 8 else 2
        found = process.extract(word, self.targets, scorer=OSA.distance, score_cutoff=limit, limit=4)
        best: tuple[str, ...] = ()
        if found:
            top = found[0][1]
            best = tuple(w for w, d, _ in found if d == top)
        self._cache[word] = best
        return best

    def correct_short(self, word: str) -> tuple[str, ...]:
        """Four-letter vocabulary words one slip from an unknown word of 4-5 letters ("arns" → arms,
        "yorrk" → york): too easily reached by chance to take alone, see `spell`."""
        if word in self.known or not 4 <= len(word) <= 5 or not word.isalpha():
            return ()
        if word not in self._short_cache:
            found = process.extract(word, self.short_targets, scorer=OSA.distance, score_cutoff=1, limit=8)
            self._short_cache[word] = tuple(w for w, _, _ in found)
        return self._short_cache[word]


def name_spans(g, words: list[str]) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, kind, key) name matches of a gazetteer `g`: longest first, then
    venue > street > area; a span naming two kinds of place ("trafalgar square") is kept for both."""
    found = []
    indexes = (("venue", g.venues.keys), ("street", g.streets.keys), ("area", g.areas.keys))
    for i in range(len(words)):
        for j in range(min(len(words), i + MAX_NGRAM), i, -1):
            key = " ".join(words[i:j])
            for rank, (kind, index) in enumerate(indexes):
                if key in index:
                    found.append((-(j - i), rank, i, j, kind, key))
    found.sort()
    taken = [False] * len(words)
    chosen: list[tuple[int, int, str, str]] = []
    for _, _, i, j, kind, key in found:
        if any(taken[i:j]) and not any((c[0], c[1]) == (i, j) for c in chosen):
            continue
        for t in range(i, j):
            taken[t] = True
        chosen.append((i, j, kind, key))
    return sorted(chosen)


def _longest_name(g, words: list[str], i: int) -> int:
    """Words in the longest gazetteer name that covers word i."""
    best = 0
    for a in range(max(0, i - MAX_NGRAM + 1), i + 1):
        for b in range(i + 1, min(len(words), a + MAX_NGRAM) + 1):
            key = " ".join(words[a:b])
            if b - a > best and (key in g.venues.keys or key in g.streets.keys or key in g.areas.keys):
                best = b - a
    return best


def spell(g, words: list[str]) -> tuple[list[str], int]:
    """Misspelt words corrected to the gazetteer's vocabulary, and how many were corrected.

    A tie ("mars" is one slip from marks, marsh and marys) goes to the word that makes the
    longest name with its neighbours ("st mars cres" → "street marks crescent"), and stays
    uncorrected when none makes a name or several make equally long ones. A short name word
    ("arms", "king") is only put in where it completes a name of two or more words with its
    neighbours and the word as typed is part of no name ("laurel arns" → "laurel arms").
    """
    words, fixed = list(words), 0
    for i, w in enumerate(words):
        options = g.speller.correct(w)
        if len(options) > 1:
            length = {o: _longest_name(g, words[:i] + [o] + words[i + 1:], i) for o in options}
            top = max(length.values())
            options = tuple(o for o in options if length[o] == top) if top else ()
        if not options and len(words) > 1 and _longest_name(g, words, i) == 0:
            short = g.speller.correct_short(w)
            length = {o: _longest_name(g, words[:i] + [o] + words[i + 1:], i) for o in short}
            options = tuple(o for o in short if length[o] >= 2 and length[o] == max(length.values()))
        if len(options) == 1:
            words[i], fixed = options[0], fixed + 1
    return words, fixed
