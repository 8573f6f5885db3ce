package conntrack_test

import (
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl/conntrack"
)

// A flow prints as conntrack -L -o extended prints it; a Filter says
// whether it selects it, as the kernel would.
func Example() {
	f := conntrack.Flow{
		Family: conntrack.FamilyIPv4,
		Orig: conntrack.Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.96.0.10"),
			Proto: conntrack.ProtoUDP, SrcPort: 40000, DstPort: 53},
		Status:  conntrack.StatusConfirmed,
		Timeout: 30,
		Mark:    0x4000,
	}
	f.Reply = f.Orig.Reverse()
	fmt.Println(&f)

	stale := conntrack.Filter{Proto: conntrack.ProtoUDP, Dst: netip.MustParseAddr("10.96.0.10"), DstPort: 53}
	fmt.Println(stale.Match(&f), stale.KernelCan())
	// Output:
	// ipv4 2 udp 17 30 src=10.0.0.1 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.96.0.10 dst=10.0.0.1 sport=53 dport=40000 mark=16384 use=0
	// true true
}
