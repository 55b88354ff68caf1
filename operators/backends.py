"""The admin's permission checks, answered by the one access rule.

Django's admin asks `request.user.has_perm("app.codename")` for every page and button. This
backend answers from the user's Access (operators/access.py, `Access.model_permissions`), so the
admin decides exactly as the pages and the API do; permission rows stored on users or groups
decide nothing (groups_sync keeps the groups' rows equal to the same table, for whoever reads
them). Password authentication is ModelBackend's, unchanged. Superusers pass before any backend
(Django's PermissionsMixin), as before.
"""

from django.contrib.auth.backends import ModelBackend

from operators.access import access_for_user


class AccessPermissionBackend(ModelBackend):
    def get_user_permissions(self, user_obj, obj=None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj, obj=None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(access_for_user(user_obj).model_permissions())
