"""The schema. Constraints make impossible states impossible, so bugs fail loudly in the DB."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC out, on SQLite (no tz support) and Postgres alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class PromptState(enum.StrEnum):
    """A check-in's life: planned, being sent, in the person's DM, then one of the outcomes."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    MISSED = "missed"
    FAILED = "failed"
    # Never sent, by design: the person is out of office, or it is a public holiday for them.
    AWAY = "away"
    HOLIDAY = "holiday"


class RunState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ParticipantSource(enum.StrEnum):
    """Who takes part: people chosen in the form, or everyone in the standup's channel."""

    PEOPLE = "people"
    CHANNEL = "channel"


class Outcome(enum.StrEnum):
    """How a person's part in one run ended (a participation record)."""

    ANSWERED = "answered"
    LATE = "late"
    SKIPPED = "skipped"
    AWAY = "away"
    HOLIDAY = "holiday"
    MISSED = "missed"
    UNDELIVERABLE = "undeliverable"


def _one_of(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class TzMode(enum.StrEnum):
    """Whose clock a standup follows: each participant's own, or one fixed zone."""

    PARTICIPANT = "participant"
    FIXED = "fixed"


E = TypeVar("E", bound=enum.StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as plain text: the schema stays VARCHAR, Python sees the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int) -> None:
        super().__init__(length)
        self._enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        # Unknown text goes through as it is: the table's CHECK constraint is what refuses it.
        return value.value if isinstance(value, enum.Enum) else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self._enum_type(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")


def same_workspace(column: str, table: str) -> ForeignKeyConstraint:
    """A reference that can only point at a row of the same workspace: (x_id, workspace_id)
    must match (table.id, table.workspace_id), so no row ever mixes two workspaces."""
    return ForeignKeyConstraint(
        [column, "workspace_id"], [f"{table}.id", f"{table}.workspace_id"], ondelete="CASCADE"
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime()}


class Workspace(Base):
    """A Slack team (or an Enterprise Grid org for org-wide installs)."""

    __tablename__ = "workspace"
    __table_args__ = (UniqueConstraint("team_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Workspace admins may restrict `/standup create` to admins only.
    create_restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Installation(Base):
    """Credentials for one workspace. Tokens are Fernet ciphertext, never plaintext."""

    __tablename__ = "installation"
    __table_args__ = (UniqueConstraint("workspace_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    app_id: Mapped[str | None] = mapped_column(String(32))
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    bot_id: Mapped[str | None] = mapped_column(String(32))
    bot_token_encrypted: Mapped[str | None] = mapped_column(Text)
    bot_refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    bot_token_expires_at: Mapped[dt.datetime | None] = mapped_column()
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    installer_user_id: Mapped[str | None] = mapped_column(String(32))
    is_enterprise_install: Mapped[bool] = mapped_column(Boolean, default=False)
    installed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(Base):
    """A Slack user we have dealt with, with their time zone cached from users.info."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_user_id"),
        UniqueConstraint("id", "workspace_id"),
        Index("ix_member_home_stale", "home_stale_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    tz: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Workspace admin or owner, as users.info last said.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The DM channel with the bot, cached so each prompt costs one call, not two.
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    profile_refreshed_at: Mapped[dt.datetime | None] = mapped_column()
    # The person turned automatic reminders off for themselves.
    reminders_off: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Whose public holidays they follow, when not the standup's (e.g. "IN-KA").
    holiday_calendar: Mapped[str | None] = mapped_column(String(16))
    # When they last opened App Home (NULL: never — then nobody keeps it up to date), and
    # since when it shows something out of date (the scheduler draws it again: bot.home).
    home_opened_at: Mapped[dt.datetime | None] = mapped_column()
    home_stale_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Standup(Base):
    """A recurring standup: who, where, which questions, and when (in whose time zone)."""

    __tablename__ = "standup"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name_key"),
        UniqueConstraint("id", "workspace_id"),
        CheckConstraint("weekday_mask >= 0 AND weekday_mask < 128", name="weekday_mask_range"),
        CheckConstraint("tz_mode IN ('participant', 'fixed')", name="tz_mode_known"),
        CheckConstraint("tz_mode = 'participant' OR fixed_tz IS NOT NULL", name="fixed_tz_set"),
        # The planner's one query per tick: standups whose plan runs out soon.
        Index("ix_standup_plan_due", "active", "planned_until"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80))
    channel_id: Mapped[str] = mapped_column(String(32))
    # Typed questions as JSON objects; read them with bot.rules.questions.from_json.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    weekday_mask: Mapped[int] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    tz_mode: Mapped[TzMode] = mapped_column(EnumText(TzMode, 16), default=TzMode.PARTICIPANT)
    fixed_tz: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_user_id: Mapped[str] = mapped_column(String(32))
    # Occurrences before this instant are never planned: a standup created at 10:00 for 09:30
    # must not produce a "missed" prompt for this morning.
    schedule_from: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Prompt rows exist for every occurrence before this instant. NULL means "plan again now"
    # (set by edits, participant and time-zone changes) — so a tick only touches standups
    # that need it, and a change made on one replica is picked up by every scheduler.
    planned_until: Mapped[dt.datetime | None] = mapped_column()
    # Whether the channel is private (NULL: not known yet). A private channel's standup is
    # listed only to its participants, owners and workspace admins.
    channel_private: Mapped[bool | None] = mapped_column(Boolean)
    # When it runs beyond weekly on `weekday_mask` (bot.rules.cadence JSON; NULL: weekly).
    cadence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # How long answers are collected (NULL: RUN_CLOSE_AFTER_MINUTES).
    answer_window_minutes: Mapped[int | None] = mapped_column(Integer)
    # The automatic reminder: NULL halfway through the window, 0 off, N minutes before it closes.
    reminder_minutes_before: Mapped[int | None] = mapped_column(Integer)
    # Public holidays the standup follows (e.g. "DE-BY"), NULL for none.
    holiday_calendar: Mapped[str | None] = mapped_column(String(16))
    participant_source: Mapped[ParticipantSource] = mapped_column(
        EnumText(ParticipantSource, 16),
        default=ParticipantSource.PEOPLE,
        server_default=ParticipantSource.PEOPLE.value,
    )
    # The last `/standup remind`: a second one within ten minutes is refused.
    nudged_at: Mapped[dt.datetime | None] = mapped_column()
    # A blocker open longer than this many working days is escalated to the owners, once.
    blocker_escalation_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Participant(Base):
    __tablename__ = "participant"
    __table_args__ = (
        same_workspace("standup_id", "standup"),
        same_workspace("member_id", "member"),
    )

    standup_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(Id, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One standup on one local date, and its summary message in the channel."""

    __tablename__ = "run"
    __table_args__ = (
        UniqueConstraint("standup_id", "local_date"),
        UniqueConstraint("id", "workspace_id"),
        same_workspace("standup_id", "standup"),
        CheckConstraint("state IN ('open', 'closed')", name="state_known"),
        Index("ix_run_due_close", "state", "close_at"),
        Index("ix_run_summary_requested", "summary_requested_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    standup_id: Mapped[int] = mapped_column(Id)
    local_date: Mapped[dt.date] = mapped_column(Date)
    # The standup's questions when the run was made: answers keep the meaning they were given.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    channel_id: Mapped[str] = mapped_column(String(32))
    state: Mapped[RunState] = mapped_column(EnumText(RunState, 16), default=RunState.OPEN)
    summary_ts: Mapped[str | None] = mapped_column(String(32))
    # A short lease so only one worker posts (or updates) the summary, even across replicas.
    summary_lease_until: Mapped[dt.datetime | None] = mapped_column()
    # Set just before the summary is posted: while summary_ts is still unknown, a post may
    # have reached Slack before its poster died, so the channel is searched before a repost.
    summary_posting_at: Mapped[dt.datetime | None] = mapped_column()
    # When the summary last needed re-rendering (an answer, a skip, a close); cleared once a
    # render at least that recent is in Slack. Durable: a refresh lost to a crash is done by
    # the next scheduler tick.
    summary_requested_at: Mapped[dt.datetime | None] = mapped_column()
    close_at: Mapped[dt.datetime] = mapped_column()
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Prompt(Base):
    """One member's check-in for one run: a row that is due, claimed, sent, then answered."""

    __tablename__ = "prompt"
    __table_args__ = (
        UniqueConstraint("standup_id", "member_id", "local_date"),
        UniqueConstraint("id", "member_id"),
        same_workspace("run_id", "run"),
        same_workspace("member_id", "member"),
        CheckConstraint(_one_of("state", PromptState), name="state_known"),
        Index("ix_prompt_due", "state", "due_at"),
        Index("ix_prompt_reply_requested", "reply_requested_at"),
        Index("ix_prompt_remind", "state", "remind_at"),
        Index("ix_prompt_member_date", "workspace_id", "member_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(Id)
    standup_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(Id)
    local_date: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime] = mapped_column()
    state: Mapped[PromptState] = mapped_column(
        EnumText(PromptState, 16), default=PromptState.PENDING
    )
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    # Which claim holds the prompt: a replica that lost its claim (its lease ran out and
    # another took over) finds out before posting, not after.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # Set just before chat.postMessage; with no message_ts recorded, the DM may or may not
    # have reached Slack, so the person's DM is searched (message metadata) before a resend.
    posting_at: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    reply_ts: Mapped[str | None] = mapped_column(String(32))
    # When the answer's thread reply last needed posting or updating; cleared once it is in
    # Slack. Claimed under a lease, with the same "may have reached Slack" marker as the DM.
    reply_requested_at: Mapped[dt.datetime | None] = mapped_column()
    reply_lease_until: Mapped[dt.datetime | None] = mapped_column()
    reply_posting_at: Mapped[dt.datetime | None] = mapped_column()
    # The automatic reminder: due at `remind_at` (NULL: none), sent once (`reminded_at`).
    remind_at: Mapped[dt.datetime | None] = mapped_column()
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    # Answered after its run closed (allowed until the standup's next run).
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(255))


class Answer(Base):
    """One answer to one question. The (prompt, member) FK means nobody answers another's prompt."""

    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("prompt_id", "position"),
        ForeignKeyConstraint(
            ["prompt_id", "member_id"], ["prompt.id", "prompt.member_id"], ondelete="CASCADE"
        ),
        CheckConstraint("position >= 0", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    prompt_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(Id)
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column()


class StandupOwner(Base):
    """Co-owners of a standup (the creator is always one): they may edit, run and delete it."""

    __tablename__ = "standup_owner"
    __table_args__ = (same_workspace("standup_id", "standup"),)

    standup_id: Mapped[int] = mapped_column(Id, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    added_by: Mapped[str | None] = mapped_column(String(32))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_workspace_standup", "workspace_id", "standup_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # No FK: the history of a deleted standup stays readable to admins.
    standup_id: Mapped[int | None] = mapped_column(Id)
    standup_name: Mapped[str | None] = mapped_column(String(80))
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OAuthState(Base):
    """OAuth `state` values: stored server-side, single use, short-lived."""

    __tablename__ = "oauth_state"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProcessedEvent(Base):
    """Events API ids already handled, so Slack's retries never act twice."""

    __tablename__ = "processed_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # NULL while its handler runs (or if it died): Slack's retry is then let through.
    completed_at: Mapped[dt.datetime | None] = mapped_column()


class DeliveryIssue(Base):
    """A participant we cannot reach (deactivated, blocked DMs…): the owner is told once."""

    __tablename__ = "delivery_issue"
    __table_args__ = (
        same_workspace("standup_id", "standup"),
        same_workspace("member_id", "member"),
    )

    standup_id: Mapped[int] = mapped_column(Id, primary_key=True)
    member_id: Mapped[int] = mapped_column(Id, primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AwayPeriod(Base):
    """Out of office, inclusive dates in the person's own calendar: no prompt, no reminder,
    "away" in the digest."""

    __tablename__ = "away_period"
    __table_args__ = (
        same_workspace("member_id", "member"),
        CheckConstraint("starts_on <= ends_on", name="ordered"),
        Index("ix_away_period_member", "workspace_id", "member_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(Id)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    set_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SkippedDay(Base):
    """A date an owner called off for everyone: no run, nobody counted as missing."""

    __tablename__ = "skipped_day"
    __table_args__ = (same_workspace("standup_id", "standup"),)

    standup_id: Mapped[int] = mapped_column(Id, primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    skipped_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Participation(Base):
    """One person's outcome in one closed run — what reports are built from."""

    __tablename__ = "participation"
    __table_args__ = (
        UniqueConstraint("run_id", "member_id"),
        same_workspace("run_id", "run"),
        same_workspace("member_id", "member"),
        CheckConstraint(_one_of("outcome", Outcome), name="outcome_known"),
        Index("ix_participation_standup_date", "workspace_id", "standup_id", "local_date"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(Id)
    standup_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(Id)
    local_date: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[Outcome] = mapped_column(EnumText(Outcome, 16))
    due_at: Mapped[dt.datetime | None] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    # The answer to the standup's mood question (1–5), if it has one and it was answered.
    mood: Mapped[int | None] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Blocker(Base):
    """Something a person said blocks them, followed up until they say it is resolved."""

    __tablename__ = "blocker"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        same_workspace("standup_id", "standup"),
        same_workspace("member_id", "member"),
        Index("ix_blocker_open_by_standup", "workspace_id", "standup_id", "resolved_at"),
        Index("ix_blocker_open_by_member", "workspace_id", "member_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    standup_id: Mapped[int] = mapped_column(Id)
    member_id: Mapped[int] = mapped_column(Id)
    # The check-in it was raised in (no FK: the blocker outlives a deleted prompt).
    prompt_id: Mapped[int | None] = mapped_column(Id)
    text: Mapped[str] = mapped_column(Text)
    opened_on: Mapped[dt.date] = mapped_column(Date)  # in the person's own calendar
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_asked_on: Mapped[dt.date | None] = mapped_column(Date)
    still_blocked_on: Mapped[dt.date | None] = mapped_column(Date)
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()


# --- the web face (issue 11): sign-in sessions, API tokens, idempotency, webhooks ----------------


class LoginState(Base):
    """A Sign in with Slack attempt: `state` (CSRF) and `nonce` (checked in the id_token),
    server-side, single use, short-lived."""

    __tablename__ = "login_state"

    state_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    return_to: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser: only a digest of the cookie's opaque id is stored."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_workspace", "workspace_id", "ended_at"),)

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()


class ApiToken(Base):
    """A personal API token: shown once, stored as a SHA-256 digest; acts as its user."""

    __tablename__ = "api_token"
    __table_args__ = (
        UniqueConstraint("digest"),
        UniqueConstraint("id", "workspace_id"),
        CheckConstraint("scope IN ('read', 'write')", name="scope_known"),
        Index("ix_api_token_owner", "workspace_id", "slack_user_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class IdempotencyKey(Base):
    """A POST's `Idempotency-Key`: the same key (from the same token) within 24 h gets the same
    response and no second effect; a different request under the same key is refused."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        same_workspace("token_id", "api_token"),
        Index("ix_idempotency_key_expires", "expires_at"),
    )

    token_id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # NULL while the first is in progress
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()


class Webhook(Base):
    """An outgoing webhook of one standup: signed deliveries of chosen events."""

    __tablename__ = "webhook"
    __table_args__ = (
        UniqueConstraint("id", "workspace_id"),
        same_workspace("standup_id", "standup"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    standup_id: Mapped[int] = mapped_column(Id)
    url: Mapped[str] = mapped_column(String(2048))
    # Needed to sign, so encrypted (Fernet) rather than hashed.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    disabled_at: Mapped[dt.datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(String(255))


class WebhookDelivery(Base):
    """The durable outbox: one event for one webhook, claimed by any replica, retried with
    back-off for 24 hours, its outcome recorded."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        same_workspace("webhook_id", "webhook"),
        Index("ix_webhook_delivery_due", "delivered_at", "gave_up_at", "next_attempt_at"),
        Index("ix_webhook_delivery_webhook", "workspace_id", "webhook_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(Id)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column()
    lease_until: Mapped[dt.datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    gave_up_at: Mapped[dt.datetime | None] = mapped_column()
