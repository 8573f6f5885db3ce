package operators

import (
	"context"
	"fmt"

	"github.com/nlrx/nlrx/stream"
)

// The operators in this file run inline on the goroutine that delivers
// their input and start no goroutine. Each subscription allocates one
// operator record, and the batching ones a buffer that grows to the
// batches they see, up to stream.BatchSize items; nothing is allocated per
// item. Gaps pass through in order unless stated otherwise.

// sized returns buf, or a larger buffer when it is too small for a batch
// of n items, growing by doubling up to stream.BatchSize. Its length is
// its capacity.
func sized[T any](buf []T, n int) []T {
	n = min(n, stream.BatchSize)
	if cap(buf) >= n {
		return buf[:cap(buf)]
	}
	return make([]T, min(max(n, 2*cap(buf), 16), stream.BatchSize))
}

// Filter emits the items for which pred returns true. A batch in gives at
// most one batch out per stream.BatchSize kept items.
func Filter[T any](src stream.Observable[T], pred func(T) bool) stream.Observable[T] {
	if pred == nil {
		return nilFunc[T]("Filter")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		f := &filter[T]{}
		f.init(pred, o)
		return src.Subscribe(ctx, f)
	})
}

type filter[T any] struct {
	pred  func(T) bool
	down  stream.Observer[T]
	wdown whereObserver[T] // down, if it runs pred in its own loop
	sdown selObserver[T]   // down, if it takes selections
	buf   []T              // kept items, when down does not take selections
	sel   []int32
}

func (f *filter[T]) init(pred func(T) bool, down stream.Observer[T]) {
	f.pred, f.down = pred, down
	if w, ok := down.(whereObserver[T]); ok {
		f.wdown = w
	} else {
		f.sdown = selOf(down)
	}
}

func (f *filter[T]) Next(v T) error {
	if f.pred(v) {
		return f.down.Next(v)
	}
	return nil
}

