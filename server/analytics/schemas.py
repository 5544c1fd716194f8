"""Answers of /analytics (amounts in minor units of the stores' currency)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class Grouping(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class OrderTypeName(StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"


class Figures(BaseModel):
    """Kept (not deleted) orders: how many, and their money. net = gross - tax."""

    orders: int = 0
    gross: int = 0
    net: int = 0
    tax: int = 0
    average_sale: int = Field(default=0, description="gross // orders, 0 with no orders")


class Breakdown(Figures):
    key: str = Field(description="the order type, staff id, terminal id or period")


class SeriesPoint(Figures):
    period: str = Field(description="hour: local ISO start with offset (a DST day has 23 "
                        "or 25); day: local date; week: its Monday; month: YYYY-MM")
    order_type: str


class TenderFigures(BaseModel):
    tender: str
    payments: int
    amount: int


class ProductFigures(BaseModel):
    product_key: str = Field(description="the product id, or ~name for a line without one")
    name: str
    qty_milli: int
    revenue: int


class ReasonFigures(BaseModel):
    reason: str
    count: int
    amount: int


class Outflows(BaseModel):
    count: int = 0
    amount: int = 0
    by_reason: list[ReasonFigures] = Field(default_factory=list)


class PlanFigures(BaseModel):
    started: int = Field(default=0, description="plans started in the period (kept orders)")
    started_amount: int = Field(default=0, description="the instalments those plans set")
    outstanding: int = Field(default=0, description="what all open plans still owe, now")
    overdue_count: int = Field(default=0, description="open plans with an instalment past due today")
    overdue_amount: int = 0
    collected: int = Field(default=0, description="payments on plan orders taken in the period")


class Summary(BaseModel):
    store_ids: list[str]
    time_zones: dict[str, str]
    date_from: date
    date_to: date = Field(description="inclusive")
    group: Grouping
    totals: Figures
    by_order_type: list[Breakdown]
    by_staff: list[Breakdown]
    by_terminal: list[Breakdown]
    by_tender: list[TenderFigures]
    series: list[SeriesPoint]
    top_products: list[ProductFigures]
    refunds: Outflows
    deletions: Outflows
    plans: PlanFigures


class OfflineOrders(BaseModel):
    """Offline (recorded on a till) against online (the REST back office) orders."""

    store_ids: list[str]
    date_from: date
    date_to: date
    group: Grouping
    by_order_type: list[Breakdown]
    series: list[SeriesPoint]


class TimeZoneIn(BaseModel):
    time_zone: str = Field(max_length=64, description="an IANA zone, e.g. Europe/Dublin")


class TimeZoneOut(TimeZoneIn):
    store_id: str
