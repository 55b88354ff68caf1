"""Name matching with OpenSanctions' own libraries: rigour analyses each name into tagged parts
and symbols (org types, name parts, numbers, transliterations), pairs the symbols both names share
and scores the remaining parts by its typo-budgeted distance (`compare_parts`); FollowTheMoney's
name type gives the schema-aware name sets. This is the structure of yente's name matcher
(nomenklatura logic-v2: symbol pairing, then residue distance, extras down-weighted), composed
here because nomenklatura itself needs scikit-learn and a search index the closed network lacks.

The score of two names is the weighted mean of their alignments' scores; the score of a subject
and an entry is the best over their names. Exact identifiers (wallet addresses, website domains)
score 1.0.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rigour.names import (
    CompareConfig,
    Name,
    NamePartTag,
    NameTypeTag,
    SymbolCategory,
    analyze_names,
    compare_parts,
    pair_symbols,
)

# A part of the query with no counterpart counts less than a shared part, one of the entry less still
# (lists carry long legal names: "Garantex Europe OU" is still Garantex).
EXTRA_QUERY_WEIGHT = 0.5
EXTRA_RESULT_WEIGHT = 0.2
# Parts that only say what kind of business it is ("Exchange", "Ltd", "Group") and the other name lacks.
WEAK_EXTRA_WEIGHT = 0.1
WEAK = (SymbolCategory.ORG_CLASS, SymbolCategory.DOMAIN)
SYMBOL_SCORE = 0.95  # a shared symbol (same org type, same transliterated name part): nearly certain
CONFIG = CompareConfig()  # rigour's default, recall-protective tuning

PER, ORG, ENT = NameTypeTag.PER, NameTypeTag.ORG, NameTypeTag.ENT


def type_of(schema: str) -> NameTypeTag:
    if schema == "Person":
        return PER
    if schema in ("Organization", "Company", "PublicBody"):
        return ORG
    return ENT


@lru_cache(maxsize=65536)
def analysed(tag: NameTypeTag, name: str) -> tuple[Name, ...]:
    return tuple(analyze_names(tag, [name], {}, consolidate=False))


def _parts(name: Name, used: set) -> list:
    return [p for p in name.parts if p not in used and p.tag != NamePartTag.STOP]


def _weak(name: Name) -> set:
    return {p for span in name.spans if span.symbol.category in WEAK for p in span.parts} | {
        p for p in name.parts if p.tag == NamePartTag.LEGAL
    }


def name_score(query: Name, result: Name) -> float:
    """Similarity of two analysed names, 0..1."""
    if query.comparable == result.comparable:
        return 1.0
    q_weak, r_weak = _weak(query), _weak(result)
    best = 0.0
    for pairing in pair_symbols(query, result) or [()]:
        total = weight = 0.0
        q_used, r_used = set(), set()
        for edge in pairing:
            q_used.update(edge.qps)
            r_used.update(edge.rps)
            # Sharing a business word ("Exchange") or legal form says little about being the same one.
            w = (WEAK_EXTRA_WEIGHT if edge.symbol.category in WEAK else 1.0) * len(edge.qps)
            total += SYMBOL_SCORE * w
            weight += w
        for a in compare_parts(_parts(query, q_used), _parts(result, r_used), CONFIG):
            if not a.rps:
                weight += sum(WEAK_EXTRA_WEIGHT if p in q_weak else EXTRA_QUERY_WEIGHT for p in a.qps)
            elif not a.qps:
                weight += sum(WEAK_EXTRA_WEIGHT if p in r_weak else EXTRA_RESULT_WEIGHT for p in a.rps)
            else:
                n = max(len(a.qps), len(a.rps))
                total += a.score * n
                weight += n
        if weight:
            best = max(best, total / weight)
    return best


@dataclass(frozen=True)
class Match:
    score: float
    matched: str  # the entry's name (or identifier) that matched


def names_match(tag: NameTypeTag, queries: Iterable[str], names: Iterable[str]) -> Match:
    """Best score between any of the subject's names and any of the entry's, analysed as `tag`."""
    best = Match(0.0, "")
    q_names = [n for q in queries for n in analysed(tag, q)]
    for entry_name in names:
        for r in analysed(tag, entry_name):
            for q in q_names:
                score = name_score(q, r)
                if score > best.score:
                    best = Match(round(score, 4), entry_name)
                if best.score >= 1.0:
                    return best
    return best


def block_keys(tag: NameTypeTag, name: str) -> set[str]:
    """Keys a candidate entry must share with the subject to be compared at all: each part's first
    three letters of its comparable form and its metaphone (catches typos after the first letters)."""
    keys = set()
    for n in analysed(tag, name):
        for p in n.parts:
            if p.tag == NamePartTag.STOP or len(p.comparable) < 2:
                continue
            keys.add(p.comparable[:3])
            if p.metaphone:
                keys.add(f"~{p.metaphone}")
    return keys
