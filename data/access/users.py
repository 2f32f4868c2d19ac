"""Users, their sessions, sign-in attempts and the append-only audit log, in a transactional store.

SQLite by default (a file beside the DuckDB file); any SQLAlchemy URL, e.g. PostgreSQL, when
several app servers share users. Passwords are stored only as scrypt hashes; sessions only as
the SHA-256 of their token (the browser's cookie holds the token), so a copy of this store
signs nobody in.

The password rule is in passwords.py; how typed boroughs and ED sites become codes, in scopes.py.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from flask_login import UserMixin
from sqlalchemy import (Boolean, DateTime, Integer, String, Text, create_engine, event, func, select, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from data.access.passwords import password_problem
from data.access.scopes import UserError
from data.access.roles import DISCLOSURE, OWN_SITES_EXACT, ROLES, Scope

MAX_FAILURES = 5                        # an account's failures in a row before it locks
FIRST_LOCK = timedelta(minutes=1)       # the first lock; each further failure doubles it ...
LOCKOUT = timedelta(minutes=15)         # ... up to this
ADDRESS_FREE = 20                       # failures from one address in ADDRESS_WINDOW before it is slowed
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_MAX_WAIT = timedelta(seconds=60)
TOUCH_EVERY = timedelta(seconds=30)     # a session's last_seen is written at most this often
# compared against when the username is unknown, so that path costs what a wrong password costs
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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

    def scope(self, levels: dict[str, str] | None = None) -> Scope:
        """What this user may see; levels: the disclosure policy (roles.disclosure_levels), default the table."""
        role = ROLES[self.role]
        boroughs = self.borough_list
        level = (levels or DISCLOSURE)[self.role]
        return Scope(
            boroughs=boroughs if (boroughs or role.borough_scoped) else None,
            ed_sites=self.ed_site_list if role.ed_site_scoped else None,
            record_level=role.record_level and level == "record",
            level=level,
            own_sites_exact=self.role in OWN_SITES_EXACT,
        )

    def can(self, permission: str) -> bool:
        return self.active and permission in ROLES[self.role].permissions


class UserSession(Base):
    """One signed-in browser. Revoked by sign-out, password reset, disabling the user or changing
    their role or scope; ends after the inactivity timeout or the absolute lifetime."""
    __tablename__ = "user_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)    # SHA-256 of the cookie's token
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")


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
    status: int = 200  # 401 wrong credentials, 423 account locked, 429 address slowed


class UserStore:
    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow):
        self.engine = create_engine(url, future=True)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.clock = clock
        with self.engine.begin() as con:
            dialect = self.engine.dialect.name
            if dialect == "postgresql":  # several app servers may start at once: one creates, the others wait
                con.execute(text("SELECT pg_advisory_xact_lock(7447118)"))
            Base.metadata.create_all(con)
            # the database itself refuses to change or delete audit events, whoever connects
            if dialect == "sqlite":
                for op in ("UPDATE", "DELETE"):
                    con.execute(text(
                        f"CREATE TRIGGER IF NOT EXISTS audit_no_{op.lower()} BEFORE {op} ON audit_log "
                        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"))
            elif dialect == "postgresql":
                con.execute(text("CREATE OR REPLACE FUNCTION istv_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                                 "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"))
                con.execute(text("CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_log "
                                 "FOR EACH ROW EXECUTE FUNCTION istv_audit_append_only()"))
                con.execute(text("CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log "
                                 "FOR EACH STATEMENT EXECUTE FUNCTION istv_audit_append_only()"))

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
        self._check(role, boroughs, password, is_demo, username)
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
            self._check(new_role, new_boroughs, password, user.is_demo, username)
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
            revoked = 0
            if changes.keys() & {"role", "boroughs", "ed_sites", "active", "password"}:
                revoked = self._revoke(s, UserSession.user_id == user.id)  # signed-in browsers sign in again
        self.audit("user_changed", by, detail={"user": username, **changes, "sessions_revoked": revoked})
        return user

    def _check(self, role, boroughs, password, is_demo, username=""):
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if ROLES[role].borough_scoped and not boroughs:
            raise UserError(f"role {role!r} is borough-scoped: give at least one borough")
        problem = None if password is None or is_demo else password_problem(password, username, role)
        if problem:
            raise UserError(problem)

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
    def _failures(self, s, *where) -> list[datetime]:
        return list(s.scalars(select(LoginFailure.at).where(*where).order_by(LoginFailure.at)))

    def account_locked_until(self, username: str) -> datetime | None:
        """When the account may try again: MAX_FAILURES failures in a row lock it for FIRST_LOCK,
        each further one doubles the lock, up to LOCKOUT. Known or not, every username is treated alike."""
        now = self.clock()
        with self.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            since = max(now - timedelta(days=1), user.last_login or datetime.min) if user else now - timedelta(days=1)
            failed = self._failures(s, LoginFailure.username == username, LoginFailure.at > since)
        if len(failed) < MAX_FAILURES:
            return None
        until = failed[-1] + min(LOCKOUT, FIRST_LOCK * 2 ** (len(failed) - MAX_FAILURES))
        return until if until > now else None

    def address_wait(self, ip: str) -> timedelta | None:
        """How long one address must wait before its next try: none for its first ADDRESS_FREE
        failures in ADDRESS_WINDOW, then 1 s doubling per failure up to ADDRESS_MAX_WAIT. It slows
        that address only, and locks no account (a council's or a trust's NAT is many people)."""
        now = self.clock()
        with self.session() as s:
            failed = self._failures(s, LoginFailure.ip == ip, LoginFailure.at > now - ADDRESS_WINDOW)
        if len(failed) < ADDRESS_FREE:
            return None
        wait = min(ADDRESS_MAX_WAIT, timedelta(seconds=2 ** (len(failed) - ADDRESS_FREE)))
        left = failed[-1] + wait - now
        return left if left > timedelta(0) else None

    def locked(self, username: str, ip: str) -> bool:
        return self.account_locked_until(username) is not None or self.address_wait(ip) is not None

    def sign_in(self, username: str, password: str, ip: str) -> SignIn:
        username = (username or "").strip()[:80]
        wait = self.address_wait(ip)
        if wait is not None:
            self.audit("sign_in_throttled", username, ip, {"wait_s": round(wait.total_seconds(), 1)})
            return SignIn(None, f"Too many failed sign-ins from your network: wait {max(1, round(wait.total_seconds()))} "
                                "seconds and try again.", 429)
        until = self.account_locked_until(username)
        if until is not None:
            self.audit("lockout", username, ip, {"until": until.isoformat(timespec="seconds")})
            minutes = max(1, round((until - self.clock()).total_seconds() / 60))
            return SignIn(None, f"Too many failed sign-ins for this account: try again in {minutes} "
                                f"minute{'s' if minutes > 1 else ''}.", 423)
        user = self.by_username(username)
        # the hash is checked whatever the user: an unknown name costs what a wrong password costs
        good = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
        if user is None or not user.active or not good:
            with self.session() as s, s.begin():
                s.add(LoginFailure(username=username, ip=ip, at=self.clock()))
            self.audit("sign_in_failed", username, ip, {"reason": "disabled" if user and not user.active else "bad credentials"})
            if self.account_locked_until(username) is not None:
                self.audit("lockout", username, ip)
            return SignIn(None, "Wrong username or password.", 401)
        with self.session() as s, s.begin():
            s.get(User, user.id).last_login = self.clock()
        self.audit("sign_in", username, ip)
        return SignIn(user, "")

    # sessions --------------------------------------------------------------------------------
    def open_session(self, user_id: int, ip: str = "", agent: str = "") -> str:
        """A new session for a signed-in user; returns the token for the cookie (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.session() as s, s.begin():
            s.add(UserSession(id=token_hash(token), user_id=user_id, created_at=now, last_seen=now,
                              ip=(ip or "")[:64], agent=(agent or "")[:200]))
        return token

    def session_user(self, token: str | None, idle: timedelta, lifetime: timedelta) -> User | None:
        """The active user of a live session: not revoked, used within `idle`, opened within `lifetime`."""
        if not token or not isinstance(token, str) or len(token) > 100:
            return None
        now = self.clock()
        with self.session() as s, s.begin():
            row = s.get(UserSession, token_hash(token))
            if row is None or row.revoked_at is not None:
                return None
            if now - row.last_seen > idle or now - row.created_at > lifetime:
                row.revoked_at = now
                return None
            user = s.get(User, row.user_id)
            if user is None or not user.active:
                return None
            if now - row.last_seen > TOUCH_EVERY:
                row.last_seen = now
            return user

    def revoke_session(self, token: str | None) -> int:
        if not token or not isinstance(token, str):
            return 0
        with self.session() as s, s.begin():
            return self._revoke(s, UserSession.id == token_hash(token))

    def revoke_user_sessions(self, username: str) -> int:
        with self.session() as s, s.begin():
            user = s.scalar(select(User).where(User.username == username))
            return self._revoke(s, UserSession.user_id == user.id) if user else 0

    def _revoke(self, s, where) -> int:
        rows = list(s.scalars(select(UserSession).where(where, UserSession.revoked_at.is_(None))))
        for row in rows:
            row.revoked_at = self.clock()
        return len(rows)

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
