"""netvpp gpe type driver: VNI allocations

Revision ID: 9c2b7d41e0a3
Revises: 4e7a1c0d5b21
"""
from alembic import op
import sqlalchemy as sa

revision = '9c2b7d41e0a3'
down_revision = '4e7a1c0d5b21'


def upgrade():
    op.create_table(
        'netvpp_gpe_allocations',
        sa.Column('gpe_vni', sa.Integer, nullable=False, primary_key=True,
                  autoincrement=False),
        sa.Column('allocated', sa.Boolean, nullable=False,
                  server_default=sa.sql.false()),
    )
    op.create_index('ix_netvpp_gpe_allocations_allocated',
                    'netvpp_gpe_allocations', ['allocated'])
