package check_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"github.com/lvs-go/lvs/director/check"
)

// A program checks a server itself, from its own network namespace.
func ExampleHTTP() {
	chk, err := check.HTTP{Path: "/healthz", Status: []int{200, 204}}.Compile()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := chk.Check(ctx, check.Local{}, netip.MustParseAddrPort("192.0.2.10:80")); err != nil {
		fmt.Println("unhealthy:", err)
	}
}

// A check block, as a configuration has it (YAML converted to JSON): the
// kind's fields decoded strictly, the director's skipped.
func ExampleDecode() {
	spec, err := check.Decode("http", []byte(`{"type": "http", "path": "/healthz", "status": [200, 204], "interval": "2s"}`))
	if err != nil {
		log.Fatal(err)
	}
	h := spec.(*check.HTTP)
	fmt.Println(h.Type(), h.Path, h.Status)

	_, err = check.Decode("tcp", []byte(`{"type": "tcp", "path": "/"}`))
	fmt.Println(err)
	_, err = check.Decode("http", []byte(`{"status": "ok"}`))
	fmt.Println(err)
	// Output:
	// http /healthz [200 204]
	// tcp checks do not read path (read by http, https)
	// status: want a number or a list of numbers, got "ok"
}
