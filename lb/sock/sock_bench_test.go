//go:build linux

package sock

import (
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Throughput on loopback: one sender goroutine, one receiver (the benchmark
// goroutine), b.N datagrams of benchPayload bytes, so ns/op is per datagram
// and dgrams/s is the rate. UDP drops when the receive buffer overflows, so
// the sender keeps at most `window` datagrams in flight (the receiver
// publishes its count); the window fits in the receive buffer with room, so
// no datagram is lost and the receiver never waits for one that will not
// come. While the window is full the sender yields its CPU with sched_yield,
// not runtime.Gosched: on a 2-core host the loopback softirq work that frees
// the window may run in ksoftirqd, which a goroutine spinning on Gosched
// starves. The same harness runs the plain net.UDPConn loop for comparison.
//
// BenchmarkRecv and BenchmarkSend isolate each side: reading datagrams that
// are already queued (the proxy under load), and sending into a socket whose
// queue is full (the kernel drops at enqueue, so only the send path is
// measured, without waking a reader).
//
//	go test -run '^$' -bench . -benchmem ./lb/sock/

const (
	benchPayload = 512         // a small SIP request
	benchRcvBuf  = 4 << 20     // asked for both variants (kernel doubles it)
	benchWait    = time.Minute // bound on one benchmark run
)

func BenchmarkLoopback(b *testing.B) {
	for _, k := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", k), func(b *testing.B) { benchBatch(b, k) })
	}
	b.Run("net.UDPConn", benchPlain)
}

// benchWindow is the in-flight bound for a receive buffer of rcvbuf bytes as
// the kernel reports it: an skb of a 512-byte datagram on loopback costs at
// most 4 KiB of it.
func benchWindow(b *testing.B, rcvbuf int) int64 {
	w := min(rcvbuf/4096, 1024)
	if w < 32 {
		b.Skipf("receive buffer of %d bytes is too small for a lossless run", rcvbuf)
	}
	return int64(w)
}

// yield gives the CPU to another runnable thread (see the file comment).
func yield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

func benchBatch(b *testing.B, k int) {
	rx, err := ListenUDP("udp4", netip.MustParseAddrPort("127.0.0.1:0"), Options{RecvBuf: benchRcvBuf})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	tx, err := ListenUDP("udp4", netip.MustParseAddrPort("127.0.0.1:0"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	rcvbuf, _ := rx.BufferSizes()
	window := benchWindow(b, rcvbuf)

	sb, rb := NewBatch(k, benchPayload), NewBatch(k, 2048)
	for i := range sb.Msgs {
		sb.Msgs[i].N = benchPayload
		sb.Msgs[i].Addr = rx.LocalAddr()
	}
	total := b.N
	var got atomic.Int64
	errc := make(chan error, 1)
	rx.SetReadDeadline(time.Now().Add(benchWait))
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < total; {
			m := min(k, total-sent)
			for int64(sent+m)-got.Load() > window {
				yield()
			}
			n, err := tx.WriteBatch(sb, m)
			if err != nil || n != m {
				errc <- fmt.Errorf("WriteBatch sent %d of %d: %v", n, m, err)
				return
			}
			sent += m
		}
		errc <- nil
	}()
	reads := 0
	for r := 0; r < total; reads++ {
		n, err := rx.ReadBatch(rb)
		if err != nil {
			b.Fatalf("ReadBatch after %d of %d: %v", r, total, err)
		}
		r += n
		got.Store(int64(r))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "dgrams/s")
	b.ReportMetric(float64(total)/float64(max(1, reads)), "dgrams/read")
}

func benchPlain(b *testing.B) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	// Same receive buffer as the batch variant: SO_RCVBUFFORCE, else SO_RCVBUF.
	rc, _ := rx.SyscallConn()
	var rcvbuf int
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, benchRcvBuf) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, benchRcvBuf)
		}
		rcvbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	window := benchWindow(b, rcvbuf)

	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	payload := make([]byte, benchPayload)
	buf := make([]byte, 2048)
	total := b.N
	var got atomic.Int64
	errc := make(chan error, 1)
	rx.SetReadDeadline(time.Now().Add(benchWait))
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for sent := 0; sent < total; sent++ {
			for int64(sent+1)-got.Load() > window {
				yield()
			}
			if _, err := tx.WriteToUDPAddrPort(payload, dst); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for r := 0; r < total; r++ {
		if _, _, err := rx.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatalf("ReadFromUDPAddrPort after %d of %d: %v", r, total, err)
		}
		got.Store(int64(r + 1))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "dgrams/s")
	b.ReportMetric(1, "dgrams/read")
}

