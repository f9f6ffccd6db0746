"""Prices per model, the spending cap, and what a build has spent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builders.errors import InputError
from builders.options import read_yaml_file
from builders.resources import data_folder


@dataclass(frozen=True)
class Price:
    """USD per one million tokens."""

    input: float
    output: float
    source: str  # which table row matched, for the manifest

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


def _read_prices(path: Path) -> dict[str, tuple[float, float]]:
    data = read_yaml_file(path, "price table") or {}
    table = data.get("prices", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise InputError("price table must map model names", file=str(path), field="prices")
    prices = {}
    for model, entry in table.items():
        if model == "version":
            continue
        try:
            prices[str(model)] = (float(entry["input"]), float(entry["output"]))
        except (TypeError, KeyError, ValueError) as error:
            raise InputError(
                "expected {input: USD per 1M tokens, output: USD per 1M tokens}",
                file=str(path),
                field=str(model),
            ) from error
        if min(prices[str(model)]) < 0:
            raise InputError("prices cannot be negative", file=str(path), field=str(model))
    return prices


def find_price(model: str, override_file: str | None = None) -> Price | None:
    """The price of ``model``: the override file first, then the shipped table; None if unknown."""
    tables = []
    if override_file:
        tables.append((override_file, _read_prices(Path(override_file))))
    tables.append(("shipped", _read_prices(data_folder("templates") / "llm_prices.yaml")))
    for origin, table in tables:
        if model in table:
            return Price(*table[model], source=f"{origin}:{model}")
        prefixes = sorted((key for key in table if model.startswith(key)), key=len, reverse=True)
        if prefixes:
            return Price(*table[prefixes[0]], source=f"{origin}:{prefixes[0]}")
    return None


class BudgetExceeded(Exception):
    """Raised inside the backend when the next request could push spending over the cap."""


@dataclass
class Budget:
    """Spending of this run (cached answers are free). Reservations are worst-case costs of the
    requests in flight, so the cap holds even when every in-flight request returns max_tokens."""

    price: Price | None
    cap_usd: float | None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    stopped: bool = False

    def reserve(self, prompt_tokens: int, max_completion_tokens: int) -> float:
        if self.price is None:
            return 0.0
        worst = self.price.cost(prompt_tokens, max_completion_tokens)
        if self.cap_usd is not None and (
            self.stopped or self.spent_usd + self.reserved_usd + worst > self.cap_usd
        ):
            self.stopped = True
            raise BudgetExceeded
        self.reserved_usd += worst
        return worst

    def settle(
        self, reserved: float, prompt_tokens: int, completion_tokens: int, factor: float = 1.0
    ) -> float:
        """Replace a reservation by the real cost (0 for a failed request); return the cost."""
        self.reserved_usd -= reserved
        cost = factor * self.price.cost(prompt_tokens, completion_tokens) if self.price else 0.0
        self.spent_usd += cost
        return cost
