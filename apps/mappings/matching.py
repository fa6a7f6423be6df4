"""Which Autotask company an organization probably is: pure functions, no I/O.

Two kinds of evidence, strongest first:

- **Domain**: one of the tenant's domains (``*.onmicrosoft.com`` ones tell nothing: every
  tenant has one) is the host of a company's web address, or shares its registrable
  domain (``shop.contoso.co.uk`` and ``contoso.co.uk``). A domain only one company has is
  near certain; one several companies share only narrows the choice, and the names decide
  between them.
- **Name**: similarity (rapidfuzz's Indel ratio) of the names once normalised: case,
  accents, punctuation, word order, "&" against "and" and legal forms (Ltd, GmbH,
  S.p.A., sp. z o.o., ...) do not count, and words such as "Group" or "International"
  only a little. Two companies as close as each other to the name are a coin toss, so
  neither scores above ``AMBIGUOUS_CAP``; nor does any name but the closest. Between
  equal names the legal form decides: the same form first, then a company with none,
  then one with another form (another legal entity).

``Matcher`` holds the candidate companies (built once, indexed by host and by the words of
their normalised names); ``Matcher.suggest(name, domains)`` gives the best few, best first.
Only companies sharing a word, or a word's first or last three letters, with the name are
compared: a name sharing none is no suggestion, and 20,000 organizations against 5,000
companies take seconds, not minutes.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

FLOOR = 0.5  # weaker suggestions are not worth showing
KEEP = 3  # suggestions kept per organization
DOMAIN_UNIQUE = 1.0  # the host of exactly one company's web address
REGISTRABLE_UNIQUE = 0.95  # the same registrable domain as exactly one company
SHARED_DOMAIN_BASE = 0.6  # several companies have the domain: base + span x name similarity
SHARED_DOMAIN_SPAN = 0.29  # ... so a shared domain never scores above 89 %
OTHERS_BESIDE_DOMAIN = 0.8  # a name match when another company has the tenant's domain
AMBIGUOUS_MARGIN = 0.03  # name scores this close to the best are as likely as the best
AMBIGUOUS_CAP = 0.85  # ... and none of them scores above this, nor does a second best
WEAK_WORD_PENALTY = 0.12  # names equal but for words like "Group" or "International"
WORD_LIKENESS = 0.8  # two words this alike (edits with transpositions) are one word
NAME_CANDIDATES = 8  # name matches looked at per organization (before ranking)

# Domains every tenant has, that say nothing about who the tenant is.
TENANT_DEFAULT_DOMAINS = ("onmicrosoft.com", "onmicrosoft.de", "partner.onmschina.cn")

# Legal forms, as tokens once dots are dropped and case folded ("S.p.A." is "spa").
LEGAL_FORMS = {
    "inc": "inc", "incorporated": "inc", "llc": "llc", "pllc": "llc", "llp": "llp",
    "lp": "lp", "ltd": "ltd", "limited": "ltd", "ltda": "ltd", "plc": "plc",
    "corp": "corp", "corporation": "corp", "co": "co", "company": "co", "pc": "pc",
    "pty": "pty", "pvt": "pvt", "private": "pvt", "pte": "pte", "bhd": "bhd", "sdn": "sdn",
    "gmbh": "gmbh", "mbh": "gmbh", "gesmbh": "gmbh", "ag": "ag", "kg": "kg", "kgaa": "kgaa",
    "ohg": "ohg", "gbr": "gbr", "ug": "ug", "ek": "ek", "eg": "eg", "ev": "ev",
    "bv": "bv", "bvba": "bvba", "nv": "nv", "vof": "vof", "cv": "cv", "cvba": "cvba",
    "sa": "sa", "sas": "sas", "sasu": "sas", "sarl": "sarl", "eurl": "eurl", "sprl": "sprl",
    "sl": "sl", "slu": "sl", "srl": "srl", "spa": "spa", "snc": "snc", "sae": "sa",
    "lda": "lda", "ab": "ab", "as": "as", "asa": "asa", "aps": "aps", "oy": "oy",
    "oyj": "oy", "se": "se", "sro": "sro", "kft": "kft", "zrt": "zrt", "nyrt": "nyrt",
    "bt": "bt", "doo": "doo", "dd": "dd", "ad": "ad", "ooo": "ooo", "kk": "kk", "dac": "dac",
    "spzoo": "spzoo", "spj": "spj", "spk": "spk",
}  # fmt: skip
# Forms written before the name ("AB Volvo", "PT Contoso"); "the" goes too.
LEADING_FORMS = {"the", "ab", "pt", "ooo", "oao", "zao", "pao", "pjsc", "jsc"}
CONJUNCTIONS = {"and", "und"}  # "&" is read as "and", and neither counts
# Words that say little about which business it is: a name without them is nearly as good.
WEAK_WORDS = {"group", "holding", "holdings", "international", "intl", "worldwide", "global"}
SECOND_LEVEL_LABELS = {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "ltd",
                       "plc", "gen", "nom", "sch", "mil", "biz", "info"}  # fmt: skip

_POLISH_LIMITED = re.compile(r"\bsp\.?\s*z\.?\s*o\.?\s*o\b\.?")  # "sp. z o.o."
_SARL = re.compile(r"\bs\.?\s*a\.?\s*r\.?\s*l\b\.?")  # "S.à r.l." (accents folded first)
_JOINING = re.compile(r"[.'’`´]")  # dropped: "B.V." is "BV", "Margie's" is "Margies"
_SEPARATING = re.compile(r"[^0-9a-z]+")
_HOST = re.compile(r"^[0-9a-z](?:[0-9a-z.-]*[0-9a-z])?$")
_WWW = re.compile(r"^www\d*\.")


# -- names ----------------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _POLISH_LIMITED.sub(" spzoo ", text.replace("&", " and ").replace("+", " and "))
    text = _SARL.sub(" sarl ", text)
    text = _JOINING.sub("", text)
    return [token for token in _SEPARATING.split(text) if token]


def _join_trailing_letters(tokens: list[str]) -> list[str]:
    """ "S A", "B V", "Z O O" (forms written with spaces) become one token."""
    start = len(tokens)
    while start > 0 and len(tokens[start - 1]) == 1:
        start -= 1
    if len(tokens) - start < 2:
        return tokens
    return [*tokens[:start], "".join(tokens[start:])]


def _split_name(name: str) -> tuple[list[str], list[str]]:
    """The name's words and, apart, its legal forms (canonical: "limited" is "ltd")."""
    tokens = _join_trailing_letters([t for t in _tokens(name) if t not in CONJUNCTIONS])
    words, forms = list(tokens), []
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        forms.insert(0, LEGAL_FORMS[words.pop()])
    while len(words) > 1 and words[0] in LEADING_FORMS:
        leading = words.pop(0)
        if leading in LEGAL_FORMS:
            forms.insert(0, LEGAL_FORMS[leading])
    return words, forms


