package sockdiag_test

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/nlrx/nlrx/nl/sockdiag"
	"pgregory.net/rapid"
)

// op is one struct inet_diag_bc_op.
func op(code, yes uint8, no uint16) []byte {
	return binary.NativeEndian.AppendUint16([]byte{code, yes}, no)
}

func prog(ops ...[]byte) []byte { return slices.Concat(ops...) }

func TestBytecodeIsWhatSSCompiles(t *testing.T) {
	const sEQ, sGE, dLE, jmp = 11, 2, 5, 1
	for _, tc := range []struct {
		e    sockdiag.Expr
		want []byte
	}{
		{sockdiag.SrcPort(sockdiag.Eq, 80), prog(op(sEQ, 8, 12), op(0, 0, 80))},
		{sockdiag.DstPort(sockdiag.Le, 1023), prog(op(dLE, 8, 12), op(0, 0, 1023))},
		// not: the comparison, then a jump that turns success into failure.
		{sockdiag.SrcPort(sockdiag.Lt, 1024), prog(op(sGE, 8, 12), op(0, 0, 1024), op(jmp, 4, 8))},
		// and: the first part's failure is moved to the end of the whole.
		{sockdiag.And(sockdiag.SrcPort(sockdiag.Eq, 1), sockdiag.SrcPort(sockdiag.Eq, 2)),
			prog(op(sEQ, 8, 20), op(0, 0, 1), op(sEQ, 8, 12), op(0, 0, 2))},
		// or: success of the first part jumps over the second.
		{sockdiag.Or(sockdiag.SrcPort(sockdiag.Eq, 1), sockdiag.SrcPort(sockdiag.Eq, 2)),
			prog(op(sEQ, 8, 12), op(0, 0, 1), op(jmp, 4, 12), op(sEQ, 8, 12), op(0, 0, 2))},
		{sockdiag.Or(), op(jmp, 4, 8)},
		{sockdiag.Expr{}, nil},
	} {
		got, err := tc.e.Bytecode()
		if err != nil {
			t.Fatalf("%v: %v", tc.e, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v:\n got % x\nwant % x", tc.e, got, tc.want)
		}
	}
}

// auditCases are programs and whether the kernel's audit accepts them
// (TestCheckBytecodeAgreesWithTheKernel sends each to the kernel).
var auditCases = []struct {
	name string
	b    []byte
	ok   bool
}{
	{"one comparison", prog(op(11, 8, 12), op(0, 0, 80)), true},
	{"nop", op(0, 4, 0), true},
	{"empty", nil, false},
	{"short", []byte{0, 4}, false},
	{"unknown code", op(99, 4, 8), false},
	{"comparison without its port", op(11, 4, 8), false},
	{"yes not a multiple of 4", prog(op(11, 6, 12), op(0, 0, 80)), false},
	{"yes shorter than the operation", prog(op(11, 4, 12), op(0, 0, 80)), false},
	{"yes past the end", prog(op(11, 16, 12), op(0, 0, 80)), false},
	{"no past failure", prog(op(11, 8, 16), op(0, 0, 80)), false},
	{"no into the middle of a comparison", prog(op(1, 4, 8), op(11, 8, 12), op(0, 0, 80)), false},
	{"no onto an operation", prog(op(1, 4, 4), op(11, 8, 12), op(0, 0, 80)), true},
	{"yes path overshoots the end", prog(op(11, 8, 12), op(0, 0, 80), op(1, 8, 8)), false},
	// ss's `sport = :80`: a host condition of any family, with 4 unused address bytes.
	{"host condition", prog(op(7, 16, 20), []byte{0, 0, 0, 0}, binary.NativeEndian.AppendUint32(nil, 80), []byte{0, 0, 0, 0}), true},
	{"IPv4 host condition", prog(op(7, 16, 20), []byte{2, 8, 0, 0}, binary.NativeEndian.AppendUint32(nil, 80), []byte{10, 0, 0, 1}), true},
	{"host condition with a long prefix", prog(op(7, 16, 20), []byte{2, 33, 0, 0}, binary.NativeEndian.AppendUint32(nil, 80), []byte{10, 0, 0, 1}), false},
	{"IPv6 host condition cut short", prog(op(7, 16, 20), []byte{10, 0, 0, 0}, binary.NativeEndian.AppendUint32(nil, 80), []byte{10, 0, 0, 1}), false},
	{"host condition of a bad family", prog(op(7, 16, 20), []byte{3, 0, 0, 0}, binary.NativeEndian.AppendUint32(nil, 80), []byte{0, 0, 0, 0}), false},
}

func TestCheckBytecodeRefusesWhatTheKernelRefuses(t *testing.T) {
	for _, tc := range auditCases {
		err := sockdiag.CheckBytecode(tc.b)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, sockdiag.ErrBytecode) {
			t.Errorf("%s (% x): %v, want ok=%v", tc.name, tc.b, err, tc.ok)
		}
	}
}

