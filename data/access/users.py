"""Users, sign-in attempts and the append-only audit log, in a transactional store.

SQLite by default (a file beside the DuckDB file); any SQLAlchemy URL, e.g. PostgreSQL, when
several app servers share users. Passwords are stored only as scrypt hashes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask_login import UserMixin
from sqlalchemy import (Boolean, DateTime, Integer, String, Text, create_engine, event, func, select, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from data.errors import IstvError
from data.access.roles import ROLES, Scope

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10


class UserError(IstvError, ValueError):
    """A user-management request that cannot be done as asked."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(UserMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    boroughs: Mapped[str] = mapped_column(Text, default="")    # comma-separated GSS codes; "" = all (if role allows)
    ed_sites: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @property
    def is_active(self) -> bool:  # flask-login: disabled users cannot sign in or stay signed in
        return bool(self.active)

    @property
    def borough_list(self) -> tuple[str, ...]:
        return tuple(b for b in self.boroughs.split(",") if b)

    @property
    def ed_site_list(self) -> tuple[str, ...]:
        return tuple(s for s in self.ed_sites.split(",") if s)

    def scope(self) -> Scope:
        role = ROLES[self.role]
        boroughs = self.borough_list
        return Scope(
            boroughs=boroughs if (boroughs or role.borough_scoped) else None,
            ed_sites=self.ed_site_list if role.ed_site_scoped else None,
            record_level=role.record_level,
        )

    def can(self, permission: str) -> bool:
        return self.active and permission in ROLES[self.role].permissions


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