def normalise_name(name: str) -> str:
    """The name as compared: folded case and accents, no punctuation, no "&"/"and", no
    legal form ("Hughes & Whitfield Ltd." and "HUGHES AND WHITFIELD LIMITED" are both
    "hughes whitfield"). A name that is nothing but a legal form keeps it."""
    return " ".join(_split_name(name)[0])


def legal_form(name: str) -> str:
    """The legal form a name ends with, canonical ("Contoso Limited" → "ltd"), or ""."""
    return " ".join(_split_name(name)[1])


def name_similarity(first: str, second: str) -> float:
    """0 to 1: how alike two names are, as the matcher weighs a name alone (word order
    does not count either: "Whitfield, Hughes" is "Hughes Whitfield")."""
    return _compare(_Name.of(first), _Name.of(second))


# -- domains --------------------------------------------------------------------------------


def host_of(web_address: str) -> str:
    """The host of a web address, lowercase, without scheme, "www.", port, path or
    credentials ("HTTPS://www.Contoso.co.uk:8443/about" → "contoso.co.uk"); "" when there
    is none."""
    text = "".join((web_address or "").split()).casefold()
    if not text:
        return ""
    if "://" not in text:
        text = "//" + text.removeprefix("//")
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    host = _WWW.sub("", host.strip("."))
    if "." not in host or not _HOST.match(host):
        return ""
    return host


