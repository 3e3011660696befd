"""Security groups into the journal (neutron-lib PRECOMMIT_* callbacks).

A group is journaled as a whole, with all of its rules: a rule create or
delete becomes an `update` of its group, so the controller never has to merge
rule fragments. The snapshot is read through the transaction's own context:
Neutron's public getters read rules through a fresh admin context, which
cannot see a rule this transaction has just created (and may create default
groups as a side effect).
"""
from neutron.objects import securitygroup as sg_obj
from neutron_lib.callbacks import events
from neutron_lib.callbacks import registry
from neutron_lib.callbacks import resources
from neutron_lib.plugins import directory
from oslo_config import cfg
from oslo_log import log as logging

from networking_netvpp import journal

LOG = logging.getLogger(__name__)


def enabled():
    try:
        return cfg.CONF.SECURITYGROUP.enable_security_group
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return True


def snapshot(context, sg_id, without_rule=None):
    # elevated() keeps the transaction; it only lifts project filtering.
    ctx = context.elevated()
    plugin = directory.get_plugin()
    group = plugin._make_security_group_dict(
        plugin._get_security_group(ctx, sg_id))
    rules = sg_obj.SecurityGroupRule.get_objects(
        ctx, security_group_id=sg_id, return_db_obj=True)
    group['security_group_rules'] = sorted(
        (plugin._make_security_group_rule_dict(r) for r in rules
         if r['id'] != without_rule), key=lambda r: r['id'])
    return group


def _group_changed(resource, event, trigger, payload=None):
    sg_id = payload.resource_id
    if event == events.PRECOMMIT_DELETE:
        data = dict(payload.states[0]) if payload.states else {'id': sg_id}
        journal.record(payload.context.session, journal.SECURITY_GROUP,
                       journal.DELETE, sg_id, data)
        return
    op = journal.CREATE if event == events.PRECOMMIT_CREATE else \
        journal.UPDATE
    journal.record(payload.context.session, journal.SECURITY_GROUP, op,
                   sg_id, snapshot(payload.context, sg_id))


def _rule_changed(resource, event, trigger, payload=None):
    if event == events.PRECOMMIT_DELETE:
        sg_id = (payload.metadata or {}).get('security_group_id')
        without = payload.resource_id
    else:
        rule = payload.latest_state
        sg_id = rule['security_group_id']
        without = None
    if not sg_id:
        LOG.error('netvpp: security group rule %s has no group; not '
                  'journaled', payload.resource_id)
        return
    journal.record(payload.context.session, journal.SECURITY_GROUP,
                   journal.UPDATE, sg_id,
                   snapshot(payload.context, sg_id, without_rule=without))


def subscribe():
    if not enabled():
        LOG.info('netvpp: security groups disabled; not journaling them')
        return
    for event in (events.PRECOMMIT_CREATE, events.PRECOMMIT_UPDATE,
                  events.PRECOMMIT_DELETE):
        registry.subscribe(_group_changed, resources.SECURITY_GROUP, event)
    for event in (events.PRECOMMIT_CREATE, events.PRECOMMIT_DELETE):
        registry.subscribe(_rule_changed, resources.SECURITY_GROUP_RULE,
                           event)
