package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/nlrx/nlrx/nl"
	"github.com/nlrx/nlrx/nl/rtnl"
)

// The soak's routes are 10.100.0.0/32, 10.100.0.1/32, … one per slot of a
// pool twice the largest window, so that destinations are deleted and
// added again over and over (a watcher that mixes up an old notification
// with a new one for the same key shows it). Every fourth slot lives in
// table 100 rather than main, so two tables change at once.
var soakNet = netip.MustParsePrefix("10.100.0.0/14")

const soakTable = 100

// soakProtocols are the protocols a route is added or replaced with; a
// replace always changes the protocol, the link or the MTU, so the kernel's
// notification is a real change (a watcher reports it as Changed).
var soakProtocols = [...]rtnl.Protocol{rtnl.ProtoStatic, 99, rtnl.ProtoBabel}

// soakLink is one of the veths the routes go through.
type soakLink struct {
	name  string
	index uint32
	up    bool
}

// soakSlot is the state the churn gave one destination.
type soakSlot struct {
	live  bool
	link  uint8
	proto uint8 // index into soakProtocols
	mtu   uint32
}

// soakChurn changes the routes of the namespace through one nl.Conn and
// keeps a model of what it made, so that it knows which changes are
// possible and can check the kernel against the model at checkpoints.
type soakChurn struct {
	c     *nl.Conn
	links []soakLink
	slots []soakSlot
	// live and free list slot numbers; pos is each slot's place in its list,
	// so that a random live or free slot is picked and moved in O(1).
	live, free []int32
	pos        []int32
	rng        *rand.Rand
	batch      []rtnl.Route

	// What was done, in kernel changes: each add, replace and delete is
	// one change and one notification; a route flushed with its link is a
	// change the kernel makes without a notification.
	added, replaced, deleted, flushed int64
	flaps, bursts                     int
	peakLive                          int
}

func newSoakChurn(c *nl.Conn, links []soakLink, pool int, seed uint64) *soakChurn {
	ch := &soakChurn{
		c:     c,
		links: links,
		slots: make([]soakSlot, pool),
		free:  make([]int32, pool),
		pos:   make([]int32, pool),
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	for i := range pool {
		ch.free[i] = int32(i)
		ch.pos[i] = int32(i)
	}
	return ch
}

func (ch *soakChurn) changes() int64 { return ch.added + ch.replaced + ch.deleted }

// route is the kernel route of slot i as the model has it.
func (ch *soakChurn) route(i int32) rtnl.Route {
	s := &ch.slots[i]
	table := rtnl.TableMain
	if i%4 == 3 {
		table = soakTable
	}
	return rtnl.Route{
		Family:   rtnl.FamilyInet,
		Type:     rtnl.RouteUnicast,
		Protocol: soakProtocols[s.proto],
		Scope:    rtnl.ScopeLink,
		Table:    table,
		OIF:      ch.links[s.link].index,
		Dst:      netip.PrefixFrom(routeAddr(soakNet.Addr(), int(i)), 32),
		Metrics:  churnMetrics(s.mtu),
	}
}

// churnMetrics returns the metrics of a churned route: an mtu, or none.
func churnMetrics(mtu uint32) *rtnl.Metrics {
	if mtu == 0 {
		return nil
	}
	return &rtnl.Metrics{MTU: mtu}
}

// metricMTU returns the mtu metric of m, 0 for none.
func metricMTU(m *rtnl.Metrics) uint32 {
	if m == nil {
		return 0
	}
	return m.MTU
}

// take moves slot i from one list to the other.
func (ch *soakChurn) take(i int32, toLive bool) {
	from, to := &ch.free, &ch.live
	if !toLive {
		from, to = to, from
	}
	p := ch.pos[i]
	last := (*from)[len(*from)-1]
	(*from)[p] = last
	ch.pos[last] = p
	*from = (*from)[:len(*from)-1]
	ch.pos[i] = int32(len(*to))
	*to = append(*to, i)
	ch.slots[i].live = toLive
	ch.peakLive = max(ch.peakLive, len(ch.live))
}

// upLink returns a random link that is up.
func (ch *soakChurn) upLink() uint8 {
	for {
		l := ch.rng.IntN(len(ch.links))
		if ch.links[l].up {
			return uint8(l)
		}
	}
}

func (ch *soakChurn) randomMTU() uint32 {
	if ch.rng.IntN(4) == 0 {
		return uint32(1280 + ch.rng.IntN(221))
	}
	return 0
}

// opContext bounds one batch of requests: a kernel that stops answering
// fails the soak instead of hanging it.
func opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 30*time.Second)
}

