"""Reminders through Apprise (WeCom, DingTalk, Feishu/Lark, e-mail, JSON webhooks …): message templates, the
daily sweep, digests and de-duplication. Every send is idempotent under a dedupe key kept in the `notifications`
table, and no send happens inside a store transaction. See channels.py for the documented Apprise URL forms."""
from .channels import Delivery, channel_of, deliver, person_urls
from .dispatch import announce_step, recipients, remind_late, send_digests, waits_on
from .render import render
from .sending import MAX_TRIES, Message, send_all

__all__ = ["Delivery", "MAX_TRIES", "Message", "announce_step", "channel_of", "deliver", "person_urls",
           "recipients", "remind_late", "render", "send_all", "send_digests", "waits_on"]
