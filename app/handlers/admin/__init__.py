"""The operator console at /admin: sign-in, OAuth clients, users, API keys, grants, audit log, data imports, scheduler.

Every page is server-rendered and works without JavaScript. Operators sign in with the same checks and
throttling as the OAuth consent page; the session lives in web_sessions and its id travels in a signed,
HttpOnly, SameSite=Lax cookie. Every POST passes Tornado's XSRF check before any handler code runs.
Destructive actions go through a confirmation page, and a secret is shown only on the POST response that
created it, never stored in clear and never cacheable.

One module per part of the console, each ending with its route list; `base.py` holds what every page shares.
"""

from __future__ import annotations

from app.handlers.admin import audit, clients, data, grants, keys, overview, scheduler, signin, users

routes = [
    *signin.routes,
    *overview.routes,
    *clients.routes,
    *users.routes,
    *keys.routes,
    *grants.routes,
    *audit.routes,
    *data.routes,
    *scheduler.routes,
]
