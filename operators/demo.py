"""Realistic synthetic registry for the embedded demo and for tests: operators, platforms, users."""

import random
import secrets
from datetime import date, timedelta

from django.contrib.auth.models import Group, User
from stdnum.by import unp as stdnum_unp
from stdnum.exceptions import ValidationError as StdnumError

from operators.models import (
    Activity,
    ForeignPlatform,
    Operator,
    OperatorMembership,
    OperatorStatus,
    OperatorStatusChange,
)
from operators.roles import AUDITORS, SUPERVISORS

# Real foreign exchanges and the jurisdictions they are registered in.
DEMO_PLATFORMS = [
    ("binance", "Binance", "AE", True),
    ("bybit", "Bybit", "AE", True),
    ("okx", "OKX", "SC", True),
    ("kucoin", "KuCoin", "SC", True),
    ("htx", "HTX", "SC", True),
    ("mexc", "MEXC", "SC", True),
    ("bitget", "Bitget", "SC", True),
    ("gate-io", "Gate.io", "KY", True),
    ("kraken", "Kraken", "US", True),
    ("coinbase", "Coinbase", "US", True),
    ("bitfinex", "Bitfinex", "VG", True),
    ("bitstamp", "Bitstamp", "LU", True),
    ("nobitex", "Nobitex", "IR", False),
    ("garantex", "Garantex", "RU", False),
    ("exmo", "EXMO", "GB", False),
]

NAME_STEMS = [
    "Крипто Обмен",
    "Блокчейн Капитал",
    "Цифровые Активы",
    "Токен Финанс",
    "Минск Крипто",
    "БелКоин",
    "Виртуал Трейд",
    "Хеш Групп",
    "Нео Биржа",
    "Альфа Токен",
    "Смарт Леджер",
    "Крипто Хранилище",
    "Дигитал Эссетс",
    "Мост Финтех",
    "Бит Сервис",
    "Кварц Майнинг",
    "Полесье Блок",
    "Неман Крипто",
    "Сож Токен",
    "Припять Диджитал",
    "Берёза Капитал",
    "Верас Трейдинг",
    "Зубр Финтех",
    "Гомель Коин",
    "Витебск Токен",
    "Гродно Ассет",
    "Брест Блок",
    "Могилёв Хеш",
    "Нарочь Финанс",
    "Свислочь Дата",
    "Лидер Крипто",
    "Орбита Токен",
    "Сфера Блокчейн",
    "Вектор Актив",
    "Импульс Трейд",
    "Квант Биржа",
    "Форпост Кастоди",
    "Ковчег Хранение",
    "Пульс Майнинг",
    "Горизонт Финтех",
]
STREETS = ["ул. Примерная", "пр-т Независимости", "ул. Купревича", "ул. Академика Кар Ремизова", "ул. Сурганова"]


def make_unp(rng: random.Random, used: set[str]) -> str:
    """A valid legal-entity UNP (checksum by python-stdnum), unique within `used`."""
    while True:
        base = f"{rng.choice('1234567')}9{rng.randrange(10**6):06d}"
        try:
            number = base + stdnum_unp.calc_check_digit(base)
        except StdnumError:
            continue
        if number not in used and stdnum_unp.is_valid(number):
            used.add(number)
            return number


def generate_registry(*, seed: int, operators: int = 40, today: date | None = None) -> list[Operator]:
    """Operators (some suspended or excluded, some with expired certificates) and platforms."""
    rng = random.Random(seed)
    today = today or date.today()  # noqa: DTZ011 - a calendar date for demo data
    for slug, name, country, verified in DEMO_PLATFORMS:
        ForeignPlatform.objects.update_or_create(
            slug=slug, defaults={"name": name, "country": country, "verified": verified, "high_risk": country == "IR"}
        )
    used = set(Operator.objects.values_list("unp", flat=True)) | {"191234563"}
    created = []
    activities = [a for a, _ in Activity.choices]
    for index in range(operators):
        unp = "191234563" if index == 0 else make_unp(rng, used)  # the samples' operator
        stem = NAME_STEMS[index % len(NAME_STEMS)]
        expired = index % 9 == 4
        status = OperatorStatus.ACTIVE
        if index % 13 == 7:
            status = OperatorStatus.SUSPENDED
        elif index % 17 == 11:
            status = OperatorStatus.EXCLUDED
        registered = date(2018 + index % 6, 1 + index % 12, 1 + index % 27)
        valid_until = today - timedelta(days=30 + index) if expired else today + timedelta(days=200 + 20 * index)
        operator, was_created = Operator.objects.update_or_create(
            unp=unp,
            defaults={
                "name": f"ООО «{stem}»",
                "htp_certificate_no": f"HTP-{registered.year}-{index + 100:04d}",
                "htp_certificate_valid_until": valid_until,
                "htp_registered_on": registered,
                "activity": activities[index % len(activities)] if index else Activity.EXCHANGE,
                "status": status,
                "legal_address": (
                    f"220{rng.randrange(100):03d}, г. Минск, {rng.choice(STREETS)}, {rng.randrange(1, 90)}"
                ),
                "aml_officer": rng.choice(["Иванова А. С.", "Петров И. Н.", "Ковалёва О. В.", "Сидоренко Д. А."]),
                "website": f"https://op{index:02d}.example.by",
                "email": f"compliance@op{index:02d}.example.by",
            },
        )
        if was_created:
            OperatorStatusChange.objects.create(
                operator=operator, to_status=OperatorStatus.ACTIVE, reason="Регистрация"
            )
            if status != OperatorStatus.ACTIVE:
                OperatorStatusChange.objects.create(
                    operator=operator,
                    from_status=OperatorStatus.ACTIVE,
                    to_status=status,
                    reason="Решение наблюдательного совета ПВТ",
                )
        created.append(operator)
    return created


def _user(username: str, *, password: str, group: str | None = None, **extra) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults=extra)
    user.set_password(password)
    for key, value in extra.items():
        setattr(user, key, value)
    user.save()
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def generate_demo_users(*, operator: Operator) -> dict[str, str]:
    """The demo accounts `auditor`, `supervisor`, `operator`; returns their new passwords."""
    passwords = {name: secrets.token_urlsafe(9) for name in ("auditor", "supervisor", "operator")}
    _user("auditor", password=passwords["auditor"], group=AUDITORS, is_staff=True, first_name="Аудитор")
    _user("supervisor", password=passwords["supervisor"], group=SUPERVISORS, is_staff=True, first_name="Супервизор")
    staff = _user("operator", password=passwords["operator"], first_name="Сотрудник", email=operator.email)
    OperatorMembership.objects.get_or_create(user=staff, operator=operator)
    return passwords
