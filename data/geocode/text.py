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
    "pl": "place", "sq": "square", "gdns": "gardens", "gdn": "garden", "terr": "terrace", "tce": "terrace",
    "cres": "crescent", "cresc": "crescent", "gr": "grove", "gro": "grove", "dr": "drive", "ct": "court",
    "pde": "parade", "rw": "row", "wy": "way", "hl": "hill", "mws": "mews", "grn": "green",
    "stn": "station", "sta": "station", "saint": "street",  # "St John's Road" and "Saint John's Road" alike
    "pk": "park", "mkt": "market",  # "hyde pk", "berwick st mkt"
    "os": "outside", "o/s": "outside", "outsde": "outside", "nr": "near", "opp": "opposite",
    "opposite": "opposite", "jct": "junction", "jnct": "junction", "cnr": "corner", "&": "and", "+": "and",
}
# where relative to a place, not part of its name; dropped from names and descriptions alike
STOPWORDS = frozenset({
    "the", "of", "and", "a", "an", "in", "on", "at", "by", "to", "off", "from", "outside", "near",
    "opposite", "inside", "junction", "front", "behind", "next", "nearby", "just", "side",
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

# words that say what kind of place, not which: a venue is only named by other words ("red lion",
# "oxford"); a name made of these alone ("The Court", "The Saint", "The Station") must be typed in
# full (see `literal`), so that "tottenham ct rd" or "in the street" never names a pub
GENERIC_WORDS = frozenset({
    "street", "road", "avenue", "lane", "place", "square", "gardens", "garden", "terrace", "crescent", "grove",
    "drive", "court", "parade", "row", "way", "hill", "mews", "green", "circus", "walk", "close", "yard",
    "gate", "gates", "bridge", "embankment", "passage", "alley", "market", "park", "station", "cross",
    "public", "house", "free", "ph", "arms", "inn", "tavern", "hotel", "bar", "bars", "pub", "pubs", "club",
    "clubs", "nightclub", "lounge", "wine", "restaurant", "takeaway", "cafe", "shop",
    "new", "old", "olde", "ye", "great", "little", "upper", "lower", "north", "south", "east", "west",
    "royal", "london", "hall", "corner", "end", "stop", "bus", "one",
}) | STOPWORDS | PRIVATE_WORDS | COMMON_WORDS | TRANSIT_WORDS
# trailing words of a register's venue name that are not what people call it
_BARE_VENUE = frozenset({"pub", "pubs", "bar", "bars", "club", "clubs", "nightclub", "tavern", "inn", "ph", "and", "wine"})
_VENUE_SUFFIXES = (("public", "house"), ("free", "house"), ("ph",), ("p", "h"), ("public",))
# written the same way in a description and a name for `literal`: station words
_LITERAL = {"stn": "station", "sta": "station", "tube": "station", "underground": "station",
            "overground": "station", "rail": "station", "&": "and", "+": "and", "o/s": "outside"}
_POSSESSIVE = re.compile(r"(?<=[a-z])['’`]s\b|(?<=s)['’`](?=\s|$)", re.IGNORECASE)

MAX_NGRAM = 6  # words in the longest name looked up
_CROSSES = frozenset({"charing", "kings", "new", "waltham"})  # "charing x", "kings x": x is cross only here

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
        if t == "x" and out and out[-1] in _CROSSES:
            t = "cross"
        if not t.isdigit():
            out.append(t)
    return out


def content(words: list[str]) -> list[str]:
    """Words without position words and articles: the part that can name a place."""
    return [w for w in words if w not in STOPWORDS and w not in ("?", "n/k", "n/a")]


def name_key(name) -> str:
    """The lookup key of a gazetteer name ('The Rose & Crown' → 'rose crown')."""
    return " ".join(content(tokens(name)))


def without_possessive(name) -> str:
    """The name without its possessive s ("St James's Park" → "St James Park"): people type either."""
    return _POSSESSIVE.sub("", name) if isinstance(name, str) else name


def name_keys(name) -> list[str]:
    """A name's key, and its key without the possessive s when that differs ('street jamess park',
    'street james park'); 'rosas' as typed still meets "Rosa's"."""
    return list(dict.fromkeys(k for k in (name_key(name), name_key(without_possessive(name))) if k))


def _strip_suffix(words: list[str]) -> list[str]:
    """A register's name without 'Public House', 'PH', 'Free House' at its end."""
    changed = True
    while changed:
        changed = False
        for suffix in _VENUE_SUFFIXES:
            n = len(suffix)
            if len(words) > n and tuple(words[-n:]) == suffix:
                words, changed = words[:-n], True
    return words


def venue_keys(name) -> list[str]:
    """Keys a venue is known by: its full key, and without trailing venue-type words or 'Public House'
    ("Red Lion Public House" is "red lion"); each also without the possessive s; a name in parts
    ("Black Lion Public House / Winkles Bar", "Graphic Bar (ex Midas Touch)") also by each part."""
    keys: list[str] = []
    parts = [p for p in re.split(r"[/()]", name) if p.strip()] if isinstance(name, str) else []
    if len(parts) > 1:
        keys = venue_keys(parts[0].strip())
        for part in parts[1:]:
            keys += [k for k in venue_keys(part.strip()) if not is_generic(k)]
        return list(dict.fromkeys([name_key(name)] + keys))
    for key in name_keys(name):
        keys.append(key)
        words = _strip_suffix(key.split())
        if len(words) < len(key.split()):
            keys.append(" ".join(words))
        while len(words) > 1 and words[-1] in VENUE_TYPES:
            words = words[:-1]
            keys.append(" ".join(words))
        if len(words) > 1 and words[0] in ("club", "bar", "cafe"):  # "Club Aquarium" is "aquarium"
            keys.append(" ".join(words[1:]))
    return list(dict.fromkeys(keys))


def is_generic(key: str) -> bool:
    """Is a key made only of words that say what kind of place, not which ("court", "street station")?"""
    return all(w in GENERIC_WORDS for w in key.split())


def literal(text) -> str:
    """Words as typed, for names that must be typed in full: lower case, apostrophes and punctuation
    dropped, '&' as 'and', station words as 'station', nothing else expanded ('st' stays 'st'),
    padded with spaces so that ' the saint ' is found as whole words."""
    if not isinstance(text, str):
        return " "
    low = _APOSTROPHES.sub("", text.lower())
    return " " + " ".join(_LITERAL.get(t, t) for t in _TOKEN.findall(low)) + " "


def literal_name(name) -> str:
    """A venue name in the `literal` form, without 'The' before it and 'Public House' or 'PH' after it
    ('court'); empty for a name made only of venue-type words ("The Pub", "Wine Bar"): "outside the
    pub" names no venue."""
    words = _strip_suffix(literal(name).split())
    while words and words[0] in ("the", "ye"):
        words = words[1:]
    if all(w in _BARE_VENUE for w in words):
        return ""
    return " ".join(words)


def area_keys(name) -> list[str]:
    """An area's key, and the keys of its parts ('Bank / City' is also 'bank' and 'city')."""
    keys = [name_key(name)]
    for part in re.split(r"[/()]", str(name)):
        if name_key(part):
            keys.append(name_key(part))
    keys += [k for k in name_keys(name)[1:] if k not in keys]
    return keys


def station_keys(name) -> tuple[list[str], str | None]:
    """Keys of a station landmark ('X station', 'X tube', ...) and its area key ('x'); a possessive
    s is optional ("st jamess park station", "st james park tube")."""
    keys, stem = [], None
    for key in name_keys(name):
        words = key.split()
        if len(words) < 2 or words[-1] != "station":
            return ([key] if key else []), None
        stem = stem or " ".join(words[:-1])
        keys += [f"{' '.join(words[:-1])} {w}" for w in STATION_WORDS]
    return keys, stem


def station_stems(name) -> list[str]:
    """Every area key of a station landmark ('st jamess park', 'st james park'); empty for other places."""
    stems = []
    for key in name_keys(name):
        words = key.split()
        if len(words) >= 2 and words[-1] == "station":
            stems.append(" ".join(words[:-1]))
    return stems


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
        # brand words people type ("mcdonalds", "tesco") are words, not slips for a premises name
        brands = {w for k in list(CHAIN_ALIASES) + list(CHAIN_ALIASES.values()) for w in k.split()}
        self.known = frozenset(vocabulary) | COMMON_WORDS | STOPWORDS | UNKNOWN_WORDS | PRIVATE_WORDS | brands
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


def name_spans(g, words: list[str], skip=frozenset()) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, kind, key) name matches of a gazetteer `g`: longest first, then
    venue > street > area; a span naming two kinds of place ("trafalgar square") is kept for both.
    skip: (kind, key) pairs not to match (generic names not typed in full)."""
    found = []
    indexes = (("venue", g.venues.keys), ("street", g.streets.keys), ("area", g.areas.keys))
    for i in range(len(words)):
        for j in range(min(len(words), i + MAX_NGRAM), i, -1):
            key = " ".join(words[i:j])
            for rank, (kind, index) in enumerate(indexes):
                if key in index and (kind, key) not in skip:
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
