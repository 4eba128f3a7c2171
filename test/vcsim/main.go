// Command vcsim serves a govmomi 0.24.2 simulator (vCenter model) for the vSphere tests and benchmarks.
//
// It prints two lines on stdout once the server listens:
//
//  1. the SDK URL, e.g. http://user:pass@127.0.0.1:41234/sdk
//  2. a JSON object with the model's entity counts, so tests can compare against what the simulator built.
//
// It exits cleanly (temporary datastore directories removed) on SIGINT/SIGTERM and, with -watch-stdin, when its
// stdin closes: the parent holds the pipe, so a crashed test runner never leaves a simulator behind.
//
// Build (Debian's govmomi source tree, no modules):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o vcsim main.go
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHost := flag.Int("host", 3, "hosts per cluster")
	standaloneHost := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vm := flag.Int("vm", 2, "VMs per resource pool: per cluster root pool and per standalone host (not per cluster host)")
	ds := flag.Int("ds", 1, "datastores per datacenter, mounted on every host of that datacenter")
	pg := flag.Int("pg", 1, "distributed portgroups per datacenter; 0 backs VM NICs with the standard 'VM Network'")
	folder := flag.Int("folder", 0, "datacenters placed inside a folder (the last N)")
	listen := flag.String("l", "127.0.0.1:0", "listen address")
	user := flag.String("user", "", "require this user name (default: any non-empty user/password is accepted)")
	pass := flag.String("pass", "", "password for -user")
	useTLS := flag.Bool("tls", false, "serve https with a fresh CA; requires -tls-ca-file")
	caFile := flag.String("tls-ca-file", "", "write the CA certificate (PEM) that signed the server certificate here")
	watchStdin := flag.Bool("watch-stdin", false, "exit when stdin reaches EOF (the parent went away)")
	flag.Parse()

	m := simulator.VPX()
	m.Datacenter, m.Cluster, m.ClusterHost, m.Host = *dc, *cluster, *clusterHost, *standaloneHost
	m.Machine, m.Datastore, m.Portgroup, m.Folder = *vm, *ds, *pg, *folder

	started := time.Now()
	if err := m.Create(); err != nil {
		fail("create model: %v", err)
	}
	defer m.Remove()

	m.Service.Listen = &url.URL{Host: *listen}
	if *user != "" {
		m.Service.Listen.User = url.UserPassword(*user, *pass)
	}
	if *useTLS {
		if *caFile == "" {
			fail("-tls requires -tls-ca-file")
		}
		cert, caPEM, err := newServerCertificate()
		if err != nil {
			fail("tls: %v", err)
		}
		if err := ioutil.WriteFile(*caFile, caPEM, 0o600); err != nil {
			fail("write %s: %v", *caFile, err)
		}
		m.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}

	server := m.Service.NewServer()

	count := m.Count()
	vmNics, hostVnics, hostPnics := nicCounts()
	counts, _ := json.Marshal(map[string]int{
		"vmNics":        vmNics,
		"hostVnics":     hostVnics,
		"hostPnics":     hostPnics,
		"datacenters":   count.Datacenter,
		"clusters":      count.Cluster,
		"hosts":         count.Host,
		"vms":           count.Machine,
		"datastores":    count.Datastore,
		"portgroups":    count.Portgroup,
		"folders":       count.Folder,
		"resourcePools": count.Pool,
		"createMillis":  int(time.Since(started) / time.Millisecond),
	})
	fmt.Println(server.URL.String())
	fmt.Println(string(counts))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if *watchStdin {
		go func() {
			_, _ = io.Copy(ioutil.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	server.Close()
}

// nicCounts counts NICs straight from the simulator's objects, so tests compare against the model rather than
// against another read through the client under test.
func nicCounts() (vmNics, hostVnics, hostPnics int) {
	for _, entity := range simulator.Map.All("VirtualMachine") {
		vm := entity.(*simulator.VirtualMachine)
		if vm.Config == nil {
			continue
		}
		for _, device := range vm.Config.Hardware.Device {
			if _, ok := device.(types.BaseVirtualEthernetCard); ok {
				vmNics++
			}
		}
	}
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		if host.Config == nil || host.Config.Network == nil {
			continue
		}
		hostVnics += len(host.Config.Network.Vnic)
		hostPnics += len(host.Config.Network.Pnic)
	}
	return vmNics, hostVnics, hostPnics
}

// newServerCertificate makes a throwaway CA and a server certificate for 127.0.0.1/localhost signed by it, so the
// TypeScript client can be tested with a custom CA and with TLS verification left on.
func newServerCertificate() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := time.Now().Add(24 * time.Hour)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vcsim test CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "vcsim: "+format+"\n", args...)
	os.Exit(1)
}
