"""member state carried across campaigns (status, contact) and time-order data

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 12:00:00.000000
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Disposition codes that take a member out of the party / suspend membership (models.membership at this revision).
OUT = ('persuade_withdraw', 'self_abandonment', 'voluntary_withdrawal', 'cancel_probationary', 'non_recognition',
       'expulsion', 'removal_after_suspension', 'cancel_probationary_unreachable')
SUSPENDED = ('suspend_abroad', 'suspend_unreachable', 'suspend_abroad_unreachable')

members = sa.table('members', sa.column('id', sa.String), sa.column('status', sa.String),
                   sa.column('status_note', sa.Text), sa.column('last_contact_on', sa.Date))
cases = sa.table('cases', sa.column('id', sa.String), sa.column('member_id', sa.String), sa.column('state', sa.String),
                 sa.column('dead', sa.Boolean), sa.column('contact', sa.String),
                 sa.column('search_ended_on', sa.Date), sa.column('last_contact_on', sa.Date))
dispositions = sa.table('dispositions', sa.column('case_id', sa.String), sa.column('code', sa.String),
                        sa.column('status', sa.String), sa.column('seq', sa.Integer))
followups = sa.table('followups', sa.column('id', sa.String), sa.column('kind', sa.String),
                     sa.column('status', sa.String), sa.column('due_at', sa.DateTime))


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild).
    op.add_column('members', sa.Column('status', sa.String(length=40), nullable=False, server_default='active'))
    op.add_column('members', sa.Column('status_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('members', sa.Column('status_note', sa.Text(), nullable=True))
    op.add_column('cases', sa.Column('counted_from', sa.Date(), nullable=True))
    op.add_column('cases', sa.Column('last_contact_on', sa.Date(), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    """What the cases already say, written on the members: contacts found, deaths, dispositions in effect (in the
    order they were proposed, so a restoration after a suspension wins); and the transfer-receipt follow-ups still
    pending move to the day after their due day (the receipt may still arrive on the due day [000 §2])."""
    # Each case keeps the last contact it opened on (the member's own date moves on below).
    conn.execute(cases.update().values(last_contact_on=sa.select(members.c.last_contact_on)
                                       .where(members.c.id == cases.c.member_id).scalar_subquery()))
    status: dict[str, tuple[str, str]] = {}
    contact: dict[str, dt.date] = {}
    rows = conn.execute(sa.select(cases.c.id, cases.c.member_id, cases.c.dead, cases.c.contact,
                                  cases.c.search_ended_on).order_by(cases.c.id)).all()
    member_of = {r.id: r.member_id for r in rows}
    for r in rows:
        if r.contact == 'contacted' and r.search_ended_on is not None:
            contact[r.member_id] = max(r.search_ended_on, contact.get(r.member_id, r.search_ended_on))
    for d in conn.execute(sa.select(dispositions.c.case_id, dispositions.c.code)
                          .where(dispositions.c.status.in_(('effective', 'completed')))
                          .order_by(dispositions.c.case_id, dispositions.c.seq)):
        member = member_of.get(d.case_id)
        if d.code in OUT:
            status[member] = ('out', d.code)
        elif d.code in SUSPENDED and status.get(member, ('',))[0] != 'out':
            status[member] = ('suspended', d.code)
        elif d.code == 'restore_membership' and status.get(member, ('',))[0] == 'suspended':
            status[member] = ('active', d.code)
    for r in rows:
        if r.dead:
            status[r.member_id] = ('dead', 'death')
    for member, (value, note) in status.items():
        if value != 'active':
            conn.execute(members.update().where(members.c.id == member)
                         .values(status=value, status_note=f'backfilled from {note}'))
    for member, day in contact.items():
        conn.execute(members.update().where(members.c.id == member)
                     .where(sa.or_(members.c.last_contact_on.is_(None), members.c.last_contact_on < day))
                     .values(last_contact_on=day))
    for f in conn.execute(sa.select(followups.c.id, followups.c.due_at)
                          .where(followups.c.kind == 'transfer_receipt', followups.c.status == 'pending')).all():
        conn.execute(followups.update().where(followups.c.id == f.id)
                     .values(due_at=f.due_at + dt.timedelta(days=1)))


def downgrade() -> None:
    op.drop_column('cases', 'last_contact_on')
    op.drop_column('cases', 'counted_from')
    op.drop_column('members', 'status_note')
    op.drop_column('members', 'status_since')
    op.drop_column('members', 'status')