func (f *filter[T]) NextBatch(items []T) error {
	switch {
	case f.wdown != nil:
		for len(items) > 0 {
			chunk := items[:min(len(items), stream.BatchSize)]
			items = items[len(chunk):]
			if err := f.wdown.nextWhere(chunk, f.pred); err != nil {
				return err
			}
		}
		return nil
	case f.sdown != nil:
		return f.nextFused(items)
	}
	f.buf = sized(f.buf, len(items))
	buf, pred := f.buf, f.pred
	for len(items) > 0 {
		// Up to len(buf) items at a time, so that the kept ones fit.
		chunk := items[:min(len(items), len(buf))]
		items = items[len(chunk):]
		n := 0
		for i := range chunk {
			if pred(chunk[i]) {
				buf[n] = chunk[i]
				n++
			}
		}
		if n > 0 {
			if err := f.down.NextBatch(buf[:n]); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextFused is NextBatch for a downstream that takes selections: the same
// chunks, the same predicate calls, and the kept items' indices instead of
// copies of them.
func (f *filter[T]) nextFused(items []T) error {
	f.sel = sized(f.sel, len(items))
	sel, pred := f.sel, f.pred
	for len(items) > 0 {
		chunk := items[:min(len(items), len(sel))]
		items = items[len(chunk):]
		n := 0
		for i := range chunk {
			if pred(chunk[i]) {
				sel[n] = int32(i)
				n++
			}
		}
		if n > 0 {
			if err := f.sdown.nextSel(chunk, sel[:n]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *filter[T]) fuses() bool { return true }

func (f *filter[T]) nextSel(items []T, sel []int32) error {
	pred := f.pred
	n := 0
	for _, i := range sel {
		if pred(items[i]) {
			sel[n] = i
			n++
		}
	}
	if n == 0 {
		return nil
	}
	switch {
	case f.wdown != nil:
		return f.wdown.nextSel(items, sel[:n])
	case f.sdown != nil:
		return f.sdown.nextSel(items, sel[:n])
	}
	f.buf = sized(f.buf, n)
	return f.down.NextBatch(gather(f.buf, items, sel[:n]))
}

func (f *filter[T]) Gap(g stream.Gap) error { return f.down.Gap(g) }

// Map emits fn(item) for each item.
func Map[T, R any](src stream.Observable[T], fn func(T) R) stream.Observable[R] {
	if fn == nil {
		return nilFunc[R]("Map")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		return src.Subscribe(ctx, &mapper[T, R]{fn: fn, down: o})
	})
}

type mapper[T, R any] struct {
	fn   func(T) R
	down stream.Observer[R]
	buf  []R
}

func (m *mapper[T, R]) Next(v T) error { return m.down.Next(m.fn(v)) }

func (m *mapper[T, R]) NextBatch(items []T) error {
	m.buf = sized(m.buf, len(items))
	fn := m.fn
	for len(items) > 0 {
		n := min(len(items), len(m.buf))
		out := m.buf[:n]
		for i := range out {
			out[i] = fn(items[i])
		}
		if err := m.down.NextBatch(out); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (m *mapper[T, R]) fuses() bool { return true }

func (m *mapper[T, R]) nextWhere(items []T, pred func(T) bool) error {
	m.buf = sized(m.buf, len(items))
	out, fn := m.buf, m.fn
	n := 0
	for i := range items {
		if pred(items[i]) {
			out[n] = fn(items[i])
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return m.down.NextBatch(out[:n])
}

func (m *mapper[T, R]) nextSel(items []T, sel []int32) error {
	m.buf = sized(m.buf, len(sel))
	fn := m.fn
	for len(sel) > 0 {
		n := min(len(sel), len(m.buf))
		out := m.buf[:n]
		for k := range out {
			out[k] = fn(items[sel[k]])
		}
		if err := m.down.NextBatch(out); err != nil {
			return err
		}
		sel = sel[n:]
	}
	return nil
}

func (m *mapper[T, R]) Gap(g stream.Gap) error { return m.down.Gap(g) }

// MapBatch runs fn once per batch instead of once per item: fn appends to
// dst (a reusable buffer, empty on each call) what the items of src become,
// any number per item, so one fn both filters and maps, and the outputs are
// emitted as one batch. Because the loop is in fn, the compiler inlines the
// per-item work there, which per-item functions (Filter, Map) cannot get:
// this is the hot-path form for route-sized items. Single items (Next)
// reach fn as one-item batches. fn must not keep src or dst; the batches
// given to it hold at most stream.BatchSize items. No allocation per item
// or per batch once the buffer has grown to the output size.
func MapBatch[T, R any](src stream.Observable[T], fn func(dst []R, src []T) []R) stream.Observable[R] {
	if fn == nil {
		return nilFunc[R]("MapBatch")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		return src.Subscribe(ctx, &mapBatch[T, R]{fn: fn, down: o})
	})
}

type mapBatch[T, R any] struct {
	fn   func(dst []R, src []T) []R
	down stream.Observer[R]
	buf  []R
	one  [1]T
}

func (m *mapBatch[T, R]) run(items []T) error {
	out := m.fn(m.buf[:0], items)
	if cap(out) > cap(m.buf) {
		m.buf = out[:0] // keep what fn grew
	}
	if len(out) == 0 {
		return nil
	}
	return m.down.NextBatch(out)
}

func (m *mapBatch[T, R]) Next(v T) error {
	m.one[0] = v
	err := m.run(m.one[:])
	var zero T
	m.one[0] = zero
	return err
}

func (m *mapBatch[T, R]) NextBatch(items []T) error {
	if cap(m.buf) < min(len(items), stream.BatchSize) {
		m.buf = make([]R, 0, min(len(items), stream.BatchSize))
	}
	for len(items) > 0 {
		n := min(len(items), stream.BatchSize)
		if err := m.run(items[:n:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func (m *mapBatch[T, R]) Gap(g stream.Gap) error { return m.down.Gap(g) }

// Decode emits dec(item) for each item. A decoder error fails the stream
// with that error (wrapped, so errors.Is and errors.As see it), or, with
// the DropInvalid option, drops the item and counts it.
func Decode[T, R any](src stream.Observable[T], dec func(T) (R, error), opts ...Option) stream.Observable[R] {
	if dec == nil {
		return nilFunc[R]("Decode")
	}
	cfg := newConfig(opts)
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		return src.Subscribe(ctx, &decoder[T, R]{dec: dec, down: o, cfg: cfg})
	})
}

type decoder[T, R any] struct {
	dec  func(T) (R, error)
	down stream.Observer[R]
	cfg  config
	buf  []R
}

func (d *decoder[T, R]) bad(err error) error {
	if !d.cfg.dropBad {
		return fmt.Errorf("operators: decode: %w", err)
	}
	if d.cfg.badCount != nil {
		d.cfg.badCount.Add(1)
	}
	return nil
}

func (d *decoder[T, R]) Next(v T) error {
	r, err := d.dec(v)
	if err != nil {
		return d.bad(err)
	}
	return d.down.Next(r)
}

func (d *decoder[T, R]) NextBatch(items []T) error { return d.decode(items, nil) }

func (d *decoder[T, R]) fuses() bool { return true }

func (d *decoder[T, R]) nextSel(items []T, sel []int32) error { return d.decode(items, sel) }

// decode decodes items, or with sel not nil the items sel selects.
func (d *decoder[T, R]) decode(items []T, sel []int32) error {
	n := len(items)
	if sel != nil {
		n = len(sel)
	}
	d.buf = sized(d.buf, n)
	buf := d.buf[:0]
	for k := range n {
		i := k
		if sel != nil {
			i = int(sel[k])
		}
		r, err := d.dec(items[i])
		if err != nil {
			if err := d.bad(err); err != nil {
				if len(buf) > 0 {
					if derr := d.down.NextBatch(buf); derr != nil {
						return derr
					}
				}
				return err
			}
			continue
		}
		buf = append(buf, r)
		if len(buf) == cap(buf) {
			if err := d.down.NextBatch(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		return d.down.NextBatch(buf)
	}
	return nil
}

func (d *decoder[T, R]) Gap(g stream.Gap) error { return d.down.Gap(g) }

// Tap calls fn on each item, then passes it on unchanged.
func Tap[T any](src stream.Observable[T], fn func(T)) stream.Observable[T] {
	if fn == nil {
		return nilFunc[T]("Tap")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, &tap[T]{fn: fn, down: o, sdown: selOf(o)})
	})
}

type tap[T any] struct {
	fn    func(T)
	down  stream.Observer[T]
	sdown selObserver[T]
}

func (t *tap[T]) Next(v T) error { t.fn(v); return t.down.Next(v) }
func (t *tap[T]) NextBatch(items []T) error {
	for i := range items {
		t.fn(items[i])
	}
	return t.down.NextBatch(items)
}
func (t *tap[T]) fuses() bool { return t.sdown != nil }
func (t *tap[T]) nextSel(items []T, sel []int32) error {
	for _, i := range sel {
		t.fn(items[i])
	}
	return t.sdown.nextSel(items, sel)
}
func (t *tap[T]) Gap(g stream.Gap) error { return t.down.Gap(g) }

// OnGap removes gaps from the stream, calling fn (if not nil) on each; fn
// returning an error fails the stream with it. Use it to accept loss
// explicitly, for instance counting it, before a sink that fails on gaps.
func OnGap[T any](src stream.Observable[T], fn func(stream.Gap) error) stream.Observable[T] {
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, &onGap[T]{fn: fn, down: o})
	})
}

type onGap[T any] struct {
	fn   func(stream.Gap) error
	down stream.Observer[T]
}

func (g *onGap[T]) Next(v T) error            { return g.down.Next(v) }
func (g *onGap[T]) NextBatch(items []T) error { return g.down.NextBatch(items) }
func (g *onGap[T]) Gap(gp stream.Gap) error {
	if g.fn == nil {
		return nil
	}
	return g.fn(gp)
}

// Take emits the first n items, then stops its source and completes. With
// n ≤ 0 it completes without subscribing to src.
func Take[T any](src stream.Observable[T], n int) stream.Observable[T] {
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		if n <= 0 {
			return nil
		}
		return src.Subscribe(ctx, &take[T]{left: n, down: o, sdown: selOf(o)})
	})
}

type take[T any] struct {
	left  int
	down  stream.Observer[T]
	sdown selObserver[T]
}

func (t *take[T]) Next(v T) error {
	if t.left <= 0 {
		return stream.ErrStop
	}
	t.left--
	if err := t.down.Next(v); err != nil {
		return err
	}
	if t.left == 0 {
		return stream.ErrStop
	}
	return nil
}

func (t *take[T]) NextBatch(items []T) error {
	if t.left <= 0 {
		return stream.ErrStop
	}
	n := min(t.left, len(items))
	t.left -= n
	if err := t.down.NextBatch(items[:n]); err != nil {
		return err
	}
	if t.left == 0 {
		return stream.ErrStop
	}
	return nil
}

func (t *take[T]) fuses() bool { return t.sdown != nil }

func (t *take[T]) nextSel(items []T, sel []int32) error {
	if t.left <= 0 {
		return stream.ErrStop
	}
	n := min(t.left, len(sel))
	t.left -= n
	if err := t.sdown.nextSel(items, sel[:n]); err != nil {
		return err
	}
	if t.left == 0 {
		return stream.ErrStop
	}
	return nil
}

func (t *take[T]) Gap(g stream.Gap) error { return t.down.Gap(g) }

// TakeWhile emits items while pred holds; at the first item for which it
// does not, it stops its source and completes without emitting that item.
func TakeWhile[T any](src stream.Observable[T], pred func(T) bool) stream.Observable[T] {
	if pred == nil {
		return nilFunc[T]("TakeWhile")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, &takeWhile[T]{pred: pred, down: o, sdown: selOf(o)})
	})
}

type takeWhile[T any] struct {
	pred      func(T) bool
	down      stream.Observer[T]
	sdown     selObserver[T]
	inclusive bool // TakeUntil: emit the item that ends the stream
}

func (t *takeWhile[T]) Next(v T) error {
	if t.pred(v) != t.inclusive {
		return t.down.Next(v)
	}
	if t.inclusive {
		if err := t.down.Next(v); err != nil {
			return err
		}
	}
	return stream.ErrStop
}

func (t *takeWhile[T]) NextBatch(items []T) error {
	for i := range items {
		if t.pred(items[i]) == t.inclusive {
			end := i
			if t.inclusive {
				end = i + 1
			}
			if end > 0 {
				if err := t.down.NextBatch(items[:end]); err != nil {
					return err
				}
			}
			return stream.ErrStop
		}
	}
	return t.down.NextBatch(items)
}

func (t *takeWhile[T]) fuses() bool { return t.sdown != nil }

func (t *takeWhile[T]) nextSel(items []T, sel []int32) error {
	for k, i := range sel {
		if t.pred(items[i]) == t.inclusive {
			end := k
			if t.inclusive {
				end = k + 1
			}
			if end > 0 {
				if err := t.sdown.nextSel(items, sel[:end]); err != nil {
					return err
				}
			}
			return stream.ErrStop
		}
	}
	return t.sdown.nextSel(items, sel)
}

func (t *takeWhile[T]) Gap(g stream.Gap) error { return t.down.Gap(g) }

// TakeUntil emits items up to and including the first one for which pred
// returns true, then stops its source and completes.
func TakeUntil[T any](src stream.Observable[T], pred func(T) bool) stream.Observable[T] {
	if pred == nil {
		return nilFunc[T]("TakeUntil")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		return src.Subscribe(ctx, &takeWhile[T]{pred: pred, down: o, sdown: selOf(o), inclusive: true})
	})
}

// Skip drops the first n items and emits the rest.
func Skip[T any](src stream.Observable[T], n int) stream.Observable[T] {
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		if n <= 0 {
			return src.Subscribe(ctx, o)
		}
		return src.Subscribe(ctx, &skip[T]{left: n, down: o, sdown: selOf(o)})
	})
}

