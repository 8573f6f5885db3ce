package conntrack

import (
	"encoding/hex"
	"strconv"
)

// String returns the flow as `conntrack -L -o extended` prints it, on one
// line and with single spaces: "ipv4 2 udp 17 29 src=10.0.0.1
// dst=10.0.0.2 sport=4000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1
// sport=53 dport=4000 mark=0 use=1". It allocates the string; AppendText
// appends to a buffer.
func (f *Flow) String() string {
	b, _ := f.AppendText(make([]byte, 0, 192))
	return string(b)
}

// AppendText appends the text of String to b (encoding.TextAppender). It
// allocates only if b lacks capacity.
func (f *Flow) AppendText(b []byte) ([]byte, error) {
	b = append(b, f.Family.String()...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(f.Family), 10)
	b = append(b, ' ')
	b = append(b, ProtoName(f.Orig.Proto)...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(f.Orig.Proto), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(f.Timeout), 10)
	if f.Orig.Proto == ProtoTCP {
		b = append(b, ' ')
		b = append(b, f.TCP.State.String()...)
	}
	b = f.Orig.appendText(b)
	b = appendCountersText(b, f.CountersOrig)
	if f.Status&StatusSeenReply == 0 {
		b = append(b, " [UNREPLIED]"...)
	}
	b = f.Reply.appendText(b)
	b = appendCountersText(b, f.CountersReply)
	if f.Status&StatusAssured != 0 {
		b = append(b, " [ASSURED]"...)
	}
	if f.Status&StatusOffload != 0 {
		b = append(b, " [OFFLOAD]"...)
	}
	if f.Status&StatusHWOffload != 0 {
		b = append(b, " [HW_OFFLOAD]"...)
	}
	b = append(b, " mark="...)
	b = strconv.AppendUint(b, uint64(f.Mark), 10)
	if f.Zone != 0 {
		b = append(b, " zone="...)
		b = strconv.AppendUint(b, uint64(f.Zone), 10)
	}
	if f.Helper != "" {
		b = append(b, " helper="...)
		b = append(b, f.Helper...)
	}
	if !f.Labels.IsZero() {
		b = append(b, " labels=0x"...)
		b = hex.AppendEncode(b, f.Labels[:])
	}
	b = append(b, " use="...)
	b = strconv.AppendUint(b, uint64(f.Use), 10)
	if f.ID != 0 {
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(f.ID), 10)
	}
	return b, nil
}

func appendCountersText(b []byte, c Counters) []byte {
	if c == (Counters{}) {
		return b
	}
	b = append(b, " packets="...)
	b = strconv.AppendUint(b, c.Packets, 10)
	b = append(b, " bytes="...)
	return strconv.AppendUint(b, c.Bytes, 10)
}

func (t *Tuple) appendText(b []byte) []byte {
	if t.Src.IsValid() {
		b = append(b, " src="...)
		b = t.Src.AppendTo(b)
	}
	if t.Dst.IsValid() {
		b = append(b, " dst="...)
		b = t.Dst.AppendTo(b)
	}
	switch {
	case hasPorts(t.Proto):
		b = append(b, " sport="...)
		b = strconv.AppendUint(b, uint64(t.SrcPort), 10)
		b = append(b, " dport="...)
		b = strconv.AppendUint(b, uint64(t.DstPort), 10)
	case isICMP(t.Proto):
		b = append(b, " type="...)
		b = strconv.AppendUint(b, uint64(t.ICMPType), 10)
		b = append(b, " code="...)
		b = strconv.AppendUint(b, uint64(t.ICMPCode), 10)
		b = append(b, " id="...)
		b = strconv.AppendUint(b, uint64(t.ICMPID), 10)
	}
	if t.Zone != 0 {
		b = append(b, " zone="...)
		b = strconv.AppendUint(b, uint64(t.Zone), 10)
	}
	return b
}

// String returns the tuple as conntrack prints one direction:
// "src=10.0.0.1 dst=10.0.0.2 sport=4000 dport=53".
func (t Tuple) String() string {
	b := t.appendText(make([]byte, 0, 64))
	if len(b) > 0 {
		b = b[1:]
	}
	return string(b)
}
