package lab_test

import (
	"context"
	"fmt"
	"log"

	"github.com/lvs-go/lvs/internal/lab"
)

// Build the study note's DR lab and fetch a real server's page from the
// client, through the router and the bridge.
func Example() {
	l, err := lab.Build(lab.DR())
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	page, err := l.Host(lab.Client).Get(context.Background(), "http://10.0.0.110/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page) // rs1
}

// Build a topology step by step: two hosts on one veth pair.
func ExampleLab_Link() {
	l, err := lab.New()
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	a, err := l.NewHost("a")
	if err != nil {
		log.Fatal(err)
	}
	b, err := l.NewHost("b")
	if err != nil {
		log.Fatal(err)
	}
	if err := l.Link(lab.Port{Host: a, If: "eth0", CIDR: "10.0.0.1/24"},
		lab.Port{Host: b, If: "eth0", CIDR: "10.0.0.2/24"}); err != nil {
		log.Fatal(err)
	}
	if err := b.Serve(context.Background(), ":80", "b"); err != nil {
		log.Fatal(err)
	}
	page, err := a.Get(context.Background(), "http://10.0.0.2/")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page) // b
}
