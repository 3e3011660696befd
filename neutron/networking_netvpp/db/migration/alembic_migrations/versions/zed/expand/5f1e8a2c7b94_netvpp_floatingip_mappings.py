"""netvpp floating IP mappings: what each floating IP waits for

Revision ID: 5f1e8a2c7b94
Revises: 9c2d4f6a8e13
"""
from alembic import op
import sqlalchemy as sa

revision = '5f1e8a2c7b94'
down_revision = '9c2d4f6a8e13'


def upgrade():
    op.create_table(
        'netvpp_floatingip_mappings',
        sa.Column('floatingip_id', sa.String(36),
                  sa.ForeignKey('floatingips.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('port_id', sa.String(36), nullable=False),
        sa.Column('fixed_ip_address', sa.String(64), nullable=False),
        sa.Column('revision', sa.BigInteger, nullable=False),
        sa.Column('ready', sa.Boolean, nullable=False,
                  server_default=sa.sql.false()),
    )
