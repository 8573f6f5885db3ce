package sockdiag_test

import (
	"testing"

	"github.com/nlrx/nlrx/nl/sockdiag"
)

// FuzzDecodeSocket feeds inet_diag payloads (the bytes after the netlink
// header) to the decoder. Beyond not panicking, whatever decodes must
// print, encode, and decode again to the same value. The seed corpus in
// testdata/fuzz holds payloads captured from the kernel (see
// TestWriteFuzzCorpus) next to the hand-built values added here.
func FuzzDecodeSocket(f *testing.F) {
	for _, tc := range socketCases {
		b, err := tc.s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sockdiag.Socket
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		_ = s.String()
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", s, err)
		}
		var again sockdiag.Socket
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", s, err)
		}
		if again != s {
			t.Fatalf("round trip\n%+v\nwant\n%+v", again, s)
		}
	})
}

// FuzzDecodeUnixSocket is FuzzDecodeSocket for unix_diag payloads.
func FuzzDecodeUnixSocket(f *testing.F) {
	for _, tc := range unixCases {
		b, err := tc.u.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var u sockdiag.UnixSocket
		if err := u.UnmarshalBinary(b); err != nil {
			return
		}
		_ = u.String()
		enc, err := u.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", u, err)
		}
		var again sockdiag.UnixSocket
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", u, err)
		}
		if again != u {
			t.Fatalf("round trip\n%+v\nwant\n%+v", again, u)
		}
	})
}

// FuzzParseExpr feeds filter expressions to the parser: what parses
// prints as an expression that parses to the same text, and compiles to
// a program the audit accepts and that means what Match means.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"sport = :80", "dport >= :1024 and dport <= :2048", "( sport = :22 or sport = :80 ) and not dport = :0",
		"!(sport>=:1&&sport<=:9000)||dport=:8080", "sport gt :1 sport lt :5", "src-port != :22"} {
		f.Add(s, uint16(80), uint16(1024))
	}
	f.Fuzz(func(t *testing.T, s string, sport, dport uint16) {
		e, err := sockdiag.ParseExpr(s)
		if err != nil {
			return
		}
		again, err := sockdiag.ParseExpr(e.String())
		if err != nil || again.String() != e.String() {
			t.Fatalf("%q prints as %q, which parses to %q, %v", s, e, again, err)
		}
		b, err := e.Bytecode()
		if err != nil {
			return // too large for one attribute
		}
		got, err := sockdiag.RunBytecode(b, sport, dport)
		if err != nil {
			t.Fatalf("%q compiles to % x, which does not run: %v", s, b, err)
		}
		if want := e.Match(sport, dport); got != want {
			t.Fatalf("%q on %d, %d: bytecode %v, Match %v", s, sport, dport, got, want)
		}
	})
}

// FuzzRunBytecode feeds arbitrary programs to the audit and the
// interpreter: neither panics nor loops, and the interpreter runs what
// the audit accepts (when it holds only port comparisons and jumps).
func FuzzRunBytecode(f *testing.F) {
	for _, tc := range auditCases {
		f.Add(tc.b, uint16(80), uint16(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, sport, dport uint16) {
		checkErr := sockdiag.CheckBytecode(b)
		_, runErr := sockdiag.RunBytecode(b, sport, dport)
		if checkErr != nil && runErr == nil {
			t.Fatalf("% x: RunBytecode ran a program CheckBytecode refuses (%v)", b, checkErr)
		}
	})
}
