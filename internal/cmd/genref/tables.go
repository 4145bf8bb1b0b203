package main

import (
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
	"github.com/lvs-go/lvs/iptables"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/sysctl"
)

// valueTypes are how files write the values of types with a text form;
// a type without an entry reads as its kind (string, integer, ...).
var valueTypes = map[reflect.Type]func() string{
	reflect.TypeFor[time.Duration]():      func() string { return `duration ("5s", or seconds)` },
	reflect.TypeFor[netip.Addr]():         func() string { return "IP address" },
	reflect.TypeFor[netip.AddrPort]():     func() string { return "address:port (`10.0.0.8:80`, `[2001:db8::8]:80`)" },
	reflect.TypeFor[netip.Prefix]():       func() string { return "prefix (`10.0.0.0/24`)" },
	reflect.TypeFor[ipvs.Protocol]():      func() string { return "`tcp`, `udp` or `sctp`" },
	reflect.TypeFor[ipvs.Family]():        func() string { return "`ipv4` or `ipv6` (also `inet`, `inet6`)" },
	reflect.TypeFor[ipvs.Scheduler]():     func() string { return "scheduler: " + code(names(ipvs.Schedulers())) },
	reflect.TypeFor[ipvs.ForwardMethod](): func() string { return "`nat`, `dr`, `tunnel` or `local`" },
	reflect.TypeFor[ipvs.TunnelType]():    func() string { return "`ipip`, `gue` or `gre`" },
	reflect.TypeFor[ipvs.TunnelFlags]():   func() string { return "`nocsum`, `csum` or `remcsum`" },
	reflect.TypeFor[ipvs.ServiceFlags](): func() string {
		return "list of flags, or one string of them joined by `,`: `one-packet`, `sh-fallback`, `sh-port`, `mh-fallback`, `mh-port`, `flag-1`, `flag-2`, `flag-3`"
	},
	reflect.TypeFor[iptables.PortRange]():     func() string { return "port or range (`80`, `8000-8080`)" },
	reflect.TypeFor[sysctl.Key]():             func() string { return "sysctl name (`net.ipv4.vs.expire_nodest_conn`)" },
	reflect.TypeFor[director.FailureAction](): func() string { return "`quiesce` or `remove`" },
	reflect.TypeFor[check.Statuses]():         func() string { return "status or list of statuses (`200`, `[200, 301]`)" },
	reflect.TypeFor[director.VRRPAddress](): func() string {
		return "address with or without its prefix length (`10.0.0.100/24`), or a mapping ([VRRPAddress](#vrrpaddress))"
	},
	specType: func() string { return "check type: " + code(check.Types()) },
}

func names[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = string(s)
	}
	return out
}

func code(v []string) string {
	return "`" + strings.Join(v, "`, `") + "`"
}

