"""The report's SVG charts: geometry derived by hand, escaping, determinism, size bounds."""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import reports
from reports._charts import (
    ForestRow,
    TradeoffPoint,
    forest_plot,
    heat_map,
    nice_ticks,
    tradeoff_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
EVIL = "<img src=file:///etc/passwd>"
NUMBER = r"(-?\d+(?:\.\d+)?)"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def centre_x(mark: ET.Element) -> float:
    """The x centre of a marker, read from its geometry (circle, rect, polygon or path)."""
    tag = mark.tag.removeprefix(SVG)
    if tag == "circle":
        return float(mark.get("cx", "nan"))
    if tag == "rect":
        return float(mark.get("x", "nan")) + float(mark.get("width", "nan")) / 2
    numbers = [float(n) for n in re.findall(NUMBER, mark.get("points") or mark.get("d") or "")]
    xs = numbers[0::2]
    return sum(xs) / len(xs)


def axis_ends(root: ET.Element, index: int = 0) -> tuple[float, float]:
    """The pixel ends of an axis line: the padded data range (``M start base H end``)."""
    d = root.findall(f"{SVG}path[@class='axis']")[index].get("d", "")
    match = re.match(rf"M{NUMBER} {NUMBER}H{NUMBER}", d)
    assert match, d
    return float(match[1]), float(match[3])


def tick_positions(root: ET.Element) -> dict[str, float]:
    """Tick label text → its x, for the labels of a horizontal axis (anchored in the middle)."""
    return {
        t.text or "": float(t.get("x", "nan"))
        for t in root.findall(f"{SVG}text[@text-anchor='middle']")
    }


# ---- nice ticks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        # span 1, raw step 0.2 = 2 × 10^-1 exactly.
        (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        # raw 0.22 / 5 = 0.044: 4.4 × 10^-2, between √10 and √50, so 5 × 10^-2.
        (-0.01, 0.21, [0.0, 0.05, 0.1, 0.15, 0.2]),
        # raw 1.4 < √2 ≈ 1.414: step 1; raw 1.44 > √2: step 2.
        (0.0, 7.0, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
        (0.0, 7.2, [0.0, 2.0, 4.0, 6.0]),
        # raw 3.9 / 5 = 0.78: 7.8 × 10^-1 > √50 ≈ 7.07, so 10 × 10^-1 = 1.
        (-1.3, 2.6, [-1.0, 0.0, 1.0, 2.0]),
        # raw 760 / 5 = 152: 1.52 × 10^2 → 200; the first multiple of 200 at or above 250 is 400.
        (250.0, 1010.0, [400.0, 600.0, 800.0, 1000.0]),
        # raw 0.3 → 0.2; 0.6 must be the float nearest 0.6, not 3 * 0.2 = 0.6000000000000001.
        (0.0, 1.5, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4]),
    ],
)
def test_nice_ticks_hand_computed(low: float, high: float, expected: list[float]) -> None:
    assert nice_ticks(low, high) == expected


def test_nice_ticks_count_and_errors() -> None:
    assert nice_ticks(0.0, 1.0, count=2) == [0.0, 0.5, 1.0]  # raw 0.5 → 5 × 10^-1
    for low, high in [(1.0, 1.0), (2.0, 1.0), (0.0, math.nan), (-math.inf, 0.0)]:
        with pytest.raises(ValueError, match=r"nice_ticks needs finite low < high\. Got low="):
            nice_ticks(low, high)
    with pytest.raises(ValueError, match=r"'count' parameter of nice_ticks .* Got 0\."):
        nice_ticks(0.0, 1.0, count=0)


# ---- forest plot ----------------------------------------------------------------------------

# Every value, interval end and threshold lies in [0, 0.2] and 0 is included: the axis spans
# [-0.01, 0.21] (5 % of 0.2 on each side) and its ticks are 0, 0.05, ..., 0.2 (see above).
FOREST = [
    ForestRow("at the threshold", 0.1, 0.05, 0.2, 0.1, "max", "inconclusive"),
    ForestRow("ratio-like", 0.15, 0.12, 0.18, 0.05, "min", "pass"),
    ForestRow("too far", 0.18, 0.16, 0.2, 0.1, "max", "fail"),
]


def rows_of(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.findall(f"{SVG}g") if (g.get("class") or "").startswith("row ")]


