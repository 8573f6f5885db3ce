package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBytecode reports a port filter that cannot be compiled, or bytecode
// that the kernel's audit (inet_diag_bc_audit) would refuse.
var ErrBytecode = errors.New("sockdiag: bad filter bytecode")

// ErrSyntax reports a port filter expression that ParseExpr cannot read.
var ErrSyntax = errors.New("sockdiag: bad filter expression")

// Cmp is a comparison of a port with a constant.
type Cmp uint8

// Comparisons. The kernel has ==, >= and <= (INET_DIAG_BC_S_EQ, _S_GE,
// _S_LE and their D_ forms); the others compile, as ss compiles them, to
// the negation of one of those.
const (
	Eq Cmp = iota + 1 // ==
	Ge                // >=
	Le                // <=
	Ne                // !=: not ==
	Gt                // >: not <=
	Lt                // <: not >=
)

var cmpNames = [...]string{Eq: "=", Ge: ">=", Le: "<=", Ne: "!=", Gt: ">", Lt: "<"}

// String returns the comparison as ss writes it ("=", ">=" …).
func (c Cmp) String() string {
	if int(c) < len(cmpNames) && cmpNames[c] != "" {
		return cmpNames[c]
	}
	return "Cmp(" + strconv.Itoa(int(c)) + ")"
}

// Expr is a condition on a socket's ports that the kernel evaluates during
// a dump (INET_DIAG_REQ_BYTECODE), as ss's `sport = :80 or dport >= :1024`
// does: SrcPort and DstPort compare a port, And, Or and Not combine. The
// zero Expr selects every socket and sends no bytecode. An Expr is
// immutable and safe to share.
//
// The source port is the local one (Socket.Src), the destination port the
// remote one (Socket.Dst; 0 for a listening or unconnected socket), both
// as the kernel compares them (in host order).
type Expr struct{ n *exprNode }

type exprKind uint8

const (
	kindPort  exprKind = iota + 1 // a port comparison
	kindAnd                       // a and b
	kindOr                        // a or b
	kindNot                       // not a
	kindFalse                     // no socket (Or of nothing)
)

type exprNode struct {
	kind exprKind
	dst  bool // the destination port, not the source port
	cmp  Cmp
	port uint16
	a, b *exprNode
}

// SrcPort is the condition "the local port compares with port" (ss's
// `sport OP :port`).
func SrcPort(c Cmp, port uint16) Expr {
	return Expr{&exprNode{kind: kindPort, cmp: c, port: port}}
}

// DstPort is the condition "the remote port compares with port" (ss's
// `dport OP :port`).
func DstPort(c Cmp, port uint16) Expr {
	return Expr{&exprNode{kind: kindPort, dst: true, cmp: c, port: port}}
}

// And is the conjunction of es; And() is the zero Expr (every socket).
func And(es ...Expr) Expr {
	var r Expr
	for _, e := range es {
		switch {
		case e.n == nil:
		case r.n == nil:
			r = e
		default:
			r = Expr{&exprNode{kind: kindAnd, a: r.n, b: e.n}}
		}
	}
	return r
}

// Or is the disjunction of es; Or() selects no socket, and an Or with the
// zero Expr among es selects every socket.
func Or(es ...Expr) Expr {
	r := Expr{&exprNode{kind: kindFalse}}
	for i, e := range es {
		switch {
		case e.n == nil:
			return Expr{}
		case i == 0:
			r = e
		default:
			r = Expr{&exprNode{kind: kindOr, a: r.n, b: e.n}}
		}
	}
	return r
}

// Not is the negation of e. Not of the zero Expr selects no socket.
func Not(e Expr) Expr {
	if e.n == nil {
		return Expr{&exprNode{kind: kindFalse}}
	}
	return Expr{&exprNode{kind: kindNot, a: e.n}}
}

// IsZero reports whether e is the zero Expr, which selects every socket.
func (e Expr) IsZero() bool { return e.n == nil }

// Match reports whether a socket with local port sport and remote port
// dport passes e, as the kernel would decide. It does not allocate.
func (e Expr) Match(sport, dport uint16) bool {
	if e.n == nil {
		return true
	}
	return e.n.match(sport, dport)
}

func (n *exprNode) match(sport, dport uint16) bool {
	switch n.kind {
	case kindPort:
		p := sport
		if n.dst {
			p = dport
		}
		switch n.cmp {
		case Eq:
			return p == n.port
		case Ge:
			return p >= n.port
		case Le:
			return p <= n.port
		case Ne:
			return p != n.port
		case Gt:
			return p > n.port
		case Lt:
			return p < n.port
		}
		return false
	case kindAnd:
		return n.a.match(sport, dport) && n.b.match(sport, dport)
	case kindOr:
		return n.a.match(sport, dport) || n.b.match(sport, dport)
	case kindNot:
		return !n.a.match(sport, dport)
	}
	return false
}

