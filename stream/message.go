package stream

import "github.com/nlrx/nlrx/nl"

// CopyMessages fills dst with the messages of src (dst must be as long),
// giving them Data of their own: all the payloads of the call share one new
// allocation. It is the copy function for a Publisher of messages whose
// Data alias a producer's reusable buffers: WithCopy(CopyMessages).
func CopyMessages(dst, src []nl.Message) {
	n := 0
	for i := range src {
		n += len(src[i].Data)
	}
	arena := make([]byte, 0, n)
	for i := range src {
		start := len(arena)
		arena = append(arena, src[i].Data...)
		dst[i] = nl.Message{Header: src[i].Header, Data: arena[start:len(arena):len(arena)]}
	}
}

// CloneMessage returns m with a copy of its Data (one allocation; none for
// an empty payload), for keeping a message whose Data aliases a reusable
// buffer beyond the call that delivered it.
func CloneMessage(m nl.Message) nl.Message {
	if len(m.Data) == 0 {
		m.Data = nil
		return m
	}
	m.Data = append([]byte(nil), m.Data...)
	return m
}

// NSMessage is a netlink message and the id of the network namespace it
// came from, for sockets that hear every namespace (nl.WithListenAllNSID):
// NSID is the id that namespace has in the socket's own, or
// nl.NSIDNotAssigned (-1) for the socket's own namespace. The message is
// embedded, so m.Header and m.Data read as on an nl.Message. It is what
// PollerNSIDHandler and FromReceiveNSID emit.
type NSMessage struct {
	nl.Message
	NSID int32
}

// CopyNSMessages is CopyMessages for NSMessage: dst (as long as src) gets
// the messages of src with Data of their own, all the payloads of the call
// in one new allocation, and their namespace ids. It is the copy function
// for a Publisher fed by PollerNSIDHandler: WithCopy(CopyNSMessages).
func CopyNSMessages(dst, src []NSMessage) {
	n := 0
	for i := range src {
		n += len(src[i].Data)
	}
	arena := make([]byte, 0, n)
	for i := range src {
		start := len(arena)
		arena = append(arena, src[i].Data...)
		dst[i] = NSMessage{
			Message: nl.Message{Header: src[i].Header, Data: arena[start:len(arena):len(arena)]},
			NSID:    src[i].NSID,
		}
	}
}
