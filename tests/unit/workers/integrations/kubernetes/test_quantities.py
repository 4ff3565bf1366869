"""Kubernetes quantities: exact parsing, canonical formatting, rounding."""

from __future__ import annotations

from fractions import Fraction

import pytest

from workers.integrations.kubernetes.quantities import (
    GI,
    MI,
    QuantityError,
    format_bytes,
    format_millicores,
    humanize_bytes,
    memory_step,
    parse_bytes,
    parse_millicores,
    parse_quantity,
    round_up,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("128974848", 128974848),
        ("129e6", 129_000_000),
        ("129M", 129_000_000),
        ("123Mi", 123 * MI),
        ("1.5Gi", 1536 * MI),
        ("1Gi", GI),
        ("64Ki", 65536),
        ("1E", 10**18),
        ("1e3", 1000),
        ("2Ti", 2 * 1024**4),
        ("500m", Fraction(1, 2)),
        ("0.1", Fraction(1, 10)),
        (".5", Fraction(1, 2)),
        ("+1k", 1000),
        (" 256Mi ", 256 * MI),
        (512, 512),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parse_quantity_is_exact(text: str | int | float, value: int | Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "Mi", "12 Mi", "1.2.3", "12mi", "12KiB", "0x10", "1e", "--1", "nan"])
def test_parse_quantity_rejects_garbage(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize("value", [True, float("inf"), None, [1]])
def test_parse_quantity_rejects_non_quantities(value: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0"),
        (384 * MI, "384Mi"),
        (GI, "1Gi"),
        (1536 * MI, "1536Mi"),
        (1408 * MI, "1408Mi"),
        (3 * GI, "3Gi"),
        (500_000_000, "500M"),
        (2048, "2Ki"),
        (1_000, "1k"),
        (1_001, "1001"),
        (-64 * MI, "-64Mi"),
    ],
)
def test_format_bytes_is_canonical(count: int, text: str) -> None:
    assert format_bytes(count) == text


@pytest.mark.parametrize("text", ["384Mi", "1Gi", "1536Mi", "500M", "2Ki", "7", "3Gi", "129M", "1001"])
def test_bytes_round_trip(text: str) -> None:
    assert format_bytes(parse_bytes(text)) == text


@pytest.mark.parametrize("count", [1, 999, 1023, 1024, 10**6, 3 * MI + 1, 5 * GI, 123456789])
def test_format_then_parse_gives_the_same_count(count: int) -> None:
    assert parse_bytes(format_bytes(count)) == count


def test_parse_bytes_rounds_fractions_up() -> None:
    assert parse_bytes("1.5") == 2
    assert parse_bytes("100m") == 1


@pytest.mark.parametrize(
    ("text", "millis", "canonical"),
    [("250m", 250, "250m"), ("1", 1000, "1"), ("1.5", 1500, "1500m"), ("0.1", 100, "100m"), ("2", 2000, "2")],
)
def test_cpu_millicores_round_trip(text: str, millis: int, canonical: str) -> None:
    assert parse_millicores(text) == millis
    assert format_millicores(millis) == canonical
    assert parse_millicores(canonical) == millis


def test_format_millicores() -> None:
    assert format_millicores(2000) == "2"
    assert format_millicores(1500) == "1500m"
    assert format_millicores(100) == "100m"


@pytest.mark.parametrize(
    ("count", "step", "rounded"),
    [
        (356 * MI, 64 * MI, 384 * MI),
        (384 * MI, 64 * MI, 384 * MI),
        (384 * MI + 1, 64 * MI, 448 * MI),
        (1, 5, 5),
    ],
)
def test_round_up(count: int, step: int, rounded: int) -> None:
    assert round_up(count, step) == rounded


def test_round_up_rejects_a_zero_step() -> None:
    with pytest.raises(ValueError, match="positive"):
        round_up(10, 0)


def test_memory_step_changes_at_one_gibibyte() -> None:
    assert memory_step(GI - 1) == 64 * MI
    assert memory_step(GI) == 128 * MI
    assert memory_step(10 * GI) == 128 * MI


@pytest.mark.parametrize(
    ("count", "text"),
    [(268_000_000, "255.6Mi"), (256 * MI, "256Mi"), (1.5 * GI, "1.5Gi"), (2048, "2Ki"), (12, "12B")],
)
def test_humanize_bytes(count: float, text: str) -> None:
    assert humanize_bytes(count) == text
