"""Root of the networking-netvpp migration branches.

Revision ID: start_networking_netvpp
Revises: None
"""

revision = 'start_networking_netvpp'
down_revision = None


def upgrade():
    pass
