"""netvpp router hosts: the standby host of an HA router

Revision ID: 3a7c5e9b1d24
Revises: 5f1e8a2c7b94
"""
from alembic import op
import sqlalchemy as sa

revision = '3a7c5e9b1d24'
down_revision = '5f1e8a2c7b94'


def upgrade():
    op.add_column('netvpp_router_hosts',
                  sa.Column('standby_host', sa.String(255), nullable=True))