type skip[T any] struct {
	left  int
	down  stream.Observer[T]
	sdown selObserver[T]
}

func (s *skip[T]) Next(v T) error {
	if s.left > 0 {
		s.left--
		return nil
	}
	return s.down.Next(v)
}

func (s *skip[T]) NextBatch(items []T) error {
	if s.left > 0 {
		n := min(s.left, len(items))
		s.left -= n
		items = items[n:]
		if len(items) == 0 {
			return nil
		}
	}
	return s.down.NextBatch(items)
}

func (s *skip[T]) fuses() bool { return s.sdown != nil }

func (s *skip[T]) nextSel(items []T, sel []int32) error {
	if s.left > 0 {
		n := min(s.left, len(sel))
		s.left -= n
		sel = sel[n:]
		if len(sel) == 0 {
			return nil
		}
	}
	return s.sdown.nextSel(items, sel)
}

func (s *skip[T]) Gap(g stream.Gap) error { return s.down.Gap(g) }

// Distinct emits an item only if no earlier item had the same key. It
// remembers every key of the subscription (a map that grows with the number
// of distinct keys).
func Distinct[T any, K comparable](src stream.Observable[T], key func(T) K) stream.Observable[T] {
	if key == nil {
		return nilFunc[T]("Distinct")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		seen := make(map[K]struct{})
		f := &filter[T]{}
		f.init(func(v T) bool {
			k := key(v)
			if _, ok := seen[k]; ok {
				return false
			}
			seen[k] = struct{}{}
			return true
		}, o)
		return src.Subscribe(ctx, f)
	})
}

