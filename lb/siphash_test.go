package lb

import (
	"encoding/binary"
	"testing"
)

// TestSipHashVectors checks the reference vectors of the SipHash paper
// (key 00 01 .. 0f, messages 00 01 .. n-1), written in one piece and in
// uneven pieces so the streaming path is covered.
func TestSipHashVectors(t *testing.T) {
	var kb [16]byte
	for i := range kb {
		kb[i] = byte(i)
	}
	key := sipKey{binary.LittleEndian.Uint64(kb[:8]), binary.LittleEndian.Uint64(kb[8:])}
	want := map[int]uint64{
		0:  0x726fdb47dd0e0e31,
		1:  0x74f839c593dc67fd,
		7:  0xab0200f58b01d137,
		8:  0x93f5f5799a932462,
		15: 0xa129ca6149be45e5,
		63: 0x958a324ceb064572,
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, w := range want {
		h := key.hasher()
		h.write(msg[:n])
		if got := h.sum64(); got != w {
			t.Errorf("len %d: %#x, want %#x", n, got, w)
		}
		h = key.hasher()
		for i := 0; i < n; {
			step := min(3, n-i)
			if i%2 == 1 {
				h.writeByte(msg[i])
				i++
				continue
			}
			h.write(msg[i : i+step])
			i += step
		}
		if got := h.sum64(); got != w {
			t.Errorf("len %d streamed: %#x, want %#x", n, got, w)
		}
		if got := key.sum64(msg[:n]); got != w {
			t.Errorf("len %d one-shot: %#x, want %#x", n, got, w)
		}
	}
}
