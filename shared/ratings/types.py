"""Plain input record for one 好差评 rating. Personal data (评价人, 联系电话, ID numbers, contact text) has no field
here on purpose: it is dropped by the parser and can never reach the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RatingIn:
    rating_id: str  # the platform's own id (评价编号); a rating is stored once per id
    org: str  # unit code (区划代码)
    service_item: str  # 事项名称 (事项编码 kept when present, as "编码 名称" is not needed)
    channel: str  # 评价渠道: 窗口评价器, 网站, 移动端, 12345热线, 自助终端, 短信 …
    level: int  # 5 非常满意 … 1 非常不满意
    rated_at: datetime  # 评价时间, naive Asia/Shanghai local time
    named: bool  # 是否实名
    department: str | None = None  # 实施部门
    item_code: str | None = None  # 事项编码