func (ch *soakChurn) addN(ctx context.Context, n int) error {
	n = min(n, len(ch.free))
	if n <= 0 {
		return nil
	}
	ch.batch = ch.batch[:0]
	for range n {
		i := ch.free[ch.rng.IntN(len(ch.free))]
		ch.slots[i] = soakSlot{link: ch.upLink(), proto: uint8(ch.rng.IntN(len(soakProtocols))), mtu: ch.randomMTU()}
		ch.take(i, true)
		ch.batch = append(ch.batch, ch.route(i))
	}
	ctx, cancel := opContext(ctx)
	defer cancel()
	if err := rtnl.AddRoutes(ctx, ch.c, ch.batch); err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	ch.added += int64(n)
	return nil
}

func (ch *soakChurn) deleteN(ctx context.Context, n int) error {
	n = min(n, len(ch.live))
	if n <= 0 {
		return nil
	}
	ch.batch = ch.batch[:0]
	for range n {
		i := ch.live[ch.rng.IntN(len(ch.live))]
		r := ch.route(i)
		ch.take(i, false)
		// Destination and table name the route; the rest matches anything.
		ch.batch = append(ch.batch, rtnl.Route{Family: r.Family, Dst: r.Dst, Table: r.Table})
	}
	ctx, cancel := opContext(ctx)
	defer cancel()
	if err := rtnl.DeleteRoutes(ctx, ch.c, ch.batch); err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	ch.deleted += int64(n)
	return nil
}

// replaceN replaces n live routes (the same one may come up twice: the
// requests apply in order), each with another link, protocol or MTU.
func (ch *soakChurn) replaceN(ctx context.Context, n int) error {
	if len(ch.live) == 0 || n <= 0 {
		return nil
	}
	ch.batch = ch.batch[:0]
	for range n {
		i := ch.live[ch.rng.IntN(len(ch.live))]
		s := &ch.slots[i]
		switch what := ch.rng.IntN(3); {
		case what == 0 && ch.links[1-s.link].up:
			s.link = 1 - s.link
		case what == 1:
			if s.mtu == 0 {
				s.mtu = uint32(1280 + ch.rng.IntN(221))
			} else {
				s.mtu = 0
			}
		default:
			s.proto = uint8((int(s.proto) + 1 + ch.rng.IntN(len(soakProtocols)-1)) % len(soakProtocols))
		}
		ch.batch = append(ch.batch, ch.route(i))
	}
	ctx, cancel := opContext(ctx)
	defer cancel()
	if err := rtnl.ReplaceRoutes(ctx, ch.c, ch.batch); err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	ch.replaced += int64(n)
	return nil
}

// step makes about n changes: three in ten replace, the rest add and
// delete in the mix that moves the live count towards target.
func (ch *soakChurn) step(ctx context.Context, n, target int) error {
	if n <= 0 {
		return nil
	}
	rep := min(n*3/10, len(ch.live))
	m := n - rep
	add := min(max((m+target-len(ch.live))/2, 0), m)
	if err := ch.deleteN(ctx, m-add); err != nil {
		return err
	}
	if err := ch.replaceN(ctx, rep); err != nil {
		return err
	}
	return ch.addN(ctx, add)
}

// resize adds or deletes routes until n are live.
func (ch *soakChurn) resize(ctx context.Context, n int) error {
	if d := n - len(ch.live); d > 0 {
		return ch.addN(ctx, d)
	} else if d < 0 {
		return ch.deleteN(ctx, -d)
	}
	return nil
}

// setLink brings link l down or up. Down, the kernel flushes the IPv4
// routes through it without a notification per route: the model drops
// them too.
func (ch *soakChurn) setLink(ctx context.Context, l int, up bool) error {
	ctx, cancel := opContext(ctx)
	defer cancel()
	var err error
	if up {
		err = rtnl.SetLinkUp(ctx, ch.c, ch.links[l].index)
	} else {
		err = rtnl.SetLinkDown(ctx, ch.c, ch.links[l].index)
	}
	if err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	ch.links[l].up = up
	if up {
		return nil
	}
	ch.flaps++
	for j := 0; j < len(ch.live); {
		i := ch.live[j]
		if int(ch.slots[i].link) != l {
			j++
			continue
		}
		ch.take(i, false) // moves the last live slot to j: look at j again
		ch.flushed++
	}
	return nil
}

