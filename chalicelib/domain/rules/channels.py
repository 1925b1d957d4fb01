"""The channels Colony sends through, as they are stored and shown, and a deployment's `dispatch` (the
closed platform's numbering): 1 SMS, 2 email, 3 both."""

from __future__ import annotations

SMS, EMAIL = "sms", "email"
CHANNELS = (SMS, EMAIL)
DISPATCH = {1: (SMS,), 2: (EMAIL,), 3: (SMS, EMAIL)}
