"""The variants' sums (outflows.variants.VariantParts) as stat cells and as the run's `variants` record.

Cross-tab cells have the canonical cells' shape (engine.aggregate): (dimension,
key, cohort) -> the engine's metrics, for every key and cohort with an
outbound, cohort "all" their sum. Keys of the new dimensions, and the transfers
they stand for (the drill-down's filter):

* operator_platform "UNP:slug": outbounds reported by that operator to that platform;
* operator_country "UNP:CC": reported by that operator to a platform of that country;
  these two for the whole window only (cohort "all"): by month they would be 25 times as many cells
  (30,000 at 20 operators x 60 platforms), mostly a few transfers each, and storing them was a tenth
  of the nightly run (bench/README_outflows.md); a month's transfers of a pair are the drill-down's
  date filter;
* asset "TICKER": outbounds of that asset;
* residency "CC" / kyc "level": outbounds whose investor, in the reporting
  operator's client register valid at the outbound's date (outflows.clients),
  has that residency / KYC level; "-" when no valid register lists the investor.

The variants and the excess are stored on the run (OutflowRun.variants), in BYN strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from outflows import clients, engine, variants
from outflows.readers import RawTransfers
from outflows.readers.binary import ticker_of
from outflows.variants import V_OUTBOUND, V_RETURNED, VariantParts

CROSS_DIMENSIONS = ("operator_platform", "operator_country", "asset", "residency", "kyc")


def _blocks_to_cells(blocks, labels: list[str], cells: dict) -> None:
    for dimension, key, block in blocks:  # block: (n_cohorts, N_METRICS), or (N_METRICS,) for the whole window
        if block.ndim == 1:
            if block[engine.M_COUNT] + block[engine.M_PENDING_COUNT] > 0:
                cells[(dimension, key, "all")] = block
            continue
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
            block = parts.op_plat[o, p]
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


# Dimensions of the cells that only carry the variants and the excess from a computation to the run's
# record (they add up over partitions like the stat cells); `split_cells` takes them out before storing.
PSEUDO = ("variant_investor", "variant_unit", "variant_saturated", "excess_operator", "excess_platform",
          "excess_country")  # fmt: skip


def _vector(*values: int) -> np.ndarray:
    out = np.zeros(engine.N_METRICS, np.int64)
    out[: len(values)] = values
    return out


def pseudo_cells(
    parts: VariantParts, *, operator_keys: list[str], platform_keys: list[str], platform_countries: list[str]
) -> dict[tuple[str, str, str], np.ndarray]:
    cells = {}
    for name, sums in (("variant_investor", parts.investor), ("variant_unit", parts.unit)):
        if sums is not None:
            cells.update(
                {(name, unp, "all"): _vector(*row) for unp, row in zip(operator_keys, sums.tolist(), strict=True)}
            )
    if parts.unit is not None:
        cells[("variant_saturated", "all", "all")] = _vector(parts.amount_saturated)
    by_country: dict[str, int] = {}
    for p, country in enumerate(platform_countries):
        by_country[country] = by_country.get(country, 0) + int(parts.excess_plat[p])
    for name, keys, values in (
        ("excess_operator", operator_keys, parts.excess_op.tolist()),
        ("excess_platform", platform_keys, parts.excess_plat.tolist()),
        ("excess_country", list(by_country), list(by_country.values())),
    ):
        cells.update({(name, key, "all"): _vector(v) for key, v in zip(keys, values, strict=True) if v})
    return cells


def split_cells(cells: dict) -> tuple[dict, dict]:
    """(the stat cells to store, the run's `variants` record: {} when the computation made no variants)."""
    stats = {cell: m for cell, m in cells.items() if cell[0] not in PSEUDO}
    if len(stats) == len(cells):
        return cells, {}
    return stats, record_from_cells(cells)


def record_from_cells(cells: dict) -> dict:
    """The run's `variants` record: canonical, investor-level and unit-based figures, price effect, excess apart.

    "price_effect" = canonical share - unit-based share (overall and per operator), in share points.
    """

    def canonical_figure(key: tuple) -> dict:
        m = cells.get(key)
        return _figure(0, 0) if m is None else _figure(int(m[engine.M_OUTBOUND]), int(m[engine.M_RETURNED]))

    operators = sorted(key for (dimension, key, cohort) in cells if dimension == "operator" and cohort == "all")
    record = {
        "canonical": {
            "overall": canonical_figure(("overall", "all", "all")),
            "operator": {unp: canonical_figure(("operator", unp, "all")) for unp in operators},
        },
    }
    for name, pseudo in (("investor_level", "variant_investor"), ("unit_based", "variant_unit")):
        rows = {key: m for (dimension, key, _c), m in cells.items() if dimension == pseudo}
        if not rows:
            record[name] = None
            continue
        total = sum(rows.values())
        record[name] = {
            "overall": _figure(int(total[V_OUTBOUND]), int(total[V_RETURNED])),
            "operator": {
                unp: _figure(int(m[V_OUTBOUND]), int(m[V_RETURNED])) for unp, m in sorted(rows.items()) if m[V_OUTBOUND]
            },
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
        unit["amount_saturated"] = int(cells.get(("variant_saturated", "all", "all"), _vector(0))[0])
    record["excess"] = {
        dimension: {key: _byn(int(m[0])) for (d, key, _c), m in sorted(cells.items()) if d == f"excess_{dimension}"}
        for dimension in ("operator", "platform", "country")
    }
    return record


def summary(
    parts: VariantParts,
    *,
    canonical: dict[tuple[str, str, str], np.ndarray],
    operator_keys: list[str],
    platform_keys: list[str],
    platform_countries: list[str],
) -> dict:
    """The `variants` record of canonical cells and a computation's variant sums."""
    pseudo = pseudo_cells(
        parts, operator_keys=operator_keys, platform_keys=platform_keys, platform_countries=platform_countries
    )
    return record_from_cells({**canonical, **pseudo})


@dataclass
class VariantInputs:
    """The per-row inputs of the variants and cross-tabs (input order) and the keys of their codes."""

    extra: variants.ExtraColumns
    asset_keys: list[str]
    residency_keys: list[str]
    kyc_keys: list[str]

    def classes(self) -> engine.ClassColumns:
        """What the detailed canonical sweep sums the asset, residency and KYC cross-tabs by."""
        return variants.class_columns(
            self.extra, n_assets=len(self.asset_keys), n_residency=len(self.residency_keys),
            n_kyc=len(self.kyc_keys),
        )  # fmt: skip


def variant_inputs(raw: RawTransfers, arrays: engine.TransferArrays, *, operator_ids: list[int]) -> VariantInputs:
    """The readers' dense asset codes (in ticker order) and the client classes."""
    if raw.asset is not None:
        asset = raw.asset
        asset_keys = [ticker_of(int(code)) for code in raw.asset_tickers]
    else:
        asset, asset_keys = None, []
    residency, kyc, residency_keys, kyc_keys = clients.client_classes(
        investor=arrays.investor, investor_hash=raw.investor_hash, operator=arrays.operator,
        operator_ids=operator_ids, occurred_at=arrays.occurred_at, is_in=arrays.is_in,
    )  # fmt: skip
    extra = variants.ExtraColumns(asset=asset, amount=raw.amount, residency=residency, kyc=kyc)
    return VariantInputs(extra, asset_keys, residency_keys, kyc_keys)


def variant_cells(
    inputs: VariantInputs,
    arrays: engine.TransferArrays,
    rows: engine.SortedRows | None,
    *,
    operator_keys: list[str],
    platform_keys: list[str],
    platform_countries: list[str],
    cohorts: engine.CohortAxis,
    as_of_us: int,
    window_days: int,
) -> dict[tuple[str, str, str], np.ndarray]:
    """The cross-tab cells and the pseudo-cells of one computation's transfers.

    rows: engine.compute(arrays, keep_rows=True, detail=True, classes=inputs.classes())'s sorted rows, or None
    (sorted and swept here); arrays.asset must be inputs.extra.asset (the sort's last tie-break)."""
    if rows is None:
        rows = engine.sort_rows(arrays, len(operator_keys), len(platform_keys))
    parts = variants.compute(
        rows, inputs.extra, cohorts=cohorts, as_of_us=as_of_us, window_days=window_days,
        n_operators=len(operator_keys), n_platforms=len(platform_keys), n_assets=len(inputs.asset_keys),
        n_residency=len(inputs.residency_keys), n_kyc=len(inputs.kyc_keys),
    )  # fmt: skip
    cells = cross_cells(
        parts, cohorts=cohorts.labels, operator_keys=operator_keys, platform_keys=platform_keys,
        platform_countries=platform_countries, asset_keys=inputs.asset_keys, residency_keys=inputs.residency_keys,
        kyc_keys=inputs.kyc_keys,
    )  # fmt: skip
    cells.update(
        pseudo_cells(
            parts, operator_keys=operator_keys, platform_keys=platform_keys, platform_countries=platform_countries
        )
    )
    return cells
