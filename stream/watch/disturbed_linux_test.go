//go:build linux

package watch

import (
	"net/netip"
	"testing"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// An IPv6 route notified during a dump disturbs the dump of its table; an
// IPv6 address, every IPv6 table; IPv4 changes, nothing.
func TestRoutesDisturbedByWhatChangedDuringTheDump(t *testing.T) {
	msg := func(typ uint16, v interface {
		Message(uint16, uint16) (nl.Message, error)
	}) drained {
		t.Helper()
		m, err := v.Message(typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		return drained{m.Header, m.Data}
	}
	r6 := route(t, "2001:db8:1::/64 dev 2 table 101")
	r6main := route(t, "2001:db8:2::/64 dev 2")
	r4 := route(t, "10.1.0.0/24 dev 2 table 101")
	a6 := rtnl.Address{Family: rtnl.FamilyInet6, Index: 2, Prefix: netip.MustParsePrefix("2001:db8:9::1/64")}
	a4 := rtnl.Address{Family: rtnl.FamilyInet, Index: 2, Prefix: netip.MustParsePrefix("10.9.0.1/24")}
	k6, k6main, k4 := r6.Key().Group(), r6main.Key().Group(), r4.Key().Group()
	for _, tc := range []struct {
		name     string
		inflight []drained
		want     map[rtnl.RouteKey]bool // the keys disturbed; nil: no function at all
	}{
		{"nothing", nil, nil},
		{"IPv4 route and address", []drained{msg(rtnl.TypeNewRoute, &r4), msg(rtnl.TypeNewAddress, &a4)}, nil},
		{"IPv6 route in table 101", []drained{msg(rtnl.TypeDelRoute, &r6)}, map[rtnl.RouteKey]bool{k6: true}},
		{"IPv6 address", []drained{msg(rtnl.TypeDelAddress, &a6)}, map[rtnl.RouteKey]bool{k6: true, k6main: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := routesDisturbed(tc.inflight)
			if (f == nil) != (tc.want == nil) {
				t.Fatalf("function %v, want %v", f != nil, tc.want != nil)
			}
			if f == nil {
				return
			}
			for _, k := range []rtnl.RouteKey{k6, k6main, k4} {
				if got := f(k); got != tc.want[k] {
					t.Errorf("%v: %v, want %v", k.Dst(), got, tc.want[k])
				}
			}
		})
	}
}
