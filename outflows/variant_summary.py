"""The variants' sums (outflows.variants.VariantParts) as stat cells and as the run's `variants` record.

Cross-tab cells have the canonical cells' shape (engine.aggregate): (dimension,
key, cohort) -> the engine's metrics, for every key and cohort with an
outbound, cohort "all" their sum. Keys of the new dimensions, and the transfers
they stand for (the drill-down's filter):

* operator_platform "UNP:slug": outbounds reported by that operator to that platform;
* operator_country "UNP:CC": reported by that operator to a platform of that country;
* asset "TICKER": outbounds of that asset;
* residency "CC" / kyc "level": outbounds whose investor, in the reporting
  operator's client register valid at the outbound's date (outflows.clients),
  has that residency / KYC level; "-" when no valid register lists the investor.

The variants and the excess are stored on the run (OutflowRun.variants), in BYN strings.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from outflows import engine
from outflows.variants import V_OUTBOUND, V_RETURNED, VariantParts

CROSS_DIMENSIONS = ("operator_platform", "operator_country", "asset", "residency", "kyc")


def _blocks_to_cells(blocks, labels: list[str], cells: dict) -> None:
    for dimension, key, block in blocks:  # block: (n_cohorts, N_METRICS)
        has_outbound = (block[:, engine.M_COUNT] + block[:, engine.M_PENDING_COUNT]) > 0
        if not has_outbound.any():
            continue
        for c in np.flatnonzero(has_outbound):
            cells[(dimension, key, labels[c])] = block[c]
        cells[(dimension, key, "all")] = block.sum(axis=0)


def cross_cells(
    parts: VariantParts,
    *,
    cohorts: list[str],
    operator_keys: list[str],
    platform_keys: list[str],
    platform_countries: list[str],
    asset_keys: list[str],
    residency_keys: list[str],
    kyc_keys: list[str],
) -> dict[tuple[str, str, str], np.ndarray]:
    """The cross-tab cells (integer sums only)."""
    blocks = []
    for o, unp in enumerate(operator_keys):
        by_country: dict[str, np.ndarray] = {}
        for p, slug in enumerate(platform_keys):
            block = parts.op_plat[:, o, p]
            blocks.append(("operator_platform", f"{unp}:{slug}", block))
            country = platform_countries[p]
            by_country[country] = by_country[country] + block if country in by_country else block.copy()
        blocks += [("operator_country", f"{unp}:{country}", block) for country, block in by_country.items()]
    blocks += [("asset", key, parts.asset[:, a]) for a, key in enumerate(asset_keys)]
    blocks += [("residency", key, parts.residency[:, r]) for r, key in enumerate(residency_keys)]
    blocks += [("kyc", key, parts.kyc[:, k]) for k, key in enumerate(kyc_keys)]
    cells: dict[tuple[str, str, str], np.ndarray] = {}
    _blocks_to_cells(blocks, cohorts, cells)
    return cells


def _byn(kopecks: int) -> str:
    return str(Decimal(int(kopecks)).scaleb(-2))


def _share(outbound: int, returned: int) -> str | None:
    if outbound == 0:
        return None
    return str((Decimal(outbound - returned) / Decimal(outbound)).quantize(Decimal("0.000001")))


def _figure(outbound: int, returned: int) -> dict:
    return {"outbound": _byn(outbound), "returned": _byn(returned), "share": _share(outbound, returned)}


def _variant(sums: np.ndarray | None, operator_keys: list[str]) -> dict | None:
    if sums is None:
        return None
    total = sums.sum(axis=0)
    return {
        "overall": _figure(int(total[V_OUTBOUND]), int(total[V_RETURNED])),
        "operator": {
            unp: _figure(int(row[V_OUTBOUND]), int(row[V_RETURNED]))
            for unp, row in zip(operator_keys, sums, strict=True)
            if row[V_OUTBOUND] > 0
        },
    }


def summary(
    parts: VariantParts,
    *,
    canonical: dict[tuple[str, str, str], np.ndarray],
    operator_keys: list[str],
    platform_keys: list[str],
    platform_countries: list[str],
) -> dict:
    """The run's `variants` record: canonical, investor-level and unit-based figures, price effect, excess apart.

    "price_effect" = canonical share - unit-based share (overall and per operator), in share points.
    """

    def canonical_figure(dimension: str, key: str) -> dict:
        m = canonical.get((dimension, key, "all"))
        if m is None:
            return _figure(0, 0)
        return _figure(int(m[engine.M_OUTBOUND]), int(m[engine.M_RETURNED]))

    record = {
        "canonical": {
            "overall": canonical_figure("overall", "all"),
            "operator": {
                unp: canonical_figure("operator", unp) for unp in operator_keys if ("operator", unp, "all") in canonical
            },
        },
        "investor_level": _variant(parts.investor, operator_keys),
        "unit_based": _variant(parts.unit, operator_keys),
    }
    unit = record["unit_based"]
    if unit is not None:

        def effect(a: dict, b: dict) -> str | None:
            if a["share"] is None or b["share"] is None:
                return None
            return str(Decimal(a["share"]) - Decimal(b["share"]))

        unit["price_effect"] = effect(record["canonical"]["overall"], unit["overall"])
        for unp, figure in unit["operator"].items():
            figure["price_effect"] = effect(record["canonical"]["operator"].get(unp, _figure(0, 0)), figure)
        unit["amount_saturated"] = parts.amount_saturated
    by_country: dict[str, int] = {}
    for p, country in enumerate(platform_countries):
        by_country[country] = by_country.get(country, 0) + int(parts.excess_plat[p])
    record["excess"] = {
        "operator": {k: _byn(v) for k, v in zip(operator_keys, parts.excess_op.tolist(), strict=True) if v},
        "platform": {k: _byn(v) for k, v in zip(platform_keys, parts.excess_plat.tolist(), strict=True) if v},
        "country": {k: _byn(v) for k, v in sorted(by_country.items()) if v},
    }
    return record
