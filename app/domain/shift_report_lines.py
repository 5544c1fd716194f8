"""What an X or Z report says, row by row, before any paper width or output.

Written once, here: the till's printer and PDF (printing/shift_report.py) and the
server's PDF (server/shifts/pdf.py) lay out these rows their own way, so the three say
the same. Pure: amounts are formatted by the ``money`` function the caller gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.domain.shift_report import ShiftReport, ZReport

TITLE, HEADING, LINE, RULE = "title", "heading", "line", "rule"

Money = Callable[[int], str]
When = Callable[[datetime | None], str]


@dataclass(frozen=True)
class ReportRow:
    label: str = ""
    value: str = ""
    kind: str = LINE


def utc_text(at: datetime | None) -> str:
    """A time as the server prints it: UTC, said so."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at is not None else "-"


def local_text(at: datetime | None) -> str:
    """A time as the till prints it: its own wall clock (the times are kept in UTC)."""
    if at is None:
        return "-"
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone().strftime("%Y-%m-%d %H:%M")


def _percent(ppm: int) -> str:
    whole, rest = divmod(ppm, 10_000)
    return f"{whole}.{rest // 100:02d} %" if rest else f"{whole} %"


def _sales(r: ShiftReport, money: Money) -> list[ReportRow]:
    rows = [ReportRow("Sales", kind=HEADING),
            ReportRow("Gross sales", money(r.gross_sales)),
            ReportRow("Discounts", money(-r.discounts)),
            ReportRow(f"Refunds ({r.refunds_count})", money(-r.refunds)),
            ReportRow("Net sales", money(r.net_sales)),
            ReportRow("Number of sales", str(r.sales_count)),
            ReportRow("Average sale", money(r.average_sale)),
            ReportRow("Recorded offline", f"{r.offline_count} ({_percent(r.offline_share_ppm)})"),
            ReportRow(f"Deleted orders ({r.deleted_count})", money(r.deleted_total))]
    rows.append(ReportRow("Tax", kind=HEADING))
    rows += [ReportRow(f"Tax {_percent(rate)}", money(tax)) for rate, tax in sorted(r.tax_by_rate.items())]
    if not r.tax_by_rate:
        rows.append(ReportRow("No tax", money(0)))
    return rows


def _takings(r: ShiftReport, money: Money) -> list[ReportRow]:
    rows = [ReportRow("Takings by tender", kind=HEADING)]
    rows += [ReportRow(tender.capitalize(), money(amount))
             for tender, amount in sorted(r.takings_by_tender.items())]
    rows += [ReportRow(f"Installments ({r.installments_count})", money(r.installments_collected)),
             ReportRow(f"Plans started ({r.plans_started})", ""),
             ReportRow("  still owed on them", money(r.plans_outstanding))]
    return rows


def _drawer(r: ShiftReport, money: Money) -> list[ReportRow]:
    return [ReportRow("Cash drawer", kind=HEADING),
            ReportRow("Opening float", money(r.opening_float)),
            ReportRow("Cash sales", money(r.cash_taken)),
            ReportRow("Cash refunds", money(-r.cash_refunded)),
            ReportRow("Paid in", money(r.paid_in)),
            ReportRow("Paid out", money(-r.paid_out)),
            ReportRow("Drops to safe", money(-r.drops)),
            ReportRow("No-sale openings", str(r.no_sales)),
            ReportRow("Expected in drawer", money(r.expected_cash))]


def till_row(till: str, code: str) -> ReportRow:
    """The till the report is of, said once: 'Till  Front counter'; a name that says
    'Till' already stands alone ('Till 2'); the default name 'Till' (or none) is told
    apart by ``code`` (the till's code, else its id's start)."""
    name = " ".join(till.split())
    first, _, rest = name.partition(" ")
    if not name or (first.casefold() == "till" and not rest):
        return ReportRow("Till", code)
    return ReportRow(name) if first.casefold() == "till" else ReportRow("Till", name)


def x_rows(r: ShiftReport, money: Money, till: str = "", when: When = local_text,
           code: str = "") -> list[ReportRow]:
    """The rows of an X report (read during the shift; it closes nothing)."""
    head = [ReportRow("X REPORT", kind=TITLE), till_row(till, code or r.device_id[:8]),
            ReportRow("Opened", when(r.opened_at)), ReportRow("As of", when(r.as_of)),
            ReportRow(kind=RULE)]
    return head + _sales(r, money) + _takings(r, money) + _drawer(r, money)


def z_rows(z: ZReport, money: Money, till: str = "", reprint: bool = False,
           when: When = local_text, code: str = "") -> list[ReportRow]:
    """The rows of a Z report: the shift's figures at its close, the count, the
    over/short, the card check and what was still waiting to sync."""
    r = z.figures
    head = [ReportRow(f"Z REPORT {z.z_number}", kind=TITLE)]
    if reprint:
        head.append(ReportRow("REPRINT", kind=TITLE))
    head += [till_row(till, code or r.device_id[:8]), ReportRow("Opened", when(r.opened_at)),
             ReportRow("Closed", when(z.closed_at)), ReportRow(kind=RULE)]
    count = [ReportRow("Count", kind=HEADING)]
    for denomination, pieces in sorted((z.counted_by_denomination or {}).items(), reverse=True):
        count.append(ReportRow(f"{pieces} x {money(denomination)}", money(denomination * pieces)))
    words = "Over" if z.over_short > 0 else "Short" if z.over_short < 0 else "Over/short"
    count += [ReportRow("Expected", money(r.expected_cash)),
              ReportRow("Counted", money(z.counted_cash)), ReportRow(words, money(z.over_short))]
    if z.over_short_reason:
        count.append(ReportRow("Reason", z.over_short_reason))
    if z.approved_by:
        count.append(ReportRow("Approved by", z.approved_by[:8]))
    if z.card_batch_total is not None:
        count += [ReportRow("Card batch total", money(z.card_batch_total)),
                  ReportRow("Card difference", money(z.card_difference or 0))]
    sync = [ReportRow("Sync", kind=HEADING),
            ReportRow("Waiting to sync", str(z.pending_operations)),
            ReportRow("Oldest waiting since", when(z.oldest_pending_at))]
    return head + _sales(r, money) + _takings(r, money) + _drawer(r, money) + count + sync


def text_lines(rows: list[ReportRow], width: int) -> list[str]:
    """Plain fixed-width lines of ``rows`` (the server's PDF; tests read them)."""
    out: list[str] = []
    for row in rows:
        if row.kind == RULE:
            out.append("-" * width)
        elif row.kind == TITLE:
            out.append(row.label.center(width).rstrip())
        elif row.kind == HEADING:
            out += ["", row.label.upper()]
        else:
            gap = max(1, width - len(row.label) - len(row.value))
            out.append((row.label + " " * gap + row.value)[:width] if len(row.label) + len(row.value) < width
                       else f"{row.label}\n{row.value.rjust(width)}")
    return "\n".join(out).split("\n")