// defaults are what an absent field means, by key path (a check kind's
// fields as KIND:path), where the doc comment says so; a field without an
// entry has none to tell (booleans read false).
var defaults = map[string]string{
	"vips[].address":                        "required",
	"vips[].interface":                      "`lo`",
	"services[].family":                     "`ipv4`",
	"services[].scheduler":                  "`wlc`",
	"services[].persistence.timeout":        "required",
	"services[].persistence.netmask":        "the whole address",
	"services[].realServers[].address":      "required",
	"services[].realServers[].forward":      "required",
	"services[].realServers[].weight":       "`1`",
	"services[].realServers[].tunnel.type":  "`ipip`",
	"services[].check.port":                 "the real server's",
	"services[].check.interval":             "`5s`",
	"services[].check.timeout":              "`2s`",
	"services[].check.rise":                 "`2`",
	"services[].check.fall":                 "`3`",
	"services[].check.onFailure":            "`quiesce`",
	"http:services[].check.path":            "`/`",
	"http:services[].check.status":          "`200`",
	"https:services[].check.path":           "`/`",
	"https:services[].check.status":         "`200`",
	"https:services[].check.serverName":     "`host`, else the target's address",
	"https:services[].check.caFile":         "the system's roots",
	"tls:services[].check.serverName":       "the target's address",
	"tls:services[].check.caFile":           "the system's roots",
	"dns:services[].check.queryType":        "`A`",
	"dns:services[].check.rcode":            "`NOERROR`",
	"file:services[].check.file":            "required",
	"file:services[].check.healthy":         "`nonzero`",
	"cluster.bgp.peers[].port":              "`179`",
	"cluster.bgp.peers[].holdTime":          "`90s`",
	"cluster.bgp.peers[].connectRetry":      "`5s`",
	"cluster.bgp.listenPort":                "`0`: only connects",
	"cluster.sync.interface":                "required",
	"cluster.sync.group":                    "`224.0.0.81`",
	"cluster.sync.port":                     "`8848`",
	"cluster.sync.ttl":                      "`1`",
	"cluster.sync.maxLength":                "from the MTU",
	"vrrp.instances[].name":                 "required",
	"vrrp.instances[].interface":            "required",
	"vrrp.instances[].vrid":                 "required",
	"vrrp.instances[].priority":             "`100`",
	"vrrp.instances[].version":              "`2` for IPv4, `3` for IPv6",
	"vrrp.instances[].interval":             "`1s`",
	"vrrp.instances[].source":               "the interface's primary address",
	"vrrp.instances[].garp":                 "keepalived's defaults",
	"vrrp.instances[].garp.repeat":          "`5`",
	"vrrp.instances[].garp.delay":           "`5s`",
	"vrrp.instances[].garp.lowerPrioRepeat": "`repeat`",
	"vrrp.instances[].garp.lowerPrioDelay":  "`delay`",
	"vrrp.instances[].vips[].interface":     "the instance's interface",
	"vrrp.syncDaemon.instance":              "required",
	"vrrp.syncDaemon.interface":             "required",
	"vrrp.syncDaemon.group":                 "`224.0.0.81`",
	"vrrp.syncDaemon.port":                  "`8848`",
	"vrrp.syncDaemon.ttl":                   "`1`",
	"vrrp.syncDaemon.maxLength":             "from the MTU",
}

// kaKeyword is the keepalived.conf keyword a field corresponds to.
type kaKeyword struct {
	// Keyword is where keepalived.conf writes it: "virtual_server >
	// real_server > weight".
	Keyword string
	// NotImported: lvs-director -import does not carry it (a VRRP
	// keyword: the importer notes VRRP, and carries none of it).
	NotImported bool
}

func (k kaKeyword) String() string {
	s := "`" + k.Keyword + "`"
	if k.NotImported {
		s += " (not imported)"
	}
	return s
}

