"""netvpp's interface driver for Neutron's agents (DHCP agent).

`[DEFAULT] interface_driver = netvpp` in dhcp_agent.ini. Neutron binds the
agent's port (network:dhcp) on this host as a `tap` port; the netvpp agent
then makes its kernel interface with the name Neutron gives it
(`tap<port id[:11]>`) and the port's MAC and MTU: a tap opened by VPP, or, with
the agent's `tap_backend = veth`, the end of a veth pair whose other end VPP
opens as an af_packet interface. This driver makes nothing: it waits for that
interface, moves it into the agent's namespace and sets its MAC, MTU and link
up. Neutron's agent then adds the addresses (init_l3) and starts dnsmasq.

The netvpp agent never touches the interface once made (it looks at VPP's
side only), so the two agents can restart in any order:
- the DHCP agent restarted: the interface is still in its namespace, plug()
  finds it there and only sets the MTU;
- the netvpp agent restarted: VPP's interface is unchanged, nothing is made
  again;
- VPP restarted: with the veth back end the kernel pair survives and the
  netvpp agent opens VPP's end again. A VPP tap dies with VPP; the netvpp agent
  makes it again in the root namespace, and the next plug() of the DHCP agent
  (its resync or restart) moves it back (see docs/dhcp.md).

unplug() moves the interface back to the root namespace instead of deleting
it: it is the netvpp agent's, removed by it when Neutron deletes the port.
"""
import time

from neutron.agent.linux import interface
from neutron.agent.linux import ip_lib
from neutron.privileged.agent.linux import ip_lib as privileged
from oslo_log import log as logging

from networking_netvpp import config

LOG = logging.getLogger(__name__)

# A pid in the root network namespace: where the netvpp agent makes the
# interface, and where unplug() returns it.
ROOT_NS_PID = 1


class PlugTimeout(Exception):
    pass


class NetvppInterfaceDriver(interface.LinuxInterfaceDriver):
    """Plugs an agent's namespace into the interface netvpp made for it."""

    def __init__(self, conf, **kwargs):
        super().__init__(conf, **kwargs)
        config.register_interface_opts(conf)
        self._opts = getattr(conf, config.INTERFACE_GROUP)

    def _wait_for_device(self, device_name, namespace):
        """Where the device is now: None (root namespace) or `namespace`."""
        deadline = time.monotonic() + self._opts.plug_timeout
        while True:
            if ip_lib.device_exists(device_name):
                return None
            if namespace and ip_lib.device_exists(device_name,
                                                  namespace=namespace):
                return namespace
            if time.monotonic() >= deadline:
                raise PlugTimeout(
                    'netvpp: interface %s did not appear within %ss: is '
                    'the port bound to this host (binding:host_id = this '
                    'agent\'s host) and its netvpp agent running? (netvpp '
                    'port show <port id>)' % (device_name,
                                              self._opts.plug_timeout))
            time.sleep(self._opts.plug_poll_interval)

    def plug_new(self, network_id, port_id, device_name, mac_address,
                 bridge=None, namespace=None, prefix=None, mtu=None):
        where = self._wait_for_device(device_name, namespace)
        device = ip_lib.IPDevice(device_name, namespace=where)
        if namespace and where != namespace:
            ip_lib.IPWrapper().ensure_namespace(namespace)
            device.link.set_netns(namespace)
            LOG.info('netvpp: moved interface %s of port %s into namespace '
                     '%s', device_name, port_id, namespace)
        self._set_link(device, port_id, mac_address, mtu)

    def _set_link(self, device, port_id, mac_address, mtu):
        if mac_address and \
                (device.link.address or '').lower() != mac_address.lower():
            device.link.set_address(mac_address)
        if mtu:
            if device.link.mtu != mtu:
                device.link.set_mtu(mtu)
        else:
            LOG.warning('No MTU configured for port %s', port_id)
        device.link.set_up()

    def set_mtu(self, device_name, mtu, namespace=None, prefix=None):
        device = ip_lib.IPDevice(device_name, namespace=namespace)
        if device.link.mtu != mtu:
            device.link.set_mtu(mtu)

    def unplug(self, device_name, bridge=None, namespace=None, prefix=None):
        if not namespace:
            return
        if not ip_lib.device_exists(device_name, namespace=namespace):
            LOG.debug('netvpp: %s is not in %s: nothing to unplug',
                      device_name, namespace)
            return
        # Leaving the namespace drops its addresses; the device goes back
        # as the netvpp agent made it (its MAC and MTU stay).
        privileged.set_link_attribute(device_name, namespace,
                                      net_ns_pid=ROOT_NS_PID)
        LOG.info('netvpp: moved interface %s out of namespace %s',
                 device_name, namespace)
