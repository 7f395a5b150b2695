"""Generate the demo city deterministically from a seed and store it (only into an empty database)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.auth.actor import Actor
from dispatch.auth.models import Operator, Role
from dispatch.auth.passwords import hash_password
from dispatch.catalog import ServiceType
from dispatch.clock import Clock
from dispatch.demo import people
from dispatch.demo.assessments import demo_assessments
from dispatch.demo.city import CITY_HUKOU, COMMUNITIES, DISTRICT, REGION_CODE, STREET_NAMES, Community
from dispatch.elders import search_keys
from dispatch.elders.idcard import make_id_number
from dispatch.elders.models import (
    AbilityLevel,
    BloodType,
    Contact,
    ContactKind,
    Device,
    DeviceKind,
    Elder,
    HealthRecord,
    HukouType,
    Sex,
    SubsidyCategory,
)
from dispatch.elders.schemas import VitalsThresholds
from dispatch.elders.service import age_on
from dispatch.ingest.secrets import DeviceSecretBox
from dispatch.localtime import local_date
from dispatch.matching.qualifications import CARE_CERTIFICATE, HANDS_ON_CARE
from dispatch.orders.models import PlanFrequency, RecurringPlan
from dispatch.providers.admission import AdmissionCriterion, with_check
from dispatch.providers.models import Provider, ProviderStaff, ProviderStatus

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo password; `serve` never creates accounts
# (username, display name, role, desk phone the hotline rings: the demo scripts it to answer by itself)
DEMO_OPERATORS = (
    ("admin", "系统管理员", Role.admin, None),
    ("supervisor", "值班主管", Role.supervisor, "+8659100000003"),
    ("agent1", "坐席一号", Role.agent, "+8659100000001"),
    ("agent2", "坐席二号", Role.agent, "+8659100000002"),
    ("assessor1", "评估员一号", Role.assessor, None),
    ("assessor2", "评估员二号", Role.assessor, None),
)
METRES_PER_DEGREE = 111_320.0

ST = ServiceType
# (service types offered, how many providers, status of each beyond the first ones = active)
PROVIDER_PLAN: tuple[tuple[tuple[ServiceType, ...], int, str], ...] = (
    ((ST.emergency_rescue,), 3, "急救服务有限公司"),
    ((ST.meal_assistance,), 5, "助餐服务有限公司"),
    ((ST.cleaning, ST.housekeeping), 4, "家政服务有限公司"),
    ((ST.housekeeping,), 1, "家政服务社"),
    ((ST.cleaning,), 1, "保洁服务有限公司"),
    ((ST.bathing,), 2, "助浴服务中心"),
    ((ST.medical_escort, ST.mobility_assistance), 3, "陪诊服务有限公司"),
    ((ST.health_care, ST.nursing), 4, "护理服务有限公司"),
    ((ST.nursing,), 1, "护理站"),
    ((ST.health_care,), 1, "康复保健中心"),
    ((ST.repair,), 2, "便民维修服务部"),
    ((ST.errands, ST.medicine_delivery), 3, "跑腿服务有限公司"),
    ((ST.medicine_delivery,), 1, "大药房"),
    ((ST.companionship,), 2, "心理关爱服务中心"),
)
# These demo providers are not active, so the admission and suspension states show up in the demo.
NOT_ACTIVE = {
    ("助餐服务有限公司", 4): ProviderStatus.pending,
    ("保洁服务有限公司", 0): ProviderStatus.suspended,
}
BRANDS = [
    "榕安",
    "闽康",
    "福寿",
    "乐龄",
    "康乐",
    "颐和",
    "安馨",
    "惠民",
    "仁爱",
    "百福",
    "长青",
    "银龄",
    "三山",
    "左海",
    "冶城",
    "屏山",
    "乌石",
    "温泉",
    "西湖",
    "榕城",
]
PRICES: dict[ServiceType, tuple[str, str, int]] = {
    ST.emergency_rescue: ("上门紧急救助", "次", 0),
    ST.meal_assistance: ("营养午餐送餐上门", "餐", 1500),
    ST.cleaning: ("居室保洁", "小时", 4500),
    ST.housekeeping: ("家务料理", "小时", 4000),
    ST.bathing: ("上门助浴", "次", 12000),
    ST.medical_escort: ("陪同就医", "次", 10000),
    ST.mobility_assistance: ("助行陪护", "小时", 5000),
    ST.health_care: ("康复理疗", "次", 8000),
    ST.nursing: ("上门护理", "次", 9000),
    ST.repair: ("水电维修", "次", 5000),
    ST.errands: ("代购代缴", "次", 2000),
    ST.medicine_delivery: ("送药上门", "次", 1000),
    ST.companionship: ("精神慰藉陪伴", "小时", 3000),
}


async def database_is_empty(session: AsyncSession) -> bool:
    """No elders, providers or operators yet."""
    for model in (Elder, Provider, Operator):
        if await session.scalar(select(func.count()).select_from(model)):
            return False
    return True


def _phone(rng: random.Random) -> str:
    return f"+86{rng.choice(['139', '158', '188', '137', '150'])}{rng.randrange(10**8):08d}"


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (
        round(lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))), 6),
        round(lat + north_m / METRES_PER_DEGREE, 6),
    )


def _ring(rng: random.Random, lon: float, lat: float, radius_m: float, vertices: int) -> dict[str, Any]:
    """A star-shaped (hence simple) polygon around a centre, each vertex at a jittered radius."""
    points = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        r = radius_m * rng.uniform(0.8, 1.2)
        points.append(list(_offset(lon, lat, r * math.cos(angle), r * math.sin(angle))))
    return {"type": "Polygon", "coordinates": [[*points, points[0]]]}


def _birth_date(rng: random.Random, today: date) -> date:
    """A birthday giving an age of 60 or more today, most elders in their sixties and seventies."""
    age = min(104, 60 + int(rng.expovariate(1 / 12)))
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return date(today.year - age - ((month, day) > (today.month, today.day)), month, day)


def _subsidies(rng: random.Random, age: int) -> list[str]:
    chances = {
        SubsidyCategory.minimum_living: 0.06,
        SubsidyCategory.extreme_poverty: 0.02,
        SubsidyCategory.registered_poor: 0.01,
        SubsidyCategory.special_care: 0.03,
        SubsidyCategory.family_planning_special: 0.02,
        SubsidyCategory.severe_disability: 0.03,
    }
    chosen = [category.value for category, p in chances.items() if rng.random() < p]
    if age >= 80:
        chosen.append(SubsidyCategory.aged_80_plus.value)
    return chosen or [SubsidyCategory.self_paying.value]


def _health(rng: random.Random, age: int, now: datetime) -> HealthRecord:
    conditions = rng.sample(
        sorted(people.CONDITIONS), k=min(len(people.CONDITIONS), rng.choice([0, 1, 1, 2, 2, 3]))
    )
    medications = [
        {"name": med[0], "dosage": med[1], "frequency": med[2]}
        for med in (people.CONDITIONS[c] for c in conditions)
        if med is not None
    ]
    thresholds = VitalsThresholds()
    if "高血压" in conditions:
        thresholds = thresholds.model_copy(update={"systolic_max": 170, "diastolic_max": 105})
    ability = min(AbilityLevel.total_loss, int(rng.expovariate(1.2) + (age - 60) / 25))
    return HealthRecord(
        conditions=conditions,
        medications=medications,
        allergies=rng.sample(people.ALLERGIES, k=1) if rng.random() < 0.2 else [],
        blood_type=rng.choice([BloodType.a, BloodType.b, BloodType.o, BloodType.o, BloodType.ab]),
        self_care_ability=ability,
        pension_insurance=rng.choice(people.PENSIONS),
        medical_insurance=rng.choice(people.MEDICAL_INSURANCE),
        other_subsidies=["高龄津贴"] if age >= 80 else [],
        ageing_indicators={
            "grip_strength_kg": round(rng.uniform(12, 35), 1),
            "gait_speed_m_s": round(rng.uniform(0.4, 1.2), 2),
        },
        vitals_thresholds=thresholds.model_dump(),
        notes="",
        updated_at=now,
    )


def _community_workers(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Two community aides (助老员) per community, as the tender asks."""
    return {
        c.name: [
            (rng.choice(people.SURNAMES) + rng.choice(people.GIVEN_FEMALE), _phone(rng)) for _ in range(2)
        ]
        for c in COMMUNITIES
    }


