// Package rtnl turns rtnetlink (NETLINK_ROUTE) messages into small Go values
// and back: Link, Address, Route, Neighbor, Nexthop, Rule (policy
// routing), FDBEntry (bridge forwarding entries) and BridgeVLAN, with
// net/netip fields, and the helpers to list, add and delete them over an
// nl.Conn.
//
// # Start here
//
// One way per job, for each kind (routes shown; links, addresses,
// neighbours and nexthop objects have the same forms, but for Append, and
// rules all of them):
//
//	ListRoutes(ctx, c, f)            a fresh slice
//	Routes(ctx, c, f)                a range loop: for r, err := range …
//	ForEachRoute(ctx, c, f, fn)      a callback on the route decoded in place
//	AppendRoutes(ctx, c, rs[:0], f)  a slice you reuse: no allocation
//	AddRoute, ReplaceRoute, DeleteRoute: one change; AddRoutes…: many at once
//
// Links also have LinkByName and LinkByIndex, SetLink with its settings,
// AddVeth and AddLink, AddAltNames and DeleteAltNames; their counters
// come with every link (Link.Stats) and, cheaper, from RTM_GETSTATS
// (GetLinkStats, ListLinkStats, ForEachLinkStats). The Decode* functions, AppendBinary and Message are
// for code that reads or builds messages itself (a poller's handler, say).
//
// # Values
//
// Each value is a plain struct decoded from one message (DecodeRoute,
// DecodeLink, DecodeAddress, DecodeNeighbor, or UnmarshalBinary on the
// message payload) and encoded back (AppendBinary, MarshalBinary, or Message
// for a whole request). Decoding never allocates per attribute: names and
// link-layer addresses are held inline (Name, HardwareAddr), addresses are
// netip values, and a single-path IPv4 or IPv6 Route decodes with no
// allocation at all; a multipath route allocates its []NextHop. Link,
// Address, Neighbor and RouteKey are comparable with ==; Route has Equal,
// and so has Link, which leaves out the traffic counters (they move
// without a notification).
// Route.Key identifies a route as the kernel does (table, family,
// destination, source, TOS, priority, and type for IPv4) for use as a map
// key.
//
// Constants carry the kernel's values and name the kernel's constant in
// their documentation (RTPROT_BOOT is ProtoBoot, RT_SCOPE_LINK is ScopeLink,
// RTN_BLACKHOLE is RouteBlackhole, RTNLGRP_IPV4_ROUTE is GroupIPv4Route …);
// their String methods print the names iproute2 prints.
//
// # Printing and JSON
//
// Route, Link, Address, Neighbor, Nexthop and Rule print as iproute2 prints
// one entry (ip route, ip link, ip addr, ip neigh or bridge fdb, ip nexthop
// show, ip rule show), on one line: fmt.Println(route) gives "default via 192.0.2.1 dev
// if2 proto dhcp metric 100". String allocates the string; AppendText
// (encoding.TextAppender) appends to a buffer and allocates nothing when it
// has room. The values hold interface indexes, not names, so they print
// "dev if2", as ip prints an index it cannot name; AppendTextNames takes a
// function that names indexes (from ListLinks, or a link watcher's table)
// and prints "dev v0".
//
// MarshalJSON gives the object `ip -json` prints for the entry, with its
// field names and value types, so that json.Marshal(route) reads like `ip
// -j route show`. Where ip names an interface under a key ("dev", "iif",
// "master", "link"), MarshalJSON gives the index under that key with
// "_index" after it ("dev_index": 2); AppendJSONNames, with a function
// that names indexes, gives ip's own field ("dev": "v0").
//
// # Dumps and requests
//
// On Linux, ListRoutes, ListLinks, ListAddresses and ListNeighbors dump the
// kernel's tables into slices; the ForEach forms (ForEachRoute …) decode
// each message straight from the socket's receive buffer through
// nl.Conn.ExecuteFunc and hand a reused value to a callback, and
// AppendRoutes decodes in place into a slice the caller can reuse: a
// 100,000-route dump then costs a few hundred allocations in all, none per
// route. Filters (RouteFilter …) go to the kernel, which applies them on
// sockets with NETLINK_GET_STRICT_CHK (nl's default), and are checked again
// on each value.
//
// A dump the kernel flags as inconsistent (NLM_F_DUMP_INTR: the table
// changed while it was dumped) is dumped again from scratch by the List*
// and Append* forms, up to DefaultDumpAttempts times (DumpAttempts(n)
// changes the count; DumpAttempts(1) takes the first dump as it is); if
// every attempt is interrupted, they return the last one whole, with an
// error matching nl.ErrDumpInterrupted. The ForEach* forms and the
// sequences do not dump again, since their callback or loop has already
// seen the entries of the first attempt: they deliver each entry once and
// report the interruption with the same error after the last.
//
// # Changing the kernel's tables
//
// The operations of Guile-Netlink's (ip link), (ip addr) and (ip route),
// and ip neigh, each one request and its ACK:
//
//   - links: AddLink with a LinkInfo (Veth with its peer, VLAN on a
//     parent, Bridge, Bond with its mode, Dummy, IFB, VRF, MACVLAN,
//     IPVLAN, VXLAN, Geneve, IPTunnel, GRE, Netkit, WireGuard, or a kind
//     of your own; Link.Info decodes the kernel's report of each), AddVeth,
//     AddTun and OpenTun (tun and tap devices, through /dev/net/tun),
//     DeleteLink, SetLink with LinkSetting values (Up, Down, WithMTU,
//     WithName, WithHardwareAddr, WithTxQueueLen, WithMaster, NoMaster,
//     WithGroup, MoveToNamespace, Promisc, Multicast, AllMulticast, ARP),
//     SetLinkUp and SetLinkDown; ListLinksMatching with a LinkFilter
//     (name, kind, master, up, group); LinkIndex and LinkName; and
//     WaitForLink, which waits on the kernel's notifications for a link
//     to appear;
//   - addresses: AddAddress, ReplaceAddress, DeleteAddress, for IPv4 and
//     IPv6, with peer, broadcast, label, scope, metric and IFA_F_* flags;
//   - routes: AddRoute, ReplaceRoute, DeleteRoute with every field of
//     Route, and GetRoute, the kernel's choice for one destination (`ip
//     route get`);
//   - neighbours: AddNeighbor, ReplaceNeighbor, DeleteNeighbor, proxy
//     entries included;
//   - rules (`ip rule`): AddRule, AddDuplicateRule (without NLM_F_EXCL,
//     which the kernel then lets add a rule identical to another) and
//     DeleteRule, with every selector and action of Rule; RuleKey tells
//     identical rules apart by their place (Copy);
//   - forwarding entries (`bridge fdb`): ListFDB and ForEachFDB with the
//     kernel's bridge and port filters, AddFDB, ReplaceFDB, AppendFDB and
//     DeleteFDB, in a bridge's table (master) or a device's own (self:
//     VXLAN remotes with their address, port, VNI and device);
//   - bridge VLANs (`bridge vlan`): ListBridgeVLANs, AddBridgeVLAN and
//     DeleteBridgeVLAN, single VLANs and ranges, of ports or of the bridge
//     itself (Self).
//
// # Namespace ids
//
// A network namespace gives ids to others, its peers (`ip netns set`):
// SetNSID assigns one, GetNSID tells the id of a namespace named by a
// process in it or an open namespace file (NSPeerPID, NSPeerFD), and
// ListNSIDs dumps the ids given. DecodeNSID reads the RTM_NEWNSID and
// RTM_DELNSID notifications of GroupNSID. A socket with
// nl.WithListenAllNSID hears the notifications of every peer that has an
// id, each datagram tagged with it (nl.Conn.ReceiveFrom, or a poller
// registration with poller.WithNSID).
//
// Kernel refusals come back as *nl.Error, with the errno (errors.Is(err,
// unix.EEXIST)) and the extended-ACK text, wrapped with what was asked.
// AddRoutes, ReplaceRoutes and DeleteRoutes program routes in bulk through
// nl.Conn.ExecuteBatch: many requests per datagram, every ACK matched by
// sequence number. The request builders (NewLinkRequest, SetLinkRequest,
// GetRouteRequest, and Message on each value) give the messages without
// sending them.
//
// The codecs build on every platform; the helpers that use a socket are
// Linux only.
package rtnl