// String returns e in ss's filter syntax, which ParseExpr reads back and
// ss accepts: "sport = :80 or ( dport >= :1024 and not dport = :8080 )".
// The zero Expr is "all"; an Expr that selects nothing is "none" (neither
// is ss syntax).
func (e Expr) String() string {
	if e.n == nil {
		return "all"
	}
	return string(e.n.appendText(nil, 0))
}

// appendText writes n; prec is the binding of the context (0 top, 1 in an
// or, 2 in an and, 3 under not), so parentheses go only where needed.
func (n *exprNode) appendText(b []byte, prec int) []byte {
	switch n.kind {
	case kindPort:
		if n.dst {
			b = append(b, "dport "...)
		} else {
			b = append(b, "sport "...)
		}
		b = append(b, n.cmp.String()...)
		b = append(b, " :"...)
		return strconv.AppendUint(b, uint64(n.port), 10)
	case kindFalse:
		return append(b, "none"...)
	case kindNot:
		b = append(b, "not "...)
		return n.a.appendText(b, 3)
	}
	my, word := 1, " or "
	if n.kind == kindAnd {
		my, word = 2, " and "
	}
	if prec > my {
		b = append(b, "( "...)
	}
	b = n.a.appendText(b, my)
	b = append(b, word...)
	b = n.b.appendText(b, my+1) // left-associative: a right operand of the same kind gets parentheses
	if prec > my {
		b = append(b, " )"...)
	}
	return b
}

// Bytecode operation codes (INET_DIAG_BC_*).
const (
	bcNop       = 0  // INET_DIAG_BC_NOP
	bcJmp       = 1  // INET_DIAG_BC_JMP
	bcSrcGE     = 2  // INET_DIAG_BC_S_GE
	bcSrcLE     = 3  // INET_DIAG_BC_S_LE
	bcDstGE     = 4  // INET_DIAG_BC_D_GE
	bcDstLE     = 5  // INET_DIAG_BC_D_LE
	bcAuto      = 6  // INET_DIAG_BC_AUTO
	bcSrcCond   = 7  // INET_DIAG_BC_S_COND
	bcDstCond   = 8  // INET_DIAG_BC_D_COND
	bcDevCond   = 9  // INET_DIAG_BC_DEV_COND
	bcMarkCond  = 10 // INET_DIAG_BC_MARK_COND
	bcSrcEQ     = 11 // INET_DIAG_BC_S_EQ
	bcDstEQ     = 12 // INET_DIAG_BC_D_EQ
	bcCgroupCnd = 13 // INET_DIAG_BC_CGROUP_COND

	sizeofOp = 4 // struct inet_diag_bc_op {u8 code; u8 yes; u16 no}

	// maxBytecode is the longest program: the payload of one attribute.
	maxBytecode = 0xffff - 4
)

// Bytecode compiles e into the kernel's filter language (the payload of
// INET_DIAG_REQ_BYTECODE), the way ss compiles its expressions: a port
// comparison is two operations (8 bytes), an or adds a jump, a not adds a
// jump. Each piece falls through to its end when it holds and jumps 4
// bytes past its end when it does not; the program accepts a socket that
// runs off its exact end. The result passes CheckBytecode. The zero Expr
// compiles to nil (no filter). An Expr too large for one attribute is an
// error matching ErrBytecode. It allocates the program.
func (e Expr) Bytecode() ([]byte, error) {
	if e.n == nil {
		return nil, nil
	}
	n, err := e.n.size(0)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, n)
	b = e.n.compile(b)
	if err := CheckBytecode(b); err != nil {
		return nil, fmt.Errorf("sockdiag: compiled %v: %w", e, err)
	}
	return b, nil
}

