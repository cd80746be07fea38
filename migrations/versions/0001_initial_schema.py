"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 11:23:13.080399
"""
import datetime as dt
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('org_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=100), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_case_id'), ['case_id'], unique=False)

    op.create_table('organisations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('branch', 'base_committee', 'department', name='orgkind', native_enum=False, length=40), nullable=False),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('category', sa.Integer(), nullable=True),
    sa.Column('county_or_higher', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['organisations.id'], name=op.f('fk_organisations_parent_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_parent_id'), ['parent_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['done_at', 'id'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('notify_urls', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_table('requests',
    sa.Column('request_id', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_requests'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_campaigns_created_by_people')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_campaigns_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_org_id'), ['org_id'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('gender', sa.Enum('male', 'female', name='gender', native_enum=False, length=40), nullable=False),
    sa.Column('ethnicity', sa.String(length=40), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('position', sa.String(length=200), nullable=True),
    sa.Column('occupation', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('full', 'probationary', name='memberkind', native_enum=False, length=40), nullable=False),
    sa.Column('last_contact_on', sa.Date(), nullable=True),
    sa.Column('situation', sa.Integer(), nullable=True),
    sa.Column('backup_contact', sa.String(length=200), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('away_since', sa.Date(), nullable=True),
    sa.Column('reported_to_branch', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['organisations.id'], name=op.f('fk_members_branch_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('id_number', name=op.f('uq_members_id_number'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_branch_id'), ['branch_id'], unique=False)

    op.create_table('person_roles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('secretary', 'deputy_secretary', 'organisation_member', 'committee_member', 'staff', name='role', native_enum=False, length=40), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_person_roles_org_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_roles_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_roles')),
    sa.UniqueConstraint('person_id', 'org_id', 'role', name=op.f('uq_person_roles_person_id_org_id_role'))
    )
    with op.batch_alter_table('person_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_roles_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_roles_person_id'), ['person_id'], unique=False)

    op.create_table('campaign_phases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=False),
    sa.Column('phase', sa.Enum('verify', 'search', 'report', 'dispose', name='campaignphase', native_enum=False, length=40), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_phases_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_phases')),
    sa.UniqueConstraint('campaign_id', 'phase', name=op.f('uq_campaign_phases_campaign_id_phase'))
    )
    op.create_table('cases',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('campaign_id', sa.String(length=64), nullable=True),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('branch_id', sa.String(length=64), nullable=False),
    sa.Column('base_committee_id', sa.String(length=64), nullable=True),
    sa.Column('catalogue_version', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Enum('searching', 'contacted', 'unreachable', 'in_procedure', 'disposed', 'correcting', 'suspended', 'closed', name='casestate', native_enum=False, length=40), nullable=False),
    sa.Column('search_stage', sa.Enum('direct', 'network', 'department', 'other', name='stage', native_enum=False, length=40), nullable=True),
    sa.Column('contact', sa.Enum('contacted', 'unreachable', 'suspended', name='contact', native_enum=False, length=40), nullable=True),
    sa.Column('managed_elsewhere', sa.Boolean(), nullable=False),
    sa.Column('dead', sa.Boolean(), nullable=False),
    sa.Column('disposition_id', sa.String(length=80), nullable=True),
    sa.Column('column', sa.Enum('C', 'D', 'E', 'F', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'Q', 'R', 'T', 'U', 'V', 'W', 'X', name='column', native_enum=False, length=40), nullable=False),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_reasons', sa.Text(), nullable=True),
    sa.Column('conduct', sa.Text(), nullable=True),
    sa.Column('search_ended_on', sa.Date(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['base_committee_id'], ['organisations.id'], name=op.f('fk_cases_base_committee_id_organisations')),
    sa.ForeignKeyConstraint(['branch_id'], ['organisations.id'], name=op.f('fk_cases_branch_id_organisations')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_cases_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_cases_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('campaign_id', 'member_id', name=op.f('uq_cases_campaign_id_member_id'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_base_committee_id'), ['base_committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_state'), ['state'], unique=False)

    op.create_table('transfer_letters',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('receiving_org', sa.String(length=200), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=False),
    sa.Column('receipt_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_transfer_letters_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_letters'))
    )
    with op.batch_alter_table('transfer_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_letters_member_id'), ['member_id'], unique=False)

    op.create_table('case_columns',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('column', sa.Enum('C', 'D', 'E', 'F', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'Q', 'R', 'T', 'U', 'V', 'W', 'X', name='column', native_enum=False, length=40), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_columns_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_columns'))
    )
    with op.batch_alter_table('case_columns', schema=None) as batch_op:
        batch_op.create_index('ix_case_columns_case_since', ['case_id', 'since'], unique=False)

    op.create_table('dispositions',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('code', sa.Enum('normal_management', 'keep_relation', 'suspend_abroad', 'correct_in_time', 'persuade_withdraw', 'self_abandonment', 'voluntary_withdrawal', 'cancel_probationary', 'non_recognition', 'expulsion', 'relation_settled', 'suspend_unreachable', 'suspend_abroad_unreachable', 'removal_after_suspension', 'cancel_probationary_unreachable', 'restore_membership', name='disposition', native_enum=False, length=40), nullable=False),
    sa.Column('catalogue_version', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_dispositions_case_id_cases')),
    sa.ForeignKeyConstraint(['proposed_by'], ['people.id'], name=op.f('fk_dispositions_proposed_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispositions')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_dispositions_case_id_seq'))
    )
    op.create_table('followups',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('two_year_review', 'correction_end', 'transfer_receipt', 'phase_deadline', name='followupkind', native_enum=False, length=40), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=True),
    sa.Column('campaign_id', sa.String(length=64), nullable=True),
    sa.Column('subject_id', sa.String(length=100), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'fired', 'cancelled', name='followupstatus', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('flow_run_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_followups_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_followups_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_followups_due', ['status', 'due_at'], unique=False)

    op.create_table('referrals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('target', sa.Enum('discipline', 'police', name='referraltarget', native_enum=False, length=40), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('referred_by', sa.String(length=64), nullable=False),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['referred_by'], ['people.id'], name=op.f('fk_referrals_referred_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)

    op.create_table('materials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('disposition_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=200), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_materials_case_id_cases')),
    sa.ForeignKeyConstraint(['disposition_id'], ['dispositions.id'], name=op.f('fk_materials_disposition_id_dispositions')),
    sa.ForeignKeyConstraint(['filed_by'], ['people.id'], name=op.f('fk_materials_filed_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials'))
    )
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_materials_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_materials_disposition_id'), ['disposition_id'], unique=False)

    op.create_table('steps',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('search', 'proposal', 'review', name='stepkind', native_enum=False, length=40), nullable=False),
    sa.Column('stage', sa.Enum('direct', 'network', 'department', 'other', name='stage', native_enum=False, length=40), nullable=True),
    sa.Column('disposition_id', sa.String(length=80), nullable=True),
    sa.Column('step_index', sa.Integer(), nullable=True),
    sa.Column('step_key', sa.String(length=60), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Enum('branch', 'branch_committee', 'general_meeting', 'base_committee', 'upper_department', 'county_department', name='body', native_enum=False, length=40), nullable=False),
    sa.Column('org_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'rejected', 'cancelled', name='stepstatus', native_enum=False, length=40), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('verdict', sa.Enum('approve', 'reject', name='verdict', native_enum=False, length=40), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('member_signed', sa.Boolean(), nullable=True),
    sa.Column('signature_note', sa.Text(), nullable=True),
    sa.Column('guide', sa.String(length=200), nullable=True),
    sa.Column('vote', sa.JSON(), nullable=True),
    sa.Column('reopened_from', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_steps_case_id_cases')),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_steps_decided_by_people')),
    sa.ForeignKeyConstraint(['disposition_id'], ['dispositions.id'], name=op.f('fk_steps_disposition_id_dispositions')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_steps_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steps')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_steps_case_id_seq'))
    )
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.create_index('ix_steps_inbox', ['org_id', 'status'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('step_id', sa.String(length=80), nullable=False),
    sa.Column('stage', sa.Enum('direct', 'network', 'department', 'other', name='stage', native_enum=False, length=40), nullable=False),
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('witness', sa.String(length=80), nullable=False),
    sa.Column('remark', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Enum('contacted', 'not_found', 'dead', 'managed_elsewhere', name='outcome', native_enum=False, length=40), nullable=False),
    sa.Column('concludes_stage', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attempts_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_attempts_recorded_by_people')),
    sa.ForeignKeyConstraint(['step_id'], ['steps.id'], name=op.f('fk_attempts_step_id_steps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_case_id'), ['case_id'], unique=False)

    _append_only("audit_events")
    installation = op.create_table(
        "installation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    op.bulk_insert(installation, [{"id": uuid.uuid4().hex, "created_at": dt.datetime.now(dt.timezone.utc)}])


def _append_only(table: str) -> None:
    """The audit log is append-only: the database itself refuses UPDATE and DELETE on it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END $$;""")
        op.execute(f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    op.drop_table("installation")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")

    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_case_id'))

    op.drop_table('attempts')
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.drop_index('ix_steps_inbox')

    op.drop_table('steps')
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_materials_disposition_id'))
        batch_op.drop_index(batch_op.f('ix_materials_case_id'))

    op.drop_table('materials')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.drop_index('ix_followups_due')
        batch_op.drop_index(batch_op.f('ix_followups_case_id'))

    op.drop_table('followups')
    op.drop_table('dispositions')
    with op.batch_alter_table('case_columns', schema=None) as batch_op:
        batch_op.drop_index('ix_case_columns_case_since')

    op.drop_table('case_columns')
    with op.batch_alter_table('transfer_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_letters_member_id'))

    op.drop_table('transfer_letters')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_state'))
        batch_op.drop_index(batch_op.f('ix_cases_member_id'))
        batch_op.drop_index(batch_op.f('ix_cases_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_cases_branch_id'))
        batch_op.drop_index(batch_op.f('ix_cases_base_committee_id'))

    op.drop_table('cases')
    op.drop_table('campaign_phases')
    with op.batch_alter_table('person_roles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_roles_person_id'))
        batch_op.drop_index(batch_op.f('ix_person_roles_org_id'))

    op.drop_table('person_roles')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_branch_id'))

    op.drop_table('members')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_org_id'))

    op.drop_table('campaigns')
    op.drop_table('requests')
    op.drop_table('people')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_parent_id'))

    op.drop_table('organisations')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_case_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))

    op.drop_table('audit_events')

