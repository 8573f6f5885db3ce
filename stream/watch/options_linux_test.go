//go:build linux

package watch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nlrx/nlrx/internal/nstest"
	"github.com/nlrx/nlrx/nl/rtnl"
	"github.com/nlrx/nlrx/stream/watch"
)

// An option that does not apply to a watcher, or a value out of range, is
// an error of the constructor, not silently ignored.
func TestOptionsThatDoNotApplyAreErrors(t *testing.T) {
	type ctor func(...watch.Option) (interface{ Close() error }, error)
	links := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Links(o...) }
	addrs := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Addresses(o...) }
	neighs := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Neighbors(o...) }
	nhs := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Nexthops(o...) }
	routes := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Routes(o...) }
	rules := func(o ...watch.Option) (interface{ Close() error }, error) { return watch.Rules(o...) }
	for _, c := range []struct {
		name string
		new  ctor
		opt  watch.Option
		want string
	}{
		{"links, family", links, watch.WithFamily(rtnl.FamilyInet), "WithFamily does not apply"},
		{"links, table", links, watch.WithTable(rtnl.TableMain), "WithTable does not apply"},
		{"addresses, table", addrs, watch.WithTable(rtnl.TableMain), "WithTable does not apply"},
		{"neighbours, table", neighs, watch.WithTable(rtnl.TableMain), "WithTable does not apply"},
		{"nexthops, table", nhs, watch.WithTable(rtnl.TableMain), "WithTable does not apply"},
		{"rules, table", rules, watch.WithTable(rtnl.TableMain), "WithTable does not apply"},
		{"rules, family 7", rules, watch.WithFamily(7), "want rtnl.FamilyInet or rtnl.FamilyInet6"},
		{"routes, family 7", routes, watch.WithFamily(7), "want rtnl.FamilyInet or rtnl.FamilyInet6"},
		{"routes, negative buffer", routes, watch.WithReadBuffer(-1), "negative"},
		{"routes, negative retries", routes, watch.WithDumpRetries(-1), "negative"},
		{"routes, negative audit", routes, watch.WithAudit(-time.Second), "negative"},
	} {
		w, err := c.new(c.opt)
		if err == nil {
			w.Close()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}

	// What applies is taken; WithFamily(0) means both families anywhere.
	ns := nstest.New(t)
	for name, f := range map[string]ctor{"routes": routes, "links": links, "addresses": addrs, "rules": rules} {
		w, err := f(watch.WithNetNS(ns.Path()), watch.WithFamily(0))
		if err != nil {
			t.Errorf("%s with WithFamily(0): %v", name, err)
			continue
		}
		w.Close()
	}
	w, err := watch.Routes(watch.WithNetNS(ns.Path()), watch.WithFamily(rtnl.FamilyInet6), watch.WithTable(rtnl.TableMain))
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
}
