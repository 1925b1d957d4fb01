"""Colony's Chalice app: wiring only. Routes live in chalicelib/api, event handlers in chalicelib/workers."""

from chalice import Chalice

from chalicelib.api import api_keys, company, health, users
from chalicelib.api.errors import chalice_errors_middleware

app = Chalice(app_name="colony")
app.register_middleware(chalice_errors_middleware, "http")

for blueprint in (health.bp, company.bp, users.bp, api_keys.bp):
    app.register_blueprint(blueprint)