// benchRound is how many datagrams are queued, untimed, before each timed
// round of BenchmarkRecv.
const benchRound = 256

func BenchmarkRecv(b *testing.B) {
	for _, k := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", k), func(b *testing.B) {
			rx, tx := benchPair(b)
			rb := NewBatch(k, 2048)
			benchRecvRounds(b, rx.LocalAddr(), tx, func() error {
				_, err := rx.ReadBatch(rb)
				return err
			}, func() int64 { return int64(rx.Stats().Received) })
		})
	}
	b.Run("net.UDPConn", func(b *testing.B) {
		rx, tx := benchPair(b)
		// The plain socket is a dup of the same kind: read the same fd
		// through the standard library instead.
		prx := benchPlainOf(b, rx)
		buf := make([]byte, 2048)
		var n int64
		benchRecvRounds(b, rx.LocalAddr(), tx, func() error {
			_, _, err := prx.ReadFromUDPAddrPort(buf)
			n++
			return err
		}, func() int64 { return n })
	})
}

// benchRecvRounds queues benchRound datagrams with the timer stopped, then
// times read() until they are all consumed, until b.N datagrams were read.
func benchRecvRounds(b *testing.B, dst netip.AddrPort, tx *Conn, read func() error, count func() int64) {
	sb := NewBatch(32, benchPayload)
	for i := range sb.Msgs {
		sb.Msgs[i].N = benchPayload
		sb.Msgs[i].Addr = dst
	}
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	base := count()
	for done := 0; done < b.N; {
		b.StopTimer()
		round := min(benchRound, b.N-done)
		for q := 0; q < round; {
			n, err := tx.WriteBatch(sb, min(32, round-q))
			if err != nil {
				b.Fatal(err)
			}
			q += n
		}
		b.StartTimer()
		target := base + int64(done+round)
		for count() < target {
			if err := read(); err != nil {
				b.Fatalf("read after %d: %v", count()-base, err)
			}
		}
		done += round
	}
}

func BenchmarkSend(b *testing.B) {
	for _, k := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", k), func(b *testing.B) {
			sink, tx := benchSink(b)
			sb := NewBatch(k, benchPayload)
			for i := range sb.Msgs {
				sb.Msgs[i].N = benchPayload
				sb.Msgs[i].Addr = sink
			}
			b.SetBytes(benchPayload)
			b.ReportAllocs()
			b.ResetTimer()
			for sent := 0; sent < b.N; {
				n, err := tx.WriteBatch(sb, min(k, b.N-sent))
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
		})
	}
	b.Run("net.UDPConn", func(b *testing.B) {
		sink, tx := benchSink(b)
		ptx := benchPlainOf(b, tx)
		payload := make([]byte, benchPayload)
		b.SetBytes(benchPayload)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := ptx.WriteToUDPAddrPort(payload, sink); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchPair is a receiver with a large buffer and a sender, on 127.0.0.1.
func benchPair(b *testing.B) (rx, tx *Conn) {
	rx = listen(b, "udp4", "127.0.0.1:0", Options{RecvBuf: benchRcvBuf})
	tx = listen(b, "udp4", "127.0.0.1:0", Options{})
	if r, _ := rx.BufferSizes(); r < benchRound*4096 {
		b.Skipf("receive buffer of %d bytes cannot hold a round of %d datagrams", r, benchRound)
	}
	return rx, tx
}

// benchSink returns the address of a socket that is never read, already full
// (every later datagram is dropped by the kernel at enqueue), and a sender.
func benchSink(b *testing.B) (netip.AddrPort, *Conn) {
	sink := listen(b, "udp4", "127.0.0.1:0", Options{})
	tx := listen(b, "udp4", "127.0.0.1:0", Options{})
	payload := make([]byte, benchPayload)
	for i := 0; i < 4096; i++ {
		if err := tx.WriteTo(payload, sink.LocalAddr(), netip.Addr{}); err != nil {
			b.Fatal(err)
		}
	}
	return sink.LocalAddr(), tx
}

// benchPlainOf opens a *net.UDPConn on a duplicate of c's descriptor, so the
// standard library's path is measured on the very same socket.
func benchPlainOf(b *testing.B, c *Conn) *net.UDPConn {
	f, err := c.uc.File()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pc, err := net.FilePacketConn(f)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	return pc.(*net.UDPConn)
}
