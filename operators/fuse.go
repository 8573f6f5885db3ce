package operators

import "github.com/nlrx/nlrx/stream"

// Fusion of adjacent inline operators.
//
// Without it, each operator of a chain such as Filter → Map handles a batch
// in a loop of its own and passes its output down as a new dense batch:
// Filter copies every item it keeps into a buffer (64 bytes per route) for
// Map to read back. With it, Filter passes down the batch it was given
// together with a selection, the increasing indices of the items it kept,
// and the next operator reads items[sel[k]] directly: a Filter → Map chain
// costs one predicate call per item and one mapping call per kept item, as
// a loop calling the two functions would, and no copy of the items.
//
// Operators find out at subscription time, once, whether their downstream
// Observer takes selections (selOf); operators of other packages and user
// Observers never see one, since the last operator of a fused run gathers
// the selected items into its own buffer, or maps them into it, before
// calling the next Observer's NextBatch. What an Observer downstream sees
// is the same as without fusion: the same calls with the same batches, and
// the functions of the operators called in the same order, the same number
// of times.

// selObserver is an Observer that can also take a batch as items and a
// selection of them.
type selObserver[T any] interface {
	stream.Observer[T]
	// fuses reports whether nextSel may be called: false for an operator
	// that could only gather the selected items for its own downstream
	// (the operator upstream then gathers them itself, as it would without
	// fusion). It does not change during a subscription.
	fuses() bool
	// nextSel behaves as NextBatch on items[sel[0]], items[sel[1]], … sel
	// is increasing, not empty, and holds at most stream.BatchSize
	// indices. nextSel may overwrite sel, and, like NextBatch, must not
	// keep items or sel.
	nextSel(items []T, sel []int32) error
}

// whereObserver is a selObserver that can also run the predicate of the
// Filter upstream of it in its own loop over a batch: Map, whose loop then
// calls pred and fn on each item in turn, where the selection would call
// pred on the whole batch and then fn on the kept items. Both functions are
// called on the same items, in the same order each; only the interleaving
// of the two differs (Map never fails, so it reaches every kept item).
type whereObserver[T any] interface {
	selObserver[T]
	// nextWhere behaves as NextBatch on the items for which pred holds.
	// items holds at most stream.BatchSize items.
	nextWhere(items []T, pred func(T) bool) error
}

// selOf returns o as a selObserver if it takes selections, or nil.
func selOf[T any](o stream.Observer[T]) selObserver[T] {
	if s, ok := o.(selObserver[T]); ok && s.fuses() {
		return s
	}
	return nil
}

// gather copies items[sel[k]] into buf, which must hold len(sel) items,
// and returns buf[:len(sel)].
func gather[T any](buf, items []T, sel []int32) []T {
	out := buf[:len(sel)]
	for k, i := range sel {
		out[k] = items[i]
	}
	return out
}
