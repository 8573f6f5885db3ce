package sockdiag_test

import (
	"fmt"
	"net/netip"

	"github.com/nlrx/nlrx/nl/sockdiag"
)

// A socket prints as ss prints it; a port filter in ss's syntax says
// whether it selects it, and compiles to the kernel's bytecode.
func Example() {
	s := sockdiag.Socket{
		Family: sockdiag.FamilyIPv4, Protocol: sockdiag.ProtoTCP, State: sockdiag.StateEstablished,
		Src: netip.MustParseAddrPort("10.0.0.1:22"), Dst: netip.MustParseAddrPort("10.0.0.9:50123"),
	}
	fmt.Println(&s)

	e, err := sockdiag.ParseExpr("sport = :22 and dport >= :1024")
	if err != nil {
		fmt.Println(err)
		return
	}
	f := sockdiag.Filter{Protocol: sockdiag.ProtoTCP, States: sockdiag.StatesConnected, Ports: e}
	fmt.Println(f.Match(&s), e)
	b, _ := e.Bytecode()
	fmt.Println(len(b), "bytes of bytecode;", sockdiag.CheckBytecode(b))
	// Output:
	// tcp ESTAB 0 0 10.0.0.1:22 10.0.0.9:50123
	// true sport = :22 and dport >= :1024
	// 16 bytes of bytecode; <nil>
}
