"""The project's own settings, read from the one ``MCP_SERVER`` namespace.

Use ``mcp_settings.NAME`` everywhere; never read ``settings.MCP_SERVER`` directly. Unknown
keys raise at first use, defaults live here, and ``override_settings(MCP_SERVER=...)`` works
because the cached values are dropped on ``setting_changed``.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Canonical base URL; a tenant's resource identifier is PUBLIC_URL + "/mcp/<slug>".
    "PUBLIC_URL": "http://127.0.0.1:8000",
    # AES-256-GCM keys, 64 hex characters each, newest first: the first encrypts, all decrypt.
    "ENCRYPTION_KEYS": [],
    # Origins allowed on /mcp/ besides the server's own host.
    "ALLOWED_ORIGINS": [],
    # Modules holding the tool sets a tenant may enable, by dotted path ("myco.tools"); a bare
    # name means tools.<name>. A tenant enables the sets by their own names (tenants.catalogue).
    # (The workspace app's package is imported while Django loads apps, before models exist,
    # so its tool set lives in a module of its own.)
    "TOOLSETS": ["builtin", "conformance", "tools.workspace.toolset"],
    # Tool sets given to a tenant created without an explicit list.
    "DEFAULT_TOOLSETS": ["builtin"],
    # Whether a tenant may be given an internal tool set (a test fixture such as the
    # conformance suite's): only test deployments and the conformance runs set it.
    "ALLOW_INTERNAL_TOOLSETS": False,
    # Raw API keys start with this, so they are recognisable in a leak scan.
    "API_KEY_PREFIX": "mcpk_",
    # last_used_at is written at most once per this many seconds per key.
    "API_KEY_LAST_USED_INTERVAL": 60,
    # How many reverse proxies in front of the server append to X-Forwarded-For (0: none,
    # use the socket peer address).
    "TRUSTED_PROXY_COUNT": 0,
    # MCP endpoint: largest request body accepted (bytes); bigger ones get 413 unread.
    "MAX_REQUEST_BYTES": 1_048_576,
    # Resource subscriptions a legacy session (or a listen stream) may hold, and the longest
    # URI accepted in one.
    "MAX_SUBSCRIPTIONS": 100,
    "MAX_URI_LENGTH": 2048,
    # Under daphne (mcpserver.daphne_guard): a request's line, headers and body must all arrive
    # within this many seconds of its first byte, or it gets 408 and the connection is closed.
    "HTTP_REQUEST_TIMEOUT": 30,
    # Under daphne: a connection with no request in progress is closed after this many idle
    # seconds (a response being sent, an SSE stream included, is never cut by it).
    "HTTP_KEEPALIVE_TIMEOUT": 20,
    # Items per page in tools/list, resources/list, prompts/list ...
    "PAGE_SIZE": 100,
    # Legacy (2025-11-25) sessions and their resumable stream logs live this long unused.
    "SESSION_TTL": 3600,
    # A 2026-07-28 requestState is honoured for this many seconds after it was issued.
    "REQUEST_STATE_TTL": 600,
    # How long a server-to-client request (sampling, elicitation) waits for its answer.
    "CLIENT_REQUEST_TIMEOUT": 120,
    # Event streams (subscriptions/listen, legacy GET) one process holds open at most, in all
    # and per tenant; one more is refused with 503 and Retry-After. Each holds a task and a
    # Channels-layer group membership, refreshed every STREAM_KEEPALIVE seconds, when an idle
    # stream also gets a keep-alive comment.
    "STREAMS_PER_PROCESS": 500,
    "STREAMS_PER_TENANT": 100,
    "STREAM_KEEPALIVE": 15.0,
    # Requests one process keeps cancellable by notifications/cancelled at once (more still
    # run; closing their stream still cancels them).
    "CANCELLABLE_REQUESTS": 10_000,
    # SEP-1699 polling (2025-11-25 sessions): a request still running after this many seconds
    # has its stream closed (after a priming event and a retry field) and the client resumes
    # it with GET and Last-Event-ID on any instance; a resumed stream is closed the same way.
    # None: never on the server's own initiative (a tool may still ask for it).
    "SSE_POLL_CLOSE_AFTER": None,
    # The SSE retry field sent before such a close: how long the client waits to reconnect.
    "SSE_RETRY_MS": 1000,
    # ttlMs advertised on list and read results (2026-07-28 caching hints).
    "CACHE_TTL_MS": 60_000,
    # The shared store (sessions_store): the process tier keeps at most this many opened values
    # per process, each for at most this many seconds (never past the entry's own expiry).
    "STORE_PROCESS_CACHE_SIZE": 10_000,
    "STORE_PROCESS_CACHE_TTL": 30.0,
    # The cache alias (django-redis) holding the shared tier; absent from CACHES, the store
    # keeps the shared tier in the database (the embedded default).
    "STORE_CACHE_ALIAS": "store",
    # Each server process reports its key ring (key ids only) this often, so that
    # rotate_encryption_key can refuse a step that some running instance is not ready for; a
    # report older than three intervals is taken for a stopped instance. 0: never report.
    "KEYRING_REPORT_INTERVAL": 30.0,
    # A failing shared tier is logged at most once per this many seconds (each failure counted).
    "STORE_FAILURE_LOG_INTERVAL": 30.0,
    # Once Redis fails a call, further calls fail at once (database and full validation take
    # over) until a probe, sent this many seconds later and every as long after, answers.
    "STORE_BREAKER_COOLDOWN": 1.0,
    # --- Authentication (tenants.auth) ---
    # Clock skew tolerated on a JWT's exp, nbf and iat, in seconds.
    "JWT_LEEWAY": 30,
    # Longest time a validated credential is served from the cache (never past its own expiry).
    "AUTH_CACHE_TTL": 300,
    # How long a tenant's configuration (status, identity providers) is cached; revocation,
    # suspension and provider changes clear it at once on every instance.
    "AUTH_TENANT_CACHE_TTL": 300,
    # Every instance reads the revocations recorded in the database at most this often (one
    # query per process per interval): a revocation Redis missed is in force within it.
    "REVOCATION_CHECK_INTERVAL": 0.5,
    # Scopes advertised in the protected-resource metadata and in 401 challenges.
    "SCOPES_SUPPORTED": [],
    # A fetched JWKS is kept this long in the shared store; the refresh task renews it sooner.
    "JWKS_CACHE_TTL": 86400,
    # An unknown kid refetches the JWKS at most once per provider per this many seconds,
    # across all instances.
    "JWKS_REFETCH_COOLDOWN": 60,
    # Network timeout for discovery and JWKS requests, in seconds.
    "JWKS_FETCH_TIMEOUT": 5.0,
    # Retry-After (seconds) on the 503 answered while the database cannot be reached.
    "DATABASE_RETRY_AFTER": 5,
    # --- Sign-in (tenants.portal) ---
    # Staff sign-in to admin through an OpenID provider (README "Signing in"); with no issuer,
    # password sign-in. Staff are those whose claim holds the value, or whose verified e-mail
    # is allowed; anyone else the provider knows is refused.
    "STAFF_OIDC_ISSUER": "",
    "STAFF_OIDC_CLIENT_ID": "",
    "STAFF_OIDC_CLIENT_SECRET": "",
    "STAFF_OIDC_ALLOW_PRIVATE_NETWORK": False,
    "STAFF_OIDC_SCOPES": "openid email profile",
    "STAFF_OIDC_CLAIM": "",
    "STAFF_OIDC_CLAIM_VALUE": "",
    "STAFF_OIDC_ALLOWED_EMAILS": [],
    # Sign-in attempts (portal and admin, password or OpenID) per client address per minute.
    "SIGN_IN_ATTEMPTS_PER_MINUTE": 20,
    # --- Rate limits (tenants.ratelimit) ---
    # Requests to /mcp/<slug>, as "N/PERIOD" (PERIOD s, min, h or day) or None for no limit,
    # counted by every instance together in Redis (per process while Redis is unreachable):
    # for a tenant as a whole, and for each of its credentials (an API key, a JWT subject).
    # A tenant's own settings (admin, set_rate_limit) override these; a blank one follows them.
    "RATE_LIMIT_TENANT": None,
    "RATE_LIMIT_CREDENTIAL": "3000/min",
    # At most one audit record per refused tenant or credential per this many seconds on one
    # instance; the refusals in between are counted on the next record.
    "RATE_LIMIT_AUDIT_INTERVAL": 60,
    # --- Outbound requests (tenants.outbound) ---
    # Networks (CIDR strings) every outbound request may reach besides public addresses, e.g.
    # an internal identity provider's subnet. Per destination, an identity provider's
    # allow_private_network opens the whole private network for that provider only.
    "OUTBOUND_ALLOWED_NETWORKS": [],
    # --- Upstream MCP servers and HTTP tools (tools.upstream) ---
    # An upstream server's listing (tools, resources, prompts) is kept in the shared store
    # as long as the upstream's lists say (2026-07-28 ttlMs), within these bounds in seconds
    # (a 2025-11-25 upstream says nothing: the interval), then fetched again; its
    # list_changed, seen on any call, drops it at once on every instance. A listing that
    # failed is tried again after the retry interval.
    "UPSTREAM_LIST_INTERVAL": 300,
    "UPSTREAM_LIST_MIN_INTERVAL": 10,
    "UPSTREAM_RETRY_INTERVAL": 30,
    # A listing is fetched while a client waits (its first tools/list): it may take at most
    # this many seconds (or the upstream's own timeout, if shorter).
    "UPSTREAM_LIST_TIMEOUT": 5.0,
    # Largest response body accepted from an upstream server or an HTTP tool's API (bytes).
    "UPSTREAM_MAX_RESPONSE_BYTES": 4 * 1024 * 1024,
    # Tools, resources, templates and prompts taken from one upstream server, at most.
    "UPSTREAM_MAX_ITEMS": 500,
    # Failed authentications audited per source address per minute on one instance; the rest
    # are counted, not written, so a flood cannot fill the audit log.
    "AUTH_FAILURE_AUDIT_PER_MINUTE": 10,
    # The same, per tenant: a flood spread over many source addresses is capped too.
    "AUTH_FAILURE_AUDIT_PER_TENANT_PER_MINUTE": 100,
    # --- Tasks (the io.modelcontextprotocol/tasks extension, mcpserver.protocol.tasks) ---
    # Where a task's work runs: "process" (the accepting process, the embedded default) or
    # "celery" (a worker, so a task outlives the instance that accepted it).
    "TASKS_RUNNER": "process",
    # A task (and its result) stays readable this many seconds after it was created.
    "TASK_TTL": 3600,
    # The poll interval suggested to clients, and how often a runner looks for the client's
    # answers and a cancellation (seconds).
    "TASK_POLL_INTERVAL_MS": 500,
    "TASK_RUNNER_POLL": 0.5,
    # --- Tool-call audit (tenants.toolaudit, sessions_store.journal) ---
    # The request path appends a call's record to a Redis stream, waiting at most this many
    # seconds; past it (or with Redis down) the record goes to an in-process queue of at most
    # AUDIT_QUEUE_SIZE records, written to the database by a background thread.
    "AUDIT_APPEND_TIMEOUT": 0.25,
    "AUDIT_QUEUE_SIZE": 10_000,
    # Records moved from the stream to the database per transaction.
    "AUDIT_DRAIN_BATCH": 200,
    # Entries a drainer read and left unacknowledged this many seconds (it died) are claimed
    # by another drainer.
    "AUDIT_CLAIM_IDLE": 30.0,
    # Each server process drains the stream in a background thread; off, only the Celery task
    # (tenants.drain_audit) or `manage.py drain_audit` do.
    "AUDIT_DRAIN_IN_PROCESS": True,
    # After a round that found less than a full batch, the in-process drainer waits this many
    # seconds: under load it writes full batches, whose fixed cost is paid once per batch.
    "AUDIT_DRAIN_INTERVAL": 0.25,
    # --- Background jobs (tenants.tasks, tenants.services.retention) ---
    # Days the audit log keeps a tenant's rows (a tenant's own setting overrides it), and the
    # rows without a tenant; None keeps them forever. Trimmed from the start of each hash
    # chain, AUDIT_TRIM_BATCH rows per transaction, each trim itself audited.
    "AUDIT_RETENTION_DAYS": 400,
    "AUDIT_TRIM_BATCH": 5000,
    # Tests only, like CELERY_TASK_ALWAYS_EAGER: the request writes its record itself (in the
    # database thread), inside the test's transaction.
    "AUDIT_WRITE_INLINE": False,
    # --- Observability (mcpserver.observability) ---
    # /metrics answers loopback callers, callers from these CIDR networks, and any caller
    # presenting METRICS_TOKEN as a Bearer credential (None: no token accepted).
    "METRICS_ALLOW": [],
    "METRICS_TOKEN": None,
    # Seconds between copies of each process's own counters (store, JWKS, rate limiter,
    # audit queue, open streams) into the exported series.
    "METRICS_FLUSH_INTERVAL": 5.0,
    # --- Broker-mode authorization server (tenants.oauth) ---
    # Lifetime of the access tokens it issues, in seconds (short: refresh tokens renew them).
    "BROKER_ACCESS_TOKEN_TTL": 300,
    # A tenant's signing key is replaced once it is this old (seconds); the old one stays
    # published until the tokens it signed have expired.
    "BROKER_KEY_MAX_AGE": 30 * 86400,
    # A consent page answered later than this (seconds) is refused: the client gets
    # access_denied and starts again (tenants.oauth.consent).
    "BROKER_CONSENT_MAX_AGE": 600,
}


class MCPSettings:
    def __init__(self, defaults: dict[str, Any]) -> None:
        self._defaults = defaults
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        user = getattr(settings, "MCP_SERVER", {})
        unknown = sorted(set(user) - set(self._defaults))
        if unknown:
            raise ImproperlyConfigured(f"Unknown MCP_SERVER setting(s): {', '.join(unknown)}")
        return user

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(f"Invalid MCP_SERVER setting: {name!r}")
        value = self.user_settings.get(name, self._defaults[name])
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()


mcp_settings = MCPSettings(DEFAULTS)


def _reload_mcp_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == "MCP_SERVER":
        mcp_settings.reload()


setting_changed.connect(_reload_mcp_settings)