// DistinctUntilChanged emits an item only if its key differs from the
// previous item's (so a flapping link state reports each change once). A
// Gap forgets the previous key, since the item before the loss is unknown:
// the first item after a gap is always emitted.
func DistinctUntilChanged[T any, K comparable](src stream.Observable[T], key func(T) K) stream.Observable[T] {
	if key == nil {
		return nilFunc[T]("DistinctUntilChanged")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[T]) error {
		d := &distinctChanged[T, K]{key: key}
		d.filter.init(d.changed, o)
		return src.Subscribe(ctx, d)
	})
}

type distinctChanged[T any, K comparable] struct {
	filter[T]
	key  func(T) K
	last K
	have bool
}

func (d *distinctChanged[T, K]) changed(v T) bool {
	k := d.key(v)
	if d.have && k == d.last {
		return false
	}
	d.last, d.have = k, true
	return true
}

func (d *distinctChanged[T, K]) Gap(g stream.Gap) error {
	d.have = false
	return d.down.Gap(g)
}

// Scan emits the running accumulation acc = fn(acc, item), starting from
// seed, after each item.
func Scan[T, R any](src stream.Observable[T], seed R, fn func(R, T) R) stream.Observable[R] {
	if fn == nil {
		return nilFunc[R]("Scan")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		acc := seed
		return src.Subscribe(ctx, &mapper[T, R]{down: o, fn: func(v T) R {
			acc = fn(acc, v)
			return acc
		}})
	})
}

