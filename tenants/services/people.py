"""Changes to who belongs to a tenant, how they sign in, and signing them out everywhere."""

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.audit import Actor, audit_record
from tenants.auth.revocation import clear_groups_on_commit, subject_group
from tenants.models import ApiKey, Membership, PortalSignIn, SubjectSignOut, Tenant
from tenants.services.credentials import api_key_create, api_key_revoke
from tenants.services.oauth import member_grants_revoke
from tenants.services.secrets import tenant_secret_set


def _username(user: User) -> str:
    return str(user.get_username())


@transaction.atomic
def membership_add(
    *, tenant: Tenant, user: User, role: str, subject: str = "", actor: Actor
) -> Membership:
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ValidationError({"user": "This user is already a member of the tenant."})
    membership = Membership(tenant=tenant, user=user, role=role, subject=subject)
    membership.full_clean()
    membership.save()
    audit_record(
        actor=actor,
        action="membership.add",
        tenant=tenant,
        target=_username(user),
        details={"role": role},
    )
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor: Actor) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"The role is one of: {', '.join(Membership.Role.values)}."})
    if membership.role == role:
        return membership
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="membership.set_role",
        tenant=membership.tenant,
        target=_username(membership.user),
        details={"from": previous, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Remove a member; what they could use (personal keys, tokens) is signed out too."""
    _sign_out(membership, actor=actor)
    audit_record(
        actor=actor,
        action="membership.remove",
        tenant=membership.tenant,
        target=_username(membership.user),
    )
    membership.delete()


@transaction.atomic
def portal_sign_in_set(
    *,
    tenant: Tenant,
    issuer: str,
    client_id: str,
    endpoints: dict[str, str],
    client_secret: str | None = None,
    actor: Actor,
    **options: Any,
) -> PortalSignIn:
    """Create or change the tenant's portal sign-in; ``endpoints`` were discovered from
    ``issuer`` by the caller (``tenants.portal.oidc.discover``), outside this transaction."""
    sign_in = PortalSignIn.objects.filter(tenant=tenant).first() or PortalSignIn(tenant=tenant)
    sign_in.issuer, sign_in.client_id = issuer, client_id
    for name, value in {**options, **endpoints}.items():
        setattr(sign_in, name, value)
    sign_in.full_clean()
    sign_in.save()
    if client_secret:
        tenant_secret_set(
            tenant=tenant, name=PortalSignIn.PORTAL_SECRET_NAME, value=client_secret, actor=actor
        )
    audit_record(
        actor=actor,
        action="portal_sign_in.set",
        tenant=tenant,
        target=issuer,
        details={"client_id": client_id, "secret_changed": bool(client_secret), **options},
    )
    return sign_in


@transaction.atomic
def member_signed_in(
    *, tenant: Tenant, user: User, subject: str, admin: bool | None, actor: Actor
) -> Membership:
    """Record a sign-in at the tenant's identity provider: the membership is created on the
    first one; ``admin`` (from the configured claim; None when none is configured) sets the
    role on every sign-in."""
    membership = Membership.objects.filter(tenant=tenant, user=user).first()
    if membership is None:
        role = Membership.Role.ADMIN if admin else Membership.Role.MEMBER
        membership = Membership.objects.create(tenant=tenant, user=user, role=role, subject=subject)
    elif admin is not None:
        membership.role = Membership.Role.ADMIN if admin else Membership.Role.MEMBER
        membership.subject = subject
        membership.save(update_fields=["role", "subject"])
    audit_record(
        actor=actor,
        action="portal.sign_in",
        tenant=tenant,
        target=_username(user),
        details={"subject": subject, "role": membership.role},
    )
    return membership


@transaction.atomic
def personal_key_create(
    *,
    membership: Membership,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    actor: Actor,
) -> tuple[ApiKey, str]:
    key, raw = api_key_create(
        tenant=membership.tenant, name=name, scopes=scopes, expires_at=expires_at, actor=actor
    )
    key.owner_id = membership.user_id
    key.save(update_fields=["owner"])
    return key, raw


def _sign_out(membership: Membership, *, actor: Actor) -> tuple[list[str], int]:
    """Revoked API keys' ids, and how many broker grants were revoked (no client of theirs
    can refresh its way back in)."""
    tenant = membership.tenant
    revoked = []
    grants = member_grants_revoke(membership=membership)
    groups = []
    for key in ApiKey.objects.usable().filter(tenant=tenant, owner_id=membership.user_id):
        api_key_revoke(key=key, actor=actor)
        revoked.append(key.public_id)
        groups.append(subject_group(tenant.pk, f"apikey:{key.public_id}"))
    if membership.subject:
        SubjectSignOut.objects.update_or_create(
            tenant=tenant, subject=membership.subject, defaults={"at": timezone.now()}
        )
        groups.append(subject_group(tenant.pk, membership.subject))
    if groups:
        clear_groups_on_commit(*groups)
    return revoked, grants


@transaction.atomic
def member_sign_out_everywhere(*, membership: Membership, actor: Actor) -> list[str]:
    """Refuse, on every instance, what this member signed in with: personal API keys are
    revoked, access tokens issued until now for their subject are refused, and the principals
    and legacy sessions cached for either are dropped. Returns the revoked keys' ids."""
    revoked, grants = _sign_out(membership, actor=actor)
    audit_record(
        actor=actor,
        action="portal.sign_out_everywhere",
        tenant=membership.tenant,
        target=_username(membership.user),
        details={
            "revoked_keys": revoked,
            "revoked_grants": grants,
            "subject": membership.subject,
        },
    )
    return revoked