// kaKeywords maps key paths (a check kind's fields as KIND:path) to
// keepalived.conf keywords. A field without an entry has no keepalived
// counterpart, or none mapped yet; TestKeepalivedKeywords checks the
// imported ones against the importer.
var kaKeywords = map[string]kaKeyword{
	"services":                                 {Keyword: "virtual_server"},
	"services[].protocol":                      {Keyword: "virtual_server > protocol"},
	"services[].address":                       {Keyword: "virtual_server IP PORT"},
	"services[].fwmark":                        {Keyword: "virtual_server fwmark N"},
	"services[].family":                        {Keyword: "virtual_server > ip_family"},
	"services[].scheduler":                     {Keyword: "virtual_server > lb_algo (lvs_sched)"},
	"services[].flags":                         {Keyword: "virtual_server > ops, sh-port, sh-fallback, mh-port, mh-fallback, flag-1, flag-2, flag-3"},
	"services[].persistence.timeout":           {Keyword: "virtual_server > persistence_timeout"},
	"services[].persistence.netmask":           {Keyword: "virtual_server > persistence_granularity"},
	"services[].persistence.engine":            {Keyword: "virtual_server > persistence_engine"},
	"services[].realServers":                   {Keyword: "virtual_server > real_server"},
	"services[].realServers[].address":         {Keyword: "real_server IP PORT"},
	"services[].realServers[].forward":         {Keyword: "virtual_server > lb_kind (lvs_method), real_server > lvs_method"},
	"services[].realServers[].weight":          {Keyword: "real_server > weight (virtual_server > weight)"},
	"services[].realServers[].upperThreshold":  {Keyword: "real_server > uthreshold"},
	"services[].realServers[].lowerThreshold":  {Keyword: "real_server > lthreshold"},
	"services[].realServers[].tunnel.type":     {Keyword: "lb_kind TUN type ipip|gue|gre"},
	"services[].realServers[].tunnel.port":     {Keyword: "lb_kind TUN type gue port N"},
	"services[].realServers[].tunnel.checksum": {Keyword: "lb_kind TUN ... nocsum|csum|remcsum"},
	"services[].sorryServer":                   {Keyword: "virtual_server > sorry_server (sorry_server_lvs_method)"},
	"services[].quorum":                        {Keyword: "virtual_server > quorum"},
	"services[].hysteresis":                    {Keyword: "virtual_server > hysteresis"},
	"services[].notify.realServerUp":           {Keyword: "real_server > notify_up"},
	"services[].notify.realServerDown":         {Keyword: "real_server > notify_down"},
	"services[].notify.quorumUp":               {Keyword: "virtual_server > quorum_up"},
	"services[].notify.quorumDown":             {Keyword: "virtual_server > quorum_down"},
	"services[].check.type":                    {Keyword: "TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, DNS_CHECK, SMTP_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK"},
	"services[].checks":                        {Keyword: "real_server > several checkers, alike on every real server"},
	"services[].realServers[].checks":          {Keyword: "real_server > its checkers, where real servers' differ"},
	"file:services[].check.file":               {Keyword: "FILE_CHECK > track_file (track_file > file)"},
	"file:services[].check.healthy":            {Keyword: "FILE_CHECK > weight 0 (track_file > weight 0), reverse for nonzero"},
	"file:services[].check.weight":             {Keyword: "FILE_CHECK > weight N [reverse] (track_file > weight)"},
	"services[].check.port":                    {Keyword: "connect_port"},
	"services[].check.interval":                {Keyword: "delay_loop"},
	"services[].check.timeout":                 {Keyword: "connect_timeout (MISC_CHECK: misc_timeout)"},
	"services[].check.jitter":                  {Keyword: "warmup"},
	"services[].check.fall":                    {Keyword: "retry (nb_get_retry), plus one"},
	"services[].check.onFailure":               {Keyword: "inhibit_on_failure"},
	"http:services[].check.path":               {Keyword: "HTTP_GET > url > path"},
	"http:services[].check.status":             {Keyword: "HTTP_GET > url > status_code"},
	"http:services[].check.digest":             {Keyword: "HTTP_GET > url > digest"},
	"http:services[].check.bodyRegexp":         {Keyword: "HTTP_GET > url > regex"},
	"http:services[].check.host":               {Keyword: "virtualhost"},
	"https:services[].check.path":              {Keyword: "SSL_GET > url > path"},
	"https:services[].check.status":            {Keyword: "SSL_GET > url > status_code"},
	"https:services[].check.digest":            {Keyword: "SSL_GET > url > digest"},
	"https:services[].check.bodyRegexp":        {Keyword: "SSL_GET > url > regex"},
	"https:services[].check.host":              {Keyword: "virtualhost"},
	"https:services[].check.serverName":        {Keyword: "SSL_GET > sni_name"},
	"https:services[].check.certFile":          {Keyword: "SSL > certificate"},
	"https:services[].check.keyFile":           {Keyword: "SSL > key"},
	"https:services[].check.caFile":            {Keyword: "SSL > ca", NotImported: true},
	"command:services[].check.command":         {Keyword: "MISC_CHECK > misc_path"},
	"dns:services[].check.query":               {Keyword: "DNS_CHECK > name"},
	"dns:services[].check.queryType":           {Keyword: "DNS_CHECK > type"},
	"smtp:services[].check.helo":               {Keyword: "SMTP_CHECK > helo_name"},
	"udp:services[].check.send":                {Keyword: "UDP_CHECK > payload"},
	"udp:services[].check.expect":              {Keyword: "UDP_CHECK > require_reply"},
	"timeouts.tcp":                             {Keyword: "global_defs > lvs_timeouts tcp"},
	"timeouts.tcpfin":                          {Keyword: "global_defs > lvs_timeouts tcpfin"},
	"timeouts.udp":                             {Keyword: "global_defs > lvs_timeouts udp"},
	"cluster.sync":                             {Keyword: "global_defs > lvs_sync_daemon"},
	"cluster.sync.interface":                   {Keyword: "lvs_sync_daemon IFACE"},
	"cluster.sync.syncID":                      {Keyword: "lvs_sync_daemon ... id N"},
	"cluster.sync.group":                       {Keyword: "lvs_sync_daemon ... group ADDR"},
	"cluster.sync.port":                        {Keyword: "lvs_sync_daemon ... port N"},
	"cluster.sync.ttl":                         {Keyword: "lvs_sync_daemon ... ttl N"},
	"cluster.sync.maxLength":                   {Keyword: "lvs_sync_daemon ... maxlen N"},
	"vrrp.instances":                           {Keyword: "vrrp_instance", NotImported: true},
	"vrrp.instances[].name":                    {Keyword: "vrrp_instance NAME", NotImported: true},
	"vrrp.instances[].interface":               {Keyword: "vrrp_instance > interface", NotImported: true},
	"vrrp.instances[].vrid":                    {Keyword: "vrrp_instance > virtual_router_id", NotImported: true},
	"vrrp.instances[].priority":                {Keyword: "vrrp_instance > priority", NotImported: true},
	"vrrp.instances[].version":                 {Keyword: "vrrp_instance > version (global_defs > vrrp_version)", NotImported: true},
	"vrrp.instances[].interval":                {Keyword: "vrrp_instance > advert_int", NotImported: true},
	"vrrp.instances[].source":                  {Keyword: "vrrp_instance > unicast_src_ip", NotImported: true},
	"vrrp.instances[].peers":                   {Keyword: "vrrp_instance > unicast_peer", NotImported: true},
	"vrrp.instances[].password":                {Keyword: "vrrp_instance > authentication > auth_pass", NotImported: true},
	"vrrp.instances[].noPreempt":               {Keyword: "vrrp_instance > nopreempt", NotImported: true},
	"vrrp.instances[].preemptDelay":            {Keyword: "vrrp_instance > preempt_delay", NotImported: true},
	"vrrp.instances[].garp.repeat":             {Keyword: "vrrp_instance > garp_master_repeat", NotImported: true},
	"vrrp.instances[].garp.delay":              {Keyword: "vrrp_instance > garp_master_delay", NotImported: true},
	"vrrp.instances[].garp.refresh":            {Keyword: "vrrp_instance > garp_master_refresh", NotImported: true},
	"vrrp.instances[].garp.refreshRepeat":      {Keyword: "vrrp_instance > garp_master_refresh_repeat", NotImported: true},
	"vrrp.instances[].garp.lowerPrioRepeat":    {Keyword: "vrrp_instance > garp_lower_prio_repeat", NotImported: true},
	"vrrp.instances[].garp.lowerPrioDelay":     {Keyword: "vrrp_instance > garp_lower_prio_delay", NotImported: true},
	"vrrp.instances[].vips":                    {Keyword: "vrrp_instance > virtual_ipaddress", NotImported: true},
	"vrrp.instances[].vips[].interface":        {Keyword: "virtual_ipaddress > ADDR dev IFACE", NotImported: true},
	"vrrp.instances[].track.interfaces":        {Keyword: "vrrp_instance > track_interface", NotImported: true},
	"vrrp.instances[].track.checks":            {Keyword: "vrrp_instance > track_script (vrrp_script)", NotImported: true},
	"vrrp.instances[].notify.master":           {Keyword: "vrrp_instance > notify_master", NotImported: true},
	"vrrp.instances[].notify.backup":           {Keyword: "vrrp_instance > notify_backup", NotImported: true},
	"vrrp.instances[].notify.fault":            {Keyword: "vrrp_instance > notify_fault", NotImported: true},
	"vrrp.instances[].notify.stop":             {Keyword: "vrrp_instance > notify_stop", NotImported: true},
	"vrrp.instances[].notify.any":              {Keyword: "vrrp_instance > notify", NotImported: true},
	"vrrp.syncGroups":                          {Keyword: "vrrp_sync_group", NotImported: true},
	"vrrp.syncGroups[].name":                   {Keyword: "vrrp_sync_group NAME", NotImported: true},
	"vrrp.syncGroups[].instances":              {Keyword: "vrrp_sync_group > group", NotImported: true},
	"vrrp.syncDaemon":                          {Keyword: "global_defs > lvs_sync_daemon", NotImported: true},
	"vrrp.syncDaemon.instance":                 {Keyword: "lvs_sync_daemon IFACE INSTANCE", NotImported: true},
}
