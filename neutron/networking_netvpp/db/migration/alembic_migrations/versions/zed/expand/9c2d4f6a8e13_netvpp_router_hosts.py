"""netvpp router hosts: where each router is carried

Revision ID: 9c2d4f6a8e13
Revises: 9c2b7d41e0a3
"""
from alembic import op
import sqlalchemy as sa

revision = '9c2d4f6a8e13'
down_revision = '9c2b7d41e0a3'


def upgrade():
    op.create_table(
        'netvpp_router_hosts',
        sa.Column('router_id', sa.String(36),
                  sa.ForeignKey('routers.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('host', sa.String(255), nullable=False),
    )
