//go:build linux

// Command genlctrl lists the kernel's generic netlink families, as
// `genl ctrl list` does, through the nlrx library (nl/genl).
//
//	genlctrl [-netns NAME] [-brief] [-json] [FAMILY]
//
// For each family it prints the name, id, version, header size and highest
// attribute, the operations with their capabilities, and the multicast
// groups; with -brief one line per family (name, id, version, number of
// operations, groups); with -json one JSON object per family. A FAMILY
// argument shows that family only (`genl ctrl get name FAMILY`). It needs
// no privilege. A network namespace shows only the families that support
// namespaces.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/genl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "genlctrl:", err)
		os.Exit(1)
	}
}

// run is the whole program, taking its arguments and writing its output,
// so that tests can run it.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("genlctrl", flag.ContinueOnError)
	netns := fs.String("netns", "", "`NAME` of the network namespace to ask (/run/netns/NAME), or a path to one")
	brief := fs.Bool("brief", false, "one line per family")
	asJSON := fs.Bool("json", false, "one JSON object per family")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("want at most one family name, not %q", fs.Args())
	}
	var opts []nl.Option
	if *netns != "" {
		if !strings.Contains(*netns, "/") {
			*netns = "/run/netns/" + *netns
		}
		opts = append(opts, nl.WithNetNS(*netns))
	}
	c, err := genl.Dial(opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	var fams []genl.Family
	if fs.NArg() == 1 {
		f, err := genl.GetFamily(ctx, c, fs.Arg(0))
		if err != nil {
			return err
		}
		fams = []genl.Family{f}
	} else if fams, err = genl.ListFamilies(ctx, c); err != nil {
		return err
	}

	w := bufio.NewWriter(stdout)
	switch {
	case *asJSON:
		enc := json.NewEncoder(w)
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
	case *brief:
		for _, f := range fams {
			printBrief(w, f)
		}
	default:
		for _, f := range fams {
			printFamily(w, f)
		}
	}
	return w.Flush()
}

// printBrief prints one line: name, id, version, operation count, groups.
func printBrief(w io.Writer, f genl.Family) {
	groups := make([]string, len(f.Groups))
	for i, g := range f.Groups {
		groups[i] = fmt.Sprintf("%s(%#x)", g.Name, g.ID)
	}
	fmt.Fprintf(w, "%-16s id %#-6x version %-3d ops %-3d groups %s\n", f.Name, f.ID, f.Version, len(f.Ops), strings.Join(groups, ","))
}

// printFamily prints a family in the layout of `genl ctrl list`, blank
// lines included; unlike genl, it prints the capabilities of every
// operation (genl shows them only for families of version 2 and up).
func printFamily(w io.Writer, f genl.Family) {
	fmt.Fprintf(w, "\nName: %s\n", f.Name)
	fmt.Fprintf(w, "\tID: %#x  Version: %#x  header size: %d  max attribs: %d \n", f.ID, f.Version, f.HeaderSize, f.MaxAttr)
	if len(f.Ops) > 0 {
		fmt.Fprintf(w, "\tcommands supported: \n")
		for i, op := range f.Ops {
			fmt.Fprintf(w, "\t\t#%d:  ID-%#x \n", i+1, op.ID)
			if op.Flags != 0 {
				caps := strings.TrimPrefix(op.String(), fmt.Sprintf("%#x (", op.ID))
				fmt.Fprintf(w, "\t\tCapabilities (%#x):\n \t\t  %s\n", op.Flags, strings.TrimSuffix(caps, ")"))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	if len(f.Groups) > 0 {
		fmt.Fprintf(w, "\tmulticast groups:\n")
		for i, g := range f.Groups {
			fmt.Fprintf(w, "\t\t#%d:  ID-%#x  name: %s \n", i+1, g.ID, g.Name)
		}
	}
	fmt.Fprintln(w)
}
