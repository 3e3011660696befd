"""Options of the netvpp mechanism driver, section [ml2_netvpp]."""
from oslo_config import cfg

GROUP = 'ml2_netvpp'

OPTS = [
    cfg.StrOpt('controller_url', default='http://127.0.0.1:9797',
               help='Base URL of the netvpp controller REST API; several URLs '
                    '(comma-separated) for a cluster of controllers.'),
    cfg.StrOpt('auth_token_file',
               help='File holding the token sent to the controller '
                    '(Authorization: Bearer); its first line that is not '
                    'empty or a # comment. Re-read when it changes. Must be '
                    'one of the tokens in the controller\'s '
                    '[controller] auth_token_file.'),
    cfg.StrOpt('ca_file',
               help='CA bundle (PEM) that verifies an https controller_url; '
                    'default: the system\'s CAs.'),
    cfg.StrOpt('vhostuser_socket_dir', default='/var/run/netvpp/vhost',
               help='Directory of vhost-user sockets. The hypervisor creates '
                    'the socket there (vhostuser_mode server) and VPP '
                    'connects to it as client. Must be the same path on '
                    'every compute node.'),
    cfg.FloatOpt('http_timeout', default=10.0, min=0.1,
                 help='Seconds to wait for a controller reply (journal '
                      'batches, host look-ups). A journal batch that times '
                      'out is kept and sent again.'),
    cfg.IntOpt('journal_batch_size', default=100, min=1,
               help='Most journal rows sent in one request.'),
    cfg.IntOpt('journal_batch_bytes', default=1048576, min=1024,
               help='Soft limit on the JSON size of one journal request; a '
                    'single larger row is still sent alone.'),
    cfg.FloatOpt('journal_poll_interval', default=0.5, min=0.05,
                 help='Seconds between journal checks when it is empty. '
                      'A commit wakes the forwarder at once (in its own '
                      'process directly, in other processes of this server '
                      'through journal_wakeup_socket); this poll delivers '
                      'rows whose wake-up was lost, and the rows of other '
                      'neutron-server hosts.'),
    cfg.StrOpt('journal_wakeup_socket',
               default='$state_path/netvpp-journal-wakeup.sock',
               help='Unix datagram socket that the worker forwarding the '
                    'journal binds, and that every other worker of this '
                    'neutron-server pokes when it commits journal rows. '
                    'Empty: no wake-up across workers (their rows wait for '
                    'the journal poll).'),
    cfg.FloatOpt('retry_max_backoff', default=30.0, min=0.1,
                 help='Longest pause between retries when the controller '
                      'is unreachable or refuses a batch.'),
    cfg.IntOpt('events_poll_timeout', default=25, min=1,
               help='Seconds one long poll of the port event stream may '
                    'wait on the controller.'),
    cfg.IntOpt('events_concurrency', default=8, min=1,
               help='Events of different ports, routers and floating IPs '
                    'that the follower handles side by side (each '
                    'completion is several database transactions). 1: one '
                    'after the other.'),
    cfg.FloatOpt('events_full_resync_interval', default=600.0, min=0,
                 help='Seconds after which the follower re-reads the full '
                      'port state instead of resuming from its cursor '
                      '(heals any missed event). 0 disables.'),
    cfg.FloatOpt('host_cache_seconds', default=2.0, min=0,
                 help='How long bind_port may reuse a host\'s liveness and '
                      'physnets from the controller.'),
    cfg.FloatOpt('sync_timeout', default=600.0, min=1,
                 help='Seconds to wait for the controller to apply a full '
                      'sync (the complete Neutron state, sent when this '
                      'worker becomes the forwarder and whenever the '
                      'controller asks for one, e.g. after etcd lost its '
                      'data).'),
    cfg.IntOpt('sync_page_items', default=10000, min=0,
               help='A full sync of more resources than this is sent in '
                    'pages of this many (POST /v1/sync/session, then each '
                    'page, then a commit), so that no request exceeds the '
                    'controller\'s body cap ([controller] max_body_mb) or '
                    'its string limits however large the cloud. 0: always '
                    'one body.'),
    cfg.FloatOpt('sync_check_interval', default=10.0, min=0,
                 help='While the journal is idle, seconds between asking '
                      'the controller whether it needs a full sync (it '
                      'also says so in every journal reply). 0 disables '
                      'the idle check.'),
    cfg.FloatOpt('agent_report_interval', default=30.0, min=0,
                 help='Seconds between heartbeats of the netvpp agents in '
                      'Neutron\'s agent table (openstack network agent '
                      'list), one per host the controller knows alive. Keep '
                      'it well under [DEFAULT] agent_down_time (a host is '
                      'shown down once that long passed without one). 0: '
                      'no agent records.'),
    cfg.FloatOpt('leader_retry_interval', default=2.0, min=0.1,
                 help='Seconds between attempts of a non-leading worker to '
                      'become the journal forwarder, event follower or agent '
                      'reporter.'),
    cfg.FloatOpt('router_reschedule_interval', default=10.0, min=0,
                 help='Seconds between checks for routers whose host died '
                      '(its liveness lease gone); such a router moves to '
                      'another live host once its host has been missing at '
                      'two checks in a row. 0 disables.'),
]


# The interface driver of Neutron's agents (networking_netvpp.interface),
# section [netvpp] of the agent's configuration (dhcp_agent.ini).
INTERFACE_GROUP = 'netvpp'

INTERFACE_OPTS = [
    cfg.FloatOpt('plug_timeout', default=60.0, min=0,
                 help='Seconds plug() waits for the netvpp agent to make a '
                      'port\'s interface (after Neutron bound the port to '
                      'this host). On time-out the DHCP agent logs the error '
                      'and tries again at its next resync.'),
    cfg.FloatOpt('plug_poll_interval', default=0.25, min=0.01,
                 help='Seconds between looks for the interface while '
                      'plug() waits.'),
]


def register_opts(conf=cfg.CONF):
    conf.register_opts(OPTS, GROUP)


def register_interface_opts(conf=cfg.CONF):
    conf.register_opts(INTERFACE_OPTS, INTERFACE_GROUP)


def list_opts():
    return [(GROUP, OPTS), (INTERFACE_GROUP, INTERFACE_OPTS)]


def get():
    return cfg.CONF.ml2_netvpp