def _unique_id_number(birth: date, index: int, male: bool, taken: set[str]) -> str:
    for sequence in range(index, index + 500):
        number = make_id_number(REGION_CODE, birth, sequence, male)
        if number not in taken:
            taken.add(number)
            return number
    raise ValueError(f"no ID-card number left for {birth}")


def _elder(
    rng: random.Random,
    index: int,
    today: date,
    now: datetime,
    workers: dict[str, list[tuple[str, str]]],
    taken: set[str],
) -> Elder:
    community: Community = rng.choice(COMMUNITIES)
    male = rng.random() < 0.45
    surname = rng.choice(people.SURNAMES)
    name = surname + rng.choice(people.GIVEN_MALE if male else people.GIVEN_FEMALE)
    born = _birth_date(rng, today)
    age = age_on(born, today)
    lon, lat = _offset(community.lon, community.lat, rng.gauss(0, 220), rng.gauss(0, 220))
    living_alone = rng.random() < 0.22
    child = surname + rng.choice(people.CHILD_GIVEN)
    child_phone = _phone(rng)
    household: list[dict[str, Any]] = (
        []
        if living_alone
        else [
            {
                "name": rng.choice(people.SURNAMES)
                + rng.choice(people.GIVEN_FEMALE if male else people.GIVEN_MALE),
                "relation": "配偶",
                "phone": None,
                "lives_with_elder": True,
            }
        ]
    )
    household.append(
        {
            "name": child,
            "relation": rng.choice(["儿子", "女儿"]),
            "phone": child_phone,
            "lives_with_elder": False,
        }
    )
    elder = Elder(
        name=name,
        sex=Sex.male if male else Sex.female,
        birth_date=born,
        id_number=_unique_id_number(born, index, male, taken),
        phone=_phone(rng) if rng.random() < 0.75 else None,
        hukou_type=HukouType.urban if rng.random() < 0.8 else HukouType.rural,
        hukou_address=CITY_HUKOU + community.street,
        district=DISTRICT,
        street=community.street,
        community=community.name,
        address=f"福州市{DISTRICT}{rng.choice(STREET_NAMES)}{rng.randint(1, 199)}号"
        f"{rng.randint(1, 8)}座{rng.randint(1, 9)}0{rng.randint(1, 4)}室",
        home_lon=lon,
        home_lat=lat,
        safe_area=_ring(rng, lon, lat, 600, 12),
        household=household,
        living_alone=living_alone,
        empty_nest=living_alone or rng.random() < 0.3,
        physical_condition=rng.choice(people.PHYSICAL),
        economic_condition=rng.choice(people.ECONOMIC),
        subsidy_categories=_subsidies(rng, age),
        hobbies=rng.sample(people.HOBBIES, k=rng.randint(0, 3)),
        dialect=rng.choice(["福州话", "福州话", "普通话"]),
        notes="",
        created_at=now,
        updated_at=now,
    )
    elder.health = _health(rng, age, now)
    aide_name, aide_phone = rng.choice(workers[community.name])
    elder.contacts = [
        Contact(
            priority=1, name=child, kind=ContactKind.relative, relation="子女", phone=child_phone, notes=""
        ),
        Contact(
            priority=2,
            name=aide_name,
            kind=ContactKind.community_worker,
            relation="助老员",
            phone=aide_phone,
            notes="",
        ),
        Contact(
            priority=3,
            name=f"{community.name}卫生服务站",
            kind=ContactKind.doctor,
            relation="家庭医生",
            phone=f"+86591{87000000 + COMMUNITIES.index(community):08d}",
            notes="",
        ),
    ]
    is_watch = rng.random() < 0.85
    elder.devices = [
        Device(
            imei=f"86{index:013d}" if is_watch else f"phone-{index:06d}",
            kind=DeviceKind.watch if is_watch else DeviceKind.phone,
            phone=_device_number(index, is_watch, elder.phone),
            secret=f"{rng.getrandbits(128):032x}",
            heartbeat_interval_s=600 if is_watch else 900,
            created_at=now,
            updated_at=now,
        )
    ]
    return elder


