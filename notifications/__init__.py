"""Reminders through Apprise (WeCom, DingTalk, Feishu/Lark group robots per organisation; e-mail, WeCom application
messages and webhooks per person): message templates, the events and the daily reminders, escalations and digests,
the queue with its rate limits, retries and lease. Every message is a row of `notifications` under a UNIQUE dedupe
key, written through casework (casework.deliveries.Desk); no send happens inside a store transaction. See
channels.py for the documented Apprise URL forms and the channels' limits, settings.py for the configuration."""
from .channels import PROFILES, Delivery, deliver, profile_of
from .dispatch import (announce_ahead, announce_step, daily, remind_and_escalate, remind_late, send_digests,
                       send_test, waits_on)
from .render import render
from .sending import LEASE, MAX_TRIES, Counts, flush
from .settings import Settings

__all__ = ["Counts", "Delivery", "LEASE", "MAX_TRIES", "PROFILES", "Settings", "announce_ahead", "announce_step",
           "daily", "deliver", "flush", "profile_of", "remind_and_escalate", "remind_late", "render", "send_digests",
           "send_test", "waits_on"]
