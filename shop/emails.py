"""Email the shop sends: the order confirmation, the same for both channels.

Sent through Django's email API, so the backend is a setting (console by default;
a file, SMTP or anything else from the environment). Sending happens after the
order's transaction commits, and a failed send is logged, never turned into a failed
order: the order is placed either way, and its page shows it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import Order

logger = logging.getLogger(__name__)


def order_confirmation(order: Order) -> tuple[str, str]:
    """The subject and plain-text body of an order's confirmation."""
    subject = f"Your {settings.SHOP_NAME} order #{order.pk}"
    body = render_to_string(
        "shop/email/order_confirmation.txt",
        {"order": order, "lines": list(order.lines.all()), "shop_name": settings.SHOP_NAME},
    )
    return subject, body


def send_order_confirmation(order: Order) -> bool:
    """Send the confirmation to the order's email address; False (and a log line) on failure."""
    subject, body = order_confirmation(order)
    try:
        send_mail(subject, body, None, [order.customer_email], fail_silently=False)
    except Exception:  # SMTP refused, host unreachable, file not writable: the order stands
        logger.exception("Could not send the confirmation of order #%s", order.pk)
        return False
    return True
