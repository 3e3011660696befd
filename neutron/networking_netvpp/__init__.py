"""netvpp ML2 mechanism driver for Neutron.

The driver is deliberately thin: it journals every Neutron change in Neutron's own
DB transaction, forwards the journal to the netvpp controller, binds ports on hosts
the controller reports alive, and turns the controller's port-ready events into
Neutron provisioning completions. All translation logic lives in the controller.
"""