def registrable_domain(host: str) -> str:
    """The part of a host its owner registered: the last two labels, or three under a
    country's second level such as co.uk, com.au or co.jp. A small stand-in for the Public
    Suffix List that covers how businesses' domains are written."""
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in SECOND_LEVEL_LABELS and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_tenant_default(domain: str) -> bool:
    """A domain Microsoft gives every tenant (``contoso.onmicrosoft.com``)."""
    return any(
        domain == suffix or domain.endswith("." + suffix) for suffix in TENANT_DEFAULT_DOMAINS
    )


def tenant_domains(domains: Iterable[str]) -> list[str]:
    """The tenant's domains that can say who it is: cleaned, without the default ones."""
    hosts = []
    for domain in domains or []:
        host = host_of(str(domain))
        if host and not is_tenant_default(host) and host not in hosts:
            hosts.append(host)
    return hosts


# -- matching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A company that may be suggested: ``key`` is what the caller knows it by."""

    key: int
    name: str
    web_address: str = ""


@dataclass(frozen=True)
class Match:
    key: int
    score: float
    basis: str  # "domain" or "name"


@dataclass(frozen=True)
class _Name:
    """A name as the matcher compares it."""

    key: str  # the normalised words, sorted
    core: str  # ... without the weak words
    form: str  # the legal forms, canonical
    folded: str  # every word as written, case and accents folded

    @classmethod
    def of(cls, name: str) -> "_Name":
        words, forms = _split_name(name)
        core = [word for word in words if word not in WEAK_WORDS] or words
        return cls(
            " ".join(sorted(words)),
            " ".join(sorted(core)),
            " ".join(forms),
            " ".join(_tokens(name)),
        )


class Matcher:
    """The candidates indexed once; ``suggest`` for each organization."""

    def __init__(self, candidates: Iterable[Candidate]):
        self._candidates: list[Candidate] = []
        self._names: list[_Name] = []
        self._by_host: dict[str, list[int]] = defaultdict(list)
        self._by_registrable: dict[str, list[int]] = defaultdict(list)
        for index, candidate in enumerate(candidates):
            self._candidates.append(candidate)
            self._names.append(_Name.of(candidate.name))
            host = host_of(candidate.web_address)
            if host and not is_tenant_default(host):
                self._by_host[host].append(index)
                self._by_registrable[registrable_domain(host)].append(index)
        self._cores = [name.core for name in self._names]
        self._by_word = _word_index(self._cores)

    def suggest(self, name: str, domains: Iterable[str] = ()) -> list[Match]:
        """The best ``KEEP`` companies for an organization, best first, none below
        ``FLOOR``. For one company the domain evidence wins over the name."""
        query = _Name.of(name)
        scored: dict[int, tuple[float, str]] = dict(self._by_domain(query, domains))
        beside = OTHERS_BESIDE_DOMAIN if scored else 1.0
        for index, score in self._by_name(query):
            if index not in scored:
                scored[index] = (score * beside, "name")
        ranked = sorted(
            scored.items(),
            key=lambda item: (-item[1][0], item[1][1] != "domain", *self._tiebreak(query, item[0])),
        )
        return [
            Match(self._candidates[index].key, round(score, 4), basis)
            for index, (score, basis) in ranked[:KEEP]
            if score >= FLOOR
        ]

    def _by_domain(self, query: _Name, domains: Iterable[str]) -> list[tuple[int, tuple]]:
        hosts = tenant_domains(domains)
        exact = _union(self._by_host.get(host, ()) for host in hosts)
        if exact:
            found, unique_score = exact, DOMAIN_UNIQUE
        else:
            registrable = {registrable_domain(host) for host in hosts}
            found = _union(self._by_registrable.get(domain, ()) for domain in registrable)
            unique_score = REGISTRABLE_UNIQUE
        if len(found) == 1:
            return [(found[0], (unique_score, "domain"))]
        return [
            (index, (SHARED_DOMAIN_BASE + SHARED_DOMAIN_SPAN * self._similarity(query, index),
                     "domain"))
            for index in found
        ]  # fmt: skip

    def _by_name(self, query: _Name) -> list[tuple[int, float]]:
        if not query.key:
            return []
        postings = [self._by_word.get(key, ()) for key in _word_keys(query.core)]
        indexes = list(set().union(*postings))
        found = process.extract(
            query.core,
            [self._cores[index] for index in indexes],
            scorer=fuzz.ratio,
            processor=None,
            limit=NAME_CANDIDATES,
            score_cutoff=FLOOR * 100,
        )
        return _contest([(indexes[at], self._similarity(query, indexes[at])) for _, _, at in found])

    def _similarity(self, query: _Name, index: int) -> float:
        return _compare(query, self._names[index])

    def _tiebreak(self, query: _Name, index: int) -> tuple:
        """Between equal scores: the same legal form, then none, then another; then the
        closer name as written; then the caller's order."""
        name = self._names[index]
        form_rank = 1  # one of them has no legal form: it may be either
        if query.form and name.form:
            form_rank = 0 if query.form == name.form else 2
        return (form_rank, -fuzz.ratio(query.folded, name.folded), index)