// size returns the compiled length of n, or an error once it exceeds
// maxBytecode (checked before any jump offset could overflow its u16).
func (n *exprNode) size(depth int) (int, error) {
	// No program of one attribute holds more than 16383 operations.
	if depth > maxBytecode/sizeofOp {
		return 0, fmt.Errorf("%w: expression nested more than %d deep", ErrBytecode, maxBytecode/sizeofOp)
	}
	var l int
	switch n.kind {
	case kindPort:
		l = 2 * sizeofOp
		if n.cmp == Ne || n.cmp == Gt || n.cmp == Lt {
			l += sizeofOp
		}
		if n.cmp < Eq || n.cmp > Lt {
			return 0, fmt.Errorf("%w: unknown comparison %v", ErrBytecode, n.cmp)
		}
	case kindFalse:
		l = sizeofOp
	case kindNot:
		a, err := n.a.size(depth + 1)
		if err != nil {
			return 0, err
		}
		l = a + sizeofOp
	case kindAnd, kindOr:
		a, err := n.a.size(depth + 1)
		if err != nil {
			return 0, err
		}
		c, err := n.b.size(depth + 1)
		if err != nil {
			return 0, err
		}
		l = a + c
		if n.kind == kindOr {
			l += sizeofOp
		}
	default:
		return 0, fmt.Errorf("%w: unknown expression kind %d", ErrBytecode, n.kind)
	}
	if l > maxBytecode {
		return 0, fmt.Errorf("%w: %d bytes, more than the %d of one attribute", ErrBytecode, l, maxBytecode)
	}
	return l, nil
}

func appendOp(b []byte, code, yes uint8, no uint16) []byte {
	b = append(b, code, yes)
	return binary.NativeEndian.AppendUint16(b, no)
}

// compile appends n's program. Sizes have been checked by size.
func (n *exprNode) compile(b []byte) []byte {
	start := len(b)
	switch n.kind {
	case kindPort:
		var code uint8
		neg := false
		switch n.cmp {
		case Eq, Ne:
			code, neg = bcSrcEQ, n.cmp == Ne
		case Ge, Lt:
			code, neg = bcSrcGE, n.cmp == Lt
		case Le, Gt:
			code, neg = bcSrcLE, n.cmp == Gt
		}
		if n.dst {
			switch code {
			case bcSrcEQ:
				code = bcDstEQ
			case bcSrcGE:
				code = bcDstGE
			case bcSrcLE:
				code = bcDstLE
			}
		}
		// The port travels in the "no" field of a second operation.
		b = appendOp(b, code, 2*sizeofOp, 3*sizeofOp)
		b = appendOp(b, 0, 0, n.port)
		if neg {
			b = appendNot(b)
		}
	case kindFalse:
		b = appendOp(b, bcJmp, sizeofOp, 2*sizeofOp)
	case kindNot:
		b = n.a.compile(b)
		b = appendNot(b)
	case kindAnd:
		b = n.a.compile(b)
		la := len(b) - start
		b = n.b.compile(b)
		// a's failures jumped 4 past a's end: make them jump 4 past b's.
		relocate(b[start:start+la], len(b)-start-la)
	case kindOr:
		b = n.a.compile(b)
		j := len(b)
		b = appendOp(b, bcJmp, sizeofOp, 0)
		b = n.b.compile(b)
		// a held: jump over b to the end. a failed: it lands on b.
		binary.NativeEndian.PutUint16(b[j+2:], uint16(len(b)-j))
	}
	return b
}

// appendNot appends the jump that negates the program before it: reaching
// it (the program held) jumps to failure, 4 past the new end; failing
// lands on the new end, success.
func appendNot(b []byte) []byte { return appendOp(b, bcJmp, sizeofOp, 2*sizeofOp) }

// relocate adds reloc to the failure jumps of the program p: those that
// land 4 bytes past its end. It walks the program as the kernel audits
// it, along the "yes" offsets.
func relocate(p []byte, reloc int) {
	for off := 0; off < len(p); {
		no := int(binary.NativeEndian.Uint16(p[off+2:]))
		if p[off] != bcNop && no == len(p)-off+sizeofOp {
			binary.NativeEndian.PutUint16(p[off+2:], uint16(no+reloc))
		}
		off += int(p[off+1])
	}
}

