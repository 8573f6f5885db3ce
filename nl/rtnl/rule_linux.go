//go:build linux

package rtnl

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/nl"
)

// RuleFilter selects the rules of a dump. The zero value selects the rules
// of every family (IPv4, IPv6, and any other the kernel has rules for:
// IP multicast routing, MPLS …).
type RuleFilter struct {
	Family Family // FamilyAll, FamilyInet or FamilyInet6
}

// Request returns the RTM_GETRULE dump request for the filter (the family
// in the header; strict checking refuses anything else). One allocation.
func (f RuleFilter) Request() nl.Message {
	b := make([]byte, sizeofFibRuleHdr)
	b[0] = byte(f.Family)
	return nl.Message{Header: nl.Header{Type: TypeGetRule, Flags: nl.FlagRequest | nl.FlagDump}, Data: b}
}

// Match reports whether r passes the filter.
func (f RuleFilter) Match(r *Rule) bool { return f.Family == FamilyAll || f.Family == r.Family }

// ForEachRule dumps the rules that pass f (RTM_GETRULE; `ip rule show`)
// and calls fn for each, in the kernel's order (by family, then priority,
// then the order they were added in), decoding straight from the socket's
// receive buffer: *r is reused for the next rule and is valid only until fn
// returns. If fn returns an error the walk stops and that error is
// returned; the rest of the dump is drained by the next request on c.
//
// Costs: one send, one receive per datagram of up to 32 KiB, no allocation
// per rule. Rules that fail to decode are skipped and reported, joined,
// after the dump. If the kernel flags the dump as interrupted, every rule
// is still handed to fn and the error matches nl.ErrDumpInterrupted.
func ForEachRule(ctx context.Context, c *nl.Conn, f RuleFilter, fn func(r *Rule) error) error {
	var r Rule
	var decErr, fnErr error
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeNewRule {
			return nil
		}
		r = Rule{}
		if err := r.decode(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			return nil
		}
		if !f.Match(&r) {
			return nil
		}
		fnErr = fn(&r)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dumpErr("dump rules", err, decErr)
}

// AppendRules dumps the rules that pass f and appends them to dst, which
// it returns. Passing the previous result as dst[:0] reuses its memory: a
// dump then allocates nothing per rule. The decoding is done in place in
// dst, straight from the socket's receive buffer. On error, dst holds the
// rules received.
func AppendRules(ctx context.Context, c *nl.Conn, dst []Rule, f RuleFilter) ([]Rule, error) {
	var decErr error
	err := c.ExecuteFunc(ctx, f.Request(), func(m nl.Message) error {
		if m.Header.Type != TypeNewRule {
			return nil
		}
		n := len(dst)
		if n == cap(dst) {
			// Double, as AppendRoutes does: a Rule is 200 bytes.
			grown := make([]Rule, n, max(64, 2*n))
			copy(grown, dst)
			dst = grown
		}
		dst = dst[:n+1]
		dst[n] = Rule{}
		r := &dst[n]
		if err := r.decode(m.Data); err != nil {
			decErr = joinCapped(decErr, err)
			dst = dst[:n]
			return nil
		}
		if !f.Match(r) {
			dst = dst[:n]
		}
		return nil
	})
	return dst, dumpErr("dump rules", err, decErr)
}

// ListRules returns the rules that pass f, in the kernel's order. It is
// AppendRules(ctx, c, nil, f): the slice grows as the dump arrives (200
// bytes per rule).
func ListRules(ctx context.Context, c *nl.Conn, f RuleFilter) ([]Rule, error) {
	return AppendRules(ctx, c, nil, f)
}

// ruleRequest prepares r for RTM_NEWRULE: the flags a request may carry
// are RuleInvert and RuleFindSrcAddr (the kernel would keep the others as
// they are sent: a permanent rule cannot be deleted), and a zero Action
// with a Table, or with nothing else, becomes RuleActionTable, as ip rule
// add sends it.
func ruleRequest(r Rule) Rule {
	r.Flags &= RuleInvert | RuleFindSrcAddr
	if r.Action == RuleActionUnspec {
		r.Action = RuleActionTable
	}
	return r
}

func ruleName(r *Rule) string {
	return fmt.Sprintf("rule %d (%v)", r.Priority, r.family())
}

// AddRule adds r (RTM_NEWRULE with NLM_F_CREATE|NLM_F_EXCL; `ip rule
// add`): the selectors that are set (Src, Dst, TOS or DSCP, IIFName,
// OIFName, Mark and Mask, UIDRange, IPProto, port ranges, TunID, Realms,
// L3MDev, RuleInvert in Flags), the action (Table, Goto, or a drop) with
// SuppressPrefixLen and SuppressIfGroup, and Protocol. A zero Family is
// taken from Src or Dst, and must be set when they are not; a zero Action
// is RuleActionTable; a zero Priority lets the kernel choose one (just
// below the first rule after priority 0, as ip does without pref), so a
// rule of priority 0 cannot be added this way. A rule the kernel already
// has with the same selectors, action and priority fails with an error
// matching unix.EEXIST; the kernel's check leaves the flags and the goto
// target out, so a rule that differs from another only in RuleInvert is
// refused too (AddDuplicateRule adds it). Kernel errors come back as *nl.Error with the
// errno and the extended-ACK text. One request and its ACK.
func AddRule(ctx context.Context, c *nl.Conn, r Rule) error {
	r = ruleRequest(r)
	m, err := r.Message(TypeNewRule, nl.FlagRequest|nl.FlagCreate|nl.FlagExcl)
	return execute(ctx, c, m, err, "add "+ruleName(&r))
}

// AddDuplicateRule adds r as AddRule does but without NLM_F_EXCL, so that
// the kernel adds it even next to an identical rule (after it, in the
// list): what a library that leaves NLM_F_EXCL out does. Two identical
// rules select the same packets; deleting one leaves the other. One
// request and its ACK.
func AddDuplicateRule(ctx context.Context, c *nl.Conn, r Rule) error {
	r = ruleRequest(r)
	m, err := r.Message(TypeNewRule, nl.FlagRequest|nl.FlagCreate)
	return execute(ctx, c, m, err, "add duplicate "+ruleName(&r))
}

// DeleteRule deletes the first rule, in the kernel's order, that matches r
// (RTM_DELRULE; `ip rule del`). The kernel compares the priority (always
// sent, 0 included) and the fields of r that are set; a zero field matches
// any value, and the flags and the goto target are not compared, so that
// of two rules that differ only there the first goes. A rule from a dump
// deletes itself, or its first identical twin. A missing rule fails with
// an error matching unix.ENOENT, one flagged RulePermanent with
// unix.EPERM (the default rules are not: the local rule may be deleted,
// or moved, as VRF setups do). One request and its ACK.
func DeleteRule(ctx context.Context, c *nl.Conn, r Rule) error {
	r.Flags &= RuleInvert | RuleFindSrcAddr
	b, err := r.AppendBinary(make([]byte, 0, 136))
	if err == nil && r.Priority == 0 {
		e := nl.NewAttributeEncoder(b)
		e.Uint32(fraPriority, 0)
		b, err = e.Bytes()
	}
	m := nl.Message{Header: nl.Header{Type: TypeDelRule, Flags: nl.FlagRequest}, Data: b}
	return execute(ctx, c, m, err, "delete "+ruleName(&r))
}
