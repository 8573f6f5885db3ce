//go:build linux

// Command routedump prints the routing table like `ip route show`, through
// the nlrx library (nl and nl/rtnl).
//
//	routedump [-netns NAME] [-family inet|inet6|all] [-table N|main|local|default|all] [-json]
//	routedump -demo [N]
//
// With -demo it makes a private network namespace, adds a veth pair and N
// routes (10,000 by default) through the library, dumps them back and
// prints the count and the time each step took. It exits non-zero, with a
// message, on any failure or if the count is wrong. As a normal user it
// re-runs itself inside a new user and network namespace, in which it is
// root; nothing outside that namespace changes.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nlrx/nlrx/internal/userns"
	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

func main() {
	netns := flag.String("netns", "", "`NAME` of the network namespace to read (/run/netns/NAME), or a path to one")
	family := flag.String("family", "inet", "address family: inet, inet6 or all")
	table := flag.String("table", "main", "routing table: a number, main, local, default or all")
	asJSON := flag.Bool("json", false, "print one JSON object per route")
	var demo demoFlag
	flag.Var(&demo, "demo", "add `N` routes (default 10000) in a private namespace, dump them, print count and times")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if demo.set {
		n := demo.n
		if flag.NArg() > 0 { // "-demo 100000": a bool-style flag leaves N as an argument
			if n, err = strconv.Atoi(flag.Arg(0)); err != nil || n < 0 {
				fail(fmt.Errorf("-demo wants a route count, not %q", flag.Arg(0)))
			}
		}
		err = runDemo(ctx, n)
	} else {
		err = dump(ctx, *netns, *family, *table, *asJSON)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "routedump:", err)
	os.Exit(1)
}

// demoFlag is -demo, usable bare (10,000 routes), as -demo=N or as -demo N.
type demoFlag struct {
	set bool
	n   int
}

func (d *demoFlag) String() string   { return strconv.Itoa(d.n) }
func (d *demoFlag) IsBoolFlag() bool { return true }
func (d *demoFlag) Set(s string) error {
	d.set, d.n = true, 10000
	if s == "true" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a route count, not %q", s)
	}
	d.n = n
	return nil
}

func parseFilter(family, table string) (rtnl.RouteFilter, error) {
	var f rtnl.RouteFilter
	switch family {
	case "inet", "4":
		f.Family = rtnl.FamilyInet
	case "inet6", "6":
		f.Family = rtnl.FamilyInet6
	case "all":
	default:
		return f, fmt.Errorf("-family %q: want inet, inet6 or all", family)
	}
	switch table {
	case "all":
	case "main":
		f.Table = rtnl.TableMain
	case "local":
		f.Table = rtnl.TableLocal
	case "default":
		f.Table = rtnl.TableDefault
	default:
		t, err := strconv.ParseUint(table, 10, 32)
		if err != nil || t == 0 {
			return f, fmt.Errorf("-table %q: want a number from 1, main, local, default or all", table)
		}
		f.Table = uint32(t)
	}
	return f, nil
}

// dump prints the routes that pass the filter.
func dump(ctx context.Context, netns, family, table string, asJSON bool) error {
	f, err := parseFilter(family, table)
	if err != nil {
		return err
	}
	var opts []nl.Option
	if netns != "" {
		if !strings.Contains(netns, "/") {
			netns = "/run/netns/" + netns
		}
		opts = append(opts, nl.WithNetNS(netns))
	}
	c, err := nl.DialRoute(opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	names := map[uint32]string{}
	err = rtnl.ForEachLink(ctx, c, func(l *rtnl.Link) error {
		names[l.Index] = l.Name.String()
		return nil
	})
	if err != nil {
		return err
	}
	ifName := func(i uint32) string { return names[i] }

	// -json prints one object per route, as `ip -json route show` prints
	// each in its array.
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	var line []byte
	err = rtnl.ForEachRoute(ctx, c, f, func(r *rtnl.Route) error {
		if asJSON {
			line = append(r.AppendJSONNames(line[:0], ifName), '\n')
		} else {
			line = append(r.AppendTextNames(line[:0], ifName), '\n')
		}
		_, err := w.Write(line)
		return err
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// runDemo adds n routes in a private namespace and dumps them back.
func runDemo(ctx context.Context, n int) error {
	if n > 16<<16 {
		return fmt.Errorf("-demo %d: at most %d routes (10.100.0.0/12 holds them)", n, 16<<16)
	}
	if os.Geteuid() != 0 && !userns.Inside() {
		code, err := userns.Reexec()
		if err != nil {
			return fmt.Errorf("the demo needs root or unprivileged user namespaces: %w", err)
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	ns, err := nl.NewNetNS()
	if err != nil {
		return fmt.Errorf("make a network namespace: %w", err)
	}
	defer ns.Close()
	// A large receive buffer lets AddRoutes put many routes in each batch
	// (it waits for every ACK of a batch before sending the next).
	c, err := nl.DialRoute(nl.WithNetNS(ns.Path()), nl.WithReadBuffer(4<<20))
	if err != nil {
		return err
	}
	defer c.Close()

	v0, err := addVeth(ctx, c, "v0", "v1")
	if err != nil {
		return err
	}
	err = rtnl.AddAddress(ctx, c, rtnl.Address{Prefix: netip.MustParsePrefix("10.99.0.1/24"), Index: v0.Index})
	if err != nil {
		return err
	}

	routes := make([]rtnl.Route, n)
	for i := range routes {
		dst := netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)})
		routes[i] = rtnl.Route{Dst: netip.PrefixFrom(dst, 32), OIF: v0.Index, Scope: rtnl.ScopeLink,
			Protocol: rtnl.ProtoStatic, Table: rtnl.TableMain}
	}
	start := time.Now()
	if err := rtnl.AddRoutes(ctx, c, routes); err != nil {
		return err
	}
	added := time.Since(start)
	fmt.Printf("added   %d routes in %v (%.0f routes/s), every one acknowledged\n", n, added.Round(time.Millisecond), float64(n)/added.Seconds())

	f := rtnl.RouteFilter{Family: rtnl.FamilyInet, Table: rtnl.TableMain, Protocol: rtnl.ProtoStatic}
	start = time.Now()
	got, err := rtnl.AppendRoutes(ctx, c, make([]rtnl.Route, 0, n), f)
	if err != nil {
		return err
	}
	dumped := time.Since(start)
	fmt.Printf("dumped  %d routes in %v (%.0f routes/s)\n", len(got), dumped.Round(time.Microsecond), float64(len(got))/dumped.Seconds())
	if len(got) != n {
		return fmt.Errorf("dumped %d static routes, added %d", len(got), n)
	}
	for _, r := range got[:min(3, len(got))] {
		fmt.Printf("  %s\n", r.AppendTextNames(nil, func(uint32) string { return "v0" }))
	}
	return nil
}

// addVeth creates a veth pair, sets both ends up and returns the first.
func addVeth(ctx context.Context, c *nl.Conn, name, peer string) (rtnl.Link, error) {
	if err := rtnl.AddVeth(ctx, c, name, peer); err != nil {
		return rtnl.Link{}, err
	}
	var first rtnl.Link
	for i, n := range []string{name, peer} {
		l, err := rtnl.LinkByName(ctx, c, n)
		if err != nil {
			return l, err
		}
		if err := rtnl.SetLinkUp(ctx, c, l.Index); err != nil {
			return l, err
		}
		if i == 0 {
			first = l
		}
	}
	return first, nil
}
