"""Alembic branch `networking-netvpp`, applied by `neutron-db-manage upgrade heads`."""
