"""Draws the dashboard's rows (deploy/grafana/tillsync.json) from Prometheus range-query
results, with Qt's painter: each panel at its grid position, with its title, its series
(line charts), last values (stat) or rows (table). Used by scripts/dashboard_screenshots.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPen

WIDTH = 1600
UNIT_H = 30  # Grafana's grid: 24 columns, rows of 30 px
BG, PANEL, GRID, TEXT, DIM = "#111217", "#181b1f", "#2c3235", "#d8d9da", "#8e8e8e"
COLORS = ["#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#f2495c", "#b877d9", "#37872d",
          "#fade2a", "#1f60c4", "#c4162a"]
MAX_SERIES = 8


def _legend(fmt: str, metric: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt or "")
    text = text or ", ".join(f"{k}={v}" for k, v in metric.items() if k != "__name__")
    # ids are UUIDv7: their last 8 characters tell them apart
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}([0-9a-f]{8})",
                  r"…\1", text)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value >= 3600:
            return f"{value / 3600:.1f} h"
        if value >= 60:
            return f"{value / 60:.1f} min"
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.3g}"


def _series(panel: dict[str, Any], results: list[list[dict[str, Any]]]
            ) -> list[tuple[str, list[tuple[float, float]]]]:
    out = []
    targets = panel.get("targets", [])
    for target, result in zip(targets, results, strict=False):
        named = re.search(r"tillsync_(\w+)", target["expr"])
        what = f" · {named.group(1)}" if len(targets) > 1 and named and not target.get(
            "legendFormat") else ""
        for item in result:
            points = [(float(t), float(v)) for t, v in item["values"]
                      if v not in ("NaN", "+Inf", "-Inf")]
            if points:
                out.append((_legend(target.get("legendFormat", ""), item["metric"]) + what,
                            points))
    if panel["type"] == "table":  # each row's figures side by side, as many as fit
        return sorted(out, key=lambda s: s[0])
    out.sort(key=lambda s: -max(v for _, v in s[1]))
    return out[:MAX_SERIES]


def _timeseries(p: QPainter, box: QRectF, panel: dict[str, Any],
                series: list[tuple[str, list[tuple[float, float]]]],
                span: tuple[float, float]) -> None:
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    legend_h = 16 * min(len(series), 4) + 6
    plot = QRectF(box.left() + 58, box.top() + 6, box.width() - 70, box.height() - 30 - legend_h)
    top = max([v for _, pts in series for _, v in pts] + [0.0]) or 1.0
    p.setFont(QFont("DejaVu Sans", 8))
    for i in range(5):
        y = plot.bottom() - plot.height() * i / 4
        p.setPen(QPen(QColor(GRID), 1))
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        p.setPen(QColor(DIM))
        p.drawText(QRectF(box.left(), y - 8, 54, 16), Qt.AlignmentFlag.AlignRight,
                   _fmt(top * i / 4, unit))
    t0, t1 = span
    for i in range(4):
        t = t0 + (t1 - t0) * i / 3
        x = plot.left() + plot.width() * i / 3
        p.drawText(QRectF(x - 60 * i / 3, plot.bottom() + 2, 60, 14),
                   Qt.AlignmentFlag.AlignLeft if i == 0 else Qt.AlignmentFlag.AlignRight
                   if i == 3 else Qt.AlignmentFlag.AlignCenter,
                   datetime.fromtimestamp(t).strftime("%H:%M:%S"))
    for n, (_name, pts) in enumerate(series):
        p.setPen(QPen(QColor(COLORS[n % len(COLORS)]), 1.6))
        xy = [QPointF(plot.left() + plot.width() * (t - t0) / max(t1 - t0, 1),
                      plot.bottom() - plot.height() * v / top) for t, v in pts]
        for a, b in zip(xy, xy[1:], strict=False):
            p.drawLine(a, b)
        if len(xy) == 1:
            p.drawEllipse(xy[0], 2, 2)
    y = plot.bottom() + 18
    for n, (name, pts) in enumerate(series[:8]):
        col, row = n % 2, n // 2
        if row >= 4:
            break
        x = box.left() + 10 + col * box.width() / 2
        p.fillRect(QRectF(x, y + row * 16 + 4, 10, 4), QColor(COLORS[n % len(COLORS)]))
        p.setPen(QColor(TEXT))
        p.drawText(QRectF(x + 14, y + row * 16 - 2, box.width() / 2 - 30, 16),
                   Qt.AlignmentFlag.AlignLeft,
                   f"{name}   last {_fmt(pts[-1][1], unit)}")
    if not series:
        _no_data(p, box)


def _no_data(p: QPainter, box: QRectF) -> None:
    p.setPen(QColor(DIM))
    p.setFont(QFont("DejaVu Sans", 11))
    p.drawText(box, Qt.AlignmentFlag.AlignCenter, "No data")


def _values(p: QPainter, box: QRectF, panel: dict[str, Any],
            series: list[tuple[str, list[tuple[float, float]]]]) -> None:
    """Stat and table panels: each series' last value, one line each."""
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
    if not series:
        _no_data(p, box)
        return
    big = panel["type"] == "stat"
    for n, (name, pts) in enumerate(series):
        y = box.top() + 8 + n * (34 if big else 20)
        if y > box.bottom() - 20:
            break
        p.setPen(QColor(TEXT))
        p.setFont(QFont("DejaVu Sans", 9))
        p.drawText(QRectF(box.left() + 10, y, box.width() * 0.6, 20),
                   Qt.AlignmentFlag.AlignLeft, name)
        p.setPen(QColor(COLORS[0]))
        p.setFont(QFont("DejaVu Sans", 16 if big else 9, QFont.Weight.Bold))
        p.drawText(QRectF(box.left() + box.width() * 0.6, y - (6 if big else 0),
                          box.width() * 0.4 - 12, 30), Qt.AlignmentFlag.AlignRight,
                   _fmt(pts[-1][1], unit))


