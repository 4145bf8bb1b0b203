package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADME: the README shows this program and its test as they are, so
// that the code it shows is the code tested here.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"main.go", "main_test.go"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```go\n"+string(b)+"```\n") {
			t.Errorf("README.md does not show examples/first/%s as it is: copy it into its go block", name)
		}
	}
}