class AuditEvent(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session, _ctx, _instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise UserError("the audit log is append-only: events cannot be changed or deleted")


DEMO_USERS = (  # username, password, role, boroughs, ed_sites
    ("admin", "demo-admin-pass", "admin", "", ""),
    ("analyst", "demo-analyst-pass", "analyst", "", ""),
    ("police", "demo-police-pass", "police", "", ""),
    ("licensing", "demo-licensing-pass", "licensing", "E09000033", ""),
    ("csp", "demo-csp-pass", "csp", "E09000012", ""),
    ("health", "demo-health-pass", "health", "", "RJ122"),
)


@dataclass
class SignIn:
    user: User | None
    message: str


class UserStore:
    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow):
        self.engine = create_engine(url, future=True)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.clock = clock
        Base.metadata.create_all(self.engine)
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as con:
                for op in ("UPDATE", "DELETE"):
                    con.execute(text(
                        f"CREATE TRIGGER IF NOT EXISTS audit_no_{op.lower()} BEFORE {op} ON audit_log "
                        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"))

    # users -----------------------------------------------------------------------------------
    def get(self, user_id: int) -> User | None:
        with self.session() as s:
            return s.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        with self.session() as s:
            return s.scalar(select(User).where(User.username == username))

    def list(self) -> list[User]:
        with self.session() as s:
            return list(s.scalars(select(User).order_by(User.username)))

    def add(self, username: str, password: str, role: str, boroughs=(), ed_sites=(), *, by: str = "",
            is_demo: bool = False) -> User:
        username = username.strip()
        if not username or len(username) > 80 or not username.replace(".", "").replace("-", "").replace("_", "").replace("@", "").isalnum():
            raise UserError(f"username {username!r}: use 1-80 letters, digits, '.', '-', '_' or '@'")
        self._check(role, boroughs, password, is_demo)
        with self.session() as s, s.begin():
            if s.scalar(select(User).where(User.username == username)):
                raise UserError(f"a user called {username!r} exists already")
            user = User(username=username, password_hash=generate_password_hash(password), role=role,
                        boroughs=",".join(boroughs), ed_sites=",".join(ed_sites), is_demo=is_demo,
                        created_at=self.clock())
            s.add(user)
        self.audit("user_added", by, detail={"user": username, "role": role, "boroughs": list(boroughs)})
        return user

    def update(self, username: str, *, by: str, role: str | None = None, boroughs=None, ed_sites=None,
               active: bool | None = None, password: str | None = None) -> User:
        with self.session() as s, s.begin():
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                raise UserError(f"no user called {username!r}")
            new_role = role or user.role
            new_boroughs = tuple(boroughs) if boroughs is not None else user.borough_list
            self._check(new_role, new_boroughs, password, user.is_demo)
            changes = {}
            if role is not None and role != user.role:
                user.role, changes["role"] = role, role
            if boroughs is not None:
                user.boroughs, changes["boroughs"] = ",".join(boroughs), list(boroughs)
            if ed_sites is not None:
                user.ed_sites, changes["ed_sites"] = ",".join(ed_sites), list(ed_sites)
            if active is not None and active != user.active:
                user.active, changes["active"] = active, active
            if password is not None:
                user.password_hash, changes["password"] = generate_password_hash(password), "reset"
        self.audit("user_changed", by, detail={"user": username, **changes})
        return user

    def _check(self, role, boroughs, password, is_demo):
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if ROLES[role].borough_scoped and not boroughs:
            raise UserError(f"role {role!r} is borough-scoped: give at least one borough")
        if password is not None and len(password) < MIN_PASSWORD and not is_demo:
            raise UserError(f"passwords need at least {MIN_PASSWORD} characters")

    def ensure_demo_users(self) -> int:
        """Create the demo users (one per role) when the store has no users at all."""
        with self.session() as s:
            if s.scalar(select(func.count()).select_from(User)):
                return 0
        for username, password, role, boroughs, sites in DEMO_USERS:
            self.add(username, password, role, tuple(b for b in boroughs.split(",") if b),
                     tuple(x for x in sites.split(",") if x), by="demo-setup", is_demo=True)
        return len(DEMO_USERS)

    def demo_users_present(self) -> bool:
        with self.session() as s:
            return bool(s.scalar(select(func.count()).select_from(User).where(User.is_demo, User.active)))

    # sign-in ---------------------------------------------------------------------------------
    def locked(self, username: str, ip: str) -> bool:
        since = self.clock() - LOCKOUT
        with self.session() as s:
            by_user = s.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.username == username, LoginFailure.at > since))
            by_ip = s.scalar(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.ip == ip, LoginFailure.at > since))
        return by_user >= MAX_FAILURES or by_ip >= MAX_FAILURES

    def sign_in(self, username: str, password: str, ip: str) -> SignIn:
        username = (username or "").strip()[:80]
        if self.locked(username, ip):
            self.audit("lockout", username, ip)
            return SignIn(None, "Too many failed sign-ins: try again in 15 minutes.")
        user = self.by_username(username)
        if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
            with self.session() as s, s.begin():
                s.add(LoginFailure(username=username, ip=ip, at=self.clock()))
            self.audit("sign_in_failed", username, ip, {"reason": "disabled" if user and not user.active else "bad credentials"})
            if self.locked(username, ip):
                self.audit("lockout", username, ip)
            return SignIn(None, "Wrong username or password.")
        with self.session() as s, s.begin():
            s.get(User, user.id).last_login = self.clock()
        self.audit("sign_in", username, ip)
        return SignIn(user, "")

    # audit -----------------------------------------------------------------------------------
    def audit(self, action: str, username: str = "", ip: str = "", detail: dict | None = None, rows: int | None = None) -> None:
        with self.session() as s, s.begin():
            s.add(AuditEvent(at=self.clock(), username=username or "", ip=ip or "", action=action,
                             detail=json.dumps(detail or {}, default=str, sort_keys=True), rows=rows))

    def events(self, limit: int = 500, action: str | None = None, username: str | None = None) -> list[AuditEvent]:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            q = q.where(AuditEvent.action == action)
        if username:
            q = q.where(AuditEvent.username == username)
        with self.session() as s:
            return list(s.scalars(q))