def test_forest_axis_is_derived_from_the_data() -> None:
    root = parse(forest_plot(FOREST, title="Policy"))
    ticks = tick_positions(root)
    assert list(ticks) == ["0.00", "0.05", "0.10", "0.15", "0.20"]
    start, end = axis_ends(root)

    def x(value: float) -> float:  # the hand-derived map of [-0.01, 0.21] onto the axis line
        return start + (value + 0.01) / 0.22 * (end - start)

    for label, at in ticks.items():
        assert at == pytest.approx(x(float(label)), abs=0.11)


def test_forest_marks_sit_where_the_axis_says() -> None:
    root = parse(forest_plot(FOREST, title="Policy"))
    ticks = tick_positions(root)
    first, second, third = rows_of(root)
    threshold = first.find(f"{SVG}path[@class='threshold']")
    assert threshold is not None
    tick_x = float(re.findall(NUMBER, threshold.get("d", ""))[0])
    assert tick_x == ticks["0.10"]
    marker = first.find(f"{SVG}*[@class='marker']")
    assert marker is not None
    assert marker.tag == f"{SVG}polygon"
    assert marker.get("fill") == "#fff"
    assert len(marker.get("points", "").split()) == 4
    assert centre_x(marker) == pytest.approx(tick_x, abs=0.06)  # value == threshold
    interval = first.find(f"{SVG}path[@class='interval']")
    assert interval is not None
    match = re.match(rf"M{NUMBER} {NUMBER}H{NUMBER}", interval.get("d", ""))
    assert match
    assert (float(match[1]), float(match[3])) == (ticks["0.05"], ticks["0.20"])
    # Verdict shapes: pass is a filled circle, fail a cross of two strokes.
    disc = second.find(f"{SVG}*[@class='marker']")
    cross = third.find(f"{SVG}*[@class='marker']")
    assert disc is not None
    assert cross is not None
    assert disc.tag == f"{SVG}circle"
    assert disc.get("fill") != "#fff"
    assert cross.tag == f"{SVG}path"
    assert cross.get("d", "").count("M") == 2
    assert texts(first)[1:] == ["0.100 [0.050, 0.200]", "inconclusive"]


def test_forest_shades_the_side_the_policy_does_not_allow() -> None:
    root = parse(forest_plot(FOREST, title="Policy"))
    ticks = tick_positions(root)
    start, end = axis_ends(root)
    shading = root.find(f"{SVG}g[@class='not-allowed']")
    assert shading is not None
    spans = [
        (float(r.get("x", "nan")), float(r.get("x", "nan")) + float(r.get("width", "nan")))
        for r in shading.iter(f"{SVG}rect")
    ]
    assert spans[0] == pytest.approx((ticks["0.10"], end), abs=0.11)  # max: right of 0.1
    assert spans[1] == pytest.approx((start, ticks["0.05"]), abs=0.11)  # min: left of 0.05


@pytest.mark.parametrize("missing", [None, math.nan, math.inf])
def test_forest_undefined_value_is_not_drawn_as_zero(missing: float | None) -> None:
    rows = [
        ForestRow("undefined", missing, None, None, 0.1, "max", "inconclusive", note="no rows"),
        ForestRow("no interval", 0.05, math.nan, 0.07, 0.1, "max", "inconclusive"),
    ]
    root = parse(forest_plot(rows, title="Policy"))
    undefined, no_interval = rows_of(root)
    assert undefined.find(f"{SVG}*[@class='marker']") is None
    assert undefined.find(f"{SVG}path[@class='interval']") is None
    assert texts(undefined)[1:] == ["undefined (no rows)", "undefined", "inconclusive"]
    assert no_interval.find(f"{SVG}*[@class='marker']") is not None
    assert no_interval.find(f"{SVG}path[@class='interval']") is None
    assert "0.050 [undefined]" in texts(no_interval)
    assert not any("0.000" in t or "nan" in t or "inf" in t for t in texts(root))


def test_forest_row_validation() -> None:
    with pytest.raises(ValueError, match=r"'bound' of ForestRow 'x' must be 'max' or 'min'\. Got"):
        ForestRow("x", 0.1, 0.0, 0.2, 0.1, "below", "pass")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'verdict' of ForestRow 'x' must be one of"):
        ForestRow("x", 0.1, 0.0, 0.2, 0.1, "max", "PASS")
    with pytest.raises(ValueError, match=r"'threshold' of ForestRow 'x' must be finite\. Got nan"):
        ForestRow("x", 0.1, 0.0, 0.2, math.nan, "max", "pass")
    with pytest.raises(ValueError, match=r"'width' parameter of forest_plot .* Got 100"):
        forest_plot(FOREST, title="t", width=100)


