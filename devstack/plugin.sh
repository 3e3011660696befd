#!/bin/bash
# devstack plugin for netvpp: etcd, the netvpp controller and agent, and the ML2 driver in
# neutron-server (docs/install.md describes the same set-up by hand). Variables: devstack/settings.

NETVPP_XTRACE=$(set +o | grep xtrace)
set +o xtrace

function install_netvpp {
    install_package etcd-server ethtool
    # Node 20 must be present (NodeSource or Debian backports); the package is built from this tree.
    (cd "$NETVPP_DIR" && npm ci --no-audit --no-fund && npm pack --pack-destination /tmp)
    sudo npm install --global --omit=dev /tmp/netvpp-*.tgz
    # The ML2 driver, into neutron-server's interpreter.
    pip_install --no-deps "$NETVPP_DIR/neutron"
}

function configure_netvpp {
    sudo install -d -m 750 -o "$STACK_USER" "$NETVPP_CONF_DIR"
    sudo install -d -m 775 -o "$STACK_USER" "$NETVPP_VHOST_DIR" "$(dirname "$NETVPP_SIM_SOCKET")"
    netvpp config sample > "$NETVPP_CONF"
    iniset "$NETVPP_CONF" DEFAULT host "$(hostname)"
    iniset "$NETVPP_CONF" etcd hosts "$NETVPP_ETCD_HOSTS"
    iniset "$NETVPP_CONF" agent physnets "$NETVPP_PHYSNETS"
    iniset "$NETVPP_CONF" agent vhost_user_dir "$NETVPP_VHOST_DIR"
    iniset "$NETVPP_CONF" vpp socket "${NETVPP_VPP_SOCKET:-$NETVPP_SIM_SOCKET}"
    iniset "$NETVPP_CONF" controller bind_host "$NETVPP_CONTROLLER_HOST"
    iniset "$NETVPP_CONF" controller bind_port "$NETVPP_CONTROLLER_PORT"
    # A single-node development cloud: the driver and the controller share a generated token.
    if [ ! -s "$NETVPP_CONF_DIR/tokens" ]; then
        openssl rand -hex 24 > "$NETVPP_CONF_DIR/tokens"
    fi
    iniset "$NETVPP_CONF" controller auth_token_file "$NETVPP_CONF_DIR/tokens"

    # neutron-server's side.
    iniset /$Q_PLUGIN_CONF_FILE ml2_netvpp controller_url "http://$NETVPP_CONTROLLER_HOST:$NETVPP_CONTROLLER_PORT"
    iniset /$Q_PLUGIN_CONF_FILE ml2_netvpp auth_token_file "$NETVPP_CONF_DIR/tokens"
    iniset /$Q_PLUGIN_CONF_FILE ml2_netvpp vhostuser_socket_dir "$NETVPP_VHOST_DIR"
    neutron_service_plugin_class_add netvpp_l3
}

function start_netvpp {
    if ! is_service_enabled etcd3; then
        run_process netvpp-etcd "/usr/bin/etcd --data-dir $DATA_DIR/netvpp-etcd --listen-client-urls http://$SERVICE_HOST:2379 --advertise-client-urls http://$SERVICE_HOST:2379"
    fi
    if [ -z "$NETVPP_VPP_SOCKET" ]; then
        run_process netvpp-sim "$(command -v netvpp) sim --socket $NETVPP_SIM_SOCKET --nic ${NETVPP_PHYSNETS##*:}"
    fi
    if is_service_enabled netvpp-controller; then
        run_process netvpp-controller "$(command -v netvpp) controller --config-file $NETVPP_CONF"
    fi
    if is_service_enabled netvpp-agent; then
        run_process netvpp-agent "$(command -v netvpp) agent --config-file $NETVPP_CONF" "" root
    fi
}

function stop_netvpp {
    stop_process netvpp-agent
    stop_process netvpp-controller
    stop_process netvpp-sim
    stop_process netvpp-etcd
}

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing netvpp"
    install_netvpp
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring netvpp"
    configure_netvpp
elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    echo_summary "Starting netvpp"
    start_netvpp
fi
if [[ "$1" == "unstack" ]]; then
    stop_netvpp
fi
if [[ "$1" == "clean" ]]; then
    sudo rm -rf "$NETVPP_CONF_DIR" "$DATA_DIR/netvpp-etcd"
fi

$NETVPP_XTRACE
