"""One module per queue or schedule: parse the event, call the domain, report failures. No rules here."""