# ---- heat map -------------------------------------------------------------------------------


def cells(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.findall(f"{SVG}g") if (g.get("class") or "").startswith("cell")]


def grey(cell: ET.Element) -> int:
    rect = cell.find(f"{SVG}rect")
    assert rect is not None
    fill = rect.get("fill", "")
    assert re.fullmatch(r"#([0-9a-f]{2})\1\1", fill), fill  # a pure grey
    return int(fill[1:3], 16)


def test_heat_map_fill_runs_from_light_min_to_dark_max() -> None:
    values = [[0.3, 0.1, 0.5], [0.6, 0.2, 0.4]]
    root = parse(heat_map(["f", "m"], ["a", "b", "c"], values, title="rate"))
    found = cells(root)
    assert len(found) == 6
    by_value = sorted(zip([v for row in values for v in row], found, strict=True))
    levels = [grey(cell) for _, cell in by_value]
    assert levels == sorted(levels, reverse=True)
    assert len(set(levels)) == 6
    lightest, darkest = by_value[0][1], by_value[-1][1]
    assert texts(lightest) == ["0.100"]
    assert lightest.get("fill") == "#000"
    assert texts(darkest) == ["0.600"]
    assert darkest.get("fill") == "#fff"
    assert {"min 0.100", "max 0.600"} <= set(texts(root))


def test_heat_map_undefined_cells_say_na_and_nothing_numeric() -> None:
    values: list[list[float | None]] = [[0.25, None], [math.nan, 0.75]]
    root = parse(heat_map(["f", "m"], ["a", "b"], values, title="rate", value_format="{:.2f}"))
    undefined = [c for c in cells(root) if c.get("class") == "cell undefined"]
    assert len(undefined) == 2
    for cell in undefined:
        assert texts(cell) == ["n/a"]
        assert cell.find(f"{SVG}path") is not None  # hatched
    assert not any(re.search(r"0\.00|nan", t) for t in texts(root))
    assert "n/a: undefined" in texts(root)  # the legend explains the hatching
    # Counts are printed under the value, for undefined cells too.
    root = parse(heat_map(["f"], ["a"], [[None]], title="rate", counts=[[0]]))
    assert texts(cells(root)[0]) == ["n/a", "n = 0"]


def test_heat_map_small_cells_carry_a_dagger_and_the_legend() -> None:
    draw = functools.partial(
        heat_map,
        ["f"],
        ["a", "b"],
        [[0.1, 0.2]],
        title="rate",
        low_is_good=True,
        small_note="fewer than 30 rows",
    )
    root = parse(draw(small=[[False, True]]))
    assert [texts(c) for c in cells(root)] == [["0.100"], ["0.200†"]]
    assert {"†", "fewer than 30 rows", "lighter = lower, darker = higher (worse)"} <= set(
        texts(root)
    )
    root = parse(draw())
    assert not any("†" in t or "fewer than" in t for t in texts(root))


def test_heat_map_shape_is_checked() -> None:
    with pytest.raises(ValueError, match=r"'values' .* 2 rows of 3 cells .* \[3, 2\]\."):
        heat_map(["f", "m"], ["a", "b", "c"], [[1, 2, 3], [1, 2]], title="t")
    with pytest.raises(ValueError, match=r"'counts' .* 1 rows of 1 cells .* \[2\]\."):
        heat_map(["f"], ["a"], [[1.0]], counts=[[1, 2]], title="t")


# ---- trade-off chart ------------------------------------------------------------------------

POINTS = [
    TradeoffPoint("base", 0.85, 0.84, 0.86, 0.2, 0.18, 0.22, pareto=True, baseline=True),
    TradeoffPoint("fair", 0.8, 0.78, 0.82, 0.05, 0.03, 0.07, pareto=True, chosen=True),
    TradeoffPoint("middle", 0.84, 0.83, 0.85, 0.1, 0.08, 0.12, pareto=True),
    TradeoffPoint("worse", 0.78, 0.77, 0.79, 0.15, 0.13, 0.17),
    TradeoffPoint("twin", 0.78, 0.77, 0.79, 0.15, 0.13, 0.17),
    TradeoffPoint("broken", math.nan, None, None, 0.1, 0.05, 0.15),
]


