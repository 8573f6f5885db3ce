// Package rx bridges nlrx streams and github.com/reactivex/rxgo/v2, the
// reactive library many Go users already compose with.
//
// ToRx turns a stream.Observable into a cold rxgo.Observable (each Observe
// subscribes), ToRxBatched does the same with one rxgo item per batch
// ([]T), and FromRx turns an rxgo.Observable back into a typed stream. Gaps
// and errors become rxgo error items, in order.
//
// Cost: rxgo runs a goroutine and a channel per operator and boxes every
// item in an interface; the research behind this package measured 280–730
// ns per item for a two-operator rxgo pipeline, against a few ns for the
// same pipeline in package operators. So filter, map and decode with the
// operators package first and cross into rxgo as late as possible, batched
// when the rxgo side can take slices (ToRxBatched costs a channel hop per
// batch instead of per item).
//
// Lifetime: ToRx honours both the context it is given and the context rxgo
// passes to its producer (rxgo.WithContext). rxgo cannot tell a producer
// that a consumer stopped reading without a context (a break out of range,
// First, Take): rxgo's own producers stay blocked for ever then. With ToRx,
// cancelling the context given to ToRx ends the producer's goroutine in
// every case; no goroutine of this package outlives it. FromRx starts no
// goroutine and cancels the context it gives rxgo when its subscriber
// stops.
package rx
