//go:build linux

// Command ss lists sockets like `ss -tuanx` (numeric, no process column)
// through nl/sockdiag: the kernel's SOCK_DIAG dumps, filtered by the
// kernel (states, and a port filter compiled to inet_diag bytecode).
//
//	ss [-t] [-u] [-x] [-a | -l] [-4 | -6] [-o] [-H] [-N NETNS] [FILTER]
//
// FILTER is a port filter in ss's syntax: `sport = :22`, `dport >= :1024
// and not dport = :8080` … Without -t, -u or -x it lists TCP, UDP and
// Unix sockets; without -a or -l the connected ones only (ss's state
// connected), with -l the listening and unconnected ones, with -a all;
// -o adds the inet sockets' timers (timer:(keepalive,59min,0)).
// A bound interface is printed as its index ("127.0.0.1%1:53"; ss prints
// its name).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/sockdiag"
)

// options are the command line's.
type options struct {
	tcp, udp, unix bool
	all, listening bool
	v4, v6         bool
	noHeader       bool
	timers         bool
	netns          string
	filter         string
}

func main() {
	var o options
	flag.BoolVar(&o.tcp, "t", false, "TCP sockets")
	flag.BoolVar(&o.udp, "u", false, "UDP sockets")
	flag.BoolVar(&o.unix, "x", false, "Unix sockets")
	flag.BoolVar(&o.all, "a", false, "sockets in every state")
	flag.BoolVar(&o.listening, "l", false, "listening and unconnected sockets only")
	flag.BoolVar(&o.v4, "4", false, "IPv4 sockets only")
	flag.BoolVar(&o.v6, "6", false, "IPv6 sockets only")
	flag.BoolVar(&o.noHeader, "H", false, "no header line")
	flag.BoolVar(&o.timers, "o", false, "timer information")
	flag.StringVar(&o.netns, "N", "", "`NETNS`: the network namespace (/run/netns/NAME, or a path)")
	flag.Bool("n", true, "numeric (always)")
	flag.Parse()
	o.filter = strings.Join(flag.Args(), " ")
	if err := run(context.Background(), os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "ss:", err)
		os.Exit(1)
	}
}

// run lists the sockets o selects to w.
func run(ctx context.Context, w io.Writer, o options) error {
	if !o.tcp && !o.udp && !o.unix {
		o.tcp, o.udp, o.unix = true, true, true
	}
	f := sockdiag.Filter{States: sockdiag.StatesConnected}
	switch {
	case o.all:
		f.States = sockdiag.StatesAll
	case o.listening:
		f.States = sockdiag.StatesListening
	}
	switch {
	case o.v4 && !o.v6:
		f.Family, o.unix = sockdiag.FamilyIPv4, false
	case o.v6 && !o.v4:
		f.Family, o.unix = sockdiag.FamilyIPv6, false
	}
	if o.filter != "" {
		e, err := sockdiag.ParseExpr(o.filter)
		if err != nil {
			return err
		}
		f.Ports, o.unix = e, false // ss applies port filters to inet sockets only
	}
	var opts []nl.Option
	if o.netns != "" {
		path := o.netns
		if !strings.Contains(path, "/") {
			path = "/run/netns/" + path
		}
		opts = append(opts, nl.WithNetNS(path))
	}
	c, err := sockdiag.Dial(opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	tw := tabwriter.NewWriter(w, 0, 8, 1, ' ', 0)
	if !o.noHeader {
		fmt.Fprintln(tw, "Netid\tState\tRecv-Q\tSend-Q\tLocal Address:Port\tPeer Address:Port")
	}
	var line []byte
	emit := func(text []byte) {
		// The text is ss's columns separated by single spaces, but for a
		// Unix socket's "name inode" pairs, which make one column each.
		fs := strings.Fields(string(text))
		if len(fs) == 8 {
			fs = append(fs[:4], fs[4]+" "+fs[5], fs[6]+" "+fs[7])
		}
		fmt.Fprintln(tw, strings.Join(fs, "\t"))
	}
	for _, p := range []struct {
		on    bool
		proto sockdiag.Protocol
	}{{o.tcp, sockdiag.ProtoTCP}, {o.udp, sockdiag.ProtoUDP}} {
		if !p.on {
			continue
		}
		f.Protocol = p.proto
		err := sockdiag.ForEach(ctx, c, f, func(s *sockdiag.Socket) error {
			line, _ = s.AppendText(line[:0])
			if o.timers && s.Timer != sockdiag.TimerNone {
				line = s.AppendTimer(append(line, ' '))
			}
			emit(line)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if o.unix {
		err := sockdiag.ForEachUnix(ctx, c, sockdiag.UnixFilter{States: f.States}, func(u *sockdiag.UnixSocket) error {
			line, _ = u.AppendText(line[:0])
			emit(line)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return tw.Flush()
}