def point(root: ET.Element, kind: str) -> list[ET.Element]:
    return root.findall(f"{SVG}g[@class='point {kind}']")


def test_tradeoff_marks_and_labels() -> None:
    root = parse(tradeoff_chart(POINTS, x_label="DP difference", y_label="AUC", title="t"))
    (chosen,) = point(root, "chosen")
    star, name = chosen
    assert star.tag == f"{SVG}polygon"
    assert len(star.get("points", "").split()) == 10
    assert name.text == "fair"
    assert name.get("font-weight") == "bold"
    (baseline,) = point(root, "baseline")
    assert baseline[0].tag == f"{SVG}rect"
    assert baseline[1].get("font-weight") is None
    (pareto,) = point(root, "pareto")
    assert pareto[0].tag == f"{SVG}circle"
    assert pareto[0].get("fill") == "#000"
    dominated = point(root, "dominated")
    assert [g[1].text for g in dominated] == ["worse", "twin"]
    assert all(g[0].get("fill") == "#fff" for g in dominated)
    # The twins share a spot; their labels do not.
    assert dominated[0][0].attrib == dominated[1][0].attrib
    assert dominated[0][1].get("y") != dominated[1][1].get("y")
    # The chosen star sits at disparity 0.05 on the x-axis.
    assert centre_x(star) == pytest.approx(tick_positions(root)["0.05"], abs=0.11)


def test_tradeoff_frontier_joins_pareto_points_by_disparity() -> None:
    root = parse(tradeoff_chart(POINTS, x_label="x", y_label="y", title="t"))
    frontier = root.find(f"{SVG}polyline[@class='frontier']")
    assert frontier is not None
    xy = [tuple(map(float, p.split(","))) for p in frontier.get("points", "").split()]
    centres = [centre_x(point(root, kind)[0][0]) for kind in ("chosen", "pareto", "baseline")]
    assert [x for x, _ in xy] == pytest.approx(centres, abs=0.11)  # 0.05, 0.1, 0.2: sorted


def test_tradeoff_undefined_points_are_listed_not_drawn() -> None:
    root = parse(tradeoff_chart(POINTS, x_label="x", y_label="y", title="t"))
    assert texts(root)[-1] == "not drawn: broken (undefined)"
    assert "broken" not in [t for g in root.findall(f"{SVG}g") for t in texts(g)]
    nothing = [TradeoffPoint("a", None, None, None, math.inf, None, None)]
    root = parse(tradeoff_chart(nothing, x_label="x", y_label="y", title="t"))
    assert texts(root) == ["t", "No data", "not drawn: a (undefined)"]


def test_tradeoff_axis_labels_say_which_way_is_better() -> None:
    draw = functools.partial(
        tradeoff_chart, POINTS, x_label="DP difference", y_label="log loss", title="t"
    )
    lower, higher = texts(parse(draw(higher_is_better=False))), texts(parse(draw()))
    assert "log loss (lower is better)" in lower
    assert "log loss (lower is better)" not in higher
    assert "log loss (higher is better)" in higher
    assert "DP difference (lower is better)" in lower


def test_tradeoff_at_most_one_chosen() -> None:
    two = [*POINTS, TradeoffPoint("also", 0.8, 0.8, 0.8, 0.1, 0.1, 0.1, chosen=True)]
    with pytest.raises(ValueError, match=r"At most one point .* Got \['fair', 'also'\]\."):
        tradeoff_chart(two, x_label="x", y_label="y", title="t")


# ---- every chart ----------------------------------------------------------------------------


def forest_rows(n: int) -> list[ForestRow]:
    verdicts = ["pass", "fail", "inconclusive"]
    return [
        ForestRow(
            f"criterion {i} × attribute {i % 4}",
            None if i % 7 == 6 else 0.01 * i,
            None if i % 7 == 6 else 0.01 * i - 0.02,
            None if i % 7 == 6 else 0.01 * i + 0.03,
            0.1 if i % 2 else 0.8,
            "max" if i % 2 else "min",
            verdicts[i % 3],
            note="no positives" if i % 7 == 6 else None,
        )
        for i in range(n)
    ]


def heat_6x6() -> str:
    labels = [f"group {i}" for i in range(6)]
    values = [
        [None if (i + j) % 5 == 4 else 0.1 * i + 0.01 * j for j in range(6)] for i in range(6)
    ]
    counts = [[10 * i + j for j in range(6)] for i in range(6)]
    small = [[(10 * i + j) < 20 for j in range(6)] for i in range(6)]
    return heat_map(
        labels, labels, values, title="6 × 6", counts=counts, small=small, small_note="small"
    )


