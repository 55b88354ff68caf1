"""Test data factories shared by the apps' tests."""

import itertools

import factory
from django.contrib.auth.models import Group, User
from stdnum.by import unp as stdnum_unp

from operators.models import ForeignPlatform, Operator, OperatorMembership
from operators.roles import AUDITORS, SUPERVISORS, groups_sync


def _valid_unps():
    for n in itertools.count(1):
        base = f"19{n:06d}"
        try:
            yield base + stdnum_unp.calc_check_digit(base)
        except Exception:  # noqa: BLE001, S112 - numbers whose check digit would be 10 do not exist
            continue


_unps = _valid_unps()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def _group(name: str) -> Group:
    # Transactional tests flush the database, and with it the groups the migration made.
    if not Group.objects.filter(name=name).exists():
        groups_sync()
    return Group.objects.get(name=name)


def auditor(**kwargs) -> User:
    user = UserFactory(**kwargs)
    user.groups.add(_group(AUDITORS))
    return user


def supervisor(**kwargs) -> User:
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(_group(SUPERVISORS))
    return user


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator

    unp = factory.LazyFunction(lambda: next(_unps))
    name = factory.Sequence(lambda n: f"ООО «Оператор {n}»")
    htp_certificate_no = factory.Sequence(lambda n: f"HTP-2020-{n:04d}")
    htp_certificate_valid_until = factory.Faker("date_between", start_date="+1y", end_date="+3y")
    activity = "exchange"
    status = "active"


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ForeignPlatform
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"platform{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    country = "AE"
    verified = True


def operator_staff(operator: Operator, **kwargs) -> User:
    user = UserFactory(**kwargs)
    OperatorMembership.objects.create(user=user, operator=operator)
    return user