def _working_hours(types: tuple[ServiceType, ...]) -> list[dict[str, Any]]:
    if ST.emergency_rescue in types:
        return [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}]
    if ST.meal_assistance in types:
        return [{"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "10:00", "end": "19:00"}]
    return [{"weekdays": [1, 2, 3, 4, 5, 6], "start": "08:00", "end": "18:00"}]


ADMISSION_EVIDENCE: dict[AdmissionCriterion, str] = {
    AdmissionCriterion.legal_registration: "营业执照原件已核验，登记状态存续",
    AdmissionCriterion.staff: "服务人员名册、健康证和资格证书已核验",
    AdmissionCriterion.premises_equipment: "实地查看办公场所、服务车辆和设备",
    AdmissionCriterion.service_items: "服务项目、内容和频次已书面约定并公示",
    AdmissionCriterion.marked_prices: "价目表已在场所和平台公示",
    AdmissionCriterion.public_commitments: "服务承诺书已签署并向社会公开",
}
# The pending demo provider is half-way through its review, so the checklist shows what is missing.
PENDING_CHECKED = (AdmissionCriterion.legal_registration, AdmissionCriterion.staff)


def _admission(status: ProviderStatus, now: datetime) -> dict[str, Any]:
    """The admission record: complete for admitted providers, partial for the pending one."""
    checked = PENDING_CHECKED if status is ProviderStatus.pending else tuple(AdmissionCriterion)
    record: dict[str, Any] = {}
    for criterion in checked:
        evidence = ADMISSION_EVIDENCE[criterion]
        record = with_check(record, criterion, met=True, evidence=evidence, checked_by="demo", checked_at=now)
    return record


def _providers(rng: random.Random, now: datetime) -> list[Provider]:
    providers: list[Provider] = []
    brands = iter(rng.sample(BRANDS, k=len(BRANDS)) * 3)
    for types, count, suffix in PROVIDER_PLAN:
        for n in range(count):
            base = rng.choice(COMMUNITIES)
            lon, lat = _offset(base.lon, base.lat, rng.gauss(0, 300), rng.gauss(0, 300))
            radius = 6000 if ST.emergency_rescue in types else rng.uniform(1500, 3500)
            status = NOT_ACTIVE.get((suffix, n), ProviderStatus.active)
            number = len(providers) + 1
            provider = Provider(
                name=f"福州{next(brands)}{suffix}（演示{number:02d}）",
                registration_number=f"9135010{number:02d}{rng.getrandbits(36):09X}"[:18].ljust(18, "0"),
                contact_person=rng.choice(people.SURNAMES) + rng.choice(people.CHILD_GIVEN) + "经理",
                phone=_phone(rng),
                address=f"福州市{DISTRICT}{rng.choice(STREET_NAMES)}{rng.randint(1, 300)}号",
                district=DISTRICT,
                service_types=[t.value for t in types],
                # hands-on care for severely disabled elders needs it (matching/qualifications.py)
                qualifications=[CARE_CERTIFICATE] if HANDS_ON_CARE & set(types) else [],
                base_lon=lon,
                base_lat=lat,
                service_area=_ring(rng, lon, lat, radius, 10),
                price_list=[
                    {
                        "service_type": t.value,
                        "item": PRICES[t][0],
                        "unit": PRICES[t][1],
                        "price_cents": PRICES[t][2],
                    }
                    for t in types
                ],
                service_frequency="按需上门，可预约每周固定时段",
                commitments="接单后15分钟内联系老人；服务明码标价；不满意免费返工",
                capacity=rng.randint(3, 12) if ST.emergency_rescue not in types else 20,
                working_hours=_working_hours(types),
                status=status,
                status_reason="" if status is ProviderStatus.active else "演示数据",
                admission=_admission(status, now),
                rating=0.0,
                rating_count=0,
                created_at=now,
                updated_at=now,
            )
            provider.staff = [
                ProviderStaff(
                    name=rng.choice(people.SURNAMES) + rng.choice(people.CHILD_GIVEN + people.GIVEN_FEMALE),
                    phone=_phone(rng),
                    qualifications=rng.sample(["养老护理员证", "健康证", "急救员证", "家政服务员证"], 2),
                    service_types=[t.value for t in types],
                    active=True,
                    created_at=now,
                )
                for _ in range(rng.randint(2, 6))
            ]
            providers.append(provider)
    return providers


def generate_city(*, seed: int, elder_count: int, now: datetime) -> tuple[list[Elder], list[Provider]]:
    """The demo elders (with health records, contacts and devices) and providers; same seed, same city."""
    rng = random.Random(seed)
    workers = _community_workers(rng)
    taken: set[str] = set()
    elders = [_elder(rng, i, now.date(), now, workers, taken) for i in range(1, elder_count + 1)]
    return elders, _providers(rng, now)


# Standing orders of the demo: weekday lunches for some elders living alone, Saturday baths for others.
LUNCH_PLANS, BATH_PLANS = 12, 4


def demo_plans(elders: list[Elder], today: date, now: datetime) -> list[RecurringPlan]:
    """Recurring plans for the first elders living alone (their orders are made by the service desk)."""
    alone = [e for e in elders if e.living_alone][: LUNCH_PLANS + BATH_PLANS]
    plans = []
    for index, elder in enumerate(alone):
        lunch = index < LUNCH_PLANS
        plans.append(
            RecurringPlan(
                elder_id=elder.id,
                service_type=ServiceType.meal_assistance if lunch else ServiceType.bathing,
                frequency=PlanFrequency.weekly,
                weekdays=[1, 2, 3, 4, 5] if lunch else [6],
                month_days=[],
                start_time="11:00" if lunch else "09:00",
                end_time="12:00" if lunch else "10:30",
                starts_on=today,
                ends_on=None,
                notes="少盐少油" if lunch else "需两人协助",
                active=True,
                generated_until=None,
                created_by="seed-demo",
                created_at=now,
                updated_at=now,
            )
        )
    return plans


def next_working_day(today: date) -> date:
    """The first day after `today` on which every seeded provider works (the home-service ones rest on
    Sundays, see `_working_hours`): for demo orders that should find someone."""
    day = today + timedelta(days=1)
    return day + timedelta(days=1) if day.isoweekday() == 7 else day


def _device_number(index: int, is_watch: bool, elder_phone: str | None) -> str:
    """A watch's SIM (an IoT number), or the elder's own mobile for a phone device (one of its own when the
    record has none): no draw from the generator, so the rest of the city stays as it was."""
    if is_watch:
        return f"+861440{index:07d}"
    return elder_phone or f"+86166{index:08d}"


async def seed_demo_city(
    *, session: AsyncSession, clock: Clock, seed: int, elder_count: int, device_secrets: DeviceSecretBox
) -> bool:
    """Store the demo city and accounts; False (and nothing written) if the database is not empty. The
    devices' secrets are stored sealed."""
    if not await database_is_empty(session):
        return False
    now = clock.now()
    password_hash = await hash_password(DEMO_PASSWORD)
    session.add_all(
        Operator(
            username=u,
            display_name=d,
            role=r,
            phone=phone,
            password_hash=password_hash,
            active=True,
            created_at=now,
            updated_at=now,
        )
        for u, d, r, phone in DEMO_OPERATORS
    )
    elders, providers = generate_city(seed=seed, elder_count=elder_count, now=now)
    for device in (device for elder in elders for device in elder.devices):
        device.secret = device_secrets.seal(device.secret)
    session.add_all(elders)
    session.add_all(providers)
    await session.flush()
    await search_keys.refresh(session, [elder.id for elder in elders])
    session.add_all(demo_plans(elders, local_date(now), now))
    agent = await session.scalar(select(Operator.id).where(Operator.username == "agent1"))
    session.add_all(demo_assessments(elders, created_by=agent or 1, now=now, seed=seed))
    await audit.record(
        session=session,
        clock=clock,
        actor=Actor.system("seed-demo"),
        action="demo.seed",
        entity_type="database",
        detail={"seed": seed, "elders": elder_count},
    )
    return True
