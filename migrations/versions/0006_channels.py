"""notification channels per organisation and person, delivery rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00.000000

Channels keep their Apprise URL only encrypted; the people's clear `notify_urls` are moved into `channels` by
casework.deliveries.migrate_person_urls (it needs the channel key, which a migration does not hold) the first time
the notification flows run, or by `lostcontact channels migrate`."""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('owner', sa.String(length=80), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=True),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('scheme', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('tail', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_channels_org_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_channels_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('owner', 'fingerprint', name=op.f('uq_channels_owner_fingerprint'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channels_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_channels_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channels_person_id'), ['person_id'], unique=False)

    op.create_table('step_announcements',
    sa.Column('step_id', sa.String(length=80), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['step_id'], ['steps.id'], name=op.f('fk_step_announcements_step_id_steps')),
    sa.PrimaryKeyConstraint('step_id', name=op.f('pk_step_announcements'))
    )

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('person_id', existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column('channel_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_notifications_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_notifications_channel_id'))
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('body')
        batch_op.drop_column('channel_id')
        batch_op.alter_column('person_id', existing_type=sa.String(length=64), nullable=False)
    op.drop_table('step_announcements')
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channels_person_id'))
        batch_op.drop_index(batch_op.f('ix_channels_org_id'))
        batch_op.drop_index(batch_op.f('ix_channels_owner'))
    op.drop_table('channels')
