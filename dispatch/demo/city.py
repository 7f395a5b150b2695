"""Geography of the demo district (鼓楼区, Fuzhou): streets, communities and their centres (WGS84)."""

from __future__ import annotations

from dataclasses import dataclass

DISTRICT = "鼓楼区"
REGION_CODE = "350102"  # Gulou district, Fuzhou, in ID-card numbers
CITY_HUKOU = "福建省福州市鼓楼区"


@dataclass(frozen=True, slots=True)
class Community:
    street: str
    name: str
    lon: float
    lat: float


# Street names are Gulou's real sub-districts; community names and centres are invented for the demo.
COMMUNITIES: tuple[Community, ...] = (
    Community("鼓东街道", "榕荫社区", 119.3040, 26.0880),
    Community("鼓东街道", "冶山社区", 119.3012, 26.0915),
    Community("鼓西街道", "西湖社区", 119.2905, 26.0890),
    Community("鼓西街道", "湖滨社区", 119.2870, 26.0925),
    Community("温泉街道", "汤井社区", 119.3105, 26.0850),
    Community("温泉街道", "温泉社区", 119.3150, 26.0890),
    Community("东街街道", "三坊社区", 119.2985, 26.0830),
    Community("东街街道", "双抛社区", 119.3020, 26.0800),
    Community("南街街道", "澳门社区", 119.2955, 26.0770),
    Community("南街街道", "光禄社区", 119.2925, 26.0795),
    Community("安泰街道", "朱紫社区", 119.2990, 26.0745),
    Community("安泰街道", "乌山社区", 119.2950, 26.0720),
    Community("华大街道", "屏山社区", 119.2870, 26.1010),
    Community("华大街道", "华林社区", 119.2935, 26.0985),
    Community("水部街道", "水部社区", 119.3140, 26.0760),
    Community("水部街道", "琼水社区", 119.3185, 26.0735),
    Community("五凤街道", "五凤社区", 119.2825, 26.1050),
    Community("五凤街道", "梅峰社区", 119.2780, 26.1010),
    Community("洪山镇", "洪山社区", 119.2720, 26.0910),
    Community("洪山镇", "西禅社区", 119.2745, 26.0850),
)

STREET_NAMES: tuple[str, ...] = (
    "榕荫路",
    "冶山路",
    "湖滨路",
    "汤井巷",
    "温泉支路",
    "杨桥路",
    "光禄坊",
    "朱紫坊",
    "屏山路",
    "华林路",
    "水部路",
    "五凤路",
    "梅峰路",
    "洪山路",
    "西禅路",
    "乌山路",
    "双抛路",
    "三坊街",
)