def tradeoff_12() -> str:
    points = [
        TradeoffPoint(
            f"candidate {i}",
            0.7 + 0.01 * i,
            0.69 + 0.01 * i,
            0.71 + 0.01 * i,
            0.02 * i,
            0.02 * i - 0.01,
            0.02 * i + 0.01,
            pareto=i % 2 == 0,
            chosen=i == 4,
            baseline=i == 11,
        )
        for i in range(12)
    ]
    return tradeoff_chart(points, x_label="disparity", y_label="accuracy", title="12")


def all_charts() -> dict[str, str]:
    return {
        "forest": forest_plot(forest_rows(30), title="30 rows"),
        "heat": heat_6x6(),
        "tradeoff": tradeoff_12(),
        "forest empty": forest_plot([], title="none"),
        "heat empty": heat_map([], [], [], title="none"),
        "tradeoff empty": tradeoff_chart([], x_label="x", y_label="y", title="none"),
    }


@pytest.mark.parametrize("name", ["forest", "heat", "tradeoff"])
def test_element_count_is_bounded(name: str) -> None:
    # WeasyPrint's SVG drawing time grows with the element count; keep realistic charts lean.
    count = sum(1 for _ in parse(all_charts()[name]).iter())
    assert count < 400, count


@pytest.mark.parametrize("name", list(all_charts()))
def test_documents_are_standalone_deterministic_and_legible(name: str) -> None:
    svg = all_charts()[name]
    assert svg == all_charts()[name]  # same input (new objects), same bytes
    root = parse(svg)
    w, h = root.get("width"), root.get("height")
    assert root.get("viewBox") == f"0 0 {w} {h}"
    # The report's shipped font first: the family report.css declares with @font-face, so
    # chart text never falls back to a system font inside a report.
    family = root.get("font-family", "").split(",")[0].strip("' ")
    css = (Path(reports.__file__).parent / "assets" / "report.css").read_text()
    assert f'@font-face {{ font-family: "{family}"' in css
    sizes = [float(e.get("font-size", "")) for e in root.iter() if e.get("font-size")]
    assert sizes
    assert min(sizes) >= 9
    assert not re.search(r"href|url\(|@import|<image|<style|<use|<foreignObject", svg)
    if "empty" in name:
        assert "No data" in texts(root)


def test_labels_from_data_are_text_only() -> None:
    svgs = [
        forest_plot(
            [ForestRow(EVIL, None, None, None, 0.1, "max", "inconclusive", note=EVIL)], title=EVIL
        ),
        heat_map([EVIL], [EVIL], [[0.5]], title=EVIL, small=[[True]], small_note=EVIL),
        tradeoff_chart(
            [
                TradeoffPoint(EVIL, 0.8, 0.7, 0.9, 0.1, 0.0, 0.2),
                TradeoffPoint(EVIL, None, None, None, None, None, None),
            ],
            x_label=EVIL,
            y_label=EVIL,
            title=EVIL,
        ),
    ]
    for svg in svgs:
        root = parse(svg)
        assert "<img" not in svg
        assert "&lt;img src=file:///etc/passwd&gt;" in svg
        assert not [e for e in root.iter() if e.tag.endswith("img")]
        assert EVIL in texts(root)  # the title, at least, in full, as text
    quotes = tradeoff_chart(
        [TradeoffPoint("a\"b'c&\x00d", 0.8, 0.7, 0.9, 0.1, 0.0, 0.2)],
        x_label="",
        y_label="",
        title="",
    )
    assert "a\"b'c&\ufffdd" in texts(parse(quotes))


def test_tradeoff_legend_lists_only_what_is_drawn() -> None:
    full = texts(parse(tradeoff_chart(POINTS, x_label="x", y_label="y", title="t")))
    assert {"chosen", "baseline", "Pareto-efficient", "dominated", "Pareto frontier"} <= set(full)
    plain = [TradeoffPoint("a", 0.8, 0.7, 0.9, 0.1, 0.0, 0.2)]
    legend = texts(parse(tradeoff_chart(plain, x_label="x", y_label="y", title="t")))
    assert "dominated" in legend
    assert not {"chosen", "baseline", "Pareto-efficient", "Pareto frontier"} & set(legend)
