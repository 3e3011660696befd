"""networking-netvpp contract branch (nothing to remove yet)

Revision ID: 8b3f9d2e6a10
Revises: start_networking_netvpp
"""
from neutron.db.migration import cli

revision = '8b3f9d2e6a10'
down_revision = 'start_networking_netvpp'
branch_labels = (cli.CONTRACT_BRANCH,)


def upgrade():
    pass
