"""Colony's Chalice app: wiring only. Routes live in chalicelib/api, event handlers in chalicelib/workers.

Queue and topic names are read from the settings when this module loads, because Chalice's decorators need
them then; `infra/` creates the same queues and topics.
"""

from chalice import Chalice

from chalicelib.api import (
    api_keys,
    audit,
    callbacks,
    campaigns,
    company,
    contact_lists,
    contacts,
    deployments,
    docs,
    emails,
    erasures,
    filebox,
    health,
    imports,
    inbound,
    messages,
    optouts,
    saved_queries,
    sessions,
    stats,
    tasks,
    users,
    webapp,
    webhooks,
)
from chalicelib.api.errors import chalice_errors_middleware
from chalicelib.api.http import json_content_type
from chalicelib.settings import get_settings
from chalicelib.workers import callbacks as callbacks_worker_module
from chalicelib.workers import email_events, sms_events
from chalicelib.workers import imports as imports_worker_module
from chalicelib.workers import launcher as launcher_module
from chalicelib.workers import retention as retention_module
from chalicelib.workers import send as send_worker_module
from chalicelib.workers import stats as stats_worker_module
from chalicelib.workers import tasks as tasks_worker_module

app = Chalice(app_name="colony")
app.api.binary_types.append("multipart/form-data")
app.register_middleware(chalice_errors_middleware, "http")
app.register_middleware(json_content_type, "http")

for blueprint in (
    health.bp,
    company.bp,
    users.bp,
    sessions.bp,
    api_keys.bp,
    contact_lists.bp,
    contacts.bp,
    saved_queries.bp,
    imports.bp,
    filebox.bp,
    tasks.bp,
    optouts.bp,
    erasures.bp,
    campaigns.bp,
    deployments.bp,
    messages.bp,
    emails.bp,
    inbound.bp,
    stats.bp,
    webhooks.bp,
    callbacks.bp,
    audit.bp,
    docs.bp,
    webapp.bp,
):
    app.register_blueprint(blueprint)


@app.on_sqs_message(queue=get_settings().queue("imports"), batch_size=1, name="imports_worker")
def imports_worker(event):
    return imports_worker_module.handle(event)


@app.on_sqs_message(queue=get_settings().queue("tasks"), batch_size=1, name="tasks_worker")
def tasks_worker(event):
    return tasks_worker_module.handle(event)


@app.on_sqs_message(queue=get_settings().queue("send"), batch_size=10, name="send_worker")
def send_worker(event):
    return send_worker_module.handle(event)


@app.on_sqs_message(queue=get_settings().queue("callbacks"), batch_size=10, name="callbacks_worker")
def callbacks_worker(event):
    return callbacks_worker_module.handle(event)


@app.schedule("rate(1 minute)", name="launch_deployments")
def launch_deployments(event):
    return launcher_module.handle(event)


@app.schedule("rate(5 minutes)", name="roll_up_stats")
def roll_up_stats(event):
    return stats_worker_module.handle(event)


@app.schedule("cron(0 0 * * ? *)", name="refresh_saved_lists")
def refresh_saved_lists(event):
    return tasks_worker_module.refresh_nightly(event)


@app.schedule("cron(30 0 * * ? *)", name="drop_message_bodies")
def drop_message_bodies(event):
    return retention_module.handle(event)


@app.on_sns_message(topic=get_settings().topic("sms-inbound"), name="sms_inbound")
def sms_inbound(event):
    return sms_events.handle_inbound(event.message)


@app.on_sns_message(topic=get_settings().topic("sms-events"), name="sms_events")
def sms_events_worker(event):
    return sms_events.handle_event(event.message)


@app.on_sns_message(topic=get_settings().topic("email-events"), name="email_events")
def email_events_worker(event):
    return email_events.handle(event.message)
