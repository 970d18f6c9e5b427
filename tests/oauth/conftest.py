"""Fixtures of the broker's flow tests: a tenant in broker mode and a member signed in to it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import Membership, Tenant
from tests.oauth.flow import BASE, broker_tenant


@pytest.fixture
def public_url(settings):
    """The public URL the broker's flow tests expect in issuers and redirects."""
    settings.MCP_SERVER = {**settings.MCP_SERVER, "PUBLIC_URL": BASE}


@pytest.fixture
def broker(tenant: Tenant) -> Tenant:
    return broker_tenant(tenant)


@pytest.fixture
def member(broker: Tenant) -> Client:
    user = get_user_model().objects.create(username="alice", email="alice@example.com")
    Membership.objects.create(user=user, tenant=broker, subject="alice-sub")
    client = Client()
    client.force_login(user)
    return client
