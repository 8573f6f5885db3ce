//go:build linux

package rtnl

import (
	"context"
	"errors"
	"iter"

	"github.com/nlrx/nlrx/nl"
)

// The iterators below are the ForEach* dumps as range-over-func sequences:
//
//	for r, err := range rtnl.Routes(ctx, c, rtnl.RouteFilter{Table: rtnl.TableMain}) {
//		if err != nil {
//			return err // the dump failed, or a route did not decode
//		}
//		fmt.Println(r)
//	}
//
// Each yields a copy of every entry (keep it as long as you like; its
// slices are its own), then, if the dump failed, one zero entry with the
// error: the same error ForEach* would return, so an interrupted dump
// (nl.ErrDumpInterrupted) comes last, after every entry it delivered; as
// with ForEach*, it is not dumped again (the loop has seen its entries).
// Breaking out of the loop stops reading; the rest of the dump is drained
// by the next request on c. The loop's body may make other requests on c.
// Cost: one copy of the entry per step over ForEach* (184 bytes for a
// Route); ForEach* itself is the zero-copy form.

// errBreak stops a ForEach* walk when the loop's body breaks.
var errBreak = errors.New("rtnl: iteration stopped")

func seq[T any](walk func(fn func(*T) error) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		err := walk(func(v *T) error {
			if !yield(*v, nil) {
				return errBreak
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBreak) {
			var zero T
			yield(zero, err)
		}
	}
}

// Routes dumps the routes that pass f (ForEachRoute), as a sequence.
func Routes(ctx context.Context, c *nl.Conn, f RouteFilter) iter.Seq2[Route, error] {
	return seq(func(fn func(*Route) error) error { return ForEachRoute(ctx, c, f, fn) })
}

// Links dumps the links that pass f (ForEachLinkMatching; the zero
// LinkFilter passes every link), as a sequence.
func Links(ctx context.Context, c *nl.Conn, f LinkFilter) iter.Seq2[Link, error] {
	return seq(func(fn func(*Link) error) error { return ForEachLinkMatching(ctx, c, f, fn) })
}

// Addresses dumps the addresses that pass f (ForEachAddress), as a
// sequence.
func Addresses(ctx context.Context, c *nl.Conn, f AddressFilter) iter.Seq2[Address, error] {
	return seq(func(fn func(*Address) error) error { return ForEachAddress(ctx, c, f, fn) })
}

// Neighbors dumps the neighbour entries that pass f (ForEachNeighbor), as
// a sequence.
func Neighbors(ctx context.Context, c *nl.Conn, f NeighborFilter) iter.Seq2[Neighbor, error] {
	return seq(func(fn func(*Neighbor) error) error { return ForEachNeighbor(ctx, c, f, fn) })
}

// Nexthops dumps the nexthop objects that pass f (ForEachNexthop), as a
// sequence.
func Nexthops(ctx context.Context, c *nl.Conn, f NexthopFilter) iter.Seq2[Nexthop, error] {
	return seq(func(fn func(*Nexthop) error) error { return ForEachNexthop(ctx, c, f, fn) })
}

// Rules dumps the policy-routing rules that pass f (ForEachRule), as a
// sequence.
func Rules(ctx context.Context, c *nl.Conn, f RuleFilter) iter.Seq2[Rule, error] {
	return seq(func(fn func(*Rule) error) error { return ForEachRule(ctx, c, f, fn) })
}
