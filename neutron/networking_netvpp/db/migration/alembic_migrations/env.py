"""Alembic environment of the networking-netvpp subproject.

Run by `neutron-db-manage upgrade heads` (or `--subproject networking-netvpp`).
Revisions are recorded in the subproject's own version table.
"""
from logging import config as logging_config

from alembic import context
from neutron.db.migration.alembic_migrations import external
from neutron.db.migration.models import head  # noqa: F401 (loads Neutron's models)
from neutron_lib.db import model_base
from oslo_db.sqlalchemy import session
import sqlalchemy as sa
from sqlalchemy import event

from networking_netvpp.db import models  # noqa: F401

VERSION_TABLE = 'netvpp_alembic_version'

config = context.config
neutron_config = config.neutron_config
logging_config.fileConfig(config.config_file_name)
target_metadata = model_base.BASEV2.metadata


def include_object(object_, name, type_, reflected, compare_to):
    # Tables of other projects are not ours to autogenerate or drop.
    return not (type_ == 'table' and name in external.TABLES)


@event.listens_for(sa.Table, 'after_parent_attach')
def set_storage_engine(target, parent):
    target.kwargs['mysql_engine'] = 'InnoDB'


def run_migrations_offline():
    context.configure(url=neutron_config.database.connection,
                      include_object=include_object,
                      version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = session.create_engine(neutron_config.database.connection)
    connection = engine.connect()
    context.configure(connection=connection,
                      target_metadata=target_metadata,
                      include_object=include_object,
                      version_table=VERSION_TABLE)
    try:
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.close()
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
