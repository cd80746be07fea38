"""personal data encrypted at rest, keyed lookups

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00.000000

Members' ID numbers and phones and people's phones are encrypted (models.protect) and members gain `id_hash`, the
keyed hash they are found by. Existing rows are encrypted here with the configured key. Member ids written before
this revision (an unsalted hash of the ID number) are kept: cases and letters refer to them.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _widen(table: str, column: str, length: int) -> None:
    # SQLite ignores lengths (and a batch rebuild would drop triggers): only PostgreSQL needs the wider type.
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length=length))


def _narrow(table: str, column: str, length: int) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(table, column, type_=sa.String(length=length), existing_type=sa.Text())


def upgrade() -> None:
    from models.protect import encrypt, is_encrypted, lookup_hash

    _widen('members', 'id_number', 18)
    _widen('members', 'phone', 40)
    _widen('people', 'phone', 40)
    op.add_column('members', sa.Column('id_hash', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    members = sa.table('members', sa.column('id', sa.String), sa.column('id_number', sa.Text),
                       sa.column('phone', sa.Text), sa.column('id_hash', sa.String))
    people = sa.table('people', sa.column('id', sa.String), sa.column('phone', sa.Text))
    for row in bind.execute(sa.select(members.c.id, members.c.id_number, members.c.phone)).all():
        values = {}
        if not is_encrypted(row.id_number):
            values.update(id_number=encrypt(row.id_number), id_hash=lookup_hash(row.id_number))
        if not is_encrypted(row.phone):
            values['phone'] = encrypt(row.phone)
        if values:
            bind.execute(members.update().where(members.c.id == row.id).values(**values))
    for row in bind.execute(sa.select(people.c.id, people.c.phone)).all():
        if not is_encrypted(row.phone):
            bind.execute(people.update().where(people.c.id == row.id).values(phone=encrypt(row.phone)))
    op.create_index('ix_members_id_hash', 'members', ['id_hash'], unique=True)


def downgrade() -> None:
    from models.protect import decrypt

    op.drop_index('ix_members_id_hash', table_name='members')
    op.execute('ALTER TABLE members DROP COLUMN id_hash')  # SQLite 3.35+ and PostgreSQL alike, no batch rebuild
    bind = op.get_bind()
    members = sa.table('members', sa.column('id', sa.String), sa.column('id_number', sa.Text),
                       sa.column('phone', sa.Text))
    people = sa.table('people', sa.column('id', sa.String), sa.column('phone', sa.Text))
    for row in bind.execute(sa.select(members.c.id, members.c.id_number, members.c.phone)).all():
        bind.execute(members.update().where(members.c.id == row.id).values(
            id_number=decrypt(row.id_number), phone=None if row.phone is None else decrypt(row.phone)))
    for row in bind.execute(sa.select(people.c.id, people.c.phone)).all():
        if row.phone is not None:
            bind.execute(people.update().where(people.c.id == row.id).values(phone=decrypt(row.phone)))
    _narrow('members', 'id_number', 18)
    _narrow('members', 'phone', 40)
    _narrow('people', 'phone', 40)
