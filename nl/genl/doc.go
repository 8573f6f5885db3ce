// Package genl speaks generic netlink (NETLINK_GENERIC): the generic
// netlink header, and the controller ("nlctrl") that maps family names to
// the message types, operations and multicast groups of the families the
// kernel has (devlink, ethtool, nl80211, thermal, wireguard …).
//
// Generic netlink messages are ordinary netlink messages whose Type is the
// family's id and whose payload starts with a genlmsghdr (Header: command
// and version); NewRequest builds one and DecodeHeader splits one.
// Attributes follow and use nl's AttributeEncoder and AttributeDecoder.
//
// On Linux, Dial opens the socket, GetFamily resolves one family
// (CTRL_CMD_GETFAMILY), ListFamilies dumps them all (what `genl ctrl list`
// prints), and JoinGroup joins one of a family's multicast groups by name.
// The controller's own announcements (CmdNewFamily, CmdDelFamily …) arrive
// on its "notify" group and decode with DecodeFamily. Kernel errors come
// back as *nl.Error, with the errno and the extended-ACK text.
//
// The codecs build on every platform; the helpers that use a socket are
// Linux only.
package genl