def _compare(query: _Name, name: _Name) -> float:
    """The names' similarity, 0 to 1. Equal but for weak words is nearly as good as equal;
    above ``AMBIGUOUS_CAP`` only when each word of either name is a word of the other,
    perhaps spelt otherwise ("Veryx Architects" is not "Vertix Architects")."""
    score = fuzz.ratio(query.key, name.key) / 100
    if query.core != query.key or name.core != name.key:
        score = max(score, fuzz.ratio(query.core, name.core) / 100 - WEAK_WORD_PENALTY)
    differs = score > AMBIGUOUS_CAP and query.key != name.key
    if differs and not _words_correspond(query.core, name.core):
        score = AMBIGUOUS_CAP
    return score


def _word_keys(core: str) -> set[str]:
    """What finds a name by its words: each word, and the first and last three letters of
    longer ones (so a word with a typo still finds it)."""
    keys = set()
    for word in core.split():
        keys.add(word)
        if len(word) > 4:
            keys.update((word[:3] + "…", "…" + word[-3:]))
    return keys


def _word_index(cores: list[str]) -> dict[str, tuple[int, ...]]:
    """Names by ``_word_keys``; beginnings and endings many names share (a tenth or more,
    such as "…ing") find too much to be worth looking up and are left out."""
    index: dict[str, list[int]] = defaultdict(list)
    for number, core in enumerate(cores):
        for key in _word_keys(core):
            index[key].append(number)
    common = max(50, len(cores) // 10)
    return {
        key: tuple(numbers)
        for key, numbers in index.items()
        if "…" not in key or len(numbers) <= common
    }


def _words_correspond(first: str, second: str) -> bool:
    """Each word of either has a word in the other at least ``WORD_LIKENESS`` alike, by
    edits where swapping two letters is one ("desgin" is "design", "veryx" not "vertix")."""
    ours, theirs = first.split(), second.split()

    def covered(words, others):
        return all(
            any(OSA.normalized_similarity(word, other) >= WORD_LIKENESS for other in others)
            for word in words
        )

    return covered(ours, theirs) and covered(theirs, ours)


def _contest(scores: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Name scores, weighed against each other: only the best stands, unless others are
    as close (a coin toss: all capped); every other one is a maybe at most, the less so
    the further it is behind the best."""
    if len(scores) < 2:
        return scores
    best = max(score for _, score in scores)
    contenders = {index for index, score in scores if score >= best - AMBIGUOUS_MARGIN}
    weighed = []
    for index, score in scores:
        if index not in contenders:
            score = min(2 * score - best, AMBIGUOUS_CAP - 0.01)
        elif len(contenders) > 1:
            score = min(score, AMBIGUOUS_CAP)
        weighed.append((index, score))
    return weighed


def _union(groups: Iterable[Iterable[int]]) -> list[int]:
    seen: dict[int, None] = {}
    for group in groups:
        for index in group:
            seen.setdefault(index)
    return list(seen)