// CheckBytecode checks a filter program as the kernel's inet_diag_bc_audit
// does before it runs one (net/ipv4/inet_diag.c): known operation codes,
// each with the room its operands need, "yes" and "no" offsets that are
// multiples of 4, at least the operation's length, at most 4 past the
// end, and a "no" that lands on an operation on the "yes" path; the
// "yes" path must end exactly at the end. (The kernel also refuses
// INET_DIAG_BC_MARK_COND from a caller without CAP_NET_ADMIN.) A refusal
// is an error matching ErrBytecode that says where.
func CheckBytecode(b []byte) error {
	if len(b) < sizeofOp {
		return fmt.Errorf("%w: %d bytes, shorter than one operation", ErrBytecode, len(b))
	}
	if len(b) > maxBytecode {
		return fmt.Errorf("%w: %d bytes, more than the %d of one attribute", ErrBytecode, len(b), maxBytecode)
	}
	ne := binary.NativeEndian
	off := 0
	for off < len(b) {
		rest := len(b) - off
		if rest < sizeofOp {
			return fmt.Errorf("%w: offset %d: %d trailing bytes", ErrBytecode, off, rest)
		}
		code, yes, no := b[off], int(b[off+1]), int(ne.Uint16(b[off+2:]))
		minLen := sizeofOp
		switch code {
		case bcSrcCond, bcDstCond:
			// struct inet_diag_hostcond {u8 family; u8 prefix_len; int port; addr}
			minLen += 8
			if rest < minLen {
				return fmt.Errorf("%w: offset %d: host condition cut short", ErrBytecode, off)
			}
			var alen int
			switch b[off+4] {
			case 0:
			case byte(FamilyIPv4):
				alen = 4
			case byte(FamilyIPv6):
				alen = 16
			default:
				return fmt.Errorf("%w: offset %d: host condition of family %d", ErrBytecode, off, b[off+4])
			}
			minLen += alen
			if rest < minLen {
				return fmt.Errorf("%w: offset %d: host condition's address cut short", ErrBytecode, off)
			}
			if int(b[off+5]) > 8*alen {
				return fmt.Errorf("%w: offset %d: prefix length %d for a %d-byte address", ErrBytecode, off, b[off+5], alen)
			}
		case bcDevCond:
			minLen += 4
		case bcMarkCond, bcCgroupCnd:
			minLen += 8
		case bcSrcEQ, bcSrcGE, bcSrcLE, bcDstEQ, bcDstGE, bcDstLE:
			minLen += sizeofOp
		case bcAuto, bcJmp, bcNop:
		default:
			return fmt.Errorf("%w: offset %d: unknown operation %d", ErrBytecode, off, code)
		}
		if rest < minLen {
			return fmt.Errorf("%w: offset %d: operation %d needs %d bytes, %d left", ErrBytecode, off, code, minLen, rest)
		}
		if code != bcNop {
			if no < minLen || no > rest+4 || no&3 != 0 {
				return fmt.Errorf("%w: offset %d: \"no\" jump of %d (%d bytes left)", ErrBytecode, off, no, rest)
			}
			if no < rest && !onYesPath(b, off+no) {
				return fmt.Errorf("%w: offset %d: \"no\" jump to %d, not the start of an operation", ErrBytecode, off, off+no)
			}
		}
		if yes < minLen || yes > rest+4 || yes&3 != 0 {
			return fmt.Errorf("%w: offset %d: \"yes\" jump of %d (%d bytes left)", ErrBytecode, off, yes, rest)
		}
		off += yes
	}
	if off != len(b) {
		return fmt.Errorf("%w: the program runs %d bytes past its end", ErrBytecode, off-len(b))
	}
	return nil
}

// onYesPath reports whether target is reached by following the "yes"
// offsets from the start (the kernel's valid_cc).
func onYesPath(b []byte, target int) bool {
	for off := 0; off <= len(b); {
		if off == target {
			return true
		}
		if off > target || off+sizeofOp > len(b) {
			return false
		}
		yes := int(b[off+1])
		if yes < 4 || yes&3 != 0 {
			return false
		}
		off += yes
	}
	return false
}

// RunBytecode runs a port filter program on a socket with local port
// sport and remote port dport, as the kernel's inet_diag_bc_run does, and
// reports whether the socket passes. Programs that CheckBytecode refuses,
// and the operations on addresses, interfaces, marks and cgroups, are an
// error matching ErrBytecode. It does not allocate.
func RunBytecode(b []byte, sport, dport uint16) (bool, error) {
	if err := CheckBytecode(b); err != nil {
		return false, err
	}
	ne := binary.NativeEndian
	off := 0
	for off < len(b) {
		code := b[off]
		var port, arg uint16
		if off+2*sizeofOp <= len(b) {
			arg = ne.Uint16(b[off+sizeofOp+2:])
		}
		yes := true
		switch code {
		case bcNop:
		case bcJmp:
			yes = false
		case bcSrcEQ, bcSrcGE, bcSrcLE:
			port = sport
		case bcDstEQ, bcDstGE, bcDstLE:
			port = dport
		default:
			return false, fmt.Errorf("%w: offset %d: operation %d is not a port comparison", ErrBytecode, off, code)
		}
		switch code {
		case bcSrcEQ, bcDstEQ:
			yes = port == arg
		case bcSrcGE, bcDstGE:
			yes = port >= arg
		case bcSrcLE, bcDstLE:
			yes = port <= arg
		}
		if yes {
			off += int(b[off+1])
		} else {
			off += int(ne.Uint16(b[off+2:]))
		}
	}
	return off == len(b), nil
}

