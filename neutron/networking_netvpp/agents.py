"""netvpp agents in Neutron's agent table (`openstack network agent list`).

netvpp agents talk to etcd, not to Neutron's RPC bus, so they cannot report
their own state to Neutron the way the OVS or Linux bridge agents do. The
driver does it for them: every `agent_report_interval` seconds one worker
(the holder of a database lock) reads the hosts the controller knows alive
(GET /v1/hosts: agents whose etcd liveness lease lives) and records each as
an agent of type `netvpp agent` (create_or_update_agent, as Neutron's RPC
state report does), with its physnets, network types and VPP in
`configurations`. That is its heartbeat; a host whose lease ended is no
longer listed, gets no heartbeat, and Neutron shows it down (XXX) once
`[DEFAULT] agent_down_time` has passed, as for any agent.
"""
import time

from neutron_lib import context as n_context
from neutron_lib.plugins import directory
from oslo_log import log as logging

from networking_netvpp import backoff
from networking_netvpp import client as nclient
from networking_netvpp import leader

LOG = logging.getLogger(__name__)

AGENT_TYPE = 'netvpp agent'
BINARY = 'netvpp-agent'
# Neutron requires a topic; netvpp agents listen on none.
TOPIC = 'N/A'


def agent_state(info, start_flag):
    """Neutron's agent_state for one host's liveness record (HostState)."""
    vpp = info.get('vpp') or {}
    configurations = {
        'physnets': sorted(info.get('physnets') or []),
        'network_types': sorted(info.get('network_types') or []),
        'vif_types': sorted(info.get('vif_types') or []),
        'features': sorted(info.get('features') or []),
        'agent_version': info.get('agent_version'),
        'vpp_version': vpp.get('version'),
        'vpp_connected': bool(vpp.get('connected')),
    }
    if info.get('vtep'):
        configurations['vtep'] = info['vtep']
    ports = (info.get('status') or {}).get('ports')
    if isinstance(ports, dict):
        configurations['ports'] = ports
    if info.get('error'):
        configurations['error'] = info['error']
    return {
        'agent_type': AGENT_TYPE,
        'binary': BINARY,
        'host': info['host'],
        'topic': TOPIC,
        'start_flag': start_flag,
        'configurations': configurations,
    }


class AgentReporter(object):

    def __init__(self, conf, client):
        self.conf = conf
        self.client = client
        self.lock = leader.NamedLock('agents')
        self.stopped = False
        # host -> the agent's started_at last reported: a new one is a
        # restart, which Neutron records (start_flag).
        self.started = {}

    def stop(self):
        self.stopped = True

    def report(self, hosts):
        ctx = n_context.get_admin_context()
        plugin = directory.get_plugin()
        seen = {}
        for info in hosts:
            host = info.get('host') if isinstance(info, dict) else None
            if not host:
                continue
            started_at = info.get('started_at')
            restarted = self.started.get(host) != started_at
            try:
                plugin.create_or_update_agent(
                    ctx, agent_state(info, restarted))
            except Exception:
                LOG.exception('netvpp: could not record the agent on %s in '
                              'Neutron', host)
                continue
            seen[host] = started_at
            if restarted:
                LOG.info('netvpp: agent on %s (started %s) recorded in '
                         'Neutron\'s agent table', host, started_at)
        for host in set(self.started) - set(seen):
            LOG.warning('netvpp: the agent on %s is gone (no liveness in '
                        'etcd); Neutron shows it down after agent_down_time',
                        host)
        self.started = seen

    def run(self):
        interval = self.conf.agent_report_interval
        if not interval:
            LOG.info('netvpp: agent reports to Neutron are off '
                     '(agent_report_interval = 0)')
            return
        retry = backoff.Backoff(0.5, max(interval, 1.0))
        while not self.stopped:
            try:
                if not self.lock.held():
                    self.started = {}  # another worker reports meanwhile
                    time.sleep(self.conf.leader_retry_interval)
                    continue
                self.report(self.client.get_hosts())
                retry.reset()
                time.sleep(interval)
            except nclient.ControllerError as e:
                delay = retry.next()
                LOG.warning('netvpp: cannot read the live hosts for '
                            'Neutron\'s agent table (%s); retrying in %.1fs',
                            e, delay)
                time.sleep(delay)
            except Exception:
                LOG.exception('netvpp agent reporter error')
                time.sleep(retry.next())
        self.lock.release()
