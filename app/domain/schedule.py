"""Payment plans: a down payment and N installments that sum exactly to the balance.

The one schedule calculator for terminal and server. Rounding rule: the balance
after the down payment is split into equal installments in minor units; the
leftover units (balance mod N) go one each to the FIRST installments, so no
installment differs from another by more than one minor unit and the sum is exact.
Monthly dates keep the day of month, clamped to the month's last day
(Jan 31 -> Feb 28/29 -> Mar 31), always counted from the start date, never drifting.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.domain.money import div_round
from app.domain.totals import PPM


class Interval(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"
    CUSTOM = "custom"


class ScheduleError(ValueError):
    """A plan that cannot be made as asked; the message is for the cashier."""


@dataclass(frozen=True)
class ScheduledInstallment:
    number: int
    due_date: date
    amount: int


@dataclass(frozen=True)
class PaymentPlan:
    total: int
    down_payment: int
    installments: tuple[ScheduledInstallment, ...]

    @property
    def financed(self) -> int:
        return self.total - self.down_payment


def down_payment_amount(total: int, *, amount: int | None = None, percent_ppm: int | None = None) -> int:
    """The down payment given as an amount or a percentage of the total (rounded half up)."""
    if (amount is None) == (percent_ppm is None):
        raise ScheduleError("Give the down payment as an amount or a percentage")
    value = amount if amount is not None else div_round(total * (percent_ppm or 0), PPM)
    if value < 0 or value > total:
        raise ScheduleError("The down payment must be between nothing and the whole total")
    return value


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def due_dates(start: date, count: int, interval: Interval, custom: list[date] | None = None) -> list[date]:
    """Due dates of ``count`` installments, the first one interval after ``start``."""
    if interval is Interval.CUSTOM:
        if not custom or len(custom) != count:
            raise ScheduleError(f"Give exactly {count} dates")
        if any(b <= a for a, b in zip(custom, custom[1:], strict=False)) or custom[0] < start:
            raise ScheduleError("Custom dates must be in order and not before today")
        return list(custom)
    if interval is Interval.MONTHLY:
        return [add_months(start, i) for i in range(1, count + 1)]
    step = 7 if interval is Interval.WEEKLY else 14
    return [start + timedelta(days=step * i) for i in range(1, count + 1)]


def split_evenly(amount: int, count: int) -> list[int]:
    base, leftover = divmod(amount, count)
    return [base + (1 if i < leftover else 0) for i in range(count)]


def make_plan(
    total: int,
    down_payment: int,
    count: int,
    start: date,
    interval: Interval = Interval.MONTHLY,
    custom_dates: list[date] | None = None,
) -> PaymentPlan:
    """A plan whose installments add up exactly to ``total - down_payment``."""
    if total <= 0:
        raise ScheduleError("Nothing to pay by installments")
    if not 1 <= count <= 60:
        raise ScheduleError("A plan has 1 to 60 installments")
    if not 0 <= down_payment < total:
        raise ScheduleError("The down payment must be less than the total")
    financed = total - down_payment
    if financed < count:
        raise ScheduleError("The balance is too small for that many installments")
    dates = due_dates(start, count, interval, custom_dates)
    amounts = split_evenly(financed, count)
    items = tuple(ScheduledInstallment(i + 1, d, a) for i, (d, a) in enumerate(zip(dates, amounts, strict=True)))
    return PaymentPlan(total, down_payment, items)


@dataclass(frozen=True)
class InstallmentState:
    number: int
    due_date: date
    amount: int
    paid: int

    @property
    def outstanding(self) -> int:
        return max(0, self.amount - self.paid)


def allocate_paid(installments: list[ScheduledInstallment], paid_towards_plan: int) -> list[InstallmentState]:
    """What is paid of each installment: payments fill installments oldest first.

    Over-payment pays the next installments early; under-payment leaves the rest of
    the current one outstanding. Payments made on any terminal simply add up.
    """
    left = max(0, paid_towards_plan)
    result = []
    for inst in installments:
        take = min(inst.amount, left)
        left -= take
        result.append(InstallmentState(inst.number, inst.due_date, inst.amount, take))
    return result


def overdue(states: list[InstallmentState], today: date) -> list[InstallmentState]:
    return [s for s in states if s.outstanding > 0 and s.due_date < today]
