"""netvpp journal and port provisioning tables

Revision ID: 4e7a1c0d5b21
Revises: start_networking_netvpp
"""
from alembic import op
from neutron.db.migration import cli
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '4e7a1c0d5b21'
down_revision = 'start_networking_netvpp'
branch_labels = (cli.EXPAND_BRANCH,)


def upgrade():
    op.create_table(
        'netvpp_journal',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  primary_key=True, autoincrement=True),
        sa.Column('resource', sa.String(32), nullable=False),
        sa.Column('op', sa.String(16), nullable=False),
        sa.Column('resource_id', sa.String(36), nullable=False),
        sa.Column('revision', sa.BigInteger, nullable=False),
        sa.Column('data', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False,
                  server_default=sa.func.now()),
        sa.Column('retry_count', sa.Integer, nullable=False,
                  server_default='0'),
        sa.Column('last_error', sa.String(255), nullable=True),
    )
    op.create_table(
        'netvpp_port_provisioning',
        sa.Column('port_id', sa.String(36),
                  sa.ForeignKey('ports.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('revision', sa.BigInteger, nullable=False),
    )