def _panel(p: QPainter, panel: dict[str, Any], rect: QRectF, results: list[list[dict[str, Any]]],
           span: tuple[float, float]) -> None:
    p.fillRect(rect, QColor(PANEL))
    p.setPen(QPen(QColor(GRID), 1))
    p.drawRect(rect)
    p.setPen(QColor(TEXT))
    p.setFont(QFont("DejaVu Sans", 10, QFont.Weight.DemiBold))
    p.drawText(QRectF(rect.left() + 8, rect.top() + 4, rect.width() - 16, 20),
               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
               p.fontMetrics().elidedText(panel.get("title", ""), Qt.TextElideMode.ElideRight,
                                          int(rect.width() - 16)))
    body = rect.adjusted(0, 26, 0, -4)
    series = _series(panel, results)
    if panel["type"] == "timeseries":
        _timeseries(p, body, panel, series, span)
    else:
        _values(p, body, panel, series)


def render_rows(dashboard: dict[str, Any], data: dict[int, list[list[dict[str, Any]]]],
                out: Path, span: tuple[float, float]) -> list[str]:
    """One PNG per dashboard row; the file names written."""
    _app = QGuiApplication.instance() or QGuiApplication([])
    panels = sorted(dashboard["panels"], key=lambda q: (q["gridPos"]["y"], q["gridPos"]["x"]))
    rows: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for panel in panels:
        if panel["type"] == "row":
            rows.append((panel, []))
        elif rows:
            rows[-1][1].append(panel)
    col_w = WIDTH / 24
    written = []
    for row, members in rows:
        y0 = row["gridPos"]["y"]
        y1 = max(q["gridPos"]["y"] + q["gridPos"]["h"] for q in members)
        image = QImage(WIDTH, (y1 - y0) * UNIT_H + 8, QImage.Format.Format_RGB32)
        image.fill(QColor(BG))
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor(TEXT))
        p.setFont(QFont("DejaVu Sans", 12, QFont.Weight.Bold))
        p.drawText(QRectF(10, 0, WIDTH - 20, UNIT_H), Qt.AlignmentFlag.AlignVCenter,
                   f"{dashboard['title']} · {row['title']}")
        for q in members:
            g = q["gridPos"]
            rect = QRectF(g["x"] * col_w + 4, (g["y"] - y0) * UNIT_H + 4,
                          g["w"] * col_w - 8, g["h"] * UNIT_H - 8)
            _panel(p, q, rect, data.get(q["id"], []), span)
        p.end()
        slug = re.sub(r"[^a-z0-9]+", "-", row["title"].lower()).strip("-")
        path = out / f"ops-dashboard-{slug}.png"
        image.save(str(path))
        written.append(str(path.relative_to(out.parent.parent)))
    return written
