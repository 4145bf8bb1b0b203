package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lvs-go/lvs/internal/lab"
	"github.com/lvs-go/lvs/ipvs"
	"github.com/lvs-go/lvs/ipvs/ipvsadm"
)

// apply sends the batch and fails on the first change the kernel refused.
func apply(ctx context.Context, c *ipvs.Client, b *ipvs.Batch) error {
	results, err := c.Apply(ctx, b)
	if err != nil {
		return err
	}
	return errors.Join(results...)
}

// printTable prints the director's table as ipvsadm -Ln does.
func printTable(ctx context.Context, w io.Writer, c ipvs.API) error {
	t, err := c.Table(ctx)
	if err != nil {
		return err
	}
	return ipvsadm.WriteList(w, t, ipvsadm.ListFormat{})
}

// requests sends n requests from the client, one connection each, and
// prints the answers as the note's curl loop does.
func requests(ctx context.Context, w io.Writer, client *lab.Host, url string, n int) ([]string, error) {
	var answers []string
	for i := 0; i < n; i++ {
		body, err := client.Get(ctx, url)
		if err != nil {
			return answers, err
		}
		fmt.Fprintf(w, "$ curl %s\n%s\n", strings.TrimPrefix(url, "http://"), body)
		answers = append(answers, body)
	}
	return answers, nil
}

// alternates checks that answers alternate between two real servers.
func alternates(answers []string) error {
	if len(answers) < 2 || answers[0] == answers[1] {
		return fmt.Errorf("answers %v do not alternate", answers)
	}
	for i := 2; i < len(answers); i++ {
		if answers[i] != answers[i-2] {
			return fmt.Errorf("answers %v do not alternate", answers)
		}
	}
	return nil
}