// checkKernel compares the routes of soakNet in a kernel dump with the
// model and describes the first differences.
func (ch *soakChurn) checkKernel(kernel []rtnl.Route) error {
	seen := 0
	var bad []string
	for k := range kernel {
		r := &kernel[k]
		if !soakNet.Contains(r.Dst.Addr()) {
			continue
		}
		seen++
		i := int32(ipOffset(soakNet.Addr(), r.Dst.Addr()))
		if int(i) >= len(ch.slots) || !ch.slots[i].live {
			bad = append(bad, "not made by the churn: "+r.String())
			continue
		}
		want := ch.route(i)
		if r.Dst != want.Dst || r.Table != want.Table || r.OIF != want.OIF || r.Protocol != want.Protocol ||
			metricMTU(r.Metrics) != metricMTU(want.Metrics) || r.Scope != want.Scope || r.Type != want.Type {
			bad = append(bad, fmt.Sprintf("kernel has %v, the churn made %v", r, &want))
		}
	}
	if seen != len(ch.live) {
		bad = append(bad, fmt.Sprintf("kernel has %d of the churn's routes, the churn has %d live", seen, len(ch.live)))
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("the kernel's routes differ from what the churn made (a harness bug, or the kernel changed them): %d differences; %s", len(bad), firstFew(bad, 3))
}

func ipOffset(base, a netip.Addr) uint32 {
	b, x := base.As4(), a.As4()
	return (uint32(x[0])<<24 | uint32(x[1])<<16 | uint32(x[2])<<8 | uint32(x[3])) -
		(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// soakPlan varies the churn: phases of random length with a random rate
// and window target, bursts now and then, and link flaps.
type soakPlan struct {
	cfg                *soakConfig
	rate               float64 // changes per second in this phase
	target             int     // live routes the phase moves towards
	phaseEnd           time.Time
	carry              float64
	last               time.Time
	nextFlap, upAt     time.Time
	downLink           int // the link that is down, or -1
	maxTick            int
	rateMin, rateRatio float64
}

func newSoakPlan(cfg *soakConfig, ch *soakChurn, now time.Time) *soakPlan {
	p := &soakPlan{cfg: cfg, last: now, downLink: -1, maxTick: max(cfg.maxLive/4, 64),
		rateMin: cfg.rateMin, rateRatio: cfg.rateMax / cfg.rateMin}
	p.nextFlap = now.Add(p.uniform(ch, cfg.flapMin, cfg.flapMax))
	return p
}

func (p *soakPlan) uniform(ch *soakChurn, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(ch.rng.Int64N(int64(hi-lo)+1))
}

// tick does the churn that is due at now.
func (p *soakPlan) tick(ctx context.Context, ch *soakChurn, now time.Time) error {
	if !now.Before(p.phaseEnd) {
		// Rates log-uniform between rateMin and rateMax; windows from a
		// tenth of the largest to the largest.
		p.rate = p.rateMin * math.Pow(p.rateRatio, ch.rng.Float64())
		p.target = p.cfg.maxLive/10 + ch.rng.IntN(p.cfg.maxLive-p.cfg.maxLive/10+1)
		p.phaseEnd = now.Add(p.uniform(ch, p.cfg.phaseMin, p.cfg.phaseMax))
		if ch.rng.IntN(5) == 0 {
			if err := p.burst(ctx, ch); err != nil {
				return err
			}
		}
	}
	if p.downLink >= 0 && !now.Before(p.upAt) {
		if err := ch.setLink(ctx, p.downLink, true); err != nil {
			return err
		}
		p.downLink = -1
	}
	if p.downLink < 0 && !now.Before(p.nextFlap) {
		p.downLink = ch.rng.IntN(len(ch.links))
		if err := ch.setLink(ctx, p.downLink, false); err != nil {
			return err
		}
		p.upAt = now.Add(p.uniform(ch, 50*time.Millisecond, 500*time.Millisecond))
		p.nextFlap = now.Add(p.uniform(ch, p.cfg.flapMin, p.cfg.flapMax))
	}
	p.carry += p.rate * now.Sub(p.last).Seconds()
	p.last = now
	n := int(p.carry)
	p.carry -= float64(n)
	// After a stall (a long checkpoint, a busy machine) the backlog is
	// dropped rather than sent as one huge batch: bursts are planned.
	return ch.step(ctx, min(n, p.maxTick), p.target)
}

// burst fills the window, drains it to a tenth, or replaces half of it,
// in one go.
func (p *soakPlan) burst(ctx context.Context, ch *soakChurn) error {
	ch.bursts++
	switch ch.rng.IntN(3) {
	case 0:
		return ch.resize(ctx, p.cfg.maxLive)
	case 1:
		return ch.resize(ctx, p.cfg.maxLive/10)
	}
	return ch.replaceN(ctx, len(ch.live)/2)
}

// pause brings a downed link back up and skips the time the caller spends
// on a checkpoint, so no backlog builds up meanwhile.
func (p *soakPlan) pause(ctx context.Context, ch *soakChurn) error {
	if p.downLink >= 0 {
		if err := ch.setLink(ctx, p.downLink, true); err != nil {
			return err
		}
		p.downLink = -1
	}
	return nil
}

func (p *soakPlan) resume(now time.Time) {
	p.last = now
	p.carry = 0
}