// ParseExpr reads a port filter in ss's syntax (ss(8), "FILTER"):
//
//	sport = :80
//	dport >= :1024 and dport <= :2048
//	( sport = :22 or sport = :80 ) and not dport = :0
//
// Conditions are `sport` or `dport` (also `src-port`, `dst-port`), a
// comparison (= == eq, != ne neq, >= ge geq, <= le leq, > gt, < lt) and a
// port (":80", or "80"); they combine with and (&, &&, or two conditions
// side by side), or (|, ||) and not (!), and binds tighter than or, and
// parentheses group. ss's address conditions (src, dst, dev, mark …) are
// not supported. A malformed expression is an error matching ErrSyntax
// that says where.
func ParseExpr(s string) (Expr, error) {
	p := parser{toks: tokenize(s)}
	if len(p.toks) == 0 {
		return Expr{}, fmt.Errorf("%w: empty expression", ErrSyntax)
	}
	e, err := p.or(0)
	if err != nil {
		return Expr{}, err
	}
	if p.i < len(p.toks) {
		return Expr{}, fmt.Errorf("%w: unexpected %q at token %d", ErrSyntax, p.toks[p.i], p.i+1)
	}
	return e, nil
}

func tokenize(s string) []string {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		case strings.IndexByte("=!<>&|", c) >= 0:
			j := i + 1
			for j < len(s) && strings.IndexByte("=&|", s[j]) >= 0 && j-i < 2 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n()=!<>&|", s[j]) < 0 {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

const maxParseDepth = 200

func (p *parser) or(depth int) (Expr, error) {
	e, err := p.and(depth)
	if err != nil {
		return e, err
	}
	for {
		switch p.peek() {
		case "or", "|", "||":
			p.i++
			r, err := p.and(depth)
			if err != nil {
				return r, err
			}
			e = Expr{&exprNode{kind: kindOr, a: e.n, b: r.n}}
		default:
			return e, nil
		}
	}
}

func (p *parser) and(depth int) (Expr, error) {
	e, err := p.unary(depth)
	if err != nil {
		return e, err
	}
	for {
		switch p.peek() {
		case "and", "&", "&&":
			p.i++
		case "", "or", "|", "||", ")":
			return e, nil
		}
		r, err := p.unary(depth)
		if err != nil {
			return r, err
		}
		e = Expr{&exprNode{kind: kindAnd, a: e.n, b: r.n}}
	}
}

func (p *parser) unary(depth int) (Expr, error) {
	if depth > maxParseDepth {
		return Expr{}, fmt.Errorf("%w: nested more than %d deep", ErrSyntax, maxParseDepth)
	}
	switch t := p.peek(); t {
	case "":
		return Expr{}, fmt.Errorf("%w: expression ends where a condition should be", ErrSyntax)
	case "not", "!":
		p.i++
		e, err := p.unary(depth + 1)
		if err != nil {
			return e, err
		}
		return Expr{&exprNode{kind: kindNot, a: e.n}}, nil
	case "(":
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return e, err
		}
		if p.peek() != ")" {
			return Expr{}, fmt.Errorf("%w: missing ) at token %d", ErrSyntax, p.i+1)
		}
		p.i++
		return e, nil
	case "sport", "src-port", "dport", "dst-port":
		p.i++
		dst := t == "dport" || t == "dst-port"
		var c Cmp
		switch p.peek() {
		case "=", "==", "eq":
			c = Eq
		case "!=", "ne", "neq":
			c = Ne
		case ">=", "ge", "geq":
			c = Ge
		case "<=", "le", "leq":
			c = Le
		case ">", "gt":
			c = Gt
		case "<", "lt":
			c = Lt
		default:
			return Expr{}, fmt.Errorf("%w: %s needs a comparison, not %q (token %d)", ErrSyntax, t, p.peek(), p.i+1)
		}
		p.i++
		ps := strings.TrimPrefix(p.peek(), ":")
		port, err := strconv.ParseUint(ps, 10, 16)
		if err != nil {
			return Expr{}, fmt.Errorf("%w: %q is not a port number (token %d)", ErrSyntax, p.peek(), p.i+1)
		}
		p.i++
		n := &exprNode{kind: kindPort, dst: dst, cmp: c, port: uint16(port)}
		return Expr{n}, nil
	default:
		return Expr{}, fmt.Errorf("%w: unexpected %q at token %d", ErrSyntax, t, p.i+1)
	}
}
