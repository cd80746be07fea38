"""sign-in accounts, sessions, access tokens, stored files (web app)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Plain ADD COLUMN: a batch rebuild on SQLite would drop the audit log's append-only triggers.
    op.add_column('audit_events', sa.Column('channel', sa.String(length=10), nullable=True))
    op.add_column('audit_events', sa.Column('via', sa.String(length=100), nullable=True))
    op.create_table('accounts',
        sa.Column('person_id', sa.String(), sa.ForeignKey('people.id', name='fk_accounts_person_id_people'),
                  nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=True),
        _ts('password_set_at'),
        sa.Column('is_admin', sa.Boolean(), nullable=False),
        sa.Column('failed_count', sa.Integer(), nullable=False),
        _ts('locked_until'), _ts('last_sign_in_at'), _ts('created_at', False),
        sa.PrimaryKeyConstraint('person_id', name='pk_accounts'))
    op.create_table('invitations',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.String(), sa.ForeignKey('people.id', name='fk_invitations_person_id_people'),
                  nullable=False),
        sa.Column('issued_by', sa.String(length=100), nullable=True),
        _ts('created_at', False), _ts('expires_at', False), _ts('used_at'),
        sa.PrimaryKeyConstraint('token_hash', name='pk_invitations'))
    op.create_index('ix_invitations_person_id', 'invitations', ['person_id'])
    op.create_table('web_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.String(), sa.ForeignKey('people.id', name='fk_web_sessions_person_id_people'),
                  nullable=False),
        sa.Column('org_id', sa.String(length=64), nullable=True),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        _ts('created_at', False), _ts('last_seen_at', False), _ts('expires_at', False), _ts('revoked_at'),
        sa.PrimaryKeyConstraint('token_hash', name='pk_web_sessions'))
    op.create_index('ix_web_sessions_person', 'web_sessions', ['person_id'])
    op.create_table('access_tokens',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('person_id', sa.String(), sa.ForeignKey('people.id', name='fk_access_tokens_person_id_people'),
                  nullable=False),
        sa.Column('org_id', sa.String(length=64), nullable=True),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        _ts('created_at', False), _ts('expires_at'), _ts('last_used_at'), _ts('revoked_at'),
        sa.PrimaryKeyConstraint('id', name='pk_access_tokens'))
    op.create_index('ix_access_tokens_person_id', 'access_tokens', ['person_id'])
    op.create_table('external_identities',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('provider', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('person_id', sa.String(),
                  sa.ForeignKey('people.id', name='fk_external_identities_person_id_people'), nullable=False),
        _ts('created_at', False),
        sa.PrimaryKeyConstraint('id', name='pk_external_identities'),
        sa.UniqueConstraint('provider', 'subject', name='uq_external_identities_provider_subject'))
    op.create_index('ix_external_identities_person_id', 'external_identities', ['person_id'])
    op.create_table('stored_files',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('case_id', sa.String(length=64), sa.ForeignKey('cases.id', name='fk_stored_files_case_id_cases'),
                  nullable=False),
        sa.Column('material_id', sa.Integer(),
                  sa.ForeignKey('materials.id', name='fk_stored_files_material_id_materials'), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_by', sa.String(), sa.ForeignKey('people.id', name='fk_stored_files_uploaded_by_people'),
                  nullable=False),
        _ts('uploaded_at', False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_stored_files'))
    op.create_index('ix_stored_files_case_id', 'stored_files', ['case_id'])


def downgrade() -> None:
    for table in ('stored_files', 'external_identities', 'access_tokens', 'web_sessions', 'invitations', 'accounts'):
        op.drop_table(table)
    with op.batch_alter_table('audit_events') as b:
        b.drop_column('via')
        b.drop_column('channel')
