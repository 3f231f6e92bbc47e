package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// common name to cert.pem and key.pem in dir.
func writeCert(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Written beside and renamed over, as deploy tools do.
	for _, f := range []struct {
		path string
		b    *pem.Block
	}{{certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der}}, {keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}}} {
		if err := os.WriteFile(f.path+".new", pem.EncodeToMemory(f.b), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

var tlsListening = regexp.MustCompile(`msg=listening addr=tls:(\S+)`)

// TestTLSListenerAndCertificateReload runs the sipfront binary with a TLS
// listener: a TLS phone's OPTIONS reaches a UDP back end and the answer
// comes back over the connection; after the certificate files are replaced
// and SIGHUP is sent, new connections get the new certificate.
func TestTLSListenerAndCertificateReload(t *testing.T) {
	sipfront, _ := buildBinaries(t)
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	backend := optionsResponder(t)
	list := writeFile(t, "dispatcher.list", "1 sip:"+backend+"\n")
	var stderr syncBuffer
	d := exec.Command(sipfront, "-listen", "udp:127.0.0.1:0", "-listen", "tls:127.0.0.1:0", "-tls-cert", certFile,
		"-tls-key", keyFile, "-dispatcher-list", list, "-workers", "1", "-cookie-key", "k", "-rpc", "off", "-no-probe")
	d.Stderr = &stderr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { d.Process.Signal(syscall.SIGTERM); d.Wait() }()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if m := tlsListening.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no TLS listener in the log:\n%s", stderr.String())
		}
	}
	call := func(wantCN string) {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != wantCN {
			t.Errorf("certificate %q, want %q", cn, wantCN)
		}
		la := c.LocalAddr().String()
		fmt.Fprintf(c, "OPTIONS sip:x@%s SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK-tls-%s\r\nMax-Forwards: 70\r\n"+
			"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: tls-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, la, wantCN, wantCN)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		status, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "SIP/2.0 200") {
			t.Fatalf("over TLS: %q %v\n%s", status, err, stderr.String())
		}
	}
	call("first")
	writeCert(t, dir, "second")
	d.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(stderr.String(), "certificate reloaded"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", stderr.String())
		}
	}
	call("second")
}