// exprGen draws a random port filter with a bounded depth.
func exprGen(depth int) *rapid.Generator[sockdiag.Expr] {
	return rapid.Custom(func(t *rapid.T) sockdiag.Expr {
		k := rapid.IntRange(0, 4).Draw(t, "kind")
		if depth == 0 {
			k = 0
		}
		switch k {
		case 0:
			c := sockdiag.Cmp(rapid.IntRange(1, 6).Draw(t, "cmp"))
			p := uint16(rapid.SampledFrom([]int{0, 1, 79, 80, 81, 1023, 1024, 65535}).Draw(t, "port"))
			if rapid.Bool().Draw(t, "dst") {
				return sockdiag.DstPort(c, p)
			}
			return sockdiag.SrcPort(c, p)
		case 1:
			return sockdiag.Not(exprGen(depth-1).Draw(t, "not"))
		case 2:
			return sockdiag.And(rapid.SliceOfN(exprGen(depth-1), 0, 3).Draw(t, "and")...)
		default:
			return sockdiag.Or(rapid.SliceOfN(exprGen(depth-1), 0, 3).Draw(t, "or")...)
		}
	})
}

// TestBytecodeMeansWhatTheExprMeans runs compiled programs through the
// kernel's audit and interpreter (as CheckBytecode and RunBytecode model
// them) and compares with Match, and checks that String parses back to
// the same meaning.
func TestBytecodeMeansWhatTheExprMeans(t *testing.T) {
	ports := []uint16{0, 1, 79, 80, 81, 1023, 1024, 40000, 65535}
	rapid.Check(t, func(t *rapid.T) {
		e := exprGen(4).Draw(t, "e")
		b, err := e.Bytecode()
		if err != nil {
			t.Fatalf("%v: %v", e, err)
		}
		var back sockdiag.Expr
		parsed := !e.IsZero() && !strings.Contains(e.String(), "none")
		if parsed {
			if back, err = sockdiag.ParseExpr(e.String()); err != nil {
				t.Fatalf("ParseExpr(%q): %v", e, err)
			}
		}
		for _, s := range ports {
			for _, d := range ports {
				want := e.Match(s, d)
				if b != nil {
					got, err := sockdiag.RunBytecode(b, s, d)
					if err != nil {
						t.Fatalf("%v: RunBytecode: %v", e, err)
					}
					if got != want {
						t.Fatalf("%v on sport %d dport %d: bytecode says %v, Match %v (% x)", e, s, d, got, want, b)
					}
				}
				if parsed && back.Match(s, d) != want {
					t.Fatalf("%q parsed back: %v on %d, %d", e, !want, s, d)
				}
			}
		}
	})
}

func TestParseExpr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"sport = :80", "sport = :80"},
		{"sport=:80", "sport = :80"},
		{"dport == 443", "dport = :443"},
		{"sport eq :1 or dport ge :2 and dport le :3", "sport = :1 or dport >= :2 and dport <= :3"},
		{"(sport = :1 or sport = :2) and not dport = :3", "( sport = :1 or sport = :2 ) and not dport = :3"},
		{"!(sport >= :1 && sport <= :9000) || dport = :8080", "not ( sport >= :1 and sport <= :9000 ) or dport = :8080"},
		{"sport gt :1 sport lt :5", "sport > :1 and sport < :5"},
		{"src-port != :22 & dst-port neq :22", "sport != :22 and dport != :22"},
		{"sport = :1 or ( sport = :2 or sport = :3 )", "sport = :1 or ( sport = :2 or sport = :3 )"},
	} {
		e, err := sockdiag.ParseExpr(tc.in)
		if err != nil {
			t.Errorf("ParseExpr(%q): %v", tc.in, err)
			continue
		}
		if e.String() != tc.want {
			t.Errorf("ParseExpr(%q) = %q, want %q", tc.in, e, tc.want)
		}
	}
	for _, bad := range []string{"", "sport", "sport =", "sport = :x", "sport = :65536", "sport ~ :1", "( sport = :1", "sport = :1 )",
		"src 10.0.0.1", "sport = :1 or", "not", strings.Repeat("(", 300) + "sport = :1" + strings.Repeat(")", 300)} {
		if _, err := sockdiag.ParseExpr(bad); !errors.Is(err, sockdiag.ErrSyntax) {
			t.Errorf("ParseExpr(%q): %v, want ErrSyntax", bad, err)
		}
	}
}

func TestHugeExprIsAnErrorNotAPanic(t *testing.T) {
	es := make([]sockdiag.Expr, 9000)
	for i := range es {
		es[i] = sockdiag.SrcPort(sockdiag.Eq, uint16(i))
	}
	if _, err := sockdiag.Or(es...).Bytecode(); !errors.Is(err, sockdiag.ErrBytecode) {
		t.Fatalf("9000 alternatives: %v, want ErrBytecode", err)
	}
	if _, err := sockdiag.Or(es[:4000]...).Bytecode(); err != nil {
		t.Fatalf("4000 alternatives: %v", err)
	}
	if _, err := (sockdiag.Filter{Ports: sockdiag.Or(es...)}).Requests(); !errors.Is(err, sockdiag.ErrBytecode) {
		t.Fatalf("Requests with 9000 alternatives: %v", err)
	}
}