// Reduce folds the whole stream into one value, acc = fn(acc, item) from
// seed, and emits it when the source completes (seed for an empty source).
// A failed source emits nothing and fails.
func Reduce[T, R any](src stream.Observable[T], seed R, fn func(R, T) R) stream.Observable[R] {
	if fn == nil {
		return nilFunc[R]("Reduce")
	}
	return stream.Create(func(ctx context.Context, o stream.Observer[R]) error {
		r := &reducer[T, R]{acc: seed, fn: fn, down: o}
		if err := src.Subscribe(ctx, r); err != nil || r.stopped {
			return err
		}
		return o.Next(r.acc)
	})
}

type reducer[T, R any] struct {
	acc     R
	fn      func(R, T) R
	down    stream.Observer[R]
	stopped bool
}

func (r *reducer[T, R]) Next(v T) error { r.acc = r.fn(r.acc, v); return nil }
func (r *reducer[T, R]) NextBatch(items []T) error {
	for i := range items {
		r.acc = r.fn(r.acc, items[i])
	}
	return nil
}
func (r *reducer[T, R]) fuses() bool { return true }
func (r *reducer[T, R]) nextSel(items []T, sel []int32) error {
	for _, i := range sel {
		r.acc = r.fn(r.acc, items[i])
	}
	return nil
}
func (r *reducer[T, R]) Gap(g stream.Gap) error {
	err := r.down.Gap(g)
	if err != nil {
		r.stopped = true
	}
	return err
}
