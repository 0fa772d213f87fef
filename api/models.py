"""What the API keeps on the server to end tokens early: a login version per user, revoked carts.

Both exist only because a token cannot be taken back once issued. Each row is
small and bounded: one LoginVersion per user who ever had their API logins
ended, one RevokedCart per cart revoked in the last CART_TOKEN_TTL (entries
past their `expires_at` are deleted, see api.revocation).
"""

from django.conf import settings
from django.db import models


class LoginVersion(models.Model):
    """Bumped to end every API login of a user at once (logout, staff action)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="api_login_version",
    )
    version = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"API login version {self.version} of user {self.user_id}"


class RevokedCart(models.Model):
    """A cart id refused until `expires_at`, the latest `exp` any of its tokens can carry.

    The database store of the denylist, used when REDIS_URL is not set.
    """

    cid = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revoked cart {self.cid}"
